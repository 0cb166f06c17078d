package readers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings lists the values Options.Encoding takes besides "".
var Encodings = []string{"utf-8", "latin1", "windows-1252", "utf-16le", "utf-16be"}

// encodingByName resolves Options.Encoding; nil means UTF-8, checked as
// read.
func encodingByName(name string) (encoding.Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "", "utf-8", "utf8":
		return nil, nil
	case "latin1", "latin-1", "iso-8859-1":
		return charmap.ISO8859_1, nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252, nil
	case "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), nil
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), nil
	}
	return nil, fmt.Errorf("%w %q (supported: %s)", ErrUnknownEncoding, name, strings.Join(Encodings, ", "))
}

// delimiters are the candidates detection chooses from, in the order that
// breaks ties.
var delimiters = []rune{',', ';', '\t', '|'}

// sniffLines is how many records of the head delimiter detection compares.
const sniffLines = 50

// CSV (and TSV) files are read by encoding/csv through one bufio.Reader:
//   - a UTF-8 BOM is dropped; a UTF-16 BOM (Excel's "Unicode text") decodes
//     the file; without a BOM the bytes must be UTF-8 unless
//     Options.Encoding names another character set, and the first invalid
//     byte is an error naming its row and column;
//   - the delimiter is detected from the head of the file (see
//     sniffDelimiter), which is peeked at, never consumed;
//   - CRLF and LF both end a record; quoted cells may hold delimiters,
//     quotes ("") and line breaks; a stray quote in an unquoted cell is an
//     error with its line and byte, never guessed at;
//   - Row is the row a spreadsheet shows: header row 1, blank lines
//     counted, a record with quoted line breaks counted once;
//   - rows whose cells are all blank (",,,", what exports often end with)
//     are skipped;
//   - a row wider or narrower than the header is an error, unless
//     Options.AllowRagged (see there).
type csvFormat struct {
	closer io.Closer
	name   string
	r      *csv.Reader
	ncols  int
	header []string
	// checkUTF8 is false once a decoder guarantees valid UTF-8.
	checkUTF8   bool
	allowRagged bool
	// extraLines counts the line breaks inside quoted cells read so far: a
	// record's row number is its first line minus those, so that a cell
	// holding a newline does not shift every row after it.
	extraLines int
}

func openCSV(path, name string, opts Options) (*Reader, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newCSV(file, file, name, opts)
	if err != nil {
		file.Close()
		return nil, err
	}
	return r, nil
}

// newCSV reads the header from in; closer is closed with the Reader.
func newCSV(in io.Reader, closer io.Closer, name string, opts Options) (*Reader, error) {
	enc, err := encodingByName(opts.Encoding)
	if err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	br := bufio.NewReaderSize(in, 64<<10)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		// A UTF-8 BOM left in place breaks a quoted first header; it also
		// says the file is UTF-8 whatever Encoding claims.
		_, _ = br.Discard(3)
		enc = nil
	case bytes.HasPrefix(head, []byte("\xff\xfe")):
		enc = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
	case bytes.HasPrefix(head, []byte("\xfe\xff")):
		enc = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	}
	if enc != nil {
		br = bufio.NewReaderSize(transform.NewReader(br, enc.NewDecoder()), 64<<10)
	}

	delim := opts.Delimiter
	if delim == 0 {
		delim = sniffDelimiter(br)
	} else if !validDelimiter(delim) {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w %q: it cannot be a quote, a line break or an invalid character", ErrInvalidDelimiter, delim)}
	}

	c := &csvFormat{closer: closer, name: name, r: csv.NewReader(br), checkUTF8: enc == nil, allowRagged: opts.AllowRagged}
	c.r.Comma = delim
	c.r.FieldsPerRecord = -1
	rec, row, err := c.read()
	if err == io.EOF {
		return nil, &ParseError{File: name, Err: ErrEmpty}
	}
	if err != nil {
		return nil, err
	}
	if c.checkUTF8 {
		for i, h := range rec {
			if !utf8.ValidString(h) {
				return nil, &ParseError{File: name, Row: row, Err: fmt.Errorf("header cell %d: %w", i+1, invalidUTF8(h, latin1Hint))}
			}
		}
	}
	columns, err := normalizeHeader(name, "", row, rec, opts)
	if err != nil {
		return nil, err
	}
	c.ncols = len(columns)
	c.header = columns
	return &Reader{columns: columns, f: c, where: Source{File: name}}, nil
}

