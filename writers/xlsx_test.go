package writers_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/writers"
	"github.com/xuri/excelize/v2"
)

// analystRecords reads the Targets sheet as the XLSX reader would hand it
// over: header on row 1, data rows 2–11 numbered as the sheet numbers
// them; row 12 (a merged label and a SUM total) is not a data row.
func analystRecords(t *testing.T, path string) ([]string, []writers.Record) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Targets")
	if err != nil {
		t.Fatal(err)
	}
	cols := rows[0]
	var recs []writers.Record
	for n := 2; n <= 11; n++ {
		vals := make([]string, len(cols))
		copy(vals, rows[n-1])
		rec := writers.Record{Source: readers.Source{File: filepath.Base(path), Sheet: "Targets", Row: n}, Values: vals,
			Status: "ok", RunID: "run_1", CostUSD: 0.01, EnrichedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
			Answer:  decode(t, fmt.Sprintf(`{"ceo":"CEO of %s","employees":%d,"founded":"1990-01-0%d"}`, vals[0], n*100, n%9+1)),
			Sources: []string{"https://" + vals[1] + "/about"}}
		if n == 5 {
			rec.Answer, rec.Status, rec.Error = nil, "failed", "run run_1: it failed"
		}
		recs = append(recs, rec)
	}
	return cols, recs
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("%v", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAnalystWorkbook enriches a workbook as LibreOffice saved it: the
// output is the same workbook, with styles, formulas, number formats,
// widths, the merged footer and the other sheet intact, and the answer
// columns appended to Targets.
func TestAnalystWorkbook(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "pipeline.xlsx")
	copyFile(t, sharedData(t, "analyst-pipeline.xlsx"), in)
	cols, recs := analystRecords(t, in)
	out := filepath.Join(dir, "pipeline.enriched.xlsx")
	opts := writers.Options{Columns: cols, Answers: answerSchema(t).Columns[:3], Input: in, Job: job()}
	writeAll(t, out, opts, recs)

	before, err := excelize.OpenFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	after, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()

	if got := after.GetSheetList(); !slices.Equal(got, []string{"Targets", "Notes", writers.SheetSources, writers.SheetSummary}) {
		t.Errorf("sheets %q", got)
	}
	// Every cell the analyst had is there, with its formula and its style.
	for _, sheet := range []string{"Targets", "Notes"} {
		rows, _ := before.GetRows(sheet)
		for r, row := range rows {
			for c := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				same(t, sheet+"!"+cell+" value", before.GetCellValue, after.GetCellValue, sheet, cell)
				same(t, sheet+"!"+cell+" formula", before.GetCellFormula, after.GetCellFormula, sheet, cell)
				bs, _ := before.GetCellStyle(sheet, cell)
				as, _ := after.GetCellStyle(sheet, cell)
				bst, _ := before.GetStyle(bs)
				ast, _ := after.GetStyle(as)
				if !reflect.DeepEqual(bst, ast) {
					t.Errorf("%s!%s: style %+v, was %+v", sheet, cell, ast, bst)
				}
			}
		}
	}
	if f, _ := after.GetCellFormula("Targets", "E2"); f != "D2*0.3" {
		t.Errorf("E2 formula %q", f)
	}
	if f, _ := after.GetCellFormula("Targets", "D12"); f != "SUM(D2:D11)" {
		t.Errorf("D12 formula %q", f)
	}
	if m, _ := after.GetMergeCells("Targets"); len(m) != 1 || m[0].GetStartAxis() != "A12" || m[0].GetEndAxis() != "C12" {
		t.Errorf("merged cells %v", m)
	}
	for _, col := range []string{"A", "C", "F"} {
		bw, _ := before.GetColWidth("Targets", col)
		aw, _ := after.GetColWidth("Targets", col)
		if bw != aw {
			t.Errorf("column %s: width %v, was %v", col, aw, bw)
		}
	}
	// The answer columns start right after the last used column, on the
	// header row and the data rows; the footer row gets none.
	wantHead := append([]string{"ceo", "employees", "revenue"}, writers.MetaColumns...)
	for i, h := range wantHead {
		cell, _ := excelize.CoordinatesToCellName(7+i, 1)
		if v, _ := after.GetCellValue("Targets", cell); v != h {
			t.Errorf("%s = %q, want %q", cell, v, h)
		}
		foot, _ := excelize.CoordinatesToCellName(7+i, 12)
		if v, _ := after.GetCellValue("Targets", foot); v != "" {
			t.Errorf("footer %s = %q, want it left alone", foot, v)
		}
	}
	if v, _ := after.GetCellValue("Targets", "G2"); v != "CEO of Apple Inc." {
		t.Errorf("G2 = %q", v)
	}
	if v, _ := after.GetCellValue("Targets", "H11"); v != "1100" {
		t.Errorf("H11 = %q", v)
	}
	if v, _ := after.GetCellValue("Targets", "J5"); v != "failed" {
		t.Errorf("J5 = %q", v)
	}
	if ok, link, _ := after.GetCellHyperLink("Targets", "N2"); !ok || link != "https://apple.com/about" {
		t.Errorf("N2 link %v %q", ok, link)
	}
	golden(t, "analyst.xlsx.golden", dumpXLSX(t, out))
}

