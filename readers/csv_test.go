package readers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readCase is one file's content and what reading it must give: either
// the whole table (columns, cells and row numbers) or the whole error.
type readCase struct {
	name    string
	file    string // the file name; its extension picks the format
	content string
	opts    Options
	columns []string
	values  [][]string
	rows    []int  // Source.Row of each row; nil skips the check
	err     string // the whole message; "" wants no error
	is      error  // a sentinel the error must wrap
}

func runReadCases(t *testing.T, cases []readCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			columns, rows, err := readFile(path, tc.opts)
			if tc.err != "" || err != nil {
				if err == nil {
					t.Fatalf("no error, want %q", tc.err)
				}
				if err.Error() != tc.err {
					t.Errorf("error:\n got %s\nwant %s", err, tc.err)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("error %v does not wrap %v", err, tc.is)
				}
				var pe *ParseError
				if errors.As(err, &pe) && pe.File != tc.file {
					t.Errorf("ParseError.File = %q, want %q", pe.File, tc.file)
				}
				return
			}
			if !reflect.DeepEqual(columns, tc.columns) {
				t.Errorf("columns = %q, want %q", columns, tc.columns)
			}
			var values [][]string
			var nums []int
			for _, r := range rows {
				values = append(values, r.Values)
				nums = append(nums, r.Source.Row)
				if r.Source.File != tc.file {
					t.Errorf("row %d: Source.File = %q, want %q", r.Source.Row, r.Source.File, tc.file)
				}
			}
			if !reflect.DeepEqual(values, tc.values) {
				t.Errorf("values:\n got %q\nwant %q", values, tc.values)
			}
			if tc.rows != nil && !reflect.DeepEqual(nums, tc.rows) {
				t.Errorf("row numbers = %v, want %v", nums, tc.rows)
			}
		})
	}
}

