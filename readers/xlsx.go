package readers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// xlsxFormat streams one worksheet of an XLSX workbook.
//
// The worksheet XML is decoded token by token straight from the zip entry,
// so memory follows one row, not the sheet. excelize's Rows iterator cannot
// serve here: it hides each cell's style id, which is what says whether a
// number is a date, and excelize's per-cell style lookup loads the whole
// sheet into memory. What is kept in memory: the shared-string table (as
// Excel itself does), the style table and the merged ranges.
//
// Cells read as a person sees them in Excel, minus display formatting:
// cached formula results, numbers rounded to Excel's 15 significant digits
// and printed plainly (0.1, 1200), dates in ISO 8601 (date, date-time or
// time as the cell's number format says), TRUE/FALSE, error codes such as
// #N/A as written. Merged ranges repeat their top-left value. Hidden rows
// are read. Rows without values are skipped; row numbers stay the sheet's.
type xlsxFormat struct {
	zr      *zip.ReadCloser
	sheetRC io.ReadCloser
	dec     *xml.Decoder
	name    string
	sheet   string

	sst      []string
	kinds    []numKind // by cell style index
	date1904 bool

	merges    []mergeRange // sorted by top row
	nextMerge int
	active    []*mergeRange

	cols    []string
	lastRow int
	pending []Row // rows read ahead by Open
	eof     bool
	inData  bool // inside <sheetData>: an end of input here is a cut
}

// numKind says how a number format shows a number.
type numKind uint8

const (
	kindNumber numKind = iota
	kindDate
	kindDateTime
	kindTime
)

type mergeRange struct {
	r1, c1, r2, c2 int // 1-based, inclusive
	val            string
}

// maxXLSXCols is Excel's column limit (XFD); a larger reference is corrupt.
const maxXLSXCols = 16384

// emptySheetError is ErrEmpty worded for a sheet.
type emptySheetError struct{}

func (emptySheetError) Error() string        { return "the sheet is empty" }
func (emptySheetError) Is(target error) bool { return target == ErrEmpty }

// errCutShort reports worksheet XML that stops inside the cell data.
var errCutShort = fmt.Errorf("the sheet data is cut short: %w", io.ErrUnexpectedEOF)

// cutShort words the end of the data, at a tag boundary (io.EOF) or inside
// a tag (a syntax error), as errCutShort.
func cutShort(err error) error {
	var se *xml.SyntaxError
	if err == io.EOF || errors.As(err, &se) && se.Msg == "unexpected EOF" {
		return errCutShort
	}
	return err
}

func openXLSX(p string, opts Options) (*Reader, error) {
	name := filepath.Base(p)
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 {
		return nil, &ParseError{File: name, Err: ErrEmpty}
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, err
		}
		return nil, &ParseError{File: name, Err: fmt.Errorf("not a valid XLSX file: %w", err)}
	}
	r, err := newXLSX(zr, name, opts)
	if err != nil {
		zr.Close()
		return nil, err
	}
	return r, nil
}

