package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

// runMain runs the command line in-process and returns its exit code and
// what it printed.
func runMain(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, Env{
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string { return env[k] },
	})
	return code, stdout.String(), stderr.String()
}

func readCSV(t *testing.T, path string) (header []string, rows []map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

func copyExample(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../examples/companies.csv")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "companies.csv")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunJoinsAnswersByRowID runs the whole command against a simulator that
// shuffles every answer, and checks each answer sits on the row it is about.
func TestRunJoinsAnswersByRowID(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{Faults: exasim.Faults{Reorder: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	out := filepath.Join(t.TempDir(), "out.csv")

	code, _, stderr := runMain(t, map[string]string{"EXA_API_KEY": "test-key", "EXA_BASE_URL": sim.URL},
		"run", "--fields", "ceo:string, employees:integer", "--query", "CEO and head count",
		"--chunk-size", "7", "--effort", "medium", "-o", out, in)
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "25 rows, 25 ok · 4 runs · $0.4000") {
		t.Errorf("summary line = %q, want 25 rows, 4 runs, $0.40", stderr)
	}

	header, rows := readCSV(t, out)
	wantHeader := "name,domain,ticker,ceo,employees,_status,_error,_run_id,_cost_usd,_sources,_confidence,_citations,_enriched_at"
	if got := strings.Join(header, ","); got != wantHeader {
		t.Errorf("header = %s\nwant     %s", got, wantHeader)
	}
	_, source := readCSV(t, in)
	if len(rows) != len(source) {
		t.Fatalf("%d output rows, want %d", len(rows), len(source))
	}
	for i, row := range rows {
		src := source[i]
		for _, col := range []string{"name", "domain", "ticker"} {
			if row[col] != src[col] {
				t.Errorf("row %d: %s = %q, want the source's %q", i+2, col, row[col], src[col])
			}
		}
		if row["_status"] != "ok" || row["_error"] != "" {
			t.Errorf("row %d (%s): _status %q, _error %q", i+2, src["name"], row["_status"], row["_error"])
		}
		// The simulator's answers and citations name the row they are about.
		if !strings.Contains(row["ceo"], src["name"]) {
			t.Errorf("row %d (%s): ceo %q belongs to another row", i+2, src["name"], row["ceo"])
		}
		if row["employees"] == "" {
			t.Errorf("row %d (%s): no employees", i+2, src["name"])
		}
		sources := strings.Fields(row["_sources"])
		if len(sources) == 0 {
			t.Errorf("row %d (%s): no sources", i+2, src["name"])
		}
		seen := map[string]bool{}
		for _, s := range sources {
			u, err := url.Parse(s)
			if err != nil || u.Host != src["domain"] {
				t.Errorf("row %d (%s): source %q is not about %s", i+2, src["name"], s, src["domain"])
			}
			if seen[s] {
				t.Errorf("row %d: source %q listed twice", i+2, s)
			}
			seen[s] = true
		}
		// medium costs $0.10 a run: chunks of 7 rows, and the last of 4 rows.
		wantCost := "0.014286"
		if i >= 21 {
			wantCost = "0.025000"
		}
		if row["_cost_usd"] != wantCost {
			t.Errorf("row %d: _cost_usd %s, want %s", i+2, row["_cost_usd"], wantCost)
		}
	}
	if st := sim.Stats(); st.RunsCreated != 4 || st.BilledDollars < 0.399 || st.BilledDollars > 0.401 {
		t.Errorf("simulator stats: %+v, want 4 runs and $0.40 billed", st)
	}
}

func TestRunQuickStartWithEmbeddedSimulator(t *testing.T) {
	in := copyExample(t)
	code, _, stderr := runMain(t, nil, "run", "--sim", "--fields", "ceo:string", "--query", "Who is the CEO?", in)
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	_, rows := readCSV(t, strings.TrimSuffix(in, ".csv")+".enriched.csv")
	if len(rows) != 25 {
		t.Fatalf("%d rows, want 25", len(rows))
	}
	for _, row := range rows {
		if row["_status"] != "ok" || row["ceo"] == "" {
			t.Errorf("%s: _status %q, ceo %q", row["name"], row["_status"], row["ceo"])
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	in := copyExample(t)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no key", nil, []string{"run", "--fields", "ceo:string", "--query", "q", in}, "EXA_API_KEY is not set"},
		{"bad field type", nil, []string{"run", "--sim", "--fields", "ceo:text", "--query", "q", in}, `unknown type "text"`},
		{"unknown key column", nil, []string{"run", "--sim", "--key", "website", "--fields", "ceo:string", "--query", "q", in}, `has no column "website"`},
		{"field collides with a column", nil, []string{"run", "--sim", "--fields", "domain:string", "--query", "q", in}, `"domain" is already a column`},
		{"missing flag", nil, []string{"run", "--sim", in}, "missing flags"},
		{"unknown format", nil, []string{"run", "--sim", "--fields", "ceo:string", "--query", "q", "../go.mod"}, `unknown format "mod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, tt.env, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestRunRerunPaysNothingAndMarksAnswersCached(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	env := map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}
	args := []string{"run", "--fields", "ceo:string", "--query", "CEO", "--qps", "0", in}
	if code, _, stderr := runMain(t, env, args...); code != ExitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	created := sim.Stats().RunsCreated
	code, _, stderr := runMain(t, env, args...)
	if code != ExitOK {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	if n := sim.Stats().RunsCreated - created; n != 0 {
		t.Errorf("rerun created %d runs", n)
	}
	if !strings.Contains(stderr, "25 rows, 25 cached · 0 runs · $0.0000") {
		t.Errorf("rerun summary %q", stderr)
	}
	_, rows := readCSV(t, strings.TrimSuffix(in, ".csv")+".enriched.csv")
	for i, row := range rows {
		// What the answer cost when it was bought: runs of 10, 10 and 5 rows.
		cost := "0.002500"
		if i >= 20 {
			cost = "0.005000"
		}
		if row["_status"] != "cached" || !strings.Contains(row["ceo"], row["name"]) || row["_cost_usd"] != cost {
			t.Errorf("%s: %q %q %q", row["name"], row["_status"], row["ceo"], row["_cost_usd"])
		}
	}
}

func TestRunStopsAtTheSpendCap(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	code, _, stderr := runMain(t, map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL},
		"run", "--fields", "ceo:string", "--query", "CEO", "--chunk-size", "5", "--max-cost", "0.06", "--qps", "0", in)
	if code != ExitBudget {
		t.Fatalf("exit %d, want %d: %s", code, ExitBudget, stderr)
	}
	if !strings.Contains(stderr, "25 rows, 10 ok, 15 skipped_budget · 2 runs · $0.0500 of $0.06 cap") {
		t.Errorf("summary %q", stderr)
	}
	if billed := sim.Stats().BilledDollars; billed > 0.06 {
		t.Errorf("billed $%.4f over the cap", billed)
	}
}

func TestRunFirstSignalLetsRunsInFlightFinish(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{Latency: exasim.Latency{Min: 300 * time.Millisecond, Max: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	signals := make(chan os.Signal, 1)
	go func() {
		// Ctrl-C once the two runs the pool allows are in flight.
		for sim.Stats().RunsCreated < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		signals <- os.Interrupt
	}()
	var stderr bytes.Buffer
	code := Main(context.Background(), []string{"run", "--fields", "ceo:string", "--query", "CEO",
		"--chunk-size", "5", "--concurrency", "2", "--max-concurrency", "2", "--qps", "0", in},
		Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string {
			return map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}[k]
		}, Signals: signals})
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, ExitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "25 rows, 10 ok, 15 cancelled · 2 runs") {
		t.Errorf("summary %q: want the 2 runs in flight finished and no new ones", stderr.String())
	}
	if st := sim.Stats(); st.RunsCancelled != 0 || st.RunsCompleted != 2 {
		t.Errorf("stats %+v", st)
	}
}
