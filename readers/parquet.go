package readers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/thrift/lib/go/thrift"
)

// parquetFormat streams a Parquet file one record batch at a time, so memory
// follows the batch and row-group size, never the row count.
//
// Cells are text, chosen so that the value survives a round trip through a
// spreadsheet: decimals exactly as written (no float), timestamps in ISO 8601
// UTC, dates as YYYY-MM-DD, binary as standard base64, lists, structs and
// maps as JSON text, null as an empty cell. A Parquet file has no header row,
// yet the first record is row 2 so that row numbers match the same table
// stored as CSV or XLSX.
type parquetFormat struct {
	file    *os.File
	pf      *file.Reader
	name    string
	rr      pqarrow.RecordReader // nil when every column is INT96
	arrowAt []int                // output position of each record column
	int96   []*int96Column
	cells   []cellFunc // by output position; nil for INT96 columns
	ncols   int
	left    int64 // rows not yet returned
	rowNum  int
}

// cellFunc turns value i of an Arrow array into cell text; i is never null.
type cellFunc func(arr arrow.Array, i int) string

func newParquet(f *os.File, name string, opts Options) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	// The footer check happens here: a truncated or non-Parquet file fails
	// before any allocation sized by its (untrustworthy) metadata.
	if st.Size() < 12 {
		if st.Size() == 0 {
			return nil, &ParseError{File: name, Err: ErrEmpty}
		}
		return nil, &ParseError{File: name, Err: errors.New("not a Parquet file: too short")}
	}
	// Both ends carry the PAR1 marker; checking them first gives one clear
	// message for a truncated file or another format, instead of whatever
	// the footer parser trips over.
	var head, tail [4]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	if _, err := f.ReadAt(tail[:], st.Size()-4); err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	if string(head[:]) != "PAR1" && string(head[:]) != "PARE" {
		return nil, &ParseError{File: name, Err: errors.New("not a Parquet file: it does not start with PAR1")}
	}
	if string(tail[:]) != "PAR1" && string(tail[:]) != "PARE" {
		return nil, &ParseError{File: name, Err: errors.New("not a Parquet file, or cut short: it does not end with PAR1")}
	}
	// Buffered streams read a column chunk a piece at a time; unbuffered,
	// arrow reads each whole chunk into memory, so memory would follow the
	// row-group size the writer chose.
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	pf, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return nil, &ParseError{File: name, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
	}
	err = checkChunks(pf, st.Size())
	if err == nil {
		err = checkPages(f, pf, st.Size())
	}
	if err != nil {
		pf.Close()
		return nil, &ParseError{File: name, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: BatchSize}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, &ParseError{File: name, Err: fmt.Errorf("unreadable Parquet schema: %w", err)}
	}
	schema, err := fr.Schema()
	if err != nil {
		pf.Close()
		return nil, &ParseError{File: name, Err: fmt.Errorf("unreadable Parquet schema: %w", err)}
	}
	if schema.NumFields() == 0 {
		pf.Close()
		return nil, &ParseError{File: name, Err: ErrEmpty}
	}
	p := &parquetFormat{file: f, pf: pf, name: name, ncols: schema.NumFields(), left: pf.NumRows(), rowNum: 1}
	raw := make([]string, schema.NumFields())
	p.cells = make([]cellFunc, schema.NumFields())
	var leaves []int
	for i, sf := range fr.Manifest.Fields {
		raw[i] = sf.Field.Name
		// pqarrow turns INT96 into nanosecond timestamps and fails on
		// instants outside 1677–2262, which Spark writes happily; such
		// columns are read directly as INT96 instead.
		if sf.IsLeaf() && pf.MetaData().Schema.Column(sf.ColIndex).PhysicalType() == parquet.Types.Int96 {
			col := pf.MetaData().Schema.Column(sf.ColIndex)
			p.int96 = append(p.int96, &int96Column{out: i, leaf: sf.ColIndex, maxDef: col.MaxDefinitionLevel(), maxRep: col.MaxRepetitionLevel()})
			continue
		}
		cf, err := cellFor(sf.Field.Type)
		if err != nil {
			pf.Close()
			return nil, &ParseError{File: name, Column: sf.Field.Name, Err: err}
		}
		p.cells[i] = cf
		p.arrowAt = append(p.arrowAt, i)
		leaves = appendLeaves(leaves, sf)
	}
	cols, err := normalizeHeader(name, "", 1, raw, opts)
	if err != nil {
		pf.Close()
		return nil, err
	}
	if pf.NumRows() == 0 {
		pf.Close()
		return nil, &ParseError{File: name, Err: ErrNoRows}
	}
	if len(p.arrowAt) > 0 {
		p.rr, err = fr.GetRecordReader(context.Background(), leaves, nil)
		if err != nil {
			pf.Close()
			return nil, &ParseError{File: name, Err: err}
		}
	}
	return &Reader{columns: cols, f: p}, nil
}

