package writers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// MetadataPrefix starts the keys of the Parquet key-value metadata the
// writer adds: exa_enrich.query, .schema, .effort, .job, .runs,
// .cost_usd, .rows, .statuses (JSON: status → rows), .started, .finished.
const MetadataPrefix = "exa_enrich."

const parquetBatch = 4096

var timestampUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// parquetEncoder writes typed columns: answers as the schema's Arrow
// types, the _ columns typed too (_cost_usd double, _sources list<string>,
// _enriched_at timestamp). Source columns are strings, unless the input is
// Parquet: then they are copied from the input file itself, batch by
// batch in lockstep with the rows written, so every type (decimals,
// nested structs, INT96 timestamps) survives unchanged rather than
// round-tripping through text.
type parquetEncoder struct {
	lay    *layout
	schema *arrow.Schema
	fw     *pqarrow.FileWriter
	mem    memory.Allocator
	rows   []*row

	// typed source columns, when the input is Parquet
	in      *file.Reader
	rr      pqarrow.RecordReader
	inBatch arrow.RecordBatch
}

func newParquet(out io.Writer, lay *layout) (*parquetEncoder, error) {
	e := &parquetEncoder{lay: lay, mem: memory.DefaultAllocator}
	var fields []arrow.Field
	if lay.opts.Input != "" && FormatOf(lay.opts.Input) == "parquet" {
		in, err := file.OpenParquetFile(lay.opts.Input, false)
		if err != nil {
			return nil, fmt.Errorf("copying %s: %w", lay.opts.Input, err)
		}
		e.in = in
	}
	if e.in != nil && !int96Readable(e.in, e.mem) {
		// arrow-go turns INT96 into nanosecond timestamps and fails on dates
		// past 2262 (Spark writes 9999-12-31); the readers read INT96
		// themselves, so the source columns go out as the readers' text
		// rather than the answers, already paid for, going nowhere.
		e.in.Close()
		e.in = nil
	}
	if e.in != nil {
		in := e.in
		fr, err := pqarrow.NewFileReader(in, pqarrow.ArrowReadProperties{BatchSize: parquetBatch}, e.mem)
		if err != nil {
			e.abort()
			return nil, fmt.Errorf("copying %s: %w", lay.opts.Input, err)
		}
		if e.rr, err = fr.GetRecordReader(context.Background(), nil, nil); err != nil {
			e.abort()
			return nil, fmt.Errorf("copying %s: %w", lay.opts.Input, err)
		}
		fields = e.rr.Schema().Fields()
		if len(fields) != len(lay.opts.Columns) {
			e.abort()
			return nil, fmt.Errorf("copying %s: it has %d top-level columns, the reader gave %d", lay.opts.Input, len(fields), len(lay.opts.Columns))
		}
	} else {
		for _, c := range lay.opts.Columns {
			fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true})
		}
	}
	for _, c := range lay.appended {
		fields = append(fields, arrow.Field{Name: c.Name, Type: c.Arrow, Nullable: true})
	}
	fields = append(fields,
		arrow.Field{Name: "_status", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "_error", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "_run_id", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "_cost_usd", Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: "_sources", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		arrow.Field{Name: "_confidence", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "_citations", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "_enriched_at", Type: timestampUTC, Nullable: true},
	)
	e.schema = arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	// Hidden behind a plain Writer: Close would close the temp file, which
	// Commit still has to sync.
	fw, err := pqarrow.NewFileWriter(e.schema, struct{ io.Writer }{out}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		e.abort()
		return nil, err
	}
	e.fw = fw
	return e, nil
}

// int96Readable reports whether arrow-go can read every INT96 column of a
// Parquet file (true when it has none). It reads those columns alone.
func int96Readable(in *file.Reader, mem memory.Allocator) bool {
	sc := in.MetaData().Schema
	var leaves []int
	for i := 0; i < sc.NumColumns(); i++ {
		if sc.Column(i).PhysicalType() == parquet.Types.Int96 {
			leaves = append(leaves, i)
		}
	}
	if len(leaves) == 0 {
		return true
	}
	fr, err := pqarrow.NewFileReader(in, pqarrow.ArrowReadProperties{BatchSize: parquetBatch}, mem)
	if err != nil {
		return false
	}
	rr, err := fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		return false
	}
	defer rr.Release()
	for rr.Next() {
	}
	err = rr.Err()
	return err == nil || errors.Is(err, io.EOF)
}

