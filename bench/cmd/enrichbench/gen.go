package main

import (
	"encoding/csv"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
)

// header is the inputs' columns: what a company list usually carries.
var header = []string{"name", "domain", "ticker"}

// row is input row i. Rows whose index is in changed (the incremental
// benchmark's edits) get another domain, so their sent cells hash anew.
func row(i int, changed func(int) bool) []string {
	domain := fmt.Sprintf("company%d.example", i)
	if changed != nil && changed(i) {
		domain = fmt.Sprintf("company%d.example.net", i)
	}
	return []string{fmt.Sprintf("Company %d", i), domain, fmt.Sprintf("T%07d", i)}
}

// genCSV writes an n-row CSV input.
func genCSV(path string, n int, changed func(int) bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	for i := range n {
		w.Write(row(i, changed))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// genParquet writes an n-row Parquet input of string columns, Snappy
// compressed as the tool writes.
func genParquet(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var fields []arrow.Field
	for _, h := range header {
		fields = append(fields, arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	const batch = 64 << 10
	for start := 0; start < n; start += batch {
		for i := start; i < min(n, start+batch); i++ {
			for c, v := range row(i, nil) {
				b.Field(c).(*array.StringBuilder).Append(v)
			}
		}
		rec := b.NewRecordBatch()
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			fw.Close()
			return err
		}
	}
	return fw.Close()
}

// genXLSX writes an n-row workbook with one sheet.
func genXLSX(path string, n int) error {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	cells := func(r []string) []any {
		out := make([]any, len(r))
		for i, v := range r {
			out[i] = v
		}
		return out
	}
	if err := sw.SetRow("A1", cells(header)); err != nil {
		return err
	}
	for i := range n {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, cells(row(i, nil))); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}
