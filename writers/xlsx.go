package writers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// RealLinkLimit is how many _sources cells a sheet gets as real
// hyperlinks; the rest get HYPERLINK() formulas, as clickable in Excel and
// LibreOffice. Excel allows 65,530 real links a sheet, but excelize adds
// each in time that grows with the links before it (measured: 5,000 in
// 0.33 s, 20,000 in 5.2 s, so 65,530 would take about a minute).
var RealLinkLimit = 5000

// Sheet names of a new workbook and of the sheets every XLSX output gets.
const (
	SheetEnriched = "Enriched"
	SheetSources  = "Sources"
	SheetSummary  = "Run summary"
)

const (
	maxSheetRows = 1_048_576
	widthSample  = 200 // rows read before the column widths are fixed
)

// xlsxEncoder writes either a new workbook streamed row by row, or (when
// the input is XLSX) a copy of the analyst's workbook with the answer
// columns appended to the enriched sheet.
type xlsxEncoder struct {
	lay *layout
	out io.Writer
	f   *excelize.File

	sheet    string
	styles   xlsxStyles
	links    int  // real hyperlinks written on the sheet
	formulas bool // a _sources cell is a HYPERLINK() formula
	lastRow  int  // last sheet row written
	template *xlsxTemplate

	// new workbook
	sw      *excelize.StreamWriter
	pending [][]any // rows held back until the widths are known
	started bool

	sources    *excelize.StreamWriter
	sourceRows int
}

type xlsxStyles struct {
	header, link, cost, date int
}

func newXLSX(out io.Writer, lay *layout) (*xlsxEncoder, error) {
	e := &xlsxEncoder{lay: lay, out: out}
	var err error
	if lay.opts.Input != "" && FormatOf(lay.opts.Input) == "xlsx" {
		if e.f, err = excelize.OpenFile(lay.opts.Input); err != nil {
			return nil, fmt.Errorf("copying %s: %w", lay.opts.Input, err)
		}
		e.template = &xlsxTemplate{}
	} else {
		e.f = excelize.NewFile()
		e.sheet = SheetEnriched
		if err := e.f.SetSheetName("Sheet1", e.sheet); err != nil {
			return nil, err
		}
		if e.sw, err = e.f.NewStreamWriter(e.sheet); err != nil {
			return nil, err
		}
	}
	if err := e.newStyles(); err != nil {
		return nil, err
	}
	if err := e.startSources(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *xlsxEncoder) newStyles() error {
	var err error
	s := &e.styles
	if s.header, err = e.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return err
	}
	if s.link, err = e.f.NewStyle(&excelize.Style{Font: &excelize.Font{Color: "0563C1", Underline: "single"}}); err != nil {
		return err
	}
	fmt6 := "0.000000"
	if s.cost, err = e.f.NewStyle(&excelize.Style{CustomNumFmt: &fmt6}); err != nil {
		return err
	}
	if s.date, err = e.f.NewStyle(&excelize.Style{NumFmt: 14, CustomNumFmt: ptr("yyyy-mm-dd")}); err != nil {
		return err
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// uniqueSheet returns name, or name with a number after it when the
// workbook already has a sheet of that name.
func (e *xlsxEncoder) uniqueSheet(name string) string {
	list := e.f.GetSheetList()
	for i := 2; slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, name) }); i++ {
		name = fmt.Sprintf("%s %d", strings.TrimRight(strings.TrimRight(name, "0123456789"), " "), i)
	}
	return name
}

func (e *xlsxEncoder) startSources() error {
	name := e.uniqueSheet(SheetSources)
	if _, err := e.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := e.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i, w := range []float64{8, 24, 60, 40, 12} {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(frozenHeader()); err != nil {
		return err
	}
	head := []any{"row", "field", "url", "title", "confidence"}
	if err := sw.SetRow("A1", styled(head, e.styles.header)); err != nil {
		return err
	}
	e.sources, e.sourceRows = sw, 1
	return nil
}

func frozenHeader() *excelize.Panes {
	return &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}
}

func styled(values []any, style int) []any {
	cells := make([]any, len(values))
	for i, v := range values {
		cells[i] = excelize.Cell{StyleID: style, Value: v}
	}
	return cells
}

