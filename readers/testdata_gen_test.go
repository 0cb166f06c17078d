package readers

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
)

// gen rewrites the binary conformance files: go test ./readers -run TestGenerateTestdata -gen
var gen = flag.Bool("gen", false, "rewrite testdata/table.xlsx and testdata/table.parquet")

func TestGenerateTestdata(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to rewrite the files")
	}
	if err := writeTableXLSX(filepath.Join("testdata", "table.xlsx")); err != nil {
		t.Fatal(err)
	}
	if err := writeTableParquet(filepath.Join("testdata", "table.parquet")); err != nil {
		t.Fatal(err)
	}
}

// writeTableXLSX stores conformanceTable as a spreadsheet user would type
// it: ids and amounts as numbers, dates as real dates with a yyyy-mm-dd
// format, and the date-time with its zone as text (a cell has no zone).
func writeTableXLSX(path string) error {
	f := excelize.NewFile()
	defer f.Close()
	const sh = "Sheet1"
	date := "yyyy-mm-dd"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &date})
	if err != nil {
		return err
	}
	if err := f.SetSheetRow(sh, "A1", &conformanceTable.columns); err != nil {
		return err
	}
	for r, row := range conformanceTable.values {
		cell := func(c int) string { s, _ := excelize.CoordinatesToCellName(c+1, r+2); return s }
		for c, v := range row {
			if v == "" {
				continue
			}
			var err error
			switch c {
			case 0, 3: // id, amount
				n, perr := strconv.ParseFloat(v, 64)
				if perr != nil {
					return perr
				}
				err = f.SetCellFloat(sh, cell(c), n, -1, 64)
			case 4: // date
				if d, perr := time.Parse(time.DateOnly, v); perr == nil {
					if err = f.SetCellValue(sh, cell(c), d); err == nil {
						err = f.SetCellStyle(sh, cell(c), cell(c), dateStyle)
					}
				} else {
					err = f.SetCellStr(sh, cell(c), v)
				}
			default:
				err = f.SetCellStr(sh, cell(c), v)
			}
			if err != nil {
				return err
			}
		}
	}
	return f.SaveAs(path)
}

// writeTableParquet stores conformanceTable with typed columns: id as
// int64, amount as a double, empty cells as nulls, the mixed date column as
// text.
func writeTableParquet(path string) error {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "date", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, row := range conformanceTable.values {
		id, err := strconv.ParseInt(row[0], 10, 64)
		if err != nil {
			return err
		}
		amount, err := strconv.ParseFloat(row[3], 64)
		if err != nil {
			return err
		}
		b.Field(0).(*array.Int64Builder).Append(id)
		for _, c := range []int{1, 2} {
			if row[c] == "" {
				b.Field(c).AppendNull()
			} else {
				b.Field(c).(*array.StringBuilder).Append(row[c])
			}
		}
		b.Field(3).(*array.Float64Builder).Append(amount)
		b.Field(4).(*array.StringBuilder).Append(row[4])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return writeParquet(path, rec, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)))
}

func writeParquet(path string, rec arrow.RecordBatch, props *parquet.WriterProperties) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		out.Close()
		return err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return err
	}
	return w.Close() // closes out too
}
