package readers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"strings"
)

type csvFormat struct {
	file   *os.File
	name   string
	r      *csv.Reader
	ncols  int
	rowNum int
}

func newCSV(file *os.File, name string) (*Reader, error) {
	br := bufio.NewReaderSize(file, 64<<10)
	// A UTF-8 BOM left in place breaks a quoted first header.
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	c := &csvFormat{file: file, name: name, r: csv.NewReader(br)}
	c.r.FieldsPerRecord = -1
	header, err := c.r.Read()
	if err == io.EOF {
		return nil, &ParseError{File: name, Err: ErrEmpty}
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	c.rowNum = 1
	columns := make([]string, len(header))
	for i, h := range header {
		columns[i] = strings.TrimSpace(h)
	}
	c.ncols = len(columns)
	return &Reader{columns: columns, f: c}, nil
}

func (c *csvFormat) next() ([]Row, error) {
	var rows []Row
	for len(rows) < BatchSize {
		rec, err := c.r.Read()
		if err == io.EOF {
			break
		}
		c.rowNum++
		if err != nil {
			return nil, c.wrap(err)
		}
		if len(rec) != c.ncols {
			return nil, &ParseError{File: c.name, Row: c.rowNum, Err: errors.New("row has a different number of cells than the header")}
		}
		rows = append(rows, Row{Source: Source{File: c.name, Row: c.rowNum}, Values: rec})
	}
	if len(rows) == 0 {
		return nil, io.EOF
	}
	return rows, nil
}

func (c *csvFormat) wrap(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: c.name, Row: c.rowNum, Err: pe.Err}
	}
	return &ParseError{File: c.name, Row: c.rowNum, Err: err}
}

func (c *csvFormat) Close() error { return c.file.Close() }