// answerCell turns an answer value into a typed cell: numbers as numbers,
// booleans as booleans, dates as dates, lists and objects as JSON text.
// Text is a string cell, which a spreadsheet never evaluates, unless
// --allow-formulas lets text that starts with = be a formula.
func (e *xlsxEncoder) answerCell(v any, format string) excelize.Cell {
	switch x := v.(type) {
	case nil:
		return excelize.Cell{}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return excelize.Cell{Value: n}
		}
		if f, err := x.Float64(); err == nil {
			return excelize.Cell{Value: f}
		}
		return excelize.Cell{Value: x.String()}
	case bool, float64, int64:
		return excelize.Cell{Value: x}
	case string:
		if format == "date" {
			if d, err := time.Parse(time.DateOnly, x); err == nil {
				return excelize.Cell{Value: d, StyleID: e.styles.date}
			}
		}
		return e.textCell(x)
	default:
		return excelize.Cell{Value: CellText(x)}
	}
}

func (e *xlsxEncoder) textCell(s string) excelize.Cell {
	if e.lay.opts.AllowFormulas && strings.HasPrefix(s, "=") && len(s) > 1 {
		return excelize.Cell{Formula: s[1:]}
	}
	return excelize.Cell{Value: s}
}

// rowCells returns the appended cells of a row: answer columns, then the
// _ columns. link is the URL _sources links to, "" for none.
func (e *xlsxEncoder) rowCells(r *row) (cells []excelize.Cell, link string) {
	for i, v := range r.answers {
		cells = append(cells, e.answerCell(v, e.lay.appended[i].Format))
	}
	rec := r.rec
	sources := strings.Join(rec.Sources, " ")
	srcCell := excelize.Cell{Value: sources}
	if len(rec.Sources) > 0 && webURL(rec.Sources[0]) {
		link = rec.Sources[0]
		srcCell.StyleID = e.styles.link
		if e.links >= RealLinkLimit {
			// The cached value lets readers that do not evaluate formulas
			// (pandas, DuckDB) still see the URLs.
			srcCell.Formula = fmt.Sprintf("HYPERLINK(%s,%s)", formulaString(link), formulaString(sources))
			link = ""
			e.formulas = true
		} else {
			e.links++
		}
	}
	cells = append(cells,
		excelize.Cell{Value: rec.Status}, e.textOnly(rec.Error), e.textOnly(rec.RunID),
		excelize.Cell{Value: rec.CostUSD, StyleID: e.styles.cost}, srcCell,
		e.textOnly(rec.Confidence), e.textOnly(r.cites), e.textOnly(r.at))
	return cells, link
}

// textOnly is a string cell: bookkeeping text is never a formula.
func (e *xlsxEncoder) textOnly(s string) excelize.Cell {
	if s == "" {
		return excelize.Cell{}
	}
	return excelize.Cell{Value: s}
}

func webURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// formulaString quotes s as a string literal in a formula; 255 characters
// is the most a literal may hold.
func formulaString(s string) string {
	if utf8.RuneCountInString(s) > 255 {
		s = string([]rune(s)[:255])
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func (e *xlsxEncoder) write(r *row) error {
	if e.template != nil {
		return e.writeTemplate(r)
	}
	sheetRow := e.lastRow + 1
	if e.lastRow == 0 {
		sheetRow = 2
	}
	if sheetRow > maxSheetRows {
		return fmt.Errorf("a sheet holds at most %d rows: write CSV, JSONL or Parquet instead", maxSheetRows-1)
	}
	e.lastRow = sheetRow
	cells := make([]any, 0, len(e.lay.header))
	for i, v := range r.values {
		if r.filled != nil && r.filled[i] {
			cells = append(cells, e.textCell(v))
			continue
		}
		cells = append(cells, v)
	}
	appended, link := e.rowCells(r)
	for _, c := range appended {
		cells = append(cells, c)
	}
	if link != "" {
		cell, _ := excelize.CoordinatesToCellName(len(e.lay.opts.Columns)+len(e.lay.appended)+5, sheetRow)
		if err := e.f.SetCellHyperLink(e.sheet, cell, link, "External"); err != nil {
			return err
		}
	}
	if err := e.addSources(r, sheetRow); err != nil {
		return err
	}
	if !e.started {
		e.pending = append(e.pending, cells)
		if len(e.pending) < widthSample {
			return nil
		}
		return e.start()
	}
	cell, _ := excelize.CoordinatesToCellName(1, sheetRow)
	return e.sw.SetRow(cell, cells)
}

// start fixes the widths from the header and the first rows, which a
// stream writer needs before its first row, then writes what it held back.
func (e *xlsxEncoder) start() error {
	e.started = true
	widths := make([]int, len(e.lay.header))
	for i, h := range e.lay.header {
		widths[i] = utf8.RuneCountInString(h) + 3 // room for the filter button
	}
	for _, cells := range e.pending {
		for i, c := range cells {
			var v any = c
			if cell, ok := c.(excelize.Cell); ok {
				v = cell.Value
			}
			if n := utf8.RuneCountInString(fmt.Sprint(v)); v != nil && n+1 > widths[i] {
				widths[i] = n + 1
			}
		}
	}
	for i, w := range widths {
		if err := e.sw.SetColWidth(i+1, i+1, float64(min(max(w, 8), 60))); err != nil {
			return err
		}
	}
	if err := e.sw.SetPanes(frozenHeader()); err != nil {
		return err
	}
	head := make([]any, len(e.lay.header))
	for i, h := range e.lay.header {
		head[i] = h
	}
	if err := e.sw.SetRow("A1", styled(head, e.styles.header)); err != nil {
		return err
	}
	for i, cells := range e.pending {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := e.sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	e.pending = nil
	return nil
}

// addSources lists the row's citations on the Sources sheet, one line per
// field and page.
func (e *xlsxEncoder) addSources(r *row, sheetRow int) error {
	fields := make([]string, 0, len(r.rec.Citations))
	for f := range r.rec.Citations {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		for _, c := range r.rec.Citations[f] {
			if e.sourceRows >= maxSheetRows {
				return nil // the rest stay in the _citations column
			}
			e.sourceRows++
			cell, _ := excelize.CoordinatesToCellName(1, e.sourceRows)
			if err := e.sources.SetRow(cell, []any{sheetRow, f, c.URL, e.textOnly(c.Title), r.rec.Confidence}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *xlsxEncoder) finish(counts map[string]int) error {
	if e.template != nil {
		if err := e.finishTemplate(); err != nil {
			return err
		}
	} else {
		if !e.started {
			if err := e.start(); err != nil {
				return err
			}
		}
		last, _ := excelize.CoordinatesToCellName(len(e.lay.header), max(e.lastRow, 1))
		if err := e.f.AutoFilter(e.sheet, "A1:"+last, nil); err != nil {
			return err
		}
		if err := e.sw.Flush(); err != nil {
			return err
		}
	}
	if err := e.sources.Flush(); err != nil {
		return err
	}
	if err := e.summary(counts); err != nil {
		return err
	}
	if e.template == nil {
		if i, err := e.f.GetSheetIndex(e.sheet); err == nil {
			e.f.SetActiveSheet(i)
		}
	}
	if err := e.f.Write(e.out); err != nil {
		return err
	}
	return e.f.Close()
}

func (e *xlsxEncoder) abort() { e.f.Close() }

// summary writes the Run summary sheet: what was asked, what it cost and
// how the rows ended.
func (e *xlsxEncoder) summary(counts map[string]int) error {
	name := e.uniqueSheet(SheetSummary)
	if _, err := e.f.NewSheet(name); err != nil {
		return err
	}
	job := e.lay.opts.Job
	rows := 0
	for _, n := range counts {
		rows += n
	}
	lines := [][2]any{{"rows", rows}}
	for _, s := range sortedStatuses(counts) {
		lines = append(lines, [2]any{"rows " + s, counts[s]})
	}
	lines = append(lines,
		[2]any{"runs", job.Runs},
		[2]any{"spend (USD)", job.CostUSD},
		[2]any{"effort", job.Effort},
		[2]any{"query", job.Query},
		[2]any{"schema", job.Schema},
		[2]any{"job", job.ID},
		[2]any{"started", isoTime(job.Started)},
		[2]any{"finished", isoTime(job.Finished)},
	)
	for i, l := range lines {
		key, _ := excelize.CoordinatesToCellName(1, i+1)
		val, _ := excelize.CoordinatesToCellName(2, i+1)
		if err := e.f.SetCellStr(name, key, l[0].(string)); err != nil {
			return err
		}
		var err error
		switch v := l[1].(type) {
		case string:
			err = e.f.SetCellStr(name, val, v) // the query is text, never a formula
		default:
			err = e.f.SetCellValue(name, val, v)
		}
		if err != nil {
			return err
		}
	}
	if err := e.f.SetCellStyle(name, "A1", fmt.Sprintf("A%d", len(lines)), e.styles.header); err != nil {
		return err
	}
	if err := e.f.SetColWidth(name, "A", "A", 16); err != nil {
		return err
	}
	return e.f.SetColWidth(name, "B", "B", 80)
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// xlsxTemplate is where the answer columns go in the analyst's sheet.
type xlsxTemplate struct {
	headerRow int
	firstCol  int   // the first appended column
	sourceCol []int // the sheet column of each source column
	lastRow   int
	written   map[int]bool
}

// errNoSheetRow is a row without its sheet row number, which a copy of the
// workbook needs to know where the answers go.
var errNoSheetRow = errors.New("the row does not say which sheet row it came from")

// setupTemplate finds the header in the sheet and writes the new column
// names after the last used column.
func (e *xlsxEncoder) setupTemplate(sheet string) error {
	if sheet == "" {
		sheet = e.f.GetSheetName(0)
	}
	if idx, err := e.f.GetSheetIndex(sheet); err != nil || idx < 0 {
		return fmt.Errorf("%s has no sheet %q", e.lay.opts.Input, sheet)
	}
	e.sheet = sheet
	t := e.template
	t.written = map[int]bool{}
	rows, err := e.f.Rows(sheet)
	if err != nil {
		return err
	}
	defer rows.Close()
	maxCol := 0
	for n := 1; rows.Next(); n++ {
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return err
		}
		maxCol = max(maxCol, len(cols))
		if t.headerRow == 0 && slices.ContainsFunc(cols, func(s string) bool { return !Blank(s) }) {
			t.headerRow = n
			for i, c := range cols {
				if !Blank(c) {
					t.sourceCol = append(t.sourceCol, i+1)
				}
			}
		}
	}
	if err := rows.Error(); err != nil {
		return err
	}
	if dim, err := e.f.GetSheetDimension(sheet); err == nil {
		if _, end, ok := strings.Cut(dim, ":"); ok {
			if c, _, err := excelize.CellNameToCoordinates(end); err == nil {
				maxCol = max(maxCol, c)
			}
		}
	}
	if t.headerRow == 0 {
		t.headerRow = 1
	}
	if len(t.sourceCol) != len(e.lay.opts.Columns) {
		// The reader kept blank header cells as columns: place by position.
		t.sourceCol = t.sourceCol[:0]
		for i := range e.lay.opts.Columns {
			t.sourceCol = append(t.sourceCol, i+1)
		}
	}
	t.firstCol = maxCol + 1
	// The new header cells look like the analyst's header, bold either way.
	style := e.styles.header
	if last := len(t.sourceCol); last > 0 {
		cell, _ := excelize.CoordinatesToCellName(t.sourceCol[last-1], t.headerRow)
		if s, err := e.f.GetCellStyle(sheet, cell); err == nil && s != 0 {
			style = s
		}
	}
	names := e.lay.header[len(e.lay.opts.Columns):]
	for i, h := range names {
		cell, _ := excelize.CoordinatesToCellName(t.firstCol+i, t.headerRow)
		if err := e.f.SetCellStr(sheet, cell, h); err != nil {
			return err
		}
		if err := e.f.SetCellStyle(sheet, cell, cell, style); err != nil {
			return err
		}
		col, _ := excelize.ColumnNumberToName(t.firstCol + i)
		w := float64(min(max(utf8.RuneCountInString(h)+3, 12), 40))
		if h == "_sources" || h == "_citations" || h == "_error" {
			w = 40
		}
		if err := e.f.SetColWidth(sheet, col, col, w); err != nil {
			return err
		}
	}
	return nil
}

func (e *xlsxEncoder) writeTemplate(r *row) error {
	t := e.template
	if t.written == nil {
		if err := e.setupTemplate(r.rec.Source.Sheet); err != nil {
			return err
		}
	}
	n := r.rec.Source.Row
	if n <= t.headerRow {
		return errNoSheetRow
	}
	if t.written[n] {
		return fmt.Errorf("sheet row %d was written twice", n)
	}
	t.written[n] = true
	t.lastRow = max(t.lastRow, n)
	sheet := e.sheet
	for _, f := range e.lay.fills {
		if r.filled == nil || !r.filled[f.source] {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(t.sourceCol[f.source], n)
		if v, err := e.f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true}); err != nil || !Blank(v) {
			continue // the sheet's cell has a value (perhaps a formula's): keep it
		}
		if err := e.setCell(sheet, cell, e.answerCell(f.answer.Lookup(r.rec.Answer), f.answer.Format)); err != nil {
			return err
		}
	}
	cells, link := e.rowCells(r)
	for i, c := range cells {
		cell, _ := excelize.CoordinatesToCellName(t.firstCol+i, n)
		if err := e.setCell(sheet, cell, c); err != nil {
			return err
		}
	}
	if link != "" {
		cell, _ := excelize.CoordinatesToCellName(t.firstCol+len(e.lay.appended)+4, n)
		if err := e.f.SetCellHyperLink(sheet, cell, link, "External"); err != nil {
			return err
		}
	}
	return e.addSources(r, n)
}

// setCell writes a prepared cell with the normal (non-streaming) API.
func (e *xlsxEncoder) setCell(sheet, cell string, c excelize.Cell) error {
	var err error
	switch v := c.Value.(type) {
	case nil:
		if c.Formula != "" {
			err = e.f.SetCellFormula(sheet, cell, c.Formula)
		}
	case string:
		if c.Formula != "" {
			err = e.f.SetCellFormula(sheet, cell, c.Formula)
		} else {
			err = e.f.SetCellStr(sheet, cell, v) // text, never a formula
		}
	case float64:
		err = e.f.SetCellFloat(sheet, cell, v, -1, 64)
	case int64:
		err = e.f.SetCellInt(sheet, cell, v)
	default:
		err = e.f.SetCellValue(sheet, cell, v)
	}
	if err == nil && c.StyleID != 0 {
		err = e.f.SetCellStyle(sheet, cell, cell, c.StyleID)
	}
	return err
}

func (e *xlsxEncoder) finishTemplate() error {
	t := e.template
	if t.written == nil {
		if err := e.setupTemplate(""); err != nil {
			return err
		}
	}
	sheet := e.sheet
	if e.formulas {
		// Cells written with the normal API get no cached value: have
		// Excel and LibreOffice compute the HYPERLINK() cells on opening.
		if err := e.f.SetCalcProps(&excelize.CalcPropsOptions{FullCalcOnLoad: ptr(true)}); err != nil {
			return err
		}
	}
	if panes, err := e.f.GetPanes(sheet); err == nil && !panes.Freeze && t.headerRow == 1 {
		if err := e.f.SetPanes(sheet, frozenHeader()); err != nil {
			return err
		}
	}
	hasFilter := slices.ContainsFunc(e.f.GetDefinedName(), func(d excelize.DefinedName) bool {
		return d.Name == "_xlnm._FilterDatabase" && d.Scope == sheet
	})
	if !hasFilter && t.lastRow > t.headerRow {
		first, _ := excelize.CoordinatesToCellName(1, t.headerRow)
		last, _ := excelize.CoordinatesToCellName(t.firstCol+len(e.lay.header)-len(e.lay.opts.Columns)-1, t.lastRow)
		if err := e.f.AutoFilter(sheet, first+":"+last, nil); err != nil {
			return err
		}
	}
	return nil
}
