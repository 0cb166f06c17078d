package readers

import (
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"
)

// conformanceTable is the one logical table every format stores under
// testdata/table.*: awkward values included, so that each reader is held to
// the same cells.
var conformanceTable = struct {
	columns []string
	values  [][]string
}{
	columns: []string{"id", "name", "note", "amount", "date"},
	values: [][]string{
		{"1", "Acme, Inc.", `He said "hi"`, "0.1", "2024-01-31"},
		{"2", "Zürich Café 東京", "line one\nline two", "1234567.89", "2023-12-01T09:30:00Z"},
		{"3", "", "", "-5", "1999-12-31"},
	},
}

// conformanceFiles lists the stored copies of conformanceTable; a new format
// joins the suite with one line. rows are the Source.Row each data row must
// report (a CSV counts its header as row 1; JSONL counts lines).
var conformanceFiles = []struct {
	file  string
	opts  Options
	sheet string
	rows  []int
}{
	{file: "table.csv", rows: []int{2, 3, 4}},
	{file: "table.jsonl", rows: []int{1, 2, 3}},
	{file: "table.xlsx", sheet: "Sheet1", rows: []int{2, 3, 4}},
	{file: "table.parquet", rows: []int{2, 3, 4}},
}

func TestConformance(t *testing.T) {
	for _, tc := range conformanceFiles {
		t.Run(tc.file, func(t *testing.T) {
			columns, rows, err := readFile(filepath.Join("testdata", tc.file), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(columns, conformanceTable.columns) {
				t.Errorf("columns = %q, want %q", columns, conformanceTable.columns)
			}
			var want []Row
			for i, v := range conformanceTable.values {
				want = append(want, Row{Source: Source{File: tc.file, Sheet: tc.sheet, Row: tc.rows[i]}, Values: v})
			}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("rows:\n got %q\nwant %q", rows, want)
			}
		})
	}
}

// readFile reads a whole file through Open and Next, returning the rows
// read before any error.
func readFile(path string, opts Options) ([]string, []Row, error) {
	r, err := Open(path, opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var rows []Row
	for {
		batch, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Columns(), rows, nil
		}
		if err != nil {
			return r.Columns(), rows, err
		}
		if len(batch) == 0 || len(batch) > BatchSize {
			return r.Columns(), rows, errors.New("Next returned a batch of the wrong size")
		}
		rows = append(rows, batch...)
	}
}
