package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
	"github.com/exa-enrich/exa-enrich/pipeline"
)

func TestEstimateSendsNothingAndBoundsWhatRunSpends(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	env := map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}
	job := []string{"--fields", "ceo:string", "--query", "CEO", "--effort", "medium", "--chunk-size", "4", "--qps", "0", in}

	// No key is needed to estimate.
	code, stdout, stderr := runMain(t, nil, append([]string{"estimate", "--show-request"}, job...)...)
	if code != ExitOK {
		t.Fatalf("estimate: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"rows          25 (0 answered earlier, 0 need no research)",
		"to send       25 rows in 7 runs of up to 4 rows (effort medium, $0.100 a run)",
		"cost at most  $0.7000",
		"expected      unknown",
		`"query": "CEO"`,
		`"name": "Apple"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("estimate output lacks %q:\n%s", want, stdout)
		}
	}
	if st := sim.Stats(); st.RunsCreated != 0 {
		t.Fatalf("estimate created %d runs", st.RunsCreated)
	}

	summary := filepath.Join(t.TempDir(), "summary.json")
	if code, _, stderr := runMain(t, env, append([]string{"run", "--summary-json", summary}, job...)...); code != ExitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	var doc summaryJSON
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Rows != 25 || doc.RowsByStatus["ok"] != 25 || doc.Runs != 7 || doc.SpentUSD != 0.7 || doc.ExitCode != 0 {
		t.Errorf("summary %+v", doc)
	}
	if billed := sim.Stats().BilledDollars; billed > 0.7+1e-9 {
		t.Errorf("billed $%.4f, over the estimate's $0.70", billed)
	}

	// After the run, the estimate knows the average and that nothing is left.
	_, stdout, _ = runMain(t, nil, append([]string{"run", "--dry-run"}, job...)...)
	if !strings.Contains(stdout, "25 answered earlier") || !strings.Contains(stdout, "0 rows in 0 runs") ||
		!strings.Contains(stdout, "earlier runs of this job cost $0.1000 on average") {
		t.Errorf("estimate after the run:\n%s", stdout)
	}

	code, stdout, stderr = runMain(t, nil, "status", in)
	if code != ExitOK {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"query   CEO", "rows    ok 25", "chunks  done 7", "spent   $0.7000"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := runMain(t, nil, "status", filepath.Join(t.TempDir(), "never.csv")); code != ExitUsage || !strings.Contains(stderr, "no journal at") {
		t.Errorf("status of a job that never ran: exit %d: %s", code, stderr)
	}
}

func TestProgressIsLogLinesWhenNotATerminal(t *testing.T) {
	in := copyExample(t)
	code, _, stderr := runMain(t, nil, "run", "--sim", "--log-format", "json", "--fields", "ceo:string", "--query", "CEO", in)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("a progress bar was drawn into a non-terminal:\n%q", stderr)
	}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line %q: %v", line, err)
			continue
		}
		if rec["msg"] != "progress" || rec["rows_read"] == nil {
			t.Errorf("log line %q", line)
		}
		lines++
	}
	if lines == 0 {
		t.Errorf("no progress lines in:\n%s", stderr)
	}
}

func TestChangesReportsWhatDifferesFromTheLastCompleteRun(t *testing.T) {
	in := copyExample(t)
	changes := filepath.Join(t.TempDir(), "changes.csv")
	args := []string{"run", "--sim", "--key", "domain", "--fields", "ceo:string, employees:integer", "--query", "CEO", "--changes", changes, in}
	code, _, stderr := runMain(t, nil, args...)
	if code != ExitOK || !strings.Contains(stderr, "no earlier complete run") {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	if header, rows := readCSV(t, changes); strings.Join(header, ",") != "domain,field,old_value,new_value" || len(rows) != 0 {
		t.Errorf("first report: %v %v", header, rows)
	}

	// Overnight, one company was renamed.
	src, _ := os.ReadFile(in)
	if err := os.WriteFile(in, []byte(strings.Replace(string(src), "Apple,apple.com", "Apple Inc.,apple.com", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runMain(t, nil, args...); code != ExitOK {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	_, rows := readCSV(t, changes)
	if len(rows) == 0 {
		t.Fatal("no changes reported")
	}
	for _, r := range rows {
		if r["domain"] != "apple.com" {
			t.Errorf("change reported for %s", r["domain"])
		}
	}
	if rows[0]["field"] != "ceo" || rows[0]["old_value"] != "ceo of Apple (simulated)" || rows[0]["new_value"] != "ceo of Apple Inc. (simulated)" {
		t.Errorf("change %v", rows[0])
	}
}

func TestProgressIsABarOnATerminal(t *testing.T) {
	var out bytes.Buffer
	v := newProgressViewOn(&out, progressFlags{LogEvery: time.Hour}, true)
	p := pipeline.Progress{Rows: 40, InputDone: true, Answered: 20, InFlight: 2, SpentUSD: 0.5}
	v.Progress(p)
	time.Sleep(150 * time.Millisecond) // the bar redraws at most every 100 ms
	v.Progress(p)
	v.Close()
	s := out.String()
	if !strings.Contains(s, "\r") || !strings.Contains(s, "20/40") || !strings.Contains(s, "$0.5000 spent · 2 runs in flight") {
		t.Errorf("bar output %q", s)
	}
	if strings.Contains(s, "msg=progress") {
		t.Errorf("log lines on a terminal: %q", s)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runMain(t, nil, "version")
	if code != ExitOK || !strings.HasPrefix(stdout, "exa-enrich dev (module ") {
		t.Errorf("exit %d: %q", code, stdout)
	}
}

func TestEstimateSampleRunsAFewRowsToLearnTheCost(t *testing.T) {
	in := copyExample(t)
	code, stdout, stderr := runMain(t, nil, "estimate", "--sim", "--sample", "5", "--chunk-size", "5",
		"--fields", "ceo:string", "--query", "CEO", in)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "sample: 5 rows in 1 runs cost $0.0250") {
		t.Errorf("stderr %q", stderr)
	}
	for _, want := range []string{"(5 answered earlier", "20 rows in 4 runs", "cost at most  $0.1000", "expected      $0.1000 (earlier runs of this job cost $0.0250 on average)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("estimate lacks %q:\n%s", want, stdout)
		}
	}
}