// checkChunks checks that every column chunk lies inside the file. arrow-go
// trusts these offsets and sizes, and a corrupt footer makes it allocate a
// negative length (a panic) or read far past the end.
func checkChunks(pf *file.Reader, size int64) error {
	md := pf.MetaData()
	var rows int64
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		if rg.NumRows() < 0 {
			return fmt.Errorf("row group %d claims %d rows", g, rg.NumRows())
		}
		rows += rg.NumRows()
		if rg.NumRows() == 0 {
			continue // never read; writers leave its offsets at zero
		}
		for c := 0; c < rg.NumColumns(); c++ {
			col, err := rg.ColumnChunk(c)
			if err != nil {
				return fmt.Errorf("row group %d, column %d: %w", g, c, err)
			}
			start := col.DataPageOffset()
			if col.HasDictionaryPage() && col.DictionaryPageOffset() > 0 && start > col.DictionaryPageOffset() {
				start = col.DictionaryPageOffset()
			}
			n := col.TotalCompressedSize()
			if d := col.DictionaryPageOffset(); col.HasDictionaryPage() && d > 0 && d >= col.DataPageOffset() {
				return fmt.Errorf("column %q in row group %d puts its dictionary (byte %d) after its data (byte %d)",
					md.Schema.Column(c).Path(), g, d, col.DataPageOffset())
			}
			if start < 4 || n < 0 || start >= size || n > size-start {
				return fmt.Errorf("column %q in row group %d claims bytes %d to %d of a %d-byte file",
					md.Schema.Column(c).Path(), g, start, start+n, size)
			}
		}
	}
	if rows != pf.NumRows() {
		return fmt.Errorf("the footer claims %d rows but its row groups hold %d", pf.NumRows(), rows)
	}
	return nil
}

func appendLeaves(dst []int, sf pqarrow.SchemaField) []int {
	if sf.IsLeaf() {
		return append(dst, sf.ColIndex)
	}
	for _, c := range sf.Children {
		dst = appendLeaves(dst, c)
	}
	return dst
}

func (p *parquetFormat) next() ([]Row, error) {
	var rec arrow.RecordBatch
	n := 0
	if p.rr != nil {
		for rec == nil && p.rr.Next() {
			if r := p.rr.RecordBatch(); r.NumRows() > 0 {
				rec = r
			}
		}
		if rec == nil {
			// arrow/go v17 reported io.EOF from Err after the last batch;
			// v18 reports nil. Both mean a clean end.
			if err := p.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
				return nil, &ParseError{File: p.name, Row: p.rowNum + 1, Err: err}
			}
			return nil, io.EOF
		}
		n = int(rec.NumRows())
		if int(rec.NumCols()) != len(p.arrowAt) {
			return nil, &ParseError{File: p.name, Row: p.rowNum + 1, Err: fmt.Errorf("batch has %d columns, want %d", rec.NumCols(), len(p.arrowAt))}
		}
	} else {
		n = int(min(p.left, BatchSize))
		if n == 0 {
			return nil, io.EOF
		}
	}
	p.left -= int64(n)
	// One backing slice per batch: fewer allocations than one per row.
	vals := make([]string, n*p.ncols)
	if rec != nil {
		for j, c := range p.arrowAt {
			arr, cf := rec.Column(j), p.cells[c]
			for i := 0; i < n; i++ {
				if !arr.IsNull(i) {
					vals[i*p.ncols+c] = cf(arr, i)
				}
			}
		}
	}
	for _, ic := range p.int96 {
		if err := ic.read(p.pf, n, vals, p.ncols); err != nil {
			return nil, &ParseError{File: p.name, Row: p.rowNum + 1, Column: p.colName(ic.out), Err: err}
		}
	}
	rows := make([]Row, n)
	for i := range rows {
		p.rowNum++
		rows[i] = Row{
			Source: Source{File: p.name, Row: p.rowNum},
			Values: vals[i*p.ncols : (i+1)*p.ncols : (i+1)*p.ncols],
		}
	}
	return rows, nil
}