func (e *parquetEncoder) write(r *row) error {
	if e.rr != nil && e.inBatch == nil {
		if !e.rr.Next() {
			if err := e.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("copying %s: %w", e.lay.opts.Input, err)
			}
			return fmt.Errorf("copying %s: it has fewer rows than were written", e.lay.opts.Input)
		}
		e.inBatch = e.rr.RecordBatch()
		e.inBatch.Retain()
	}
	e.rows = append(e.rows, r)
	if e.rr != nil && int64(len(e.rows)) == e.inBatch.NumRows() || e.rr == nil && len(e.rows) == parquetBatch {
		return e.flush()
	}
	return nil
}

// flush writes the rows held as one record batch.
func (e *parquetEncoder) flush() error {
	if len(e.rows) == 0 {
		return nil
	}
	n := len(e.rows)
	cols := make([]arrow.Array, 0, len(e.schema.Fields()))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	build := func(t arrow.DataType, add func(b array.Builder, r *row) error) error {
		b := array.NewBuilder(e.mem, t)
		defer b.Release()
		for _, r := range e.rows {
			if err := add(b, r); err != nil {
				return fmt.Errorf("%s: %w", r.rec.Source, err)
			}
		}
		cols = append(cols, b.NewArray())
		return nil
	}
	for i, c := range e.lay.opts.Columns {
		var err error
		if e.inBatch != nil {
			var a arrow.Array
			if a, err = e.sourceColumn(i); err == nil {
				cols = append(cols, a)
			}
		} else {
			err = build(arrow.BinaryTypes.String, func(b array.Builder, r *row) error {
				b.(*array.StringBuilder).Append(r.values[i])
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("column %q: %w", c, err)
		}
	}
	for i, c := range e.lay.appended {
		if err := build(c.Arrow, func(b array.Builder, r *row) error { return appendValue(b, r.answers[i]) }); err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
	}
	str := func(get func(r *row) string) error {
		return build(arrow.BinaryTypes.String, func(b array.Builder, r *row) error {
			if s := get(r); s != "" {
				b.(*array.StringBuilder).Append(s)
			} else {
				b.AppendNull()
			}
			return nil
		})
	}
	err := errors.Join(
		build(arrow.BinaryTypes.String, func(b array.Builder, r *row) error {
			b.(*array.StringBuilder).Append(r.rec.Status)
			return nil
		}),
		str(func(r *row) string { return r.rec.Error }),
		str(func(r *row) string { return r.rec.RunID }),
		build(arrow.PrimitiveTypes.Float64, func(b array.Builder, r *row) error {
			b.(*array.Float64Builder).Append(r.rec.CostUSD)
			return nil
		}),
		build(arrow.ListOf(arrow.BinaryTypes.String), func(b array.Builder, r *row) error {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			for _, s := range r.rec.Sources {
				lb.ValueBuilder().(*array.StringBuilder).Append(s)
			}
			return nil
		}),
		str(func(r *row) string { return r.rec.Confidence }),
		str(func(r *row) string { return r.cites }),
		build(timestampUTC, func(b array.Builder, r *row) error {
			if r.rec.EnrichedAt.IsZero() {
				b.AppendNull()
			} else {
				b.(*array.TimestampBuilder).Append(arrow.Timestamp(r.rec.EnrichedAt.UnixMicro()))
			}
			return nil
		}),
	)
	if err != nil {
		return err
	}
	rec := array.NewRecordBatch(e.schema, cols, int64(n))
	defer rec.Release()
	if err := e.fw.WriteBuffered(rec); err != nil {
		return err
	}
	e.rows = e.rows[:0]
	if e.inBatch != nil {
		e.inBatch.Release()
		e.inBatch = nil
	}
	return nil
}

// sourceColumn copies source column i from the input batch; a column that
// --only-missing fills is rebuilt with the answer in its blank cells.
func (e *parquetEncoder) sourceColumn(i int) (arrow.Array, error) {
	src := e.inBatch.Column(i)
	filled := false
	for _, r := range e.rows {
		filled = filled || r.filled != nil && r.filled[i]
	}
	if !filled {
		src.Retain()
		return src, nil
	}
	b := array.NewBuilder(e.mem, src.DataType())
	defer b.Release()
	for j, r := range e.rows {
		var err error
		switch {
		case r.filled != nil && r.filled[i]:
			err = b.AppendValueFromString(r.values[i])
		case src.IsNull(j):
			b.AppendNull()
		default:
			err = b.AppendValueFromString(src.ValueStr(j))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.rec.Source, err)
		}
	}
	return b.NewArray(), nil
}

func (e *parquetEncoder) finish(counts map[string]int) error {
	if e.inBatch != nil && int64(len(e.rows)) != e.inBatch.NumRows() {
		return fmt.Errorf("copying %s: it has more rows than were written", e.lay.opts.Input)
	}
	if err := e.flush(); err != nil {
		return err
	}
	if e.rr != nil && e.rr.Next() {
		return fmt.Errorf("copying %s: it has more rows than were written", e.lay.opts.Input)
	}
	job := e.lay.opts.Job
	rows := 0
	for _, n := range counts {
		rows += n
	}
	statuses, _ := json.Marshal(counts)
	meta := [][2]string{
		{"query", job.Query}, {"schema", job.Schema}, {"effort", job.Effort}, {"job", job.ID},
		{"runs", strconv.Itoa(job.Runs)}, {"cost_usd", strconv.FormatFloat(job.CostUSD, 'f', 6, 64)},
		{"rows", strconv.Itoa(rows)}, {"statuses", string(statuses)},
		{"started", isoTime(job.Started)}, {"finished", isoTime(job.Finished)},
	}
	for _, kv := range meta {
		if err := e.fw.AppendKeyValueMetadata(MetadataPrefix+kv[0], kv[1]); err != nil {
			return err
		}
	}
	err := e.fw.Close()
	e.fw = nil
	e.abort()
	return err
}

func (e *parquetEncoder) abort() {
	if e.inBatch != nil {
		e.inBatch.Release()
		e.inBatch = nil
	}
	if e.rr != nil {
		e.rr.Release()
		e.rr = nil
	}
	if e.in != nil {
		e.in.Close()
		e.in = nil
	}
}

// appendValue appends one decoded JSON value to a builder of the column's
// Arrow type (schemas.Column.Arrow).
func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	bad := func() error { return fmt.Errorf("%s is not a %s", CellText(v), b.Type()) }
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(CellText(v))
	case *array.Int64Builder:
		switch x := v.(type) {
		case json.Number:
			n, err := x.Int64()
			if err != nil {
				f, ferr := x.Float64() // 3.0 is an integer to JSON Schema
				if ferr != nil || f != float64(int64(f)) {
					return bad()
				}
				n = int64(f)
			}
			b.Append(n)
		case float64:
			if x != float64(int64(x)) {
				return bad()
			}
			b.Append(int64(x))
		case int64:
			b.Append(x)
		default:
			return bad()
		}
	case *array.Float64Builder:
		switch x := v.(type) {
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return bad()
			}
			b.Append(f)
		case float64:
			b.Append(x)
		case int64:
			b.Append(float64(x))
		default:
			return bad()
		}
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Date32Builder:
		s, _ := v.(string)
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return bad()
		}
		b.Append(arrow.Date32FromTime(t))
	case *array.TimestampBuilder:
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return bad()
		}
		b.Append(arrow.Timestamp(t.UnixMicro()))
	case *array.ListBuilder:
		list, ok := v.([]any)
		if !ok {
			return bad()
		}
		b.Append(true)
		for _, x := range list {
			if err := appendValue(b.ValueBuilder(), x); err != nil {
				return err
			}
		}
	case *array.StructBuilder:
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		b.Append(true)
		st := b.Type().(*arrow.StructType)
		for i, f := range st.Fields() {
			if err := appendValue(b.FieldBuilder(i), m[f.Name]); err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
		}
	default:
		return fmt.Errorf("no way to write a %s", b.Type())
	}
	return nil
}