func newXLSX(zr *zip.ReadCloser, name string, opts Options) (*Reader, error) {
	wantSheet := opts.Sheet
	pkg := xlsxPackage{files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		pkg.files[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, `\`, "/"), "/"))] = f
	}
	fail := func(err error) (*Reader, error) {
		return nil, &ParseError{File: name, Err: fmt.Errorf("not a valid XLSX file: %w", err)}
	}

	wbPath := "xl/workbook.xml"
	if rels, err := pkg.rels("_rels/.rels"); err == nil {
		if t, ok := rels.target("", "/officeDocument"); ok {
			wbPath = t
		}
	}
	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
			RID   string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := pkg.decode(wbPath, &wb); err != nil {
		return fail(err)
	}
	if len(wb.Sheets) == 0 {
		return fail(errors.New("the workbook lists no sheets"))
	}
	wbRels, err := pkg.rels(path.Join(path.Dir(wbPath), "_rels", path.Base(wbPath)+".rels"))
	if err != nil {
		return fail(err)
	}
	base := path.Dir(wbPath)

	// Pick the sheet: by name (Excel compares names without case), then by
	// 1-based index, else the first visible one.
	idx := -1
	if wantSheet == "" {
		for i, s := range wb.Sheets {
			if s.State != "hidden" && s.State != "veryHidden" {
				idx = i
				break
			}
		}
		if idx < 0 {
			idx = 0
		}
	} else {
		for i, s := range wb.Sheets {
			if strings.EqualFold(s.Name, wantSheet) {
				idx = i
				break
			}
		}
		if n, err := strconv.Atoi(wantSheet); idx < 0 && err == nil && n >= 1 && n <= len(wb.Sheets) {
			idx = n - 1
		}
		if idx < 0 {
			names := make([]string, len(wb.Sheets))
			for i, s := range wb.Sheets {
				names[i] = strconv.Quote(s.Name)
			}
			return nil, &ParseError{File: name, Sheet: wantSheet, Err: fmt.Errorf("no such sheet; the sheets are %s", strings.Join(names, ", "))}
		}
	}
	sheetName := wb.Sheets[idx].Name
	sheetPath, ok := wbRels.byID(base, wb.Sheets[idx].RID)
	if !ok {
		return fail(fmt.Errorf("sheet %q has no worksheet part", sheetName))
	}
	sheetFile := pkg.file(sheetPath)
	if sheetFile == nil {
		return fail(fmt.Errorf("sheet %q: missing part %s", sheetName, sheetPath))
	}

	x := &xlsxFormat{zr: zr, name: name, sheet: sheetName}
	x.date1904 = wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"
	if p, ok := wbRels.target(base, "/sharedStrings"); ok && pkg.file(p) != nil {
		if x.sst, err = pkg.sharedStrings(p); err != nil {
			return fail(fmt.Errorf("shared strings: %w", err))
		}
	}
	if p, ok := wbRels.target(base, "/styles"); ok && pkg.file(p) != nil {
		if x.kinds, err = pkg.styleKinds(p); err != nil {
			return fail(fmt.Errorf("styles: %w", err))
		}
	}
	if x.merges, err = scanMerges(sheetFile); err != nil {
		return nil, &ParseError{File: name, Sheet: sheetName, Err: fmt.Errorf("not a valid XLSX file: %w", err)}
	}
	if x.sheetRC, err = sheetFile.Open(); err != nil {
		return fail(err)
	}
	x.dec = xml.NewDecoder(bufio.NewReaderSize(x.sheetRC, 64<<10))

	// The header is the first row with a value; its last value sets the
	// width, which drops trailing empty columns.
	var header []string
	for {
		row, cells, err := x.readRow()
		if err == io.EOF {
			x.sheetRC.Close()
			return nil, &ParseError{File: name, Sheet: sheetName, Err: emptySheetError{}}
		}
		if err != nil {
			x.sheetRC.Close()
			return nil, err
		}
		if n := lastNonEmpty(cells); n > 0 {
			header = cells[:n]
			x.lastRow = row
			break
		}
	}
	cols, err := normalizeHeader(name, sheetName, x.lastRow, header, opts)
	if err != nil {
		x.sheetRC.Close()
		return nil, err
	}
	x.cols = cols
	// Read the first data row now so that a header-only sheet fails at Open.
	first, err := x.next()
	if err == io.EOF {
		x.sheetRC.Close()
		return nil, &ParseError{File: name, Sheet: sheetName, Err: ErrNoRows}
	}
	if err != nil {
		x.sheetRC.Close()
		return nil, err
	}
	x.pending = first
	return &Reader{columns: cols, f: x}, nil
}

func (x *xlsxFormat) next() ([]Row, error) {
	if x.pending != nil {
		rows := x.pending
		x.pending = nil
		return rows, nil
	}
	if x.eof {
		return nil, io.EOF
	}
	var rows []Row
	for len(rows) < BatchSize {
		rowNum, cells, err := x.readRow()
		if err == io.EOF {
			x.eof = true
			break
		}
		if err != nil {
			return nil, err
		}
		n := lastNonEmpty(cells)
		if n == 0 {
			continue
		}
		if n > len(x.cols) {
			return nil, &ParseError{File: x.name, Sheet: x.sheet, Row: rowNum, Column: columnLetters(n),
				Err: fmt.Errorf("a value right of the header, which ends at column %s", columnLetters(len(x.cols)))}
		}
		vals := make([]string, len(x.cols))
		copy(vals, cells)
		rows = append(rows, Row{Source: Source{File: x.name, Sheet: x.sheet, Row: rowNum}, Values: vals})
	}
	if len(rows) == 0 {
		return nil, io.EOF
	}
	return rows, nil
}

func (x *xlsxFormat) Close() error {
	err := x.sheetRC.Close()
	return errors.Join(err, x.zr.Close())
}

// readRow decodes the next <row> element into its cell texts, indexed by
// column from 0, with merged ranges filled in. It returns io.EOF after the
// last row.
func (x *xlsxFormat) readRow() (int, []string, error) {
	for {
		tok, err := x.dec.RawToken()
		if err != nil && x.inData {
			err = cutShort(err)
		}
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		if err != nil {
			return 0, nil, x.errAt(x.lastRow+1, "", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "sheetData" {
				x.inData = true
			}
			if t.Name.Local != "row" {
				continue
			}
			rowNum := x.lastRow + 1
			if v, ok := attr(t, "r"); ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return 0, nil, x.errAt(rowNum, "", fmt.Errorf("invalid row number %q", v))
				}
				rowNum = n
			}
			x.lastRow = rowNum
			cells, err := x.readCells(rowNum)
			if err != nil {
				return 0, nil, err
			}
			return rowNum, x.fillMerges(rowNum, cells), nil
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				x.inData = false
				return 0, nil, io.EOF
			}
		}
	}
}

// readCells reads the <c> elements up to </row>.
func (x *xlsxFormat) readCells(rowNum int) ([]string, error) {
	var cells []string
	col := 0
	for {
		tok, err := x.dec.RawToken()
		if err != nil {
			return nil, x.errAt(rowNum, "", cutShort(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "c" {
				continue
			}
			col++
			if ref, ok := attr(t, "r"); ok {
				c, _, err := parseCellRef(ref)
				if err != nil {
					return nil, x.errAt(rowNum, "", err)
				}
				col = c
			}
			if col > maxXLSXCols {
				return nil, x.errAt(rowNum, "", fmt.Errorf("cell in column %d, beyond Excel's last column", col))
			}
			val, err := x.readCell(t, rowNum, col)
			if err != nil {
				return nil, err
			}
			if val != "" {
				for len(cells) < col {
					cells = append(cells, "")
				}
				cells[col-1] = val
			}
		case xml.EndElement:
			if t.Name.Local == "row" {
				return cells, nil
			}
		}
	}
}

// readCell reads one <c> element, start tag already consumed, and returns
// its text.
func (x *xlsxFormat) readCell(start xml.StartElement, rowNum, col int) (string, error) {
	typ, _ := attr(start, "t")
	style := 0
	if s, ok := attr(start, "s"); ok {
		style, _ = strconv.Atoi(s)
	}
	var v, inline strings.Builder
	var in string // the child whose text we collect: "v" or "t" inside <is>
	phonetic := 0
	for {
		tok, err := x.dec.RawToken()
		if err != nil {
			return "", x.errAt(rowNum, x.colName(col), cutShort(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "v":
				in = "v"
			case "t":
				if phonetic == 0 {
					in = "t"
				}
			case "rPh":
				phonetic++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "t":
				in = ""
			case "rPh":
				phonetic--
			case "c":
				return x.cellText(typ, style, v.String(), inline.String(), rowNum, col)
			}
		case xml.CharData:
			switch in {
			case "v":
				v.Write(t)
			case "t":
				inline.Write(t)
			}
		}
	}
}

func (x *xlsxFormat) cellText(typ string, style int, v, inline string, rowNum, col int) (string, error) {
	switch typ {
	case "s":
		if v == "" {
			return "", nil
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(x.sst) {
			return "", x.errAt(rowNum, x.colName(col), fmt.Errorf("shared string %q does not exist", v))
		}
		return x.sst[i], nil
	case "inlineStr":
		return unescapeOOXML(inline), nil
	case "str", "e", "d":
		// Formula text results, error codes (#N/A) and ISO dates are
		// already the text to show.
		return unescapeOOXML(v), nil
	case "b":
		switch strings.TrimSpace(v) {
		case "":
			return "", nil
		case "0":
			return "FALSE", nil
		default:
			return "TRUE", nil
		}
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return "", x.errAt(rowNum, x.colName(col), fmt.Errorf("invalid number %q", v))
	}
	kind := kindNumber
	if style >= 0 && style < len(x.kinds) {
		kind = x.kinds[style]
	}
	if kind != kindNumber {
		if s, ok := excelDate(f, x.date1904, kind); ok {
			return s, nil
		}
	}
	// Excel keeps 15 significant digits; rounding there turns the binary
	// noise of 0.1+0.2 back into the 0.3 the analyst sees.
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	return formatFloat(f, 64), nil
}

// fillMerges gives every cell of a merged range its top-left value.
func (x *xlsxFormat) fillMerges(rowNum int, cells []string) []string {
	for x.nextMerge < len(x.merges) && x.merges[x.nextMerge].r1 <= rowNum {
		x.active = append(x.active, &x.merges[x.nextMerge])
		x.nextMerge++
	}
	x.active = slices.DeleteFunc(x.active, func(m *mergeRange) bool { return m.r2 < rowNum })
	for _, m := range x.active {
		if rowNum == m.r1 && m.c1 <= len(cells) {
			m.val = cells[m.c1-1]
		}
		if m.val == "" {
			continue
		}
		for len(cells) < m.c2 {
			cells = append(cells, "")
		}
		for c := m.c1; c <= m.c2; c++ {
			cells[c-1] = m.val
		}
	}
	return cells
}

func (x *xlsxFormat) colName(col int) string {
	if col >= 1 && col <= len(x.cols) {
		return x.cols[col-1]
	}
	return columnLetters(col)
}

func (x *xlsxFormat) errAt(row int, column string, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	return &ParseError{File: x.name, Sheet: x.sheet, Row: row, Column: column, Err: err}
}

// xlsxPackage finds the parts of the zip by case-insensitive name, as Excel
// does.
type xlsxPackage struct{ files map[string]*zip.File }

func (p xlsxPackage) file(name string) *zip.File {
	return p.files[strings.ToLower(strings.TrimPrefix(name, "/"))]
}

func (p xlsxPackage) decode(name string, v any) error {
	f := p.file(name)
	if f == nil {
		return fmt.Errorf("missing part %s", name)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

type relationships struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

func (p xlsxPackage) rels(name string) (relationships, error) {
	var r relationships
	err := p.decode(name, &r)
	return r, err
}

// target returns the part of the first relationship whose type ends in
// typeSuffix, resolved against base.
func (r relationships) target(base, typeSuffix string) (string, bool) {
	for _, rel := range r.Rels {
		if strings.HasSuffix(rel.Type, typeSuffix) {
			return resolvePart(base, rel.Target), true
		}
	}
	return "", false
}

func (r relationships) byID(base, id string) (string, bool) {
	for _, rel := range r.Rels {
		if rel.ID == id {
			return resolvePart(base, rel.Target), true
		}
	}
	return "", false
}

func resolvePart(base, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(target, "/")
	}
	return path.Join(base, target)
}

// sharedStrings reads the workbook's string table: the plain text of each
// item, rich-text runs joined, phonetic guides left out.
func (p xlsxPackage) sharedStrings(name string) ([]string, error) {
	rc, err := p.file(name).Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	var out []string
	var b strings.Builder
	inSI, inT, phonetic := false, false, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inSI = true
				b.Reset()
			case "t":
				inT = inSI && phonetic == 0
			case "rPh":
				phonetic++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				out = append(out, unescapeOOXML(b.String()))
				inSI = false
			case "t":
				inT = false
			case "rPh":
				phonetic--
			}
		case xml.CharData:
			if inT {
				b.Write(t)
			}
		}
	}
}

// styleKinds classifies each cell style (cellXfs index) by its number format.
func (p xlsxPackage) styleKinds(name string) ([]numKind, error) {
	var ss struct {
		NumFmts []struct {
			ID   int    `xml:"numFmtId,attr"`
			Code string `xml:"formatCode,attr"`
		} `xml:"numFmts>numFmt"`
		Xfs []struct {
			NumFmtID int `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
	if err := p.decode(name, &ss); err != nil {
		return nil, err
	}
	custom := make(map[int]string, len(ss.NumFmts))
	for _, f := range ss.NumFmts {
		custom[f.ID] = f.Code
	}
	kinds := make([]numKind, len(ss.Xfs))
	for i, xf := range ss.Xfs {
		if code, ok := custom[xf.NumFmtID]; ok {
			kinds[i] = formatKind(code)
		} else {
			kinds[i] = builtinKind(xf.NumFmtID)
		}
	}
	return kinds, nil
}

// builtinKind classifies Excel's built-in number formats, whose codes are
// implied by their ids.
func builtinKind(id int) numKind {
	switch {
	case id >= 14 && id <= 17:
		return kindDate
	case id >= 18 && id <= 21, id >= 45 && id <= 47:
		return kindTime
	case id == 22:
		return kindDateTime
	}
	return kindNumber
}

// formatKind classifies a custom format code by its date and time letters,
// ignoring quoted text, [bracketed] colours, locales and elapsed-time
// markers, and \escaped or _ * padding characters. Only the first section
// (positive numbers) counts.
func formatKind(code string) numKind {
	var date, time, month bool
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case '[':
			if j := strings.IndexByte(code[i+1:], ']'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case '\\', '_', '*':
			i++
		case ';':
			i = len(code)
		case 'd', 'D', 'y', 'Y':
			date = true
		case 'h', 'H', 's', 'S':
			time = true
		case 'm', 'M':
			month = true
		}
	}
	// m is a month unless it stands with hours or seconds (mm:ss).
	switch {
	case date && time:
		return kindDateTime
	case time:
		return kindTime
	case date, month:
		return kindDate
	}
	return kindNumber
}

// excelDate turns a serial day number into ISO 8601 text. Serials outside
// Excel's date range stay numbers.
func excelDate(serial float64, date1904 bool, kind numKind) (string, bool) {
	if serial < 0 || serial >= 2958466 { // 9999-12-31 is the last date Excel shows
		return "", false
	}
	var epoch time.Time
	switch {
	case date1904:
		epoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	case serial < 61:
		// Excel counts the nonexistent 1900-02-29 as day 60.
		epoch = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)
	default:
		epoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	}
	days := math.Floor(serial)
	secs := math.Round((serial - days) * 86400)
	t := epoch.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
	switch kind {
	case kindDate:
		return t.Format(time.DateOnly), true
	case kindTime:
		if days == 0 {
			return t.Format(time.TimeOnly), true
		}
	}
	return t.Format("2006-01-02T15:04:05"), true
}

