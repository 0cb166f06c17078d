package readers

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

const sharedParquet = "../../shared/data/parquet"

// TestParquetSharedData reads the files written by Spark, Impala,
// parquet-mr and arrow-rs and checks values a person would look at.
func TestParquetSharedData(t *testing.T) {
	type cell struct {
		row  int // index into the rows read
		col  string
		want string
	}
	cases := []struct {
		file  string
		nrows int
		cells []cell
	}{
		{"alltypes_plain.snappy.parquet", 2, []cell{
			{0, "id", "6"}, {0, "bool_col", "true"}, {1, "bool_col", "false"},
			{1, "bigint_col", "10"}, {1, "float_col", "1.1"}, {1, "double_col", "10.1"},
			// Impala writes strings as un-annotated binary: base64 of "04/01/09".
			{0, "date_string_col", "MDQvMDEvMDk="},
			// INT96, Impala's timestamp.
			{1, "timestamp_col", "2009-04-01T00:01:00Z"},
		}},
		{"byte_array_decimal.parquet", 24, []cell{{0, "value", "1.00"}, {23, "value", "24.00"}}},
		{"int96_from_spark.parquet", 6, []cell{
			{0, "a", "2024-01-01T20:34:56.123456Z"},
			// Beyond the nanosecond range that pqarrow can hold.
			{2, "a", "9999-12-31T03:00:00Z"},
		}},
		{"list_columns.parquet", 3, []cell{
			{0, "int64_list", "[1,2,3]"}, {1, "int64_list", "[null,1]"}, {1, "utf8_list", ""},
			{2, "utf8_list", `["efg",null,"hij","xyz"]`},
		}},
		{"nested_structs.rust.parquet", 1, []cell{
			{0, "PC_CUR", `{"min":115,"max":742,"mean":416,"count":495,"sum":206195,"variance":10374}`},
		}},
		{"nulls.snappy.parquet", 8, []cell{{0, "b_struct", `{"b_c_int":null}`}, {7, "b_struct", `{"b_c_int":null}`}}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			cols, rows, err := drainTable(t, filepath.Join(sharedParquet, c.file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != c.nrows {
				t.Errorf("got %d rows, want %d", len(rows), c.nrows)
			}
			for _, want := range c.cells {
				i := slices.Index(cols, want.col)
				if i < 0 || want.row >= len(rows) {
					t.Errorf("no cell %s of row %d in %q", want.col, want.row, cols)
					continue
				}
				if got := rows[want.row].Values[i]; got != want.want {
					t.Errorf("row %d %s = %q, want %q", want.row, want.col, got, want.want)
				}
			}
			for i, r := range rows {
				if r.Source.Row != i+2 || r.Source.File != c.file || len(r.Values) != len(cols) {
					t.Fatalf("row %d: source %+v with %d values", i, r.Source, len(r.Values))
				}
			}
		})
	}
}

// typedColumn is one column of the types file: how to append its first
// value, and the text that value must read back as. The second row is null.
type typedColumn struct {
	name   string
	typ    arrow.DataType
	append func(b array.Builder)
	want   string
}

func typedColumns() []typedColumn {
	ts := time.Date(2024, 2, 29, 13, 45, 0, 123_000_000, time.UTC)
	zurich := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Zurich"}
	dec, _ := decimal128.FromString("12345678901234.5678", 20, 4)
	dec256, _ := decimal256.FromString("-1234567890123456789012345678901234.56", 40, 2)
	listOfInt := arrow.ListOf(arrow.PrimitiveTypes.Int32)
	st := arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, arrow.Field{Name: "when", Type: arrow.FixedWidthTypes.Date32, Nullable: true})
	mp := arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64)
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	return []typedColumn{
		{"bool", arrow.FixedWidthTypes.Boolean, func(b array.Builder) { b.(*array.BooleanBuilder).Append(true) }, "true"},
		{"int8", arrow.PrimitiveTypes.Int8, func(b array.Builder) { b.(*array.Int8Builder).Append(-5) }, "-5"},
		{"uint8", arrow.PrimitiveTypes.Uint8, func(b array.Builder) { b.(*array.Uint8Builder).Append(200) }, "200"},
		{"int16", arrow.PrimitiveTypes.Int16, func(b array.Builder) { b.(*array.Int16Builder).Append(-30000) }, "-30000"},
		{"uint16", arrow.PrimitiveTypes.Uint16, func(b array.Builder) { b.(*array.Uint16Builder).Append(60000) }, "60000"},
		{"int32", arrow.PrimitiveTypes.Int32, func(b array.Builder) { b.(*array.Int32Builder).Append(-2000000000) }, "-2000000000"},
		{"uint32", arrow.PrimitiveTypes.Uint32, func(b array.Builder) { b.(*array.Uint32Builder).Append(4000000000) }, "4000000000"},
		{"int64", arrow.PrimitiveTypes.Int64, func(b array.Builder) { b.(*array.Int64Builder).Append(-9000000000000000000) }, "-9000000000000000000"},
		{"uint64", arrow.PrimitiveTypes.Uint64, func(b array.Builder) { b.(*array.Uint64Builder).Append(18446744073709551615) }, "18446744073709551615"},
		{"float32", arrow.PrimitiveTypes.Float32, func(b array.Builder) { b.(*array.Float32Builder).Append(0.1) }, "0.1"},
		{"float64", arrow.PrimitiveTypes.Float64, func(b array.Builder) { b.(*array.Float64Builder).Append(1200.5) }, "1200.5"},
		{"tiny float64", arrow.PrimitiveTypes.Float64, func(b array.Builder) { b.(*array.Float64Builder).Append(1e-9) }, "1e-09"},
		{"string", arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("Zürich Café") }, "Zürich Café"},
		{"large string", arrow.BinaryTypes.LargeString, func(b array.Builder) { b.(*array.LargeStringBuilder).Append("big") }, "big"},
		{"binary", arrow.BinaryTypes.Binary, func(b array.Builder) { b.(*array.BinaryBuilder).Append([]byte{0xff, 0x00, 'a'}) }, "/wBh"},
		{"fixed binary", &arrow.FixedSizeBinaryType{ByteWidth: 2}, func(b array.Builder) { b.(*array.FixedSizeBinaryBuilder).Append([]byte{1, 2}) }, "AQI="},
		{"date32", arrow.FixedWidthTypes.Date32, func(b array.Builder) { b.(*array.Date32Builder).Append(arrow.Date32FromTime(ts)) }, "2024-02-29"},
		{"time32", arrow.FixedWidthTypes.Time32ms, func(b array.Builder) { b.(*array.Time32Builder).Append(arrow.Time32((13*3600+45*60)*1000 + 500)) }, "13:45:00.5"},
		{"time64", arrow.FixedWidthTypes.Time64us, func(b array.Builder) { b.(*array.Time64Builder).Append(arrow.Time64((13*3600 + 45*60) * 1e6)) }, "13:45:00"},
		{"timestamp utc", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMilli())) }, "2024-02-29T13:45:00.123Z"},
		{"timestamp zurich", zurich, func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMilli())) }, "2024-02-29T13:45:00.123Z"},
		{"timestamp naive", &arrow.TimestampType{Unit: arrow.Microsecond}, func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro())) }, "2024-02-29T13:45:00.123Z"},
		{"int96", arrow.FixedWidthTypes.Timestamp_ns, func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixNano())) }, "2024-02-29T13:45:00.123Z"},
		{"decimal128", &arrow.Decimal128Type{Precision: 20, Scale: 4}, func(b array.Builder) { b.(*array.Decimal128Builder).Append(dec) }, "12345678901234.5678"},
		{"decimal256", &arrow.Decimal256Type{Precision: 40, Scale: 2}, func(b array.Builder) { b.(*array.Decimal256Builder).Append(dec256) }, "-1234567890123456789012345678901234.56"},
		{"list", listOfInt, func(b array.Builder) {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 0, 3}, []bool{true, false, true})
		}, "[1,null,3]"},
		{"struct", st, func(b array.Builder) {
			sb := b.(*array.StructBuilder)
			sb.Append(true)
			sb.FieldBuilder(0).(*array.Int32Builder).Append(7)
			sb.FieldBuilder(1).(*array.Date32Builder).Append(arrow.Date32FromTime(ts))
		}, `{"a":7,"when":"2024-02-29"}`},
		{"map", mp, func(b array.Builder) {
			mb := b.(*array.MapBuilder)
			mb.Append(true)
			mb.KeyBuilder().(*array.StringBuilder).AppendValues([]string{"x", "y"}, nil)
			mb.ItemBuilder().(*array.Float64Builder).AppendValues([]float64{0.5, 2}, nil)
		}, `{"x":0.5,"y":2}`},
		{"dictionary", dict, func(b array.Builder) { _ = b.(*array.BinaryDictionaryBuilder).AppendString("repeated") }, "repeated"},
	}
}

