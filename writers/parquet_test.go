package writers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/writers"
)

// typedInput writes a Parquet file with an int64 column that has nulls.
func typedInput(t *testing.T) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "employees", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Apple", "Microsoft", "NVIDIA"}, nil)
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{164000, 0, 0}, []bool{true, false, false})
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestParquetOnlyMissingTyped fills the nulls of a typed input column and
// keeps its type and its values.
func TestParquetOnlyMissingTyped(t *testing.T) {
	in := typedInput(t)
	recs := []writers.Record{
		{Values: []string{"Apple", "164000"}, Answer: decode(t, `{"employees":1}`), Status: "ok"},
		{Values: []string{"Microsoft", ""}, Answer: decode(t, `{"employees":228000}`), Status: "ok"},
		{Values: []string{"NVIDIA", ""}, Status: "failed"},
	}
	out := filepath.Join(t.TempDir(), "out.parquet")
	writeAll(t, out, writers.Options{Columns: []string{"name", "employees"}, Answers: answerSchema(t).Columns[1:2], Input: in, OnlyMissing: true}, recs)
	tbl, _ := readParquet(t, out)
	if got := tbl.Schema().Field(1); got.Name != "employees" || got.Type.ID() != arrow.INT64 || tbl.Schema().Field(2).Name != "_status" {
		t.Fatalf("schema %s", tbl.Schema())
	}
	emp := tbl.Column(1).Data().Chunk(0).(*array.Int64)
	if emp.Value(0) != 164000 || emp.Value(1) != 228000 || !emp.IsNull(2) {
		t.Errorf("employees %s, want [164000 228000 (null)]", emp)
	}
}

// TestParquetRowCountMismatch: a copy of a Parquet input refuses to pair
// rows that do not line up with the input's.
func TestParquetRowCountMismatch(t *testing.T) {
	in := typedInput(t)
	opts := writers.Options{Columns: []string{"name", "employees"}, Input: in}
	for _, n := range []int{2, 4} {
		out := filepath.Join(t.TempDir(), "out.parquet")
		w, err := writers.Create(out, opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err = w.Write(writers.Record{Source: readers.Source{Row: i + 2}, Values: []string{"x", ""}, Status: "ok"}); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Commit()
		} else {
			w.Abort()
		}
		if err == nil || !strings.Contains(err.Error(), "rows than were written") {
			t.Errorf("%d rows for 3: error %v", n, err)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%d rows for 3: %s was written", n, out)
		}
	}
}
