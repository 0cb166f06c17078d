// Package readers streams the rows of an input file in batches, whatever
// format an analyst's tool exported it in. It owns format detection, header
// normalisation (shared by every format) and the errors that say which file,
// sheet, row and column could not be read. Every row remembers where it came
// from so that errors and answers can point back at it. Memory stays flat in
// the number of rows: no format loads a whole file.
package readers

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// BatchSize is how many rows Next returns at most.
const BatchSize = 1000

// Source locates a row in its file. Row is the number a person would look
// for: in a CSV the header is row 1, blank lines count, and a record
// spanning several lines (a quoted newline) is one row, as a spreadsheet
// shows it; in JSONL it is the line number.
type Source struct {
	File  string
	Sheet string
	Row   int
}

func (s Source) String() string {
	if s.Sheet != "" {
		return fmt.Sprintf("%s: sheet %q: row %d", s.File, s.Sheet, s.Row)
	}
	return fmt.Sprintf("%s: row %d", s.File, s.Row)
}

// Row is one data row: its cells in column order, exactly as many as
// Reader.Columns.
type Row struct {
	Source Source
	Values []string
}

// Options tune how a file is read. The zero value reads any supported file
// strictly: the format comes from the extension, the CSV delimiter is
// detected, and ragged rows, invalid UTF-8 and duplicate headers are errors.
type Options struct {
	// Format overrides the extension: one of Formats (or an alias such as
	// "ndjson" or "txt").
	Format string
	// Sheet picks an XLSX sheet by name or number; empty is the first
	// visible sheet.
	Sheet string
	// Delimiter overrides CSV delimiter detection; 0 detects it among
	// , ; tab and | from the head of the file.
	Delimiter rune
	// AllowRagged pads CSV rows shorter than the header with empty cells
	// and drops empty cells beyond the header. A row with a non-empty cell
	// beyond the header is still an error: dropping data silently is worse
	// than stopping.
	AllowRagged bool
	// Encoding names the CSV's character set when it has no BOM: one of
	// Encodings. Empty means UTF-8, and invalid UTF-8 is an error.
	Encoding string
	// DedupeHeaders renames duplicate column names to name_2, name_3, …
	// instead of failing.
	DedupeHeaders bool
}

// Errors a caller may test for with errors.Is. Most arrive wrapped in a
// *ParseError that says where.
var (
	ErrEmpty            = errors.New("the file is empty")
	ErrNoRows           = errors.New("the file has a header but no data rows")
	ErrUnknownFormat    = errors.New("unknown format")
	ErrUnknownEncoding  = errors.New("unknown encoding")
	ErrRagged           = errors.New("row has a different number of cells than the header")
	ErrInvalidUTF8      = errors.New("invalid UTF-8")
	ErrDuplicateColumn  = errors.New("duplicate column name")
	ErrNotObject        = errors.New("line is not a JSON object")
	ErrDuplicateKey     = errors.New("key appears twice in the object")
	ErrTooManyColumns   = errors.New("too many columns")
	ErrInvalidDelimiter = errors.New("invalid delimiter")
	ErrNoSheets         = errors.New("the format has no sheets")
)

// ParseError says where a file could not be read.
type ParseError struct {
	File   string
	Sheet  string
	Row    int    // 0 when the error is about the whole file
	Column string // empty when the error is about the whole row
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Sheet != "" {
		fmt.Fprintf(&b, ": sheet %q", e.Sheet)
	}
	if e.Row > 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	if e.Column != "" {
		if e.Row > 0 {
			b.WriteString(",")
		} else {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, " column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// format is what each file format implements.
type format interface {
	next() ([]Row, error) // io.EOF after the last row
	Close() error
}

// Reader streams one table.
type Reader struct {
	columns []string
	f       format
	// where names the file and sheet for errors about the whole table;
	// Open fills File when a format leaves it empty.
	where Source
	// pending holds rows read ahead by Open; err is returned once they are
	// consumed, and for ever after, so a failed read cannot be skipped.
	pending []Row
	err     error
}

// Columns returns the header names in order, normalised: trimmed, blanks
// named column_N, and unique.
func (r *Reader) Columns() []string { return r.columns }

// Next returns the next batch of rows, or io.EOF after the last one. When a
// batch stops at an unreadable row, the rows before it are returned first
// and the error on the following call.
func (r *Reader) Next() ([]Row, error) {
	if r.pending != nil {
		rows := r.pending
		r.pending = nil
		return rows, nil
	}
	if r.err != nil {
		return nil, r.err
	}
	rows, err := r.f.next()
	if err != nil {
		r.err = err
		if len(rows) == 0 {
			return nil, err
		}
	}
	return rows, nil
}

// Close releases the file.
func (r *Reader) Close() error { return r.f.Close() }

// prime reads the first batch so that a file without data rows is refused
// by Open, before any work is spent on it.
func (r *Reader) prime() error {
	rows, err := r.Next()
	if err == io.EOF {
		return &ParseError{File: r.where.File, Sheet: r.where.Sheet, Err: ErrNoRows}
	}
	if err != nil {
		return err
	}
	r.pending = rows
	return nil
}

// Formats lists the supported formats, as Options.Format takes them.
var Formats = []string{"csv", "tsv", "jsonl", "xlsx", "parquet"}

// aliases maps other extensions (and --format spellings) to a format.
var aliases = map[string]string{
	"txt":    "csv", // Excel's "Unicode text" export: UTF-16, tab-delimited, detected
	"tab":    "tsv",
	"ndjson": "jsonl",
}

// Open opens path and reads its header and first batch: a file that cannot
// yield at least one row fails here.
func Open(path string, opts Options) (*Reader, error) {
	kind := strings.ToLower(opts.Format)
	if kind == "" {
		kind = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	if a, ok := aliases[kind]; ok {
		kind = a
	}
	name := filepath.Base(path)
	if opts.Sheet != "" && (kind == "csv" || kind == "tsv" || kind == "jsonl") {
		// Ignoring it would read a table the user did not ask for.
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: %s cannot pick sheet %q", ErrNoSheets, kind, opts.Sheet)}
	}
	var r *Reader
	var err error
	switch kind {
	case "csv":
		r, err = openCSV(path, name, opts)
	case "tsv":
		if opts.Delimiter == 0 {
			opts.Delimiter = '\t'
		}
		r, err = openCSV(path, name, opts)
	case "jsonl":
		r, err = openJSONL(path, name, opts)
	case "xlsx":
		r, err = openXLSX(path, opts)
	case "parquet":
		r, err = openParquet(path, name, opts)
	case "":
		return nil, fmt.Errorf("%s: %w: no extension to tell it by (supported: %s)", name, ErrUnknownFormat, strings.Join(Formats, ", "))
	default:
		return nil, fmt.Errorf("%s: %w %q (supported: %s)", name, ErrUnknownFormat, kind, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, err
	}
	if r.where.File == "" {
		r.where.File = name
	}
	if err := r.prime(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}
