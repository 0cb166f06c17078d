package writers_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/writers"
	"github.com/xuri/excelize/v2"
)

func header(t *testing.T) []string {
	var h []string
	h = append(h, sourceColumns...)
	for _, c := range answerSchema(t).Columns {
		h = append(h, c.Name)
	}
	return append(h, writers.MetaColumns...)
}

// TestRoundTripCSV reads the CSV back with the project's own reader: one
// row per input row, source cells unchanged, every status.
func TestRoundTripCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	recs := table(t)
	writeAll(t, path, options(t), recs)
	r, err := readers.Open(path, readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := r.Columns(), header(t); !slices.Equal(got, want) {
		t.Fatalf("header\n got %q\nwant %q", got, want)
	}
	status := slices.Index(r.Columns(), "_status")
	var rows []readers.Row
	for {
		batch, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, batch...)
	}
	if len(rows) != len(recs) {
		t.Fatalf("%d rows, want %d", len(rows), len(recs))
	}
	for i, row := range rows {
		if got := row.Values[:len(sourceColumns)]; !slices.Equal(got, recs[i].Values) {
			t.Errorf("row %d: source cells %q, want %q", i+2, got, recs[i].Values)
		}
		if got := row.Values[status]; got != statuses[i] {
			t.Errorf("row %d: _status %q, want %q", i+2, got, statuses[i])
		}
	}
}

// TestRoundTripJSONL decodes every line: source columns, then the answer
// with its nesting, then the _ columns.
func TestRoundTripJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	recs := table(t)
	writeAll(t, path, options(t), recs)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for j, c := range sourceColumns {
			if obj[c] != recs[i].Values[j] {
				t.Errorf("line %d: %s = %v, want %q", i+1, c, obj[c], recs[i].Values[j])
			}
		}
		if obj["_status"] != statuses[i] {
			t.Errorf("line %d: _status %v, want %s", i+1, obj["_status"], statuses[i])
		}
		if i == 0 {
			hq, _ := obj["hq"].(map[string]any)
			offices, _ := obj["offices"].([]any)
			if hq["city"] != "Cupertino" || len(offices) != 2 || obj["employees"] != json.Number("164000") {
				t.Errorf("line 1: answer lost its shape: hq %v, offices %v, employees %v", obj["hq"], obj["offices"], obj["employees"])
			}
			if cites, _ := obj["_citations"].(map[string]any); len(cites["employees"].([]any)) != 2 {
				t.Errorf("line 1: _citations %v", obj["_citations"])
			}
		}
	}
	if i != len(recs) {
		t.Errorf("%d lines, want %d", i, len(recs))
	}
}

// TestParquetTypes checks the answer columns carry their schema types.
func TestParquetTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.parquet")
	writeAll(t, path, options(t), table(t))
	tbl, meta := readParquet(t, path)
	col := func(name string) arrow.Array {
		idx := tbl.Schema().FieldIndices(name)
		if len(idx) == 0 {
			t.Fatalf("no column %q", name)
		}
		return tbl.Column(idx[0]).Data().Chunk(0)
	}
	if v := col("employees").(*array.Int64).Value(0); v != 164000 {
		t.Errorf("employees = %d", v)
	}
	if v := col("founded").(*array.Date32).Value(0).ToTime(); !v.Equal(time.Date(1976, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("founded = %v", v)
	}
	if v := col("_enriched_at").(*array.Timestamp).Value(0); v.ToTime(arrow.Microsecond).UTC() != time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC) {
		t.Errorf("_enriched_at = %v", v.ToTime(arrow.Microsecond))
	}
	if v := col("_cost_usd").(*array.Float64).Value(0); v != 0.0125 {
		t.Errorf("_cost_usd = %v", v)
	}
	if meta["exa_enrich.query"] != "=Who runs it?" || meta["exa_enrich.rows"] != "8" {
		t.Errorf("metadata %v", meta)
	}
}

