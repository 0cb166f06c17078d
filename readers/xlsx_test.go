package readers

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

const analystPipeline = "../../shared/data/analyst-pipeline.xlsx"

// drainTable opens path and reads every row; err is the first error from
// Open or Next.
func drainTable(t *testing.T, path string, opts Options) (cols []string, rows []Row, err error) {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for {
		batch, err := r.Next()
		if err == io.EOF {
			return r.Columns(), rows, nil
		}
		if err != nil {
			return r.Columns(), rows, err
		}
		rows = append(rows, batch...)
	}
}

func analystPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", analystPipeline))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		// The worktree may sit elsewhere; the shared data has one home.
		p = "/work/shared/data/analyst-pipeline.xlsx"
	}
	return p
}

func TestXLSXAnalystPipeline(t *testing.T) {
	path := analystPath(t)
	for _, sheet := range []string{"", "Targets", "targets", "1"} {
		t.Run("sheet="+sheet, func(t *testing.T) {
			cols, rows, err := drainTable(t, path, Options{Sheet: sheet})
			if err != nil {
				t.Fatal(err)
			}
			wantCols := []string{"Company", "Domain", "Last contact", "Deal size", "Weighted", "Owner"}
			if !slices.Equal(cols, wantCols) {
				t.Fatalf("columns = %q, want %q", cols, wantCols)
			}
			if len(rows) != 11 {
				t.Fatalf("got %d rows, want 10 companies and the total row", len(rows))
			}
			// Dates in ISO form, currency as plain numbers, the =D*0.3
			// formula as its cached value.
			first := []string{"Apple Inc.", "apple.com", "2026-10-01", "250000", "75000", "Dana"}
			if !slices.Equal(rows[0].Values, first) {
				t.Errorf("row 2 = %q, want %q", rows[0].Values, first)
			}
			want := Source{File: "analyst-pipeline.xlsx", Sheet: "Targets", Row: 2}
			if rows[0].Source != want {
				t.Errorf("source = %+v, want %+v", rows[0].Source, want)
			}
			if got := rows[9].Values[2]; got != "2026-10-21" {
				t.Errorf("Visa last contact = %q, want 2026-10-21", got)
			}
			if got := rows[3].Values[4]; got != "27000" {
				t.Errorf("Alphabet weighted = %q, want 27000", got)
			}
			// The footer: a note merged over A12:C12 and the SUM total.
			note := "Pipeline reviewed weekly; totals in column D."
			footer := []string{note, note, note, "1395000", "", ""}
			if !slices.Equal(rows[10].Values, footer) || rows[10].Source.Row != 12 {
				t.Errorf("row %d = %q, want row 12 %q", rows[10].Source.Row, rows[10].Values, footer)
			}
		})
	}
	for _, sheet := range []string{"Notes", "2"} {
		cols, rows, err := drainTable(t, path, Options{Sheet: sheet})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cols, []string{"Owner", "Region"}) || len(rows) != 3 || rows[2].Values[1] != "Central" || rows[2].Source.Sheet != "Notes" {
			t.Errorf("sheet %s: columns %q, rows %v", sheet, cols, rows)
		}
	}
}

// buildWorkbook saves a workbook made by fill into a temp dir.
func buildWorkbook(t *testing.T, fill func(f *excelize.File)) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	fill(f)
	path := filepath.Join(t.TempDir(), "book.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestXLSXCells(t *testing.T) {
	ts := time.Date(2024, 2, 29, 13, 45, 0, 0, time.UTC)
	custom := func(code string) *excelize.Style { return &excelize.Style{CustomNumFmt: &code} }
	cases := []struct {
		name  string
		value any
		style *excelize.Style
		want  string
	}{
		{"built-in date 14", ts, &excelize.Style{NumFmt: 14}, "2024-02-29"},
		{"built-in date-time 22", ts, &excelize.Style{NumFmt: 22}, "2024-02-29T13:45:00"},
		{"built-in time 20", 0.5729166666666666, &excelize.Style{NumFmt: 20}, "13:45:00"},
		{"custom date with month name", ts, custom(`d mmm yyyy`), "2024-02-29"},
		{"custom date-time", ts, custom(`yyyy-mm-dd hh:mm`), "2024-02-29T13:45:00"},
		{"minutes and seconds, not months", 0.5729166666666666, custom(`mm:ss`), "13:45:00"},
		{"quoted letters are not a date", 42.0, custom(`0 "days"`), "42"},
		{"bracketed currency is not a date", 1234.5, custom(`[$$-409]#,##0.00`), "1234.5"},
		{"percent", 0.25, &excelize.Style{NumFmt: 10}, "0.25"},
		{"float noise", 0.1 + 0.2, nil, "0.3"},
		{"large integer", 1234567890123.0, nil, "1234567890123"},
		{"negative", -7.5, nil, "-7.5"},
		{"boolean", true, nil, "TRUE"},
		{"text that looks numeric", "007", nil, "007"},
		{"carriage return escape", "a\r\nb", nil, "a\r\nb"},
	}
	path := buildWorkbook(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Sheet1", "A1", &[]any{" case ", "value"}))
		for i, c := range cases {
			row := i + 2
			cell, _ := excelize.CoordinatesToCellName(2, row)
			must(t, f.SetCellValue("Sheet1", "A"+strconv.Itoa(row), c.name))
			must(t, f.SetCellValue("Sheet1", cell, c.value))
			if c.style != nil {
				id, err := f.NewStyle(c.style)
				must(t, err)
				must(t, f.SetCellStyle("Sheet1", cell, cell, id))
			}
		}
	})
	cols, rows, err := drainTable(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cols, []string{"case", "value"}) {
		t.Errorf("columns = %q, want the header trimmed", cols)
	}
	if len(rows) != len(cases) {
		t.Fatalf("got %d rows, want %d", len(rows), len(cases))
	}
	for i, c := range cases {
		if got := rows[i].Values[1]; got != c.want || rows[i].Values[0] != c.name {
			t.Errorf("%s: got %q (row %q), want %q", c.name, got, rows[i].Values[0], c.want)
		}
	}
}