func same[F any](t *testing.T, what string, before, after F, sheet, cell string) {
	t.Helper()
	call := func(f any) string {
		switch g := f.(type) {
		case func(string, string, ...excelize.Options) (string, error):
			v, _ := g(sheet, cell)
			return v
		case func(string, string) (string, error):
			v, _ := g(sheet, cell)
			return v
		}
		return ""
	}
	if b, a := call(before), call(after); b != a {
		t.Errorf("%s: %q, was %q", what, a, b)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./writers -update)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s (run with -update after checking):\n%s", path, diffLines(string(want), got))
	}
}

// TestAnalystWorkbookOnlyMissing fills the blank cells of an existing
// column and leaves the filled ones alone.
func TestAnalystWorkbookOnlyMissing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "pipeline.xlsx")
	copyFile(t, sharedData(t, "analyst-pipeline.xlsx"), in)
	f, err := excelize.OpenFile(in)
	if err != nil {
		t.Fatal(err)
	}
	f.SetCellStr("Targets", "G1", "ceo")
	f.SetCellStr("Targets", "G2", "Kept CEO")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cols, recs := analystRecords(t, in)
	out := filepath.Join(dir, "out.xlsx")
	writeAll(t, out, writers.Options{Columns: cols, Answers: answerSchema(t).Columns[:1], Input: in, OnlyMissing: true}, recs)
	after, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	for cell, want := range map[string]string{"G2": "Kept CEO", "G3": "CEO of Microsoft", "G5": "", "H1": "_status", "H3": "ok"} {
		if v, _ := after.GetCellValue("Targets", cell); v != want {
			t.Errorf("%s = %q, want %q", cell, v, want)
		}
	}
}