func (p *parquetFormat) colName(i int) string {
	return p.pf.MetaData().Schema.Root().Field(i).Name()
}

func (p *parquetFormat) Close() error {
	if p.rr != nil {
		p.rr.Release()
	}
	return errors.Join(p.pf.Close(), p.file.Close())
}

// int96Column reads a top-level INT96 timestamp column row group by row
// group, in step with the record batches of the other columns.
type int96Column struct {
	out, leaf      int
	maxDef, maxRep int16
	rg             int
	cr             *file.Int96ColumnChunkReader
	vals           []parquet.Int96
	defs           []int16
}

// read writes the next n values as cells into vals (row-major, width w).
func (c *int96Column) read(pf *file.Reader, n int, vals []string, w int) error {
	if c.maxRep > 0 {
		return errors.New("repeated INT96 columns are not supported")
	}
	if len(c.vals) < n {
		c.vals, c.defs = make([]parquet.Int96, n), make([]int16, n)
	}
	for got := 0; got < n; {
		// A page that fails to load leaves HasNext reporting true on the
		// next call, so the reader's error is checked before every use.
		if c.cr != nil && c.cr.Err() != nil {
			return c.cr.Err()
		}
		if c.cr == nil || !c.cr.HasNext() {
			if c.cr != nil {
				if err := c.cr.Err(); err != nil {
					return err
				}
				c.rg++
			}
			if c.rg >= pf.NumRowGroups() {
				return io.ErrUnexpectedEOF
			}
			cr, err := pf.RowGroup(c.rg).Column(c.leaf)
			if err != nil {
				return err
			}
			i96, ok := cr.(*file.Int96ColumnChunkReader)
			if !ok {
				return fmt.Errorf("column chunk is %s, not INT96", cr.Type())
			}
			c.cr = i96
			continue
		}
		total, nvals, err := c.cr.ReadBatch(int64(n-got), c.vals, c.defs, nil)
		if err == nil {
			err = c.cr.Err()
		}
		if err == nil && total == 0 {
			err = errors.New("the column stopped short of the row count")
		}
		if err != nil {
			return err
		}
		k := 0
		for j := 0; j < int(total); j++ {
			if c.maxDef > 0 && c.defs[j] < c.maxDef {
				continue // null
			}
			if k >= nvals {
				return errors.New("more non-null levels than values in a page")
			}
			vals[(got+j)*w+c.out] = c.vals[k].ToTime().UTC().Format("2006-01-02T15:04:05.999999999Z")
			k++
		}
		got += int(total)
	}
	return nil
}