// writeTypesFile writes two rows per column, a value and a null, into
// one row group per row so that batches cross row groups.
func writeTypesFile(t *testing.T, path string, props *parquet.WriterProperties) []typedColumn {
	t.Helper()
	cols := typedColumns()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, c := range cols {
		c.append(b.Field(i))
		b.Field(i).AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	out, err := os.Create(path)
	must(t, err)
	// The int96 column is the only nanosecond timestamp, so asking for
	// INT96 timestamps turns exactly that one into INT96.
	w, err := pqarrow.NewFileWriter(schema, out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithDeprecatedInt96Timestamps(true)))
	must(t, err)
	for r := int64(0); r < rec.NumRows(); r++ {
		s := rec.NewSlice(r, r+1)
		must(t, w.Write(s))
		s.Release()
	}
	must(t, w.Close())
	return cols
}

func TestParquetTypes(t *testing.T) {
	codecs := []compress.Compression{
		compress.Codecs.Uncompressed, compress.Codecs.Snappy, compress.Codecs.Gzip,
		compress.Codecs.Zstd, compress.Codecs.Brotli, compress.Codecs.Lz4Raw,
	}
	for _, codec := range codecs {
		for _, dictionary := range []bool{false, true} {
			t.Run(codec.String()+"/dictionary="+strconv.FormatBool(dictionary), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "types.parquet")
				cols := writeTypesFile(t, path, parquet.NewWriterProperties(
					parquet.WithCompression(codec), parquet.WithDictionaryDefault(dictionary)))
				gotCols, rows, err := drainTable(t, path, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != 2 {
					t.Fatalf("got %d rows, want 2", len(rows))
				}
				for i, c := range cols {
					if gotCols[i] != c.name {
						t.Errorf("column %d = %q, want %q", i, gotCols[i], c.name)
					}
					if got := rows[0].Values[i]; got != c.want {
						t.Errorf("%s = %q, want %q", c.name, got, c.want)
					}
					if got := rows[1].Values[i]; got != "" {
						t.Errorf("%s null = %q, want an empty cell", c.name, got)
					}
				}
			})
		}
	}
}

