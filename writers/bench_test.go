package writers_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/writers"
	"github.com/xuri/excelize/v2"
)

// BenchmarkWrite writes 100,000 answered rows in each format:
// go test ./writers -run '^$' -bench Write -benchtime 1x -benchmem
func BenchmarkWrite(b *testing.B) {
	const rows = 100_000
	for _, format := range writers.Formats {
		b.Run(format, func(b *testing.B) {
			rec := table(b)[0]
			opts := options(b)
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "out."+format)
				w, err := writers.Create(path, opts)
				if err != nil {
					b.Fatal(err)
				}
				for i := range rows {
					rec.Source.Row = i + 2
					if err := w.Write(rec); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCopyWorkbook appends answers to a 50,000-row workbook, which
// the copy loads whole (excelize's normal API):
// go test ./writers -run '^$' -bench CopyWorkbook -benchtime 1x -benchmem
func BenchmarkCopyWorkbook(b *testing.B) {
	const rows = 50_000
	in := filepath.Join(b.TempDir(), "in.xlsx")
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	sw.SetRow("A1", []any{"name", "domain", "note"})
	for i := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		sw.SetRow(cell, []any{fmt.Sprint("company ", i), fmt.Sprintf("c%d.example", i), i})
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.SaveAs(in); err != nil {
		b.Fatal(err)
	}
	rec := table(b)[0]
	opts := options(b)
	opts.Input = in
	for b.Loop() {
		w, err := writers.Create(filepath.Join(b.TempDir(), "out.xlsx"), opts)
		if err != nil {
			b.Fatal(err)
		}
		for i := range rows {
			rec.Source = readers.Source{Sheet: "Sheet1", Row: i + 2}
			if err := w.Write(rec); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