func utf16le(s string) string {
	b := []byte{0xff, 0xfe}
	for _, r := range s { // test text stays in the BMP
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

func utf16be(s string) string {
	b := []byte{0xfe, 0xff}
	for _, r := range s {
		b = append(b, byte(r>>8), byte(r))
	}
	return string(b)
}

func TestCSV(t *testing.T) {
	ab := []string{"a", "b"}
	runReadCases(t, []readCase{
		{name: "comma", file: "x.csv", content: "a,b\n1,2\n3,4\n", columns: ab, values: [][]string{{"1", "2"}, {"3", "4"}}, rows: []int{2, 3}},
		{name: "no final newline", file: "x.csv", content: "a,b\n1,2", columns: ab, values: [][]string{{"1", "2"}}},
		{name: "semicolon detected", file: "x.csv", content: "a;b\n1;2\n", columns: ab, values: [][]string{{"1", "2"}}},
		{name: "semicolon with decimal commas", file: "x.csv", content: "name;price;qty\nfoo;1,5;2\nbar;2,25;3\n",
			columns: []string{"name", "price", "qty"}, values: [][]string{{"foo", "1,5", "2"}, {"bar", "2,25", "3"}}},
		{name: "tab detected", file: "x.csv", content: "a\tb\n1,5\t2\n", columns: ab, values: [][]string{{"1,5", "2"}}},
		{name: "pipe detected", file: "x.csv", content: "a|b\n1|2\n", columns: ab, values: [][]string{{"1", "2"}}},
		{name: "quoted delimiters do not mislead detection", file: "x.csv", content: "\"a;x\",b\n\"1;2;3\",2\n\"4;5\",6\n",
			columns: []string{"a;x", "b"}, values: [][]string{{"1;2;3", "2"}, {"4;5", "6"}}},
		{name: "inconsistent head falls back to most regular", file: "x.csv", content: "a,b\n1,2\n3,4,5\n",
			err: "x.csv: row 3: row has a different number of cells than the header: 3 cells, the header has 2 (allow ragged rows to pad short ones)", is: ErrRagged},
		{name: "single column", file: "x.csv", content: "name\nAcme\n\"Foo, Inc.\"\n", columns: []string{"name"}, values: [][]string{{"Acme"}, {"Foo, Inc."}}},
		{name: "delimiter override", file: "x.csv", content: "a;b\n1;2\n", opts: Options{Delimiter: ','}, columns: []string{"a;b"}, values: [][]string{{"1;2"}}},
		{name: "tsv extension is tab without detection", file: "x.tsv", content: "a,b\tc\n1,2\t3\n", columns: []string{"a,b", "c"}, values: [][]string{{"1,2", "3"}}},
		{name: "format option overrides extension", file: "x.dat", content: "a,b\n1,2\n", opts: Options{Format: "csv"}, columns: ab, values: [][]string{{"1", "2"}}},
		{name: "UTF-8 BOM before a quoted header", file: "x.csv", content: "\xef\xbb\xbf\"a\",b\n1,2\n", columns: ab, values: [][]string{{"1", "2"}}},
		{name: "CRLF", file: "x.csv", content: "a,b\r\n1,2\r\n3,4\r\n", columns: ab, values: [][]string{{"1", "2"}, {"3", "4"}}, rows: []int{2, 3}},
		{name: "quoted newlines keep spreadsheet row numbers", file: "x.csv", content: "a,b\n\"x\r\ny\nz\",1\n2,3\n",
			columns: ab, values: [][]string{{"x\ny\nz", "1"}, {"2", "3"}}, rows: []int{2, 3}},
		{name: "blank lines count as rows", file: "x.csv", content: "a,b\n1,2\n\n3,4\n", columns: ab, values: [][]string{{"1", "2"}, {"3", "4"}}, rows: []int{2, 4}},
		{name: "rows of bare delimiters are skipped", file: "x.csv", content: "a,b\n1,2\n,\n , \n3,4\n,\n", columns: ab, values: [][]string{{"1", "2"}, {"3", "4"}}, rows: []int{2, 5}},
		{name: "headers trimmed, blank named, deduped", file: "x.csv", content: " a ,,a,a_2\n1,2,3,4\n", opts: Options{DedupeHeaders: true},
			columns: []string{"a", "column_2", "a_3", "a_2"}, values: [][]string{{"1", "2", "3", "4"}}},
		{name: "duplicate header", file: "x.csv", content: "name,domain,name \n1,2,3\n",
			err: `x.csv: row 1, column "name": duplicate column name: columns 1 and 3 are both named "name"; rename one or de-duplicate the headers`, is: ErrDuplicateColumn},
		{name: "short row", file: "x.csv", content: "a,b,c\n1,2,3\n4,5\n",
			err: "x.csv: row 3: row has a different number of cells than the header: 2 cells, the header has 3 (allow ragged rows to pad short ones)", is: ErrRagged},
		{name: "long row", file: "x.csv", content: "a,b\n1,2,3\n",
			err: "x.csv: row 2: row has a different number of cells than the header: 3 cells, the header has 2 (allow ragged rows to pad short ones)", is: ErrRagged},
		{name: "ragged allowed: padded, empty extras dropped", file: "x.csv", content: "a,b,c\n1\n1,2,3,,\n", opts: Options{AllowRagged: true},
			columns: []string{"a", "b", "c"}, values: [][]string{{"1", "", ""}, {"1", "2", "3"}}},
		{name: "ragged allowed: data beyond the header", file: "x.csv", content: "a,b\n1,2\n1,2,,oops\n", opts: Options{AllowRagged: true},
			err: `x.csv: row 3: row has a different number of cells than the header: cell 4 ("oops") is beyond the header's 2 columns`, is: ErrRagged},
		{name: "invalid UTF-8", file: "companies.csv", content: "name,city\nAcme,Z\xfcrich\n",
			err: `companies.csv: row 2, column "city": invalid UTF-8 (byte 0xFC after "Z"); if the file is Latin-1 or Windows-1252, read it with that encoding`, is: ErrInvalidUTF8},
		{name: "invalid UTF-8 in the header", file: "x.csv", content: "name,caf\xe9\n1,2\n",
			err: `x.csv: row 1: header cell 2: invalid UTF-8 (byte 0xE9 after "caf"); if the file is Latin-1 or Windows-1252, read it with that encoding`, is: ErrInvalidUTF8},
		{name: "latin1", file: "x.csv", content: "name,city\nAcme,Z\xfcrich\n", opts: Options{Encoding: "latin1"},
			columns: []string{"name", "city"}, values: [][]string{{"Acme", "Zürich"}}},
		{name: "windows-1252", file: "x.csv", content: "name,price\nAcme,\x8010\n", opts: Options{Encoding: "windows-1252"},
			columns: []string{"name", "price"}, values: [][]string{{"Acme", "€10"}}},
		{name: "UTF-16 LE with BOM (Excel Unicode text)", file: "x.txt", content: utf16le("name\tcity\r\nAcme\tZürich\r\n"),
			columns: []string{"name", "city"}, values: [][]string{{"Acme", "Zürich"}}},
		{name: "UTF-16 BE with BOM", file: "x.csv", content: utf16be("name,city\nAcme,東京\n"),
			columns: []string{"name", "city"}, values: [][]string{{"Acme", "東京"}}},
		{name: "UTF-16 LE without BOM by option", file: "x.csv", content: utf16le("a,b\n1,2\n")[2:], opts: Options{Encoding: "utf-16le"},
			columns: ab, values: [][]string{{"1", "2"}}},
		{name: "unknown encoding", file: "x.csv", content: "a\n1\n", opts: Options{Encoding: "ebcdic"},
			err: `x.csv: unknown encoding "ebcdic" (supported: utf-8, latin1, windows-1252, utf-16le, utf-16be)`, is: ErrUnknownEncoding},
		{name: "invalid delimiter", file: "x.csv", content: "a\n1\n", opts: Options{Delimiter: '"'},
			err: `x.csv: invalid delimiter '"': it cannot be a quote, a line break or an invalid character`, is: ErrInvalidDelimiter},
		{name: "bare quote", file: "x.csv", content: "a,b\n1,2\n3,4\"x\n",
			err: `x.csv: row 3: bare " in non-quoted-field (line 3, byte 4)`},
		{name: "unterminated quote", file: "x.csv", content: "a,b\n1,\"2\n3,4\n",
			err: `x.csv: row 2: extraneous or missing " in quoted-field (line 3, byte 5)`},
		{name: "empty file", file: "x.csv", content: "", err: "x.csv: the file is empty", is: ErrEmpty},
		{name: "only a BOM", file: "x.csv", content: "\xef\xbb\xbf", err: "x.csv: the file is empty", is: ErrEmpty},
		{name: "only blank lines", file: "x.csv", content: "\n\r\n\n", err: "x.csv: the file is empty", is: ErrEmpty},
		{name: "header only", file: "x.csv", content: "a,b\n", err: "x.csv: the file has a header but no data rows", is: ErrNoRows},
		{name: "header and blank rows", file: "x.csv", content: "a,b\n,\n\n", err: "x.csv: the file has a header but no data rows", is: ErrNoRows},
		{name: "a sheet for a CSV", file: "x.csv", content: "a\n1\n", opts: Options{Sheet: "2"},
			err: `x.csv: the format has no sheets: csv cannot pick sheet "2"`, is: ErrNoSheets},
		{name: "unknown extension", file: "x.xls", content: "a\n1\n", err: `x.xls: unknown format "xls" (supported: csv, tsv, jsonl, xlsx, parquet)`, is: ErrUnknownFormat},
		{name: "no extension", file: "data", content: "a\n1\n", err: `data: unknown format: no extension to tell it by (supported: csv, tsv, jsonl, xlsx, parquet)`, is: ErrUnknownFormat},
	})
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.csv"), Options{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.csv") {
		t.Errorf("err = %v, want a not-exist error naming the file", err)
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dir.csv")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err := readFile(dir, Options{})
	if err == nil || strings.Count(err.Error(), "\n") > 0 || !strings.Contains(err.Error(), "dir.csv") {
		t.Errorf("err = %v, want a one-line error naming dir.csv", err)
	}
}

// TestCSVErrorAfterAFullBatch checks that the rows before a bad one arrive
// first, in full batches, and that the error then stays.
func TestCSVErrorAfterAFullBatch(t *testing.T) {
	var b strings.Builder
	b.WriteString("n,sq\n")
	for i := 1; i <= 1500; i++ {
		if i == 1202 {
			b.WriteString("oops\n")
			continue
		}
		fmt.Fprintf(&b, "%d,%d\n", i, i*i)
	}
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var sizes []int
	var last Row
	for {
		batch, err := r.Next()
		if err != nil {
			want := &ParseError{File: "big.csv", Row: 1203, Err: fmt.Errorf("%w: %d cells, the header has %d (allow ragged rows to pad short ones)", ErrRagged, 1, 2)}
			if !reflect.DeepEqual(err, want) {
				t.Errorf("err = %#v\nwant %#v", err, want)
			}
			if _, again := r.Next(); again != err {
				t.Errorf("second Next after the error returned %v", again)
			}
			break
		}
		sizes = append(sizes, len(batch))
		last = batch[len(batch)-1]
	}
	if !reflect.DeepEqual(sizes, []int{1000, 201}) {
		t.Errorf("batch sizes %v, want [1000 201]", sizes)
	}
	if last.Source.Row != 1202 || last.Values[0] != "1201" {
		t.Errorf("last row before the error = %+v", last)
	}
}

func TestSP500(t *testing.T) {
	const path = "../../shared/data/sp500-constituents.csv"
	if _, err := os.Stat(path); err != nil {
		t.Skip("shared data not present:", err)
	}
	columns, rows, err := readFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(columns) != 8 || columns[0] != "Symbol" || columns[7] != "Founded" {
		t.Errorf("columns = %q", columns)
	}
	if len(rows) != 503 {
		t.Errorf("%d rows, want 503", len(rows))
	}
	if got := rows[0].Values[4]; got != "Saint Paul, Minnesota" {
		t.Errorf("MMM headquarters = %q", got)
	}
	if last := rows[len(rows)-1].Source.Row; last != 504 {
		t.Errorf("last row number %d, want 504", last)
	}
}
