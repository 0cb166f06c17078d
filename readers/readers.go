// Package readers streams the rows of an input file in batches. Every row
// remembers where it came from (file, sheet, row number) so that errors and
// answers can point back at it.
package readers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BatchSize is how many rows Next returns at most.
const BatchSize = 1000

// Source locates a row in its file. Row counts from 1 at the top of the
// file, header included, as a spreadsheet numbers its rows.
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

// Row is one data row: its cells in column order.
type Row struct {
	Source Source
	Values []string
}

// Options tune how a file is read.
type Options struct {
	Format string // csv; empty picks by extension
}

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
		fmt.Fprintf(&b, ", column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrEmpty is returned by Open for a file with no header row.
var ErrEmpty = errors.New("the file is empty")

// format is what each file format implements.
type format interface {
	next() ([]Row, error) // io.EOF after the last row
	Close() error
}

// Reader streams one table.
type Reader struct {
	columns []string
	f       format
}

// Columns returns the header names in order.
func (r *Reader) Columns() []string { return r.columns }

// Next returns the next batch of rows, or io.EOF after the last one.
func (r *Reader) Next() ([]Row, error) { return r.f.next() }

// Close releases the file.
func (r *Reader) Close() error { return r.f.Close() }

// Formats lists the supported formats.
var Formats = []string{"csv"}

// Open opens path and reads its header.
func Open(path string, opts Options) (*Reader, error) {
	name := opts.Format
	if name == "" {
		name = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	switch name {
	case "csv":
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		r, err := newCSV(file, filepath.Base(path))
		if err != nil {
			file.Close()
			return nil, err
		}
		return r, nil
	default:
		return nil, fmt.Errorf("%s: unknown format %q (supported: %s)", path, name, strings.Join(Formats, ", "))
	}
}
