package readers

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"unicode/utf8"
)

// Both fuzz targets replay testdata/fuzz/* under plain go test; run
// go test -fuzz=FuzzCSV ./readers to search for more.

// FuzzCSV feeds arbitrary bytes and options to the CSV reader. flags: bit 0
// AllowRagged, bit 1 DedupeHeaders, bit 2 Latin-1; delim 0 detects.
func FuzzCSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, delim byte, flags byte) {
		opts := Options{Delimiter: rune(delim), AllowRagged: flags&1 != 0, DedupeHeaders: flags&2 != 0}
		if flags&4 != 0 {
			opts.Encoding = "latin1"
		}
		r, err := newCSV(bytes.NewReader(data), io.NopCloser(nil), "f.csv", opts)
		checkStream(t, "f.csv", r, err)
	})
}

// FuzzJSONL feeds arbitrary bytes to the JSONL reader.
func FuzzJSONL(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, dedupe bool) {
		r, err := newJSONL(bytes.NewReader(data), func() error { return nil }, "f.jsonl", Options{DedupeHeaders: dedupe})
		checkStream(t, "f.jsonl", r, err)
		// The fast path must agree with the decoder on every line it takes.
		j := &jsonlFormat{index: map[string]int{}}
		for line := range bytes.Lines(data) {
			line = bytes.TrimSpace(line)
			if !utf8.Valid(line) { // refused before either parser sees it
				continue
			}
			fast, ok := j.fastObject(line)
			if !ok {
				continue
			}
			slow, _, err := parseObject(line)
			if err != nil {
				t.Fatalf("%q: fast path accepted what the decoder refuses: %v", line, err)
			}
			if len(fast) != len(slow) {
				t.Fatalf("%q: fast path %q, decoder %q", line, fast, slow)
			}
			for i := range fast {
				if fast[i].key != slow[i].key || !bytes.Equal(fast[i].raw, slow[i].raw) {
					t.Fatalf("%q: fast path %q, decoder %q", line, fast, slow)
				}
			}
		}
	})
}

// checkStream drains r as Open would and checks what every reader
// promises whatever its input: errors say where (a *ParseError naming the
// file), columns are unique and named, every row is as wide as the header
// with valid UTF-8 cells, and row numbers only grow.
func checkStream(t *testing.T, name string, r *Reader, err error) {
	t.Helper()
	if err == nil {
		err = r.prime()
	}
	if err == nil {
		cols := r.Columns()
		seen := map[string]bool{}
		for _, c := range cols {
			if c == "" || seen[c] {
				t.Fatalf("columns %q: blank or duplicate name", cols)
			}
			seen[c] = true
		}
		last := 0
		for {
			var batch []Row
			batch, err = r.Next()
			if err != nil {
				break
			}
			if len(batch) == 0 || len(batch) > BatchSize {
				t.Fatalf("batch of %d rows", len(batch))
			}
			for _, row := range batch {
				if len(row.Values) != len(cols) {
					t.Fatalf("row %d has %d cells, header %d", row.Source.Row, len(row.Values), len(cols))
				}
				if row.Source.Row <= last || row.Source.File != name {
					t.Fatalf("source %+v after row %d", row.Source, last)
				}
				last = row.Source.Row
				if !slices.ContainsFunc(row.Values, func(v string) bool { return !utf8.ValidString(v) }) {
					continue
				}
				t.Fatalf("row %d: invalid UTF-8 in %q", row.Source.Row, row.Values)
			}
		}
		if err == io.EOF {
			return
		}
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != name || pe.Err == nil || pe.Row < 0 {
		t.Fatalf("error %#v is not a *ParseError naming the file", err)
	}
}
