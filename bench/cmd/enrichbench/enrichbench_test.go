package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/xuri/excelize/v2"
)

func TestReplaceSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := replaceSection(path, "bench", "old figures\n"); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(path, "chaos-kill", "kills\n"); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(path, "bench", "new figures\n"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "old figures") || strings.Count(s, "new figures") != 1 || strings.Count(s, "kills") != 1 {
		t.Errorf("a rerun must replace its own section and keep the other:\n%s", s)
	}
	if strings.Index(s, "new figures") > strings.Index(s, "kills") {
		t.Errorf("a replaced section must stay where it was:\n%s", s)
	}
}

func TestCompareOutputs(t *testing.T) {
	const head = "name,domain,ticker,ceo,employees,_status\n"
	ref := head + "A,a,T1,ceo A,10,ok\nB,b,T2,ceo B,20,ok\nC,c,T3,ceo C,30,ok\n"
	tests := []struct {
		name                string
		got                 string
		same, okDiff, notOK int
		fails               bool
	}{
		{"equal, cached counts as ok", head + "A,a,T1,ceo A,10,cached\nB,b,T2,ceo B,20,ok\nC,c,T3,ceo C,30,ok\n", 3, 0, 0, false},
		{"a row left failed", head + "A,a,T1,ceo A,10,ok\nB,b,T2,,,failed\nC,c,T3,ceo C,30,ok\n", 2, 0, 1, false},
		{"another row's answer", head + "A,a,T1,ceo B,20,ok\nB,b,T2,ceo B,20,ok\nC,c,T3,ceo C,30,ok\n", 2, 1, 0, true},
		{"rows out of order", head + "B,b,T2,ceo B,20,ok\nA,a,T1,ceo A,10,ok\nC,c,T3,ceo C,30,ok\n", 1, 0, 0, true},
		{"a row lost", head + "A,a,T1,ceo A,10,ok\nB,b,T2,ceo B,20,ok\n", 2, 0, 0, true},
	}
	dir := t.TempDir()
	refPath := filepath.Join(dir, "ref.csv")
	if err := os.WriteFile(refPath, []byte(ref), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotPath := filepath.Join(dir, "got.csv")
			if err := os.WriteFile(gotPath, []byte(tt.got), 0o644); err != nil {
				t.Fatal(err)
			}
			same, okDiff, notOK, problems := compareOutputs(refPath, gotPath)
			if same != tt.same || okDiff != tt.okDiff || notOK != tt.notOK || (len(problems) > 0) != tt.fails {
				t.Errorf("got same %d, okDiff %d, notOK %d, problems %q; want %d, %d, %d, fails %v",
					same, okDiff, notOK, problems, tt.same, tt.okDiff, tt.notOK, tt.fails)
			}
		})
	}
}

// The bare round trip must carry every row, or the overhead ratios would
// compare the tool with a copy that did less.
func TestRoundTripKeepsEveryRow(t *testing.T) {
	dir := t.TempDir()
	for _, gen := range []struct {
		ext string
		fn  func(string, int) error
	}{
		{"csv", func(p string, n int) error { return genCSV(p, n, nil) }},
		{"parquet", genParquet},
		{"xlsx", genXLSX},
	} {
		in, out := filepath.Join(dir, "in."+gen.ext), filepath.Join(dir, "out."+gen.ext)
		if err := gen.fn(in, 300); err != nil {
			t.Fatal(err)
		}
		if err := roundTrip(in, out); err != nil {
			t.Fatalf("%s: %v", gen.ext, err)
		}
		if n := countRows(t, out); n != 300 {
			t.Errorf("%s: round trip wrote %d rows of 300", gen.ext, n)
		}
	}
}

func countRows(t *testing.T, path string) int {
	t.Helper()
	switch filepath.Ext(path) {
	case ".csv":
		rows, err := readCSV(path)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	case ".parquet":
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		return int(pf.NumRows())
	default:
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetName(0))
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) - 1
	}
}