// TestParquetBatches checks that rows stay aligned when batches and row
// groups do not line up, including the INT96 column read on its own.
func TestParquetBatches(t *testing.T) {
	const n = 2*BatchSize + 345
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "at", Type: arrow.FixedWidthTypes.Timestamp_ns, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 3 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(i) * time.Second).UnixNano()))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "batches.parquet")
	out, err := os.Create(path)
	must(t, err)
	w, err := pqarrow.NewFileWriter(schema, out, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(700)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithDeprecatedInt96Timestamps(true)))
	must(t, err)
	must(t, w.Write(rec))
	must(t, w.Close())

	_, rows, err := drainTable(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("got %d rows, want %d", len(rows), n)
	}
	for i, r := range rows {
		want := base.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05Z")
		if i%7 == 3 {
			want = ""
		}
		if r.Values[0] != strconv.Itoa(i) || r.Values[1] != want || r.Source.Row != i+2 {
			t.Fatalf("row %d = %q (source row %d), want [%d %q]", i, r.Values, r.Source.Row, i, want)
		}
	}
}

func TestParquetErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, data, 0o644))
		return p
	}
	real, err := os.ReadFile(filepath.Join(sharedParquet, "alltypes_plain.snappy.parquet"))
	must(t, err)

	noRows := filepath.Join(dir, "norows.parquet")
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	empty := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	rec := empty.NewRecordBatch()
	must(t, writeParquet(noRows, rec, parquet.NewWriterProperties()))
	rec.Release()
	empty.Release()

	dup := filepath.Join(dir, "dup.parquet")
	dupSchema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "a ", Type: arrow.PrimitiveTypes.Int64}}, nil)
	db := array.NewRecordBuilder(memory.DefaultAllocator, dupSchema)
	db.Field(0).(*array.Int64Builder).Append(1)
	db.Field(1).(*array.Int64Builder).Append(2)
	rec = db.NewRecordBatch()
	must(t, writeParquet(dup, rec, parquet.NewWriterProperties()))
	rec.Release()
	db.Release()

	cases := []struct {
		name string
		path string
		want string
		is   error
	}{
		{"empty file", write("empty.parquet", nil), "empty.parquet: the file is empty", ErrEmpty},
		{"too short", write("short.parquet", []byte("PAR1")), "short.parquet: not a Parquet file: too short", nil},
		{"not parquet", write("text.parquet", []byte(strings.Repeat("name,domain\nAcme,acme.com\n", 3))),
			"text.parquet: not a Parquet file: it does not start with PAR1", nil},
		{"truncated", write("cut.parquet", real[:len(real)/2]),
			"cut.parquet: not a Parquet file, or cut short: it does not end with PAR1", nil},
		{"footer damaged", write("footer.parquet", slices.Concat(real[:len(real)-8], []byte{0xff, 0xff, 0xff, 0x7f}, []byte("PAR1"))),
			"footer.parquet: not a readable Parquet file: parquet: file is smaller than indicated metadata size", nil},
		{"no rows", noRows, "norows.parquet: the file has a header but no data rows", ErrNoRows},
		{"duplicate columns", dup, `dup.parquet: row 1, column "a": duplicate column name: columns 1 and 2 are both named "a"; rename one or de-duplicate the headers`, ErrDuplicateColumn},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := drainTable(t, c.path, Options{})
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if err.Error() != c.want {
				t.Errorf("error = %q\nwant    %q", err, c.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error does not wrap %v", c.is)
			}
		})
	}
}