// read returns the next record and its row number.
func (c *csvFormat) read() ([]string, int, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, 0, err
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, &ParseError{File: c.name, Row: pe.StartLine - c.extraLines,
				Err: fmt.Errorf("%w (line %d, byte %d)", pe.Err, pe.Line, pe.Column)}
		}
		return nil, 0, &ParseError{File: c.name, Err: err}
	}
	line, _ := c.r.FieldPos(0)
	row := line - c.extraLines
	for _, f := range rec {
		c.extraLines += strings.Count(f, "\n")
	}
	return rec, row, nil
}

func (c *csvFormat) next() ([]Row, error) {
	rows := make([]Row, 0, BatchSize)
	for len(rows) < BatchSize {
		rec, row, err := c.read()
		if err != nil {
			return rows, err
		}
		if blank(rec) {
			// Exports often end with rows of bare delimiters; they hold
			// nothing to work on.
			continue
		}
		if rec, err = c.fit(rec, row); err != nil {
			return rows, err
		}
		if c.checkUTF8 {
			for i, v := range rec {
				if !utf8.ValidString(v) {
					return rows, &ParseError{File: c.name, Row: row, Column: c.header[i], Err: invalidUTF8(v, latin1Hint)}
				}
			}
		}
		rows = append(rows, Row{Source: Source{File: c.name, Row: row}, Values: rec})
	}
	return rows, nil
}

// fit makes rec as wide as the header, or says why it cannot.
func (c *csvFormat) fit(rec []string, row int) ([]string, error) {
	n := len(rec)
	if n == c.ncols {
		return rec, nil
	}
	if !c.allowRagged {
		return nil, &ParseError{File: c.name, Row: row,
			Err: fmt.Errorf("%w: %d cells, the header has %d (allow ragged rows to pad short ones)", ErrRagged, n, c.ncols)}
	}
	if n < c.ncols {
		return append(rec, make([]string, c.ncols-n)...), nil
	}
	for i := c.ncols; i < n; i++ {
		if strings.TrimSpace(rec[i]) != "" {
			return nil, &ParseError{File: c.name, Row: row,
				Err: fmt.Errorf("%w: cell %d (%q) is beyond the header's %d columns", ErrRagged, i+1, truncate(rec[i], 40), c.ncols)}
		}
	}
	return rec[:c.ncols:c.ncols], nil
}

func (c *csvFormat) Close() error { return c.closer.Close() }

// sniffDelimiter picks the candidate that splits the head of the file into
// the same number of cells (two or more) on every line, preferring more
// cells; quoted cells are respected because the head is parsed as CSV. It
// only peeks, so nothing is consumed, and never reads more than the buffer.
func sniffDelimiter(br *bufio.Reader) rune {
	head, err := br.Peek(br.Size())
	if err == nil {
		// The buffer is full, so the last line is probably cut short.
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i+1]
		}
	}
	type score struct {
		consistent bool
		matching   int // records with as many cells as the first
		cells      int
	}
	best, bestScore := ',', score{}
	for _, d := range delimiters {
		r := csv.NewReader(bytes.NewReader(head))
		r.Comma = d
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		var counts []int
		for len(counts) < sniffLines {
			rec, err := r.Read()
			if err != nil {
				break
			}
			counts = append(counts, len(rec))
		}
		if len(counts) == 0 || counts[0] < 2 {
			continue
		}
		s := score{consistent: true, cells: counts[0]}
		for _, n := range counts {
			if n == counts[0] {
				s.matching++
			} else {
				s.consistent = false
			}
		}
		if better(s.consistent, bestScore.consistent, s.matching, bestScore.matching, s.cells, bestScore.cells) {
			best, bestScore = d, s
		}
	}
	return best
}

// better compares two detection scores lexicographically.
func better(c1, c2 bool, m1, m2, n1, n2 int) bool {
	if c1 != c2 {
		return c1
	}
	if m1 != m2 {
		return m1 > m2
	}
	return n1 > n2
}

func validDelimiter(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// latin1Hint is what to do about invalid UTF-8 in a CSV.
const latin1Hint = "; if the file is Latin-1 or Windows-1252, read it with that encoding"

// invalidUTF8 says where in s the first bad byte is, then adds hint.
func invalidUTF8(s, hint string) error {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	before := s[:i]
	if len(before) > 20 {
		j := len(before) - 20
		for j < len(before) && !utf8.RuneStart(before[j]) {
			j++
		}
		before = "…" + before[j:]
	}
	return fmt.Errorf("%w (byte 0x%02X after %q)%s", ErrInvalidUTF8, s[i], before, hint)
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