// cellFor picks the text conversion for one column type, so that an
// unsupported type is reported at Open, naming the column, rather than on
// some later row.
func cellFor(dt arrow.DataType) (cellFunc, error) {
	switch t := dt.(type) {
	case *arrow.NullType:
		return func(arrow.Array, int) string { return "" }, nil
	case *arrow.BooleanType:
		return func(a arrow.Array, i int) string { return strconv.FormatBool(a.(*array.Boolean).Value(i)) }, nil
	case *arrow.Int8Type:
		return func(a arrow.Array, i int) string { return strconv.FormatInt(int64(a.(*array.Int8).Value(i)), 10) }, nil
	case *arrow.Int16Type:
		return func(a arrow.Array, i int) string { return strconv.FormatInt(int64(a.(*array.Int16).Value(i)), 10) }, nil
	case *arrow.Int32Type:
		return func(a arrow.Array, i int) string { return strconv.FormatInt(int64(a.(*array.Int32).Value(i)), 10) }, nil
	case *arrow.Int64Type:
		return func(a arrow.Array, i int) string { return strconv.FormatInt(a.(*array.Int64).Value(i), 10) }, nil
	case *arrow.Uint8Type:
		return func(a arrow.Array, i int) string { return strconv.FormatUint(uint64(a.(*array.Uint8).Value(i)), 10) }, nil
	case *arrow.Uint16Type:
		return func(a arrow.Array, i int) string { return strconv.FormatUint(uint64(a.(*array.Uint16).Value(i)), 10) }, nil
	case *arrow.Uint32Type:
		return func(a arrow.Array, i int) string { return strconv.FormatUint(uint64(a.(*array.Uint32).Value(i)), 10) }, nil
	case *arrow.Uint64Type:
		return func(a arrow.Array, i int) string { return strconv.FormatUint(a.(*array.Uint64).Value(i), 10) }, nil
	case *arrow.Float16Type:
		return func(a arrow.Array, i int) string {
			return formatFloat(float64(a.(*array.Float16).Value(i).Float32()), 32)
		}, nil
	case *arrow.Float32Type:
		return func(a arrow.Array, i int) string { return formatFloat(float64(a.(*array.Float32).Value(i)), 32) }, nil
	case *arrow.Float64Type:
		return func(a arrow.Array, i int) string { return formatFloat(a.(*array.Float64).Value(i), 64) }, nil
	case *arrow.StringType:
		// Clone: Value points into the batch's buffer, which the next batch reuses.
		return func(a arrow.Array, i int) string { return strings.Clone(a.(*array.String).Value(i)) }, nil
	case *arrow.LargeStringType:
		return func(a arrow.Array, i int) string { return strings.Clone(a.(*array.LargeString).Value(i)) }, nil
	case *arrow.StringViewType:
		return func(a arrow.Array, i int) string { return strings.Clone(a.(*array.StringView).Value(i)) }, nil
	case arrow.BinaryDataType:
		return func(a arrow.Array, i int) string {
			return base64.StdEncoding.EncodeToString(a.(interface{ Value(int) []byte }).Value(i))
		}, nil
	case *arrow.FixedSizeBinaryType:
		return func(a arrow.Array, i int) string {
			return base64.StdEncoding.EncodeToString(a.(*array.FixedSizeBinary).Value(i))
		}, nil
	case *arrow.BinaryViewType:
		return func(a arrow.Array, i int) string {
			return base64.StdEncoding.EncodeToString(a.(*array.BinaryView).Value(i))
		}, nil
	case *arrow.Date32Type:
		return func(a arrow.Array, i int) string {
			return a.(*array.Date32).Value(i).ToTime().Format(time.DateOnly)
		}, nil
	case *arrow.Date64Type:
		return func(a arrow.Array, i int) string {
			return a.(*array.Date64).Value(i).ToTime().Format(time.DateOnly)
		}, nil
	case *arrow.Time32Type:
		return func(a arrow.Array, i int) string {
			return a.(*array.Time32).Value(i).ToTime(t.Unit).Format("15:04:05.999999999")
		}, nil
	case *arrow.Time64Type:
		return func(a arrow.Array, i int) string {
			return a.(*array.Time64).Value(i).ToTime(t.Unit).Format("15:04:05.999999999")
		}, nil
	case *arrow.TimestampType:
		// Parquet timestamps (INT96 included, which Spark and Impala write
		// as UTC instants) are printed in UTC so the text is the same
		// wherever the job runs.
		return func(a arrow.Array, i int) string {
			return a.(*array.Timestamp).Value(i).ToTime(t.Unit).UTC().Format("2006-01-02T15:04:05.999999999Z")
		}, nil
	case *arrow.DurationType:
		return func(a arrow.Array, i int) string {
			d := time.Duration(a.(*array.Duration).Value(i)) * t.Unit.Multiplier()
			return isoDuration(d)
		}, nil
	case *arrow.Decimal32Type:
		return func(a arrow.Array, i int) string { return a.(*array.Decimal32).Value(i).ToString(t.Scale) }, nil
	case *arrow.Decimal64Type:
		return func(a arrow.Array, i int) string { return a.(*array.Decimal64).Value(i).ToString(t.Scale) }, nil
	case *arrow.Decimal128Type:
		return func(a arrow.Array, i int) string { return a.(*array.Decimal128).Value(i).ToString(t.Scale) }, nil
	case *arrow.Decimal256Type:
		return func(a arrow.Array, i int) string { return a.(*array.Decimal256).Value(i).ToString(t.Scale) }, nil
	case *arrow.DictionaryType:
		inner, err := cellFor(t.ValueType)
		if err != nil {
			return nil, err
		}
		return func(a arrow.Array, i int) string {
			d := a.(*array.Dictionary)
			return inner(d.Dictionary(), d.GetValueIndex(i))
		}, nil
	case *arrow.ListType, *arrow.LargeListType, *arrow.FixedSizeListType, *arrow.ListViewType,
		*arrow.LargeListViewType, *arrow.StructType, *arrow.MapType:
		enc, err := jsonFor(dt)
		if err != nil {
			return nil, err
		}
		return func(a arrow.Array, i int) string {
			var b bytes.Buffer
			enc(&b, a, i)
			return b.String()
		}, nil
	case arrow.ExtensionType:
		// UUID, JSON and the like know their own canonical text.
		return func(a arrow.Array, i int) string { return a.ValueStr(i) }, nil
	}
	return nil, fmt.Errorf("cannot turn Arrow type %s into a cell", dt)
}

