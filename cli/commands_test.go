package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
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