func TestXLSXLayout(t *testing.T) {
	path := buildWorkbook(t, func(f *excelize.File) {
		const sh = "Sheet1"
		// A title-free sheet whose header starts on row 3, with a blank
		// header name, a hidden row, an empty row, a vertical merge and
		// styled but empty cells right of and below the table.
		must(t, f.SetSheetRow(sh, "A3", &[]any{"company", "", "owner"}))
		must(t, f.SetSheetRow(sh, "A4", &[]any{"Acme", "x", "Dana"}))
		must(t, f.SetSheetRow(sh, "A5", &[]any{"Hidden Co", "y", "Lee"}))
		must(t, f.SetRowVisible(sh, 5, false))
		must(t, f.SetSheetRow(sh, "A7", &[]any{"Merged Co", "z", "Sam"}))
		must(t, f.SetCellValue(sh, "A8", "Merged Co 2"))
		must(t, f.MergeCell(sh, "C7", "C8"))
		id, err := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFFF00"}}})
		must(t, err)
		must(t, f.SetCellStyle(sh, "D3", "F20", id))
		must(t, f.SetRowHeight(sh, 30, 40))
	})
	cols, rows, err := drainTable(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"company", "column_2", "owner"}; !slices.Equal(cols, want) {
		t.Errorf("columns = %q, want %q", cols, want)
	}
	type got struct {
		row  int
		vals string
	}
	var have []got
	for _, r := range rows {
		have = append(have, got{r.Source.Row, strings.Join(r.Values, "|")})
	}
	want := []got{{4, "Acme|x|Dana"}, {5, "Hidden Co|y|Lee"}, {7, "Merged Co|z|Sam"}, {8, "Merged Co 2||Sam"}}
	if !slices.Equal(have, want) {
		t.Errorf("rows = %v, want %v", have, want)
	}
}

func TestXLSXErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, data, 0o644))
		return p
	}
	real, err := os.ReadFile(analystPath(t))
	must(t, err)
	book := buildWorkbook(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Sheet1", "A1", &[]any{"a", "b"}))
		must(t, f.SetSheetRow("Sheet1", "A2", &[]any{"1", "2"}))
		_, err := f.NewSheet("Empty")
		must(t, err)
		_, err = f.NewSheet("Head")
		must(t, err)
		must(t, f.SetSheetRow("Head", "A1", &[]any{"a", "b"}))
		_, err = f.NewSheet("Dup")
		must(t, err)
		must(t, f.SetSheetRow("Dup", "A1", &[]any{"a", "b", " a "}))
		must(t, f.SetSheetRow("Dup", "A2", &[]any{"1", "2", "3"}))
		_, err = f.NewSheet("Wide")
		must(t, err)
		must(t, f.SetSheetRow("Wide", "A1", &[]any{"a", "b", "c"}))
		must(t, f.SetSheetRow("Wide", "A2", &[]any{"1", "2", "3"}))
		must(t, f.SetSheetRow("Wide", "A3", &[]any{"1", "2", "3", "", "stray"}))
	})
	cases := []struct {
		name  string
		path  string
		sheet string
		want  string
		is    error
	}{
		{"empty file", write("empty.xlsx", nil), "", "empty.xlsx: the file is empty", ErrEmpty},
		{"not a zip", write("text.xlsx", []byte("name,domain\nAcme,acme.com\n")), "", "text.xlsx: not a valid XLSX file: zip: not a valid zip file", zip.ErrFormat},
		{"truncated", write("cut.xlsx", real[:len(real)/2]), "", "cut.xlsx: not a valid XLSX file: zip: not a valid zip file", zip.ErrFormat},
		{"unknown sheet", book, "Nope", `book.xlsx: sheet "Nope": no such sheet; the sheets are "Sheet1", "Empty", "Head", "Dup", "Wide"`, nil},
		{"sheet index out of range", book, "6", `book.xlsx: sheet "6": no such sheet; the sheets are "Sheet1", "Empty", "Head", "Dup", "Wide"`, nil},
		{"empty sheet", book, "Empty", `book.xlsx: sheet "Empty": the sheet is empty`, ErrEmpty},
		{"header-only sheet", book, "Head", `book.xlsx: sheet "Head": the file has a header but no data rows`, ErrNoRows},
		{"duplicate header", book, "Dup", `book.xlsx: sheet "Dup": row 1, column "a": duplicate column name: columns 1 and 3 are both named "a"; rename one or de-duplicate the headers`, ErrDuplicateColumn},
		{"value right of the header", book, "Wide", `book.xlsx: sheet "Wide": row 3, column "E": a value right of the header, which ends at column C`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := drainTable(t, c.path, Options{Sheet: c.sheet})
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

// TestXLSXCorruptSheet cuts the worksheet XML inside a well-formed zip: the
// error names the file, the sheet and the row where the data stopped.
func TestXLSXCorruptSheet(t *testing.T) {
	cases := []struct {
		name string
		cut  int // bytes kept after the start of <row r="3"
		want string
	}{
		{"inside a cell", 30, `cut.xlsx: sheet "Sheet1": row 3, column "id": the sheet data is cut short: unexpected EOF`},
		{"between rows", 0, `cut.xlsx: sheet "Sheet1": row 3: the sheet data is cut short: unexpected EOF`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cut.xlsx")
			must(t, os.WriteFile(path, rewriteSheet(t, func(data []byte) []byte {
				return data[:bytes.Index(data, []byte(`<row r="3"`))+c.cut]
			}), 0o644))
			_, _, err := drainTable(t, path, Options{})
			if err == nil || err.Error() != c.want {
				t.Errorf("error = %v\nwant    %s", err, c.want)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error does not wrap io.ErrUnexpectedEOF")
			}
		})
	}
}

// rewriteSheet copies testdata/table.xlsx with its worksheet XML changed by edit.
func rewriteSheet(t *testing.T, edit func([]byte) []byte) []byte {
	t.Helper()
	src, err := zip.OpenReader(filepath.Join("testdata", "table.xlsx"))
	must(t, err)
	defer src.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range src.File {
		rc, err := f.Open()
		must(t, err)
		data, err := io.ReadAll(rc)
		rc.Close()
		must(t, err)
		if f.Name == "xl/worksheets/sheet1.xml" {
			data = edit(data)
		}
		w, err := zw.Create(f.Name)
		must(t, err)
		_, err = w.Write(data)
		must(t, err)
	}
	must(t, zw.Close())
	return buf.Bytes()
}

func TestFormatKind(t *testing.T) {
	cases := []struct {
		code string
		want numKind
	}{
		{"General", kindNumber},
		{"0.00", kindNumber},
		{"#,##0.00 [$€-407]", kindNumber},
		{`[$$]#,##0`, kindNumber},
		{`0.0 "m/s"`, kindNumber},
		{"0.00E+00", kindNumber},
		{`yyyy\-mm\-dd`, kindDate},
		{"dd/mm/yyyy;@", kindDate},
		{"mmm yyyy", kindDate},
		{"mmmm", kindDate},
		{"[$-409]d-mmm-yy", kindDate},
		{"yyyy-mm-dd hh:mm:ss", kindDateTime},
		{"m/d/yy h:mm AM/PM", kindDateTime},
		{"h:mm", kindTime},
		{"[h]:mm:ss", kindTime},
		{"mm:ss.0", kindTime},
		{"[Red]0.00;[Blue]-0.00", kindNumber},
	}
	for _, c := range cases {
		if got := formatKind(c.code); got != c.want {
			t.Errorf("formatKind(%q) = %d, want %d", c.code, got, c.want)
		}
	}
}

func TestExcelDate(t *testing.T) {
	cases := []struct {
		serial   float64
		date1904 bool
		kind     numKind
		want     string
	}{
		{1, false, kindDate, "1900-01-01"},
		{59, false, kindDate, "1900-02-28"},
		{61, false, kindDate, "1900-03-01"},
		{45351.5729166667, false, kindDateTime, "2024-02-29T13:45:00"},
		{45351.99999999, false, kindDateTime, "2024-03-01T00:00:00"},
		{0, true, kindDate, "1904-01-01"},
		{43830, true, kindDate, "2024-01-01"},
	}
	for _, c := range cases {
		got, ok := excelDate(c.serial, c.date1904, c.kind)
		if !ok || got != c.want {
			t.Errorf("excelDate(%v, 1904=%v) = %q, %v; want %q", c.serial, c.date1904, got, ok, c.want)
		}
	}
	if _, ok := excelDate(-1, false, kindDate); ok {
		t.Error("a negative serial became a date")
	}
}

// writeBenchXLSX writes n rows × 10 columns with excelize's StreamWriter:
// text, integers, decimals and a date-formatted column.
func writeBenchXLSX(b *testing.B, n int) string {
	b.Helper()
	f := excelize.NewFile()
	defer f.Close()
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		b.Fatal(err)
	}
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	header := []any{"id", "company", "domain", "employees", "revenue", "founded", "city", "country", "score", "note"}
	if err := sw.SetRow("A1", header); err != nil {
		b.Fatal(err)
	}
	row := make([]any, 10)
	for i := 0; i < n; i++ {
		row[0] = i
		row[1] = "Company " + strconv.Itoa(i)
		row[2] = "company" + strconv.Itoa(i) + ".example"
		row[3] = i % 5000
		row[4] = float64(i) * 1.25
		row[5] = excelize.Cell{StyleID: dateStyle, Value: 36000 + i%9000}
		row[6] = "Zürich"
		row[7] = "CH"
		row[8] = float64(i%100) / 10
		row[9] = "a note that is a little longer than the other cells"
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.xlsx")
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkXLSX20k(b *testing.B)  { benchRead(b, writeBenchXLSX(b, 20_000), Options{}, 20_000) }
func BenchmarkXLSX200k(b *testing.B) { benchRead(b, writeBenchXLSX(b, 200_000), Options{}, 200_000) }

// TestXLSXRawCells feeds cell XML as other producers write it: inline rich
// text, phonetic guides, formula text results, error codes, ISO date cells,
// cells without references, and a prefixed namespace.
func TestXLSXRawCells(t *testing.T) {
	const rows = `<sheetData>` +
		`<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c><c r="C1" t="inlineStr"><is><t>c</t></is></c></row>` +
		`<row r="2"><c r="A2" t="inlineStr"><is><r><t>Rich </t></r><r><rPr><b/></rPr><t>text</t></r><rPh><t>ignored</t></rPh></is></c>` +
		`<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="C2" t="str"><f>A2&amp;"!"</f><v>Rich text!</v></c></row>` +
		`<row><c t="d"><v>2024-02-29T13:45:00</v></c><c t="b"><v>0</v></c><c><v>1e3</v></c></row>` +
		`<row r="5"><c r="A5"><v>0.30000000000000004</v></c><c r="B5"><v>0.1000000000000000055</v></c><c r="C5"><v>-1.5E-3</v></c></row>` +
		`</sheetData>`
	data := rewriteSheet(t, func(data []byte) []byte {
		start := bytes.Index(data, []byte("<sheetData>"))
		end := bytes.Index(data, []byte("</sheetData>")) + len("</sheetData>")
		return slices.Concat(data[:start], []byte(rows), data[end:])
	})
	path := filepath.Join(t.TempDir(), "raw.xlsx")
	must(t, os.WriteFile(path, data, 0o644))
	cols, got, err := drainTable(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cols, []string{"a", "b", "c"}) || len(got) != 3 {
		t.Fatalf("columns %q, %d rows", cols, len(got))
	}
	want := []struct {
		row  int
		vals []string
	}{
		{2, []string{"Rich text", "#DIV/0!", "Rich text!"}},
		{3, []string{"2024-02-29T13:45:00", "FALSE", "1000"}},
		// Binary noise as other writers leave it, shown as Excel shows it.
		{5, []string{"0.3", "0.1", "-0.0015"}},
	}
	for i, w := range want {
		if !slices.Equal(got[i].Values, w.vals) || got[i].Source.Row != w.row {
			t.Errorf("row %d = %q, want row %d %q", got[i].Source.Row, got[i].Values, w.row, w.vals)
		}
	}
}

// TestXLSXDamaged flips random bytes anywhere in the two workbooks: each
// damaged copy must read or fail with a *ParseError, never panic.
func TestXLSXDamaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for _, f := range []string{analystPath(t), filepath.Join("testdata", "table.xlsx")} {
		data, err := os.ReadFile(f)
		must(t, err)
		path := filepath.Join(t.TempDir(), "damaged.xlsx")
		for k := 0; k < 150; k++ {
			d := slices.Clone(data)
			for range 1 + rng.IntN(4) {
				d[rng.IntN(len(d))] ^= byte(1 + rng.IntN(255))
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