// jsonEnc appends value i of a (never null) as JSON.
type jsonEnc func(b *bytes.Buffer, a arrow.Array, i int)

// jsonFor builds the JSON writer for nested values: lists as arrays,
// structs as objects in field order, maps as objects keyed by the key's
// cell text. Leaves are written as their cell text would be (ISO
// timestamps, exact decimals), numbers and booleans unquoted.
func jsonFor(dt arrow.DataType) (jsonEnc, error) {
	switch t := dt.(type) {
	case *arrow.MapType:
		keyCell, err := cellFor(t.KeyType())
		if err != nil {
			return nil, err
		}
		item, err := jsonFor(t.ItemType())
		if err != nil {
			return nil, err
		}
		return func(b *bytes.Buffer, a arrow.Array, i int) {
			m := a.(*array.Map)
			keys, items := m.Keys(), m.Items()
			start, end := m.ValueOffsets(i)
			b.WriteByte('{')
			for j := int(start); j < int(end); j++ {
				if j > int(start) {
					b.WriteByte(',')
				}
				writeJSONString(b, keyCell(keys, j))
				b.WriteByte(':')
				writeJSONElem(b, item, items, j)
			}
			b.WriteByte('}')
		}, nil
	case arrow.ListLikeType:
		elem, err := jsonFor(t.Elem())
		if err != nil {
			return nil, err
		}
		return func(b *bytes.Buffer, a arrow.Array, i int) {
			l := a.(array.ListLike)
			vals := l.ListValues()
			start, end := l.ValueOffsets(i)
			b.WriteByte('[')
			for j := int(start); j < int(end); j++ {
				if j > int(start) {
					b.WriteByte(',')
				}
				writeJSONElem(b, elem, vals, j)
			}
			b.WriteByte(']')
		}, nil
	case *arrow.StructType:
		fields := make([]jsonEnc, t.NumFields())
		for k, f := range t.Fields() {
			enc, err := jsonFor(f.Type)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			fields[k] = enc
		}
		return func(b *bytes.Buffer, a arrow.Array, i int) {
			s := a.(*array.Struct)
			b.WriteByte('{')
			for k, f := range t.Fields() {
				if k > 0 {
					b.WriteByte(',')
				}
				writeJSONString(b, f.Name)
				b.WriteByte(':')
				writeJSONElem(b, fields[k], s.Field(k), i)
			}
			b.WriteByte('}')
		}, nil
	}
	cell, err := cellFor(dt)
	if err != nil {
		return nil, err
	}
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16,
		arrow.UINT32, arrow.UINT64, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return func(b *bytes.Buffer, a arrow.Array, i int) { b.WriteString(cell(a, i)) }, nil
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return func(b *bytes.Buffer, a arrow.Array, i int) {
			s := cell(a, i)
			if _, err := strconv.ParseFloat(s, 64); err != nil || strings.ContainsAny(s, "IN") {
				writeJSONString(b, s) // NaN and infinities have no JSON number
				return
			}
			b.WriteString(s)
		}, nil
	}
	return func(b *bytes.Buffer, a arrow.Array, i int) { writeJSONString(b, cell(a, i)) }, nil
}