// TestParquetKeepsInputTypes enriches real Parquet files from other
// writers: the source columns come back with their own types and values.
func TestParquetKeepsInputTypes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedData(t, "parquet"), "*.parquet"))
	if len(files) == 0 {
		t.Skip("no Parquet samples in shared/data/parquet")
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			if _, err := tryReadParquet(in); err != nil {
				// arrow-go cannot read it (INT96 beyond its nanosecond
				// range): the source columns go out as the readers' text,
				// so the answers, already paid for, are not lost.
				out := filepath.Join(t.TempDir(), "out.parquet")
				writeAll(t, out, writers.Options{Columns: []string{"a", "b"}, Input: in}, []writers.Record{
					{Values: []string{"9999-12-31T03:00:00Z", "x"}, Status: "ok"}})
				got, _ := readParquet(t, out)
				if got.NumRows() != 1 || !arrow.TypeEqual(got.Column(0).DataType(), arrow.BinaryTypes.String) ||
					parquetValue(got.Column(0).Data(), 0) != `"9999-12-31T03:00:00Z"` {
					t.Errorf("fallback output: %d rows, column a %s", got.NumRows(), got.Column(0).DataType())
				}
				return
			}
			src, _ := readParquet(t, in)
			var cols []string
			for _, f := range src.Schema().Fields() {
				cols = append(cols, f.Name)
			}
			var recs []writers.Record
			for r := 0; r < int(src.NumRows()); r++ {
				vals := make([]string, len(cols))
				for c := range cols {
					vals[c] = parquetValue(src.Column(c).Data(), r)
				}
				recs = append(recs, writers.Record{Source: readers.Source{File: in, Row: r + 2}, Values: vals, Status: "ok",
					Answer: decode(t, `{"ceo":"X","employees":`+strconv.Itoa(r)+`}`)})
			}
			out := filepath.Join(t.TempDir(), "out.parquet")
			opts := writers.Options{Columns: cols, Answers: answerSchema(t).Columns, Input: in}
			writeAll(t, out, opts, recs)
			got, _ := readParquet(t, out)
			if got.NumRows() != src.NumRows() {
				t.Fatalf("%d rows, want %d", got.NumRows(), src.NumRows())
			}
			for c, name := range cols {
				want := src.Column(c)
				have := got.Column(c)
				if !arrow.TypeEqual(want.DataType(), have.DataType()) {
					t.Errorf("column %q: type %s, want %s", name, have.DataType(), want.DataType())
					continue
				}
				if !array.ChunkedEqual(want.Data(), have.Data()) {
					t.Errorf("column %q: values differ", name)
				}
			}
			emp := got.Column(got.Schema().FieldIndices("employees")[0]).Data()
			if n := emp.Len(); n != int(src.NumRows()) || emp.NullN() != 0 {
				t.Errorf("employees: %d values, %d null", n, emp.NullN())
			}
		})
	}
}

// TestInjection: answer text a spreadsheet would run as a formula stays
// text, unless --allow-formulas.
func TestInjection(t *testing.T) {
	evil := `=HYPERLINK("http://evil.example","click")`
	for _, tc := range []struct {
		format string
		allow  bool
		want   string // the ceo cell as stored
		isFunc bool   // XLSX: stored as a formula
	}{
		{"csv", false, "'" + evil, false},
		{"csv", true, evil, false},
		{"xlsx", false, evil, false},
		{"xlsx", true, evil[1:], true},
	} {
		t.Run(tc.format+"/allow="+strconv.FormatBool(tc.allow), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out."+tc.format)
			opts := options(t)
			opts.AllowFormulas = tc.allow
			writeAll(t, path, opts, table(t))
			ceo := slices.Index(header(t), "ceo")
			switch tc.format {
			case "csv":
				_, rows := readAllCSV(t, path)
				if got := rows[1][ceo]; got != tc.want {
					t.Errorf("ceo cell %q, want %q", got, tc.want)
				}
				if got := rows[1][2]; got != "=1+1" {
					t.Errorf("the source cell became %q: source cells are never altered", got)
				}
				for _, c := range []string{"hq.city", "hq.country"} {
					if got := rows[1][slices.Index(header(t), c)]; !tc.allow && !strings.HasPrefix(got, "'") {
						t.Errorf("%s cell %q is not guarded", c, got)
					}
				}
			case "xlsx":
				f, err := excelize.OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cell, _ := excelize.CoordinatesToCellName(ceo+1, 3)
				formula, _ := f.GetCellFormula(writers.SheetEnriched, cell)
				value, _ := f.GetCellValue(writers.SheetEnriched, cell)
				if tc.isFunc && formula != tc.want || !tc.isFunc && (formula != "" || value != tc.want) {
					t.Errorf("ceo cell: formula %q, value %q; want formula=%v %q", formula, value, tc.isFunc, tc.want)
				}
				if f, _ := f.GetCellFormula(writers.SheetEnriched, "C3"); f != "" {
					t.Errorf("the source cell =1+1 became a formula")
				}
			}
		})
	}
}

func readAllCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	r, err := readers.Open(path, readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows [][]string
	for {
		batch, err := r.Next()
		if err == io.EOF {
			return r.Columns(), rows
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range batch {
			rows = append(rows, row.Values)
		}
	}
}

// TestFailedWriteKeepsPreviousOutput: a write that fails half-way leaves
// the earlier output as it was, and no temp file behind.
func TestFailedWriteKeepsPreviousOutput(t *testing.T) {
	for _, format := range writers.Formats {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out."+format)
			if err := os.WriteFile(path, []byte("previous output"), 0o600); err != nil {
				t.Fatal(err)
			}
			w, err := writers.Create(path, options(t))
			if err != nil {
				t.Fatal(err)
			}
			recs := table(t)
			for _, r := range recs[:3] {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			bad := recs[3]
			bad.Values = bad.Values[:1]
			err = w.Write(bad)
			if err == nil || !strings.Contains(err.Error(), "row 5") {
				t.Fatalf("a row with too few cells: error %v, want one naming row 5", err)
			}
			w.Abort()
			assertOnly(t, dir, path, "previous output")
		})
	}
}