// TestManyLinks writes more _sources links than Excel allows real
// hyperlinks on one sheet: the first RealLinkLimit are hyperlinks, the
// rest HYPERLINK() formulas whose cached value is the URL.
func TestManyLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 70,000 rows")
	}
	const n = 70_000
	path := filepath.Join(t.TempDir(), "links.xlsx")
	w, err := writers.Create(path, writers.Options{Columns: []string{"name"}, Answers: answerSchema(t).Columns[:1]})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range n {
		err := w.Write(writers.Record{Source: readers.Source{Row: i + 2}, Values: []string{fmt.Sprint("company ", i)}, Status: "ok",
			Sources: []string{fmt.Sprintf("https://example.com/%d?q=\"x\"", i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows with links written in %v", n, time.Since(start).Round(time.Millisecond))
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	col := 2 + len(writers.MetaColumns[:4]) + 1 // name, ceo, then _sources after four _ columns
	for _, row := range []int{2, writers.RealLinkLimit + 1, writers.RealLinkLimit + 2, n + 1} {
		cell, _ := excelize.CoordinatesToCellName(col, row)
		want := fmt.Sprintf("https://example.com/%d?q=\"x\"", row-2)
		ok, link, _ := f.GetCellHyperLink(writers.SheetEnriched, cell)
		formula, _ := f.GetCellFormula(writers.SheetEnriched, cell)
		value, _ := f.GetCellValue(writers.SheetEnriched, cell)
		if value != want {
			t.Errorf("%s = %q, want %q", cell, value, want)
		}
		real := row-1 <= writers.RealLinkLimit
		switch {
		case real && (!ok || link != want):
			t.Errorf("%s: hyperlink %v %q, want %q", cell, ok, link, want)
		case !real && (ok || !strings.HasPrefix(formula, `HYPERLINK("https://example.com/`) || !strings.Contains(formula, `?q=""x""`)):
			t.Errorf("%s: hyperlink %v, formula %q, want a HYPERLINK() formula", cell, ok, formula)
		}
	}
}

// TestLibreOffice opens the outputs in LibreOffice (a third-party reader),
// converts them to CSV and reads that back: the answers are there, text
// that looks like a formula was not run, the analyst's formulas still
// compute.
func TestLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
	}
	if testing.Short() {
		t.Skip("starts LibreOffice")
	}
	dir := t.TempDir()
	enriched := filepath.Join(dir, "enriched.xlsx")
	writeAll(t, enriched, options(t), table(t))
	in := filepath.Join(dir, "pipeline.xlsx")
	copyFile(t, sharedData(t, "analyst-pipeline.xlsx"), in)
	cols, recs := analystRecords(t, in)
	pipeline := filepath.Join(dir, "pipeline.enriched.xlsx")
	// Rows past the third get HYPERLINK() formulas in _sources.
	defer func(n int) { writers.RealLinkLimit = n }(writers.RealLinkLimit)
	writers.RealLinkLimit = 3
	writeAll(t, pipeline, writers.Options{Columns: cols, Answers: answerSchema(t).Columns[:3], Input: in}, recs)
	// Excel computes them on opening only when told to.
	if f, err := excelize.OpenFile(pipeline); err == nil {
		props, _ := f.GetCalcProps()
		if props.FullCalcOnLoad == nil || !*props.FullCalcOnLoad {
			t.Errorf("the copy does not ask for its HYPERLINK() cells to be computed on opening")
		}
		f.Close()
	}

	conv := filepath.Join(dir, "csv")
	cmd := exec.Command(soffice, "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", conv, enriched, pipeline)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	head, rows := readAllCSV(t, filepath.Join(conv, "enriched.csv"))
	if !slices.Equal(head, header(t)) {
		t.Errorf("header %q", head)
	}
	ceo, status := slices.Index(head, "ceo"), slices.Index(head, "_status")
	if got := rows[1][ceo]; got != `=HYPERLINK("http://evil.example","click")` {
		t.Errorf("LibreOffice shows the evil ceo cell as %q: it ran the formula", got)
	}
	if got := rows[1][2]; got != "=1+1" {
		t.Errorf("LibreOffice shows the source cell =1+1 as %q", got)
	}
	for i, s := range statuses {
		if rows[i][status] != s {
			t.Errorf("row %d: _status %q, want %q", i+2, rows[i][status], s)
		}
	}
	if got := rows[0][slices.Index(head, "employees")]; got != "164000" {
		t.Errorf("employees %q", got)
	}
	if got := rows[0][slices.Index(head, "founded")]; got != "1976-04-01" {
		t.Errorf("founded %q", got)
	}

	head, rows = readAllCSV(t, filepath.Join(conv, "pipeline.enriched.csv"))
	if !slices.Equal(head[:6], cols) || head[6] != "ceo" {
		t.Errorf("header %q", head)
	}
	// LibreOffice computes the formulas and shows the analyst's formats.
	if rows[0][4] != "$75,000" || rows[0][6] != "CEO of Apple Inc." || rows[0][9] != "ok" {
		t.Errorf("row 2: %q", rows[0])
	}
	if got := rows[9][13]; got != "https://visa.com/about" {
		t.Errorf("row 11: _sources %q, want the HYPERLINK() formula's text", got)
	}
	if rows[10][3] != "$1,395,000" {
		t.Errorf("footer total %q, want $1,395,000", rows[10][3])
	}
}