func writeJSONElem(b *bytes.Buffer, enc jsonEnc, a arrow.Array, i int) {
	if a.IsNull(i) {
		b.WriteString("null")
		return
	}
	enc(b, a, i)
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// formatFloat writes plain decimals in the usual range and exponent form
// only for magnitudes where plain digits would run to dozens of zeros.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if abs := math.Abs(f); abs != 0 && (abs >= 1e21 || abs < 1e-7) {
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

// isoDuration writes d as an ISO 8601 duration such as PT1H2M3.5S.
func isoDuration(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		d -= m * time.Minute
	}
	if d > 0 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
		b.WriteByte('S')
	}
	return b.String()
}

// checkPages walks the page headers of every column chunk before arrow-go
// reads them. arrow-go dereferences a data or dictionary page's sub-header
// without checking that it is there, and builds no decoder for an INT96
// page in an encoding it lacks: both panic on a damaged file. A page
// header is a few dozen bytes, so the walk costs one small read per page.
func checkPages(r io.ReaderAt, pf *file.Reader, size int64) error {
	md := pf.MetaData()
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		if rg.NumRows() == 0 {
			continue
		}
		for c := 0; c < rg.NumColumns(); c++ {
			col, err := rg.ColumnChunk(c)
			if err != nil {
				return err
			}
			descr := md.Schema.Column(c)
			pos := col.DataPageOffset()
			if col.HasDictionaryPage() && col.DictionaryPageOffset() > 0 {
				pos = col.DictionaryPageOffset()
			}
			end := pos + col.TotalCompressedSize()
			sawDict := false
			for seen := int64(0); seen < col.NumValues() && pos < end; {
				h, err := readPageHeader(r, pos, size)
				if err != nil {
					return fmt.Errorf("column %q in row group %d: page at byte %d: %w", descr.Path(), g, pos, err)
				}
				if err := h.check(descr.PhysicalType(), sawDict); err != nil {
					return fmt.Errorf("column %q in row group %d: page at byte %d: %w", descr.Path(), g, pos, err)
				}
				pos += h.headerLen + int64(h.compressed)
				if pos > size {
					return fmt.Errorf("column %q in row group %d: a page runs past the end of the file", descr.Path(), g)
				}
				seen += int64(h.values)
				sawDict = sawDict || h.typ == pageDictionary
			}
		}
	}
	return nil
}

// pageHeader holds the fields of a Parquet PageHeader that checkPages needs.
type pageHeader struct {
	headerLen               int64
	typ                     int32
	compressed, uncomp      int32
	hasData, hasDict, hasV2 bool
	encoding                int32
	levelEncodings          [2]int32 // definition, repetition: data pages v1 only
	levelBytes              [2]int32 // definition, repetition: data pages v2 only
	values                  int32
}

// Parquet page types and value encodings, from parquet.thrift.
const (
	pageData       = 0
	pageDictionary = 2
	pageDataV2     = 3

	encPlain           = 0
	encPlainDict       = 2
	encRLE             = 3
	encBitPacked       = 4
	encRLEDict         = 8
	encByteStreamSplit = 9
)

func (h pageHeader) check(phys parquet.Type, sawDict bool) error {
	if h.compressed < 0 || h.uncomp < 0 {
		return errors.New("negative page size")
	}
	switch {
	case h.typ == pageData && !h.hasData, h.typ == pageDictionary && !h.hasDict, h.typ == pageDataV2 && !h.hasV2:
		return fmt.Errorf("page of type %d lacks its header", h.typ)
	}
	if h.typ != pageData && h.typ != pageDictionary && h.typ != pageDataV2 {
		return nil // index pages and unknown kinds are skipped by readers
	}
	if h.typ == pageData {
		for _, e := range h.levelEncodings {
			if e != encRLE && e != encBitPacked {
				return fmt.Errorf("unknown level encoding %d", e)
			}
		}
	}
	if h.typ == pageDataV2 {
		// arrow-go ignores the error for a bad length here and later
		// decodes levels with no decoder.
		d, r := int64(h.levelBytes[0]), int64(h.levelBytes[1])
		if d < 0 || r < 0 || d+r > int64(h.compressed) {
			return fmt.Errorf("level lengths %d and %d do not fit a %d-byte page", d, r, h.compressed)
		}
	}
	if h.encoding < encPlain || h.encoding > encByteStreamSplit {
		return fmt.Errorf("unknown encoding %d", h.encoding)
	}
	if h.typ != pageDictionary && (h.encoding == encPlainDict || h.encoding == encRLEDict) && !sawDict {
		return errors.New("dictionary-encoded data without a dictionary page")
	}
	if phys == parquet.Types.Int96 && h.encoding != encPlain && h.encoding != encPlainDict && h.encoding != encRLEDict {
		return fmt.Errorf("encoding %d is not used for INT96", h.encoding)
	}
	return nil
}

