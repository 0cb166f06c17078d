package writers_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/exa-enrich/exa-enrich/writers"
)

// TestPandas reads the CSV, XLSX and JSONL outputs with pandas (Debian's
// python3-pandas and python3-openpyxl), as an analyst's notebook would.
func TestPandas(t *testing.T) {
	// Debian's packages go to the system Python, which may not be first on
	// PATH.
	python := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import pandas, openpyxl").Run() == nil {
			python = path
			break
		}
	}
	if python == "" {
		t.Skip("pandas is not installed (apt-get install python3-pandas python3-openpyxl)")
	}
	if testing.Short() {
		t.Skip("starts Python")
	}
	// One real hyperlink, then HYPERLINK() formulas: pandas must see their
	// cached value.
	defer func(n int) { writers.RealLinkLimit = n }(writers.RealLinkLimit)
	writers.RealLinkLimit = 1

	dir := t.TempDir()
	paths := map[string]string{}
	for _, f := range []string{"csv", "xlsx", "jsonl"} {
		paths[f] = filepath.Join(dir, "out."+f)
		writeAll(t, paths[f], options(t), table(t))
	}
	raw, err := exec.Command(python, "testdata/pandas_check.py", paths["csv"], paths["xlsx"], paths["jsonl"]).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("pandas: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got struct {
		CSV struct {
			Columns, Status, Note, CEO []string
			Rows                       int
		}
		XLSX struct {
			Sheets, Columns, Status, Sources, CEO, Employees []string
			Rows                                             int
		}
		JSONL struct {
			Columns, Status []string
			Rows            int
			City            string
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	recs := table(t)
	for name, cols := range map[string][]string{"csv": got.CSV.Columns, "xlsx": got.XLSX.Columns} {
		if !slices.Equal(cols, header(t)) {
			t.Errorf("%s: pandas sees columns %q", name, cols)
		}
	}
	for name, st := range map[string][]string{"csv": got.CSV.Status, "xlsx": got.XLSX.Status, "jsonl": got.JSONL.Status} {
		if !slices.Equal(st, statuses) {
			t.Errorf("%s: pandas sees _status %q", name, st)
		}
	}
	if got.CSV.Note[2] != recs[2].Values[2] || got.CSV.Note[1] != "=1+1" {
		t.Errorf("csv: source cells %q", got.CSV.Note)
	}
	if got.CSV.CEO[1] != `'=HYPERLINK("http://evil.example","click")` {
		t.Errorf("csv: guarded ceo %q", got.CSV.CEO[1])
	}
	if got.XLSX.Sheets == nil || !slices.Equal(got.XLSX.Sheets, []string{"Enriched", "Sources", "Run summary"}) {
		t.Errorf("xlsx: sheets %q", got.XLSX.Sheets)
	}
	if got.XLSX.Sources[0] != strings.Join(recs[0].Sources, " ") || got.XLSX.Sources[1] != "http://evil.example/about" {
		t.Errorf("xlsx: _sources %q (the second is a HYPERLINK() formula)", got.XLSX.Sources[:2])
	}
	if got.XLSX.CEO[1] != `=HYPERLINK("http://evil.example","click")` || got.XLSX.Employees[0] != "164000" {
		t.Errorf("xlsx: ceo %q, employees %q", got.XLSX.CEO[1], got.XLSX.Employees[0])
	}
	if got.JSONL.Rows != len(recs) || got.JSONL.City != "Cupertino" {
		t.Errorf("jsonl: %d rows, hq.city %q", got.JSONL.Rows, got.JSONL.City)
	}
}