// TestParquetCorruptPage flips bytes inside the column data of a valid
// file: the footer still parses, so the damage shows up while streaming
// and must come back as an error, not a panic or wrong cells.
func TestParquetCorruptPage(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(sharedParquet, "alltypes_plain.snappy.parquet"))
	must(t, err)
	for i := 4; i < 400; i++ {
		real[i] ^= 0x5a
	}
	path := filepath.Join(t.TempDir(), "corrupt.parquet")
	must(t, os.WriteFile(path, real, 0o644))
	_, _, err = drainTable(t, path, Options{})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != "corrupt.parquet" {
		t.Fatalf("error = %v, want a *ParseError for corrupt.parquet", err)
	}
}

func TestCellForUnsupported(t *testing.T) {
	union := arrow.SparseUnionOf([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int32}}, []arrow.UnionTypeCode{0})
	_, err := cellFor(arrow.ListOf(union))
	want := "cannot turn Arrow type sparse_union<i: type=int32=0> into a cell"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// benchRead streams path b.N times and reports rows/s and the peak live
// heap while reading, above what was live before (the generator's
// leftovers). Live heap is what the GC found reachable, read from
// runtime/metrics without stopping the world; garbage awaiting collection
// is not counted, so the figure is what the reader holds.
func benchRead(b *testing.B, path string, opts Options, wantRows int) {
	b.Helper()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	// Twice: objects freed by finalizers in the first cycle go in the second.
	runtime.GC()
	runtime.GC()
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Open(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rows, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(rows)
		}
		r.Close()
		if n != wantRows {
			b.Fatalf("read %d rows, want %d", n, wantRows)
		}
	}
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(wantRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base))/(1<<20), "peak-live-MB")
}

// writeBenchParquet writes n rows × 4 columns (id, name, score, day) in
// one row group, as pandas and Spark commonly do for files of this size.
func writeBenchParquet(b *testing.B, n int) string {
	b.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
	}, nil)
	path := filepath.Join(b.TempDir(), "bench.parquet")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, out, parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(int64(n))),
		pqarrow.DefaultWriterProps())
	if err != nil {
		b.Fatal(err)
	}
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	const chunk = 64 << 10
	for start := 0; start < n; start += chunk {
		for i := start; i < min(n, start+chunk); i++ {
			bld.Field(0).(*array.Int64Builder).Append(int64(i))
			bld.Field(1).(*array.StringBuilder).Append("company-" + strconv.Itoa(i))
			bld.Field(2).(*array.Float64Builder).Append(float64(i) / 7)
			bld.Field(3).(*array.Date32Builder).Append(arrow.Date32(18000 + i%3650))
		}
		rec := bld.NewRecordBatch()
		if err := w.WriteBuffered(rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkParquet100k(b *testing.B) {
	benchRead(b, writeBenchParquet(b, 100_000), Options{}, 100_000)
}
func BenchmarkParquet1M(b *testing.B) {
	benchRead(b, writeBenchParquet(b, 1_000_000), Options{}, 1_000_000)
}

// TestParquetDamagedPages flips random bytes in the page area of every
// shared file (the footer is left alone: arrow-go parses it before any
// check can run). Each damaged copy must read or fail with a *ParseError;
// a panic fails the whole run.
func TestParquetDamagedPages(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedParquet, "*.parquet"))
	must(t, err)
	rng := rand.New(rand.NewPCG(4, 2))
	for _, f := range files {
		data, err := os.ReadFile(f)
		must(t, err)
		footerStart := len(data) - 8 - int(binary.LittleEndian.Uint32(data[len(data)-8:]))
		path := filepath.Join(t.TempDir(), "damaged.parquet")
		n := 150
		if len(data) > 20_000 {
			n = 20 // the 36-column arrow-rs file takes ~20 ms a read
		}
		for k := 0; k < n; k++ {
			d := slices.Clone(data)
			for range 1 + rng.IntN(4) {
				d[4+rng.IntN(footerStart-4)] ^= byte(1 + rng.IntN(255))
			}
			must(t, os.WriteFile(path, d, 0o644))
			if _, _, err := drainTable(t, path, Options{}); err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Errorf("%s, damage %d: error %T %v is not a *ParseError", filepath.Base(f), k, err, err)
				}
			}
		}
	}
}