// readPageHeader decodes the Thrift compact PageHeader at pos.
func readPageHeader(r io.ReaderAt, pos, size int64) (pageHeader, error) {
	// Headers are small; statistics can make them longer, so retry once
	// with the most arrow-go itself allows (16 MiB).
	for _, n := range []int64{64 << 10, 16 << 20} {
		n = min(n, size-pos)
		if n <= 0 {
			break
		}
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, pos); err != nil && err != io.EOF {
			return pageHeader{}, err
		}
		mb := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(buf)}
		h, err := decodePageHeader(mb)
		if err == nil {
			h.headerLen = n - int64(mb.Len())
			return h, nil
		}
		if int64(len(buf)) == size-pos || !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
			return pageHeader{}, fmt.Errorf("unreadable page header: %w", err)
		}
	}
	return pageHeader{}, errors.New("unreadable page header")
}

func decodePageHeader(t thrift.TTransport) (pageHeader, error) {
	ctx := context.Background()
	p := thrift.NewTCompactProtocolConf(t, &thrift.TConfiguration{})
	var h pageHeader
	err := readStruct(ctx, p, func(id int16, t thrift.TType) (bool, error) {
		switch {
		case id == 1 && t == thrift.I32:
			v, err := p.ReadI32(ctx)
			h.typ = v
			return true, err
		case id == 2 && t == thrift.I32:
			v, err := p.ReadI32(ctx)
			h.uncomp = v
			return true, err
		case id == 3 && t == thrift.I32:
			v, err := p.ReadI32(ctx)
			h.compressed = v
			return true, err
		case (id == 5 || id == 7 || id == 8) && t == thrift.STRUCT:
			// DataPageHeader and DictionaryPageHeader: num_values 1,
			// encoding 2. DataPageHeaderV2: num_values 1, encoding 4.
			encField := int16(2)
			if id == 8 {
				encField = 4
			}
			h.hasData, h.hasDict, h.hasV2 = h.hasData || id == 5, h.hasDict || id == 7, h.hasV2 || id == 8
			return true, readStruct(ctx, p, func(fid int16, ft thrift.TType) (bool, error) {
				switch {
				case fid == 1 && ft == thrift.I32:
					v, err := p.ReadI32(ctx)
					if id != 7 {
						h.values = v
					}
					return true, err
				case fid == encField && ft == thrift.I32:
					v, err := p.ReadI32(ctx)
					h.encoding = v
					return true, err
				case id == 8 && (fid == 5 || fid == 6) && ft == thrift.I32:
					v, err := p.ReadI32(ctx)
					h.levelBytes[fid-5] = v
					return true, err
				case id == 5 && (fid == 3 || fid == 4) && ft == thrift.I32:
					v, err := p.ReadI32(ctx)
					h.levelEncodings[fid-3] = v
					return true, err
				}
				return false, nil
			})
		}
		return false, nil
	})
	return h, err
}

// readStruct reads one Thrift struct, handing each field to field, which
// reports whether it consumed the value; other fields are skipped.
func readStruct(ctx context.Context, p thrift.TProtocol, field func(id int16, t thrift.TType) (bool, error)) error {
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return err
	}
	for {
		_, t, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		done, err := field(id, t)
		if err != nil {
			return err
		}
		if !done {
			if err := thrift.SkipDefaultDepth(ctx, p, t); err != nil {
				return err
			}
		}
		if err := p.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	return p.ReadStructEnd(ctx)
}

func openParquet(path, name string, opts Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newParquet(f, name, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}
