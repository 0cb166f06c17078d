package writers_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
)

// dumpXLSX lists every sheet's cells with their type, formula and link,
// and the header's panes and filter: what a user sees in Excel.
func dumpXLSX(t *testing.T, path string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for _, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "== %s\n", sheet)
		if p, err := f.GetPanes(sheet); err == nil && p.Freeze {
			fmt.Fprintf(&b, "frozen: %d row(s), top left %s\n", p.YSplit, p.TopLeftCell)
		}
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				b.WriteString(describeCell(t, f, sheet, cell))
			}
		}
	}
	for _, d := range f.GetDefinedName() {
		fmt.Fprintf(&b, "defined name %s (%s) = %s\n", d.Name, d.Scope, d.RefersTo)
	}
	return b.String()
}

func describeCell(t *testing.T, f *excelize.File, sheet, cell string) string {
	v, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	formula, _ := f.GetCellFormula(sheet, cell)
	if v == "" && formula == "" {
		return ""
	}
	typ, _ := f.GetCellType(sheet, cell)
	line := fmt.Sprintf("%s %s %q", cell, cellType(typ), v)
	if formula != "" {
		line += " formula " + formula
	}
	if ok, link, _ := f.GetCellHyperLink(sheet, cell); ok {
		line += " link " + link
	}
	if id, _ := f.GetCellStyle(sheet, cell); id != 0 {
		if st, err := f.GetStyle(id); err == nil {
			if st.Font != nil && st.Font.Bold {
				line += " bold"
			}
			if st.CustomNumFmt != nil {
				line += " format " + *st.CustomNumFmt
			}
		}
	}
	return line + "\n"
}

func cellType(t excelize.CellType) string {
	return map[excelize.CellType]string{
		excelize.CellTypeUnset: "n", excelize.CellTypeBool: "bool", excelize.CellTypeDate: "date",
		excelize.CellTypeError: "error", excelize.CellTypeFormula: "formula", excelize.CellTypeInlineString: "str",
		excelize.CellTypeNumber: "num", excelize.CellTypeSharedString: "str",
	}[t]
}

// readParquet reads a whole Parquet file as one table.
func readParquet(t *testing.T, path string) (arrow.Table, map[string]string) {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	meta := map[string]string{}
	kv := rdr.MetaData().KeyValueMetadata()
	for i, k := range kv.Keys() {
		meta[k] = kv.Values()[i]
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tbl.Release)
	return tbl, meta
}

// dumpParquet lists the schema, the job's metadata and every value.
func dumpParquet(t *testing.T, path string) string {
	t.Helper()
	tbl, meta := readParquet(t, path)
	var b strings.Builder
	for _, f := range tbl.Schema().Fields() {
		fmt.Fprintf(&b, "column %s: %s\n", f.Name, f.Type)
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		if strings.HasPrefix(k, "exa_enrich.") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "meta %s = %s\n", k, meta[k])
	}
	for r := 0; r < int(tbl.NumRows()); r++ {
		fmt.Fprintf(&b, "-- row %d\n", r+1)
		for c, f := range tbl.Schema().Fields() {
			fmt.Fprintf(&b, "%s: %s\n", f.Name, parquetValue(tbl.Column(c).Data(), r))
		}
	}
	return b.String()
}

func parquetValue(ch *arrow.Chunked, row int) string {
	for _, a := range ch.Chunks() {
		if row < a.Len() {
			if a.IsNull(row) {
				return "null"
			}
			return fmt.Sprintf("%q", a.ValueStr(row))
		}
		row -= a.Len()
	}
	return "?"
}

func tryReadParquet(path string) (arrow.Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
}
