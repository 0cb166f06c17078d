package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/goccy/go-yaml"

	"github.com/exa-enrich/exa-enrich/readers"
)

var updateExamples = flag.Bool("update-examples", false, "rewrite examples/companies.jsonl and .parquet from companies.csv")

// readAll reads every row of an input file.
func readAll(t *testing.T, path string, opts readers.Options) (columns []string, rows [][]string, err error) {
	t.Helper()
	r, err := readers.Open(path, opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for {
		batch, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Columns(), rows, nil
		}
		if err != nil {
			return nil, nil, err
		}
		for _, row := range batch {
			rows = append(rows, row.Values)
		}
	}
}

// TestExampleInputsHoldTheSameCompanies checks the JSONL and Parquet
// examples against companies.csv; with -update-examples it writes them.
func TestExampleInputsHoldTheSameCompanies(t *testing.T) {
	columns, rows, err := readAll(t, "../examples/companies.csv", readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if *updateExamples {
		writeExampleJSONL(t, "../examples/companies.jsonl", columns, rows)
		writeExampleParquet(t, "../examples/companies.parquet", columns, rows)
	}
	for _, name := range []string{"companies.jsonl", "companies.parquet"} {
		t.Run(name, func(t *testing.T) {
			gotCols, got, err := readAll(t, filepath.Join("../examples", name), readers.Options{})
			if errors.Is(err, readers.ErrUnknownFormat) {
				t.Skipf("%s: this branch's readers do not read the format yet: %v", name, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotCols, columns) || !slices.EqualFunc(got, rows, slices.Equal) {
				t.Errorf("%s holds %v %v\nwant companies.csv's %v %v (run go test ./cli -run ExampleInputs -update-examples)", name, gotCols, got, columns, rows)
			}
		})
	}
}

func writeExampleJSONL(t *testing.T, path string, columns []string, rows [][]string) {
	var b strings.Builder
	for _, row := range rows {
		// Keys in the header's order, which a map would lose.
		b.WriteString("{")
		for i, c := range columns {
			k, _ := json.Marshal(c)
			v, _ := json.Marshal(row[i])
			if i > 0 {
				b.WriteString(",")
			}
			b.Write(k)
			b.WriteString(":")
			b.Write(v)
		}
		b.WriteString("}\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeExampleParquet(t *testing.T, path string, columns []string, rows [][]string) {
	fields := make([]arrow.Field, len(columns))
	for i, c := range columns {
		fields[i] = arrow.Field{Name: c, Type: arrow.BinaryTypes.String}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, row := range rows {
		for i, v := range row {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil { // closes f too
		t.Fatal(err)
	}
}

// TestExampleJobsRunWithSim runs every examples/*.job.yaml against the
// embedded simulator, as the README tells a newcomer to.
func TestExampleJobsRunWithSim(t *testing.T) {
	jobs, err := filepath.Glob("../examples/*.job.yaml")
	if err != nil || len(jobs) < 4 {
		t.Fatalf("example jobs: %v, %v; want one per input format", jobs, err)
	}
	for _, job := range jobs {
		t.Run(filepath.Base(job), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(job)
			if err != nil {
				t.Fatal(err)
			}
			var settings struct {
				Input string `yaml:"input"`
				Sheet string `yaml:"sheet"`
			}
			if err := yaml.Unmarshal(src, &settings); err != nil {
				t.Fatal(err)
			}
			input := filepath.Join(filepath.Dir(job), settings.Input)
			_, want, err := readAll(t, input, readers.Options{Sheet: settings.Sheet})
			if errors.Is(err, readers.ErrUnknownFormat) {
				t.Skipf("%s: this branch's readers do not read %s yet (%v); the skip goes once they do", job, filepath.Ext(input), err)
			}
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "out.csv")
			code, _, stderr := runMain(t, nil, "run", "--job", job, "--sim", "--out", out, "--state", filepath.Join(dir, "job.db"))
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			_, rows := readCSV(t, out)
			if len(rows) != len(want) {
				t.Errorf("%d rows written, want the input's %d", len(rows), len(want))
			}
			for i, row := range rows {
				if row["_status"] != "ok" {
					t.Errorf("row %d: _status %q, _error %q", i+2, row["_status"], row["_error"])
				}
			}
		})
	}
}