// assertOnly checks path still holds want and the folder holds nothing else.
func assertOnly(t *testing.T, dir, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("%s now holds %q (%v), want %q", path, got, err, want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Join(dir, e.Name()) != path {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestKilledWriteKeepsPreviousOutput kills a process in the middle of a
// write: the output still holds the previous file, and the next write
// clears the dead one's temp file.
func TestKilledWriteKeepsPreviousOutput(t *testing.T) {
	if path := os.Getenv("WRITERS_TEST_SLOW_WRITE"); path != "" {
		slowWrite(t, path)
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(path, []byte("previous output"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriteKeepsPreviousOutput$")
	cmd.Env = append(os.Environ(), "WRITERS_TEST_SLOW_WRITE="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the child has written part of the file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		tmps, _ := filepath.Glob(filepath.Join(dir, ".out.csv.tmp-*"))
		if len(tmps) == 1 {
			if fi, err := os.Stat(tmps[0]); err == nil && fi.Size() > 1<<20 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never started writing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if got, _ := os.ReadFile(path); string(got) != "previous output" {
		t.Fatalf("after the kill %s holds %d bytes, want the previous output", path, len(got))
	}
	writeAll(t, path, options(t), table(t))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d files after the next write, want only the output", len(entries))
	}
}

// slowWrite writes rows until it is killed.
func slowWrite(t *testing.T, path string) {
	w, err := writers.Create(path, options(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := table(t)[0]
	for i := 0; ; i++ {
		rec.Source.Row = i + 2
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFileMode: a new output is 0644; a rewritten one keeps its mode.
func TestFileMode(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.csv")
	writeAll(t, fresh, options(t), table(t))
	private := filepath.Join(dir, "private.xlsx")
	if err := os.WriteFile(private, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	writeAll(t, private, options(t), table(t))
	for path, want := range map[string]os.FileMode{fresh: 0o644, private: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	_, err := writers.Create(filepath.Join(dir, "out.ods"), options(t))
	if err == nil || !strings.Contains(err.Error(), `unknown output format "ods" (supported: csv, jsonl, parquet, xlsx)`) {
		t.Errorf("error %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %d files behind", len(entries))
	}
}

// TestOnlyMissing: an answer column named like a source column fills its
// blank cells and nothing else, in every format.
func TestOnlyMissing(t *testing.T) {
	cols := []string{"name", "ceo"}
	recs := []writers.Record{
		{Values: []string{"Apple", ""}, Answer: decode(t, `{"ceo":"Tim Cook","employees":1}`), Status: "ok"},
		{Values: []string{"Microsoft", "Satya Nadella"}, Answer: decode(t, `{"ceo":"Someone Else","employees":2}`), Status: "ok"},
		{Values: []string{"Evil", " "}, Answer: decode(t, `{"ceo":"=1+1"}`), Status: "ok"},
		{Values: []string{"Gone", ""}, Status: "failed"},
	}
	for i := range recs {
		recs[i].Source = readers.Source{File: "in.csv", Row: i + 2}
	}
	want := [][]string{{"Apple", "Tim Cook"}, {"Microsoft", "Satya Nadella"}, {"Evil", "'=1+1"}, {"Gone", ""}}
	path := filepath.Join(t.TempDir(), "out.csv")
	writeAll(t, path, writers.Options{Columns: cols, Answers: answerSchema(t).Columns, OnlyMissing: true}, recs)
	head, rows := readAllCSV(t, path)
	if n := strings.Count(strings.Join(head, ","), "ceo"); n != 1 || head[1] != "ceo" || head[2] != "employees" {
		t.Errorf("header %q: ceo should stay in place, once", head)
	}
	for i, w := range want {
		if got := rows[i][:2]; !slices.Equal(got, w) {
			t.Errorf("row %d: %q, want %q", i+2, got, w)
		}
	}
}

func TestFillColumns(t *testing.T) {
	fills, appends := writers.FillColumns([]string{"name", "ceo"}, answerSchema(t).Columns)
	if !slices.Equal(fills, []int{1}) || !appends {
		t.Errorf("fills %v, appends %v", fills, appends)
	}
}

// sharedData finds the project's shared test data: beside the clone (as CI
// lays it out), or in the workplace's one home for it.
func sharedData(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{filepath.Join("..", "..", "shared", "data"), "/work/shared/data"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Skipf("shared/data/%s is not here", name)
	return ""
}