// scanMerges collects the merged ranges of a worksheet. They are written
// after the cell data, so this reads the sheet once ahead of the rows,
// skipping the cell data by a byte search (text can hold no '<', so
// "</sheetData>" cannot occur inside a value) and decoding only the tail.
func scanMerges(f *zip.File) ([]mergeRange, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	const tag = "sheetData>"
	buf := make([]byte, 256<<10)
	var carry []byte
	var tail io.Reader
	for tail == nil {
		n, err := io.ReadFull(rc, buf)
		data := append(carry, buf[:n]...)
		for off := 0; ; {
			i := bytes.Index(data[off:], []byte(tag))
			if i < 0 {
				break
			}
			i += off
			if isEndTag(data[:i]) {
				tail = io.MultiReader(bytes.NewReader(slices.Clone(data[i+len(tag):])), rc)
				break
			}
			off = i + len(tag)
		}
		if tail != nil {
			break
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil // no cell data end: no merges
		}
		if err != nil {
			return nil, err
		}
		keep := min(len(data), 64)
		carry = append(carry[:0:0], data[len(data)-keep:]...)
	}
	var merges []mergeRange
	dec := xml.NewDecoder(tail)
	for {
		tok, err := dec.RawToken()
		if err != nil {
			// The tail starts mid-document, so its closing tags are
			// unbalanced; the ranges come before any such complaint.
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "mergeCell" {
			continue
		}
		ref, _ := attr(se, "ref")
		a, b, _ := strings.Cut(ref, ":")
		if b == "" {
			b = a
		}
		c1, r1, err1 := parseCellRef(a)
		c2, r2, err2 := parseCellRef(b)
		if err1 != nil || err2 != nil || r1 == 0 || r2 == 0 {
			return nil, fmt.Errorf("invalid merged range %q", ref)
		}
		merges = append(merges, mergeRange{r1: min(r1, r2), c1: min(c1, c2), r2: max(r1, r2), c2: max(c1, c2)})
	}
	slices.SortFunc(merges, func(a, b mergeRange) int { return a.r1 - b.r1 })
	return merges, nil
}

// isEndTag reports whether head ends with "</" or "</prefix:".
func isEndTag(head []byte) bool {
	i := len(head)
	if i > 0 && head[i-1] == ':' {
		i--
		for i > 0 && (isNameByte(head[i-1])) {
			i--
		}
	}
	return i >= 2 && head[i-1] == '/' && head[i-2] == '<'
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

func attr(se xml.StartElement, local string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// parseCellRef splits "AB12" into column 28 and row 12; a bare column
// ("AB") has row 0.
func parseCellRef(ref string) (col, row int, err error) {
	i := 0
	for i < len(ref) {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
		if col > maxXLSXCols {
			return 0, 0, fmt.Errorf("invalid cell reference %q", ref)
		}
		i++
	}
	if i == 0 {
		return 0, 0, fmt.Errorf("invalid cell reference %q", ref)
	}
	if i < len(ref) {
		row, err = strconv.Atoi(ref[i:])
		if err != nil || row < 1 {
			return 0, 0, fmt.Errorf("invalid cell reference %q", ref)
		}
	}
	return col, row, nil
}

// columnLetters turns 28 into "AB".
func columnLetters(col int) string {
	var b []byte
	for col > 0 {
		col--
		b = append(b, byte('A'+col%26))
		col /= 26
	}
	slices.Reverse(b)
	return string(b)
}

func lastNonEmpty(cells []string) int {
	for i := len(cells); i > 0; i-- {
		if cells[i-1] != "" {
			return i
		}
	}
	return 0
}

// unescapeOOXML decodes the _xHHHH_ escapes OOXML uses for control
// characters such as the carriage return (_x000D_).
func unescapeOOXML(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+6 < len(s) && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(n))
				i += 6
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
