package writers_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/schemas"
	"github.com/exa-enrich/exa-enrich/writers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// statuses are every value _status can take.
var statuses = []string{"ok", "cached", "missing", "failed", "mismatch", "skipped_budget", "cancelled", "kept"}

func answerSchema(t testing.TB) *schemas.Schema {
	t.Helper()
	s, err := schemas.ParseFile("testdata/answer.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decode reads an answer as the pipeline hands it over: numbers as
// json.Number.
func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

var sourceColumns = []string{"name", "domain", "note"}

// table is the joined table every writer gets: one row per status, source
// cells a CSV writer must quote, answers of every type, and answer text that
// a spreadsheet would take for a formula.
func table(t testing.TB) []writers.Record {
	t.Helper()
	at := time.Date(2026, 11, 30, 9, 15, 0, 0, time.FixedZone("CET", 3600))
	full := decode(t, `{"ceo":"Tim Cook","employees":164000,"revenue":391.035,"public":true,
		"founded":"1976-04-01","updated":"2026-11-30T08:00:00Z","tags":["hardware","services"],
		"hq":{"city":"Cupertino","country":"US"},"offices":[{"city":"Cork","opened":1980},{"city":"Austin","opened":1992}]}`)
	formula := decode(t, `{"ceo":"=HYPERLINK(\"http://evil.example\",\"click\")","employees":12,"revenue":-1.5,"public":false,
		"founded":null,"tags":["+1","@SUM(A1)","-2"],"hq":{"city":"\tTabbed","country":"\rCR"},"offices":[]}`)
	cites := map[string][]exa.Citation{
		"ceo":       {{URL: "https://www.apple.com/leadership/", Title: "Apple Leadership"}},
		"employees": {{URL: "https://investor.apple.com/10-k", Title: "Form 10-K, \"annual\""}, {URL: "https://en.wikipedia.org/wiki/Apple_Inc.", Title: ""}},
	}
	recs := []writers.Record{
		{Values: []string{"Apple", "apple.com", "plain"}, Answer: full, Status: "ok", RunID: "run_01", CostUSD: 0.0125,
			Sources:   []string{"https://www.apple.com/leadership/", "https://investor.apple.com/10-k", "https://en.wikipedia.org/wiki/Apple_Inc."},
			Citations: cites, Confidence: "medium", EnrichedAt: at},
		{Values: []string{"Evil, Inc.", "evil.example", "=1+1"}, Answer: formula, Status: "cached", RunID: "run_00", CostUSD: 0.01,
			Sources: []string{"http://evil.example/about"}, Citations: map[string][]exa.Citation{"ceo": {{URL: "http://evil.example/about", Title: "=cmd|' /C calc'!A0"}}},
			Confidence: "low", EnrichedAt: at.Add(-48 * time.Hour)},
		{Values: []string{"Quote \"Co\"", "quote.example", "line one\nline two"}, Status: "missing", Error: "the run finished without an answer for this row", RunID: "run_02", CostUSD: 0.0125},
		{Values: []string{"Bad Schema", "bad.example", ""}, Status: "failed", Error: "run run_03: employees: expected integer, but got string", RunID: "run_03", CostUSD: 0.0125},
		{Values: []string{"Other Entity", "other.example", "ünïcødé ✓"}, Status: "mismatch", Error: "-the answer is about another company", RunID: "run_04", CostUSD: 0.0125},
		{Values: []string{"Late", "late.example", ""}, Status: "skipped_budget", Error: "not sent: the spend cap (--max-cost) could not cover another run"},
		{Values: []string{"Stopped", "stopped.example", ""}, Status: "cancelled", Error: "the job stopped before this row was answered"},
		{Values: []string{"Filled", "filled.example", "has all"}, Status: "kept"},
	}
	for i := range recs {
		recs[i].Source = readers.Source{File: "companies.csv", Row: i + 2}
	}
	return recs
}

func job() writers.Job {
	return writers.Job{
		ID: "job_7", Query: "=Who runs it?", Effort: "low", Schema: `{"type":"object"}`, Runs: 4, CostUSD: 0.0625,
		Started:  time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC),
		Finished: time.Date(2026, 11, 30, 8, 5, 30, 0, time.UTC),
	}
}

func options(t testing.TB) writers.Options {
	return writers.Options{Columns: sourceColumns, Answers: answerSchema(t).Columns, Job: job()}
}

// writeAll writes recs to path and commits.
func writeAll(t testing.TB, path string, opts writers.Options, recs []writers.Record) {
	t.Helper()
	w, err := writers.Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// dumpers turn an output file into text that shows what a user would see,
// for the golden files.
var dumpers = map[string]func(t *testing.T, path string) string{
	"csv":     readText,
	"jsonl":   readText,
	"xlsx":    dumpXLSX,
	"parquet": dumpParquet,
}

func readText(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConformance writes the same joined table in every format and
// compares what comes back with the golden files.
func TestConformance(t *testing.T) {
	for _, format := range writers.Formats {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out."+format)
			writeAll(t, path, options(t), table(t))
			got := dumpers[format](t, path)
			golden := filepath.Join("testdata", "conformance."+format+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./writers -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run with -update after checking the diff):\n%s", path, golden, diffLines(string(want), got))
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b bytes.Buffer
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}
