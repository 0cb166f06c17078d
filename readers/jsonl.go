package readers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// MaxJSONLColumns bounds the distinct keys a JSONL file may use: a file
// keyed by id rather than by field would otherwise become a table with a
// column per row.
const MaxJSONLColumns = 10000

// JSONL files are read in two passes. The first collects every key in the
// order it first appears, so that objects which leave out empty fields (the
// usual way such files are written) still line up, and checks every line;
// the second yields the rows. Both stream, so memory grows with the number
// of columns, never with the number of rows. A key absent from an object is
// an empty cell, as is null; strings are their text, numbers and booleans are
// kept as written, and arrays and objects become compact JSON text. Row is
// the line number; blank lines are skipped but counted.
type jsonlFormat struct {
	in    io.ReadSeeker
	close func() error
	name  string
	br    *bufio.Reader
	buf   []byte
	line  int
	index map[string]int // key as written → column
	keys  []string       // index's keys in column order
	// fields is reused by fastObject, line after line.
	fields []jsonField
	ncols  int
}

func openJSONL(path, name string, opts Options) (*Reader, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newJSONL(file, file.Close, name, opts)
	if err != nil {
		file.Close()
		return nil, err
	}
	return r, nil
}

// newJSONL reads the whole of in once to learn the columns, then rewinds it.
func newJSONL(in io.ReadSeeker, closeFn func() error, name string, opts Options) (*Reader, error) {
	j := &jsonlFormat{in: in, close: closeFn, name: name, br: bufio.NewReaderSize(in, 64<<10), index: map[string]int{}}
	objects := 0
	for {
		fields, err := j.object()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		objects++
		for _, f := range fields {
			if _, ok := j.index[f.key]; ok {
				continue
			}
			if len(j.keys) == MaxJSONLColumns {
				return nil, &ParseError{File: name, Row: j.line, Column: f.key,
					Err: fmt.Errorf("%w: more than %d distinct keys", ErrTooManyColumns, MaxJSONLColumns)}
			}
			j.index[f.key] = len(j.keys)
			j.keys = append(j.keys, f.key)
		}
	}
	if objects == 0 {
		return nil, &ParseError{File: name, Err: ErrEmpty}
	}
	if len(j.keys) == 0 {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: no object has a key", ErrEmpty)}
	}
	columns, err := normalizeHeader(name, "", 0, j.keys, opts)
	if err != nil {
		return nil, err
	}
	j.ncols = len(columns)
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	j.br.Reset(in)
	j.line = 0
	return &Reader{columns: columns, f: j, where: Source{File: name}}, nil
}

func (j *jsonlFormat) next() ([]Row, error) {
	rows := make([]Row, 0, BatchSize)
	for len(rows) < BatchSize {
		fields, err := j.object()
		if err != nil {
			return rows, err
		}
		values := make([]string, j.ncols)
		for _, f := range fields {
			i, ok := j.index[f.key]
			if !ok {
				return rows, &ParseError{File: j.name, Row: j.line, Column: f.key, Err: errors.New("the file changed while it was read")}
			}
			if values[i], err = cellText(f.raw); err != nil {
				return rows, &ParseError{File: j.name, Row: j.line, Column: f.key, Err: err}
			}
		}
		rows = append(rows, Row{Source: Source{File: j.name, Row: j.line}, Values: values})
	}
	return rows, nil
}

func (j *jsonlFormat) Close() error { return j.close() }

type jsonField struct {
	key string
	raw json.RawMessage
}

// object returns the fields of the next non-blank line, in order.
func (j *jsonlFormat) object() ([]jsonField, error) {
	for {
		line, err := j.readLine()
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return nil, err
			}
			return nil, &ParseError{File: j.name, Row: j.line, Err: err}
		}
		j.line++
		if j.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return nil, &ParseError{File: j.name, Row: j.line, Err: invalidUTF8(string(line), "; JSON Lines must be UTF-8")}
		}
		if fields, ok := j.fastObject(line); ok {
			return fields, nil
		}
		fields, column, err := parseObject(line)
		if err != nil {
			return nil, &ParseError{File: j.name, Row: j.line, Column: column, Err: err}
		}
		return fields, nil
	}
}

// readLine returns the next line without its newline, however long; the
// slice is valid until the next call.
func (j *jsonlFormat) readLine() ([]byte, error) {
	j.buf = j.buf[:0]
	for {
		chunk, err := j.br.ReadSlice('\n')
		j.buf = append(j.buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == nil {
			return j.buf[:len(j.buf)-1], nil
		}
		return j.buf, err
	}
}

// parseObject splits one line into its key/value pairs. On error, column
// names the key at fault when there is one.
func parseObject(line []byte) (fields []jsonField, column string, err error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	tok, err := dec.Token()
	if err != nil {
		return nil, "", invalidJSON(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, "", fmt.Errorf("%w (it starts with %q)", ErrNotObject, truncate(string(line), 20))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", invalidJSON(err)
		}
		key, ok := tok.(string)
		if !ok { // the decoder only yields strings as keys; be sure
			return nil, "", fmt.Errorf("invalid JSON: key %v is not a string", tok)
		}
		if seen[key] {
			return nil, key, ErrDuplicateKey
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, key, invalidJSON(err)
		}
		fields = append(fields, jsonField{key: key, raw: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, "", invalidJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, "", errors.New("invalid JSON: more than one value on the line")
	}
	return fields, "", nil
}

// invalidJSON wraps a decoder error; the line was not empty, so running
// out of input means it stopped mid-value.
func invalidJSON(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// fastObject splits a line the way parseObject does, an order of
// magnitude faster: json.Valid checks the line without allocating, which
// lets a plain scan find each top-level key and value. Known keys are not
// copied. It declines (ok false) whatever it does not handle, leaving
// parseObject to produce the error; the slice and the values are only valid
// until the next line.
func (j *jsonlFormat) fastObject(line []byte) (fields []jsonField, ok bool) {
	if !json.Valid(line) {
		return nil, false
	}
	i := skipSpace(line, 0)
	if line[i] != '{' {
		return nil, false
	}
	fields = j.fields[:0]
	i = skipSpace(line, i+1)
	if line[i] == '}' {
		return fields, true
	}
	for {
		end := endOfString(line, i)
		rawKey := line[i+1 : end-1]
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			return nil, false
		}
		var key string
		if k, known := j.index[string(rawKey)]; known {
			key = j.keys[k]
		} else {
			key = string(rawKey)
		}
		for _, f := range fields {
			if f.key == key {
				return nil, false
			}
		}
		i = skipSpace(line, end)
		i = skipSpace(line, i+1) // past ':'
		vend := endOfValue(line, i)
		fields = append(fields, jsonField{key: key, raw: line[i:vend]})
		i = skipSpace(line, vend)
		if line[i] == '}' {
			break
		}
		i = skipSpace(line, i+1) // past ','
		if len(fields) > 64 {
			// The duplicate check above is quadratic; wide objects take
			// the slow path.
			return nil, false
		}
	}
	j.fields = fields
	return fields, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// endOfString returns the index just past the string starting at b[i].
func endOfString(b []byte, i int) int {
	for j := i + 1; ; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// endOfValue returns the index just past the valid JSON value at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch b[j] {
			case '"':
				j = endOfString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
		j++
	}
	return j
}

// cellText turns one JSON value into a cell.
func cellText(raw json.RawMessage) (string, error) {
	switch raw[0] {
	case '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 'n':
		return "", nil
	case '{', '[':
		var b bytes.Buffer
		err := json.Compact(&b, raw)
		return b.String(), err
	default: // numbers as written, true, false
		return string(raw), nil
	}
}
