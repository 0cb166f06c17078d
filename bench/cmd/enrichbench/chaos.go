package main

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the journal's driver, to read attempts
)

// chaosConfig sizes one run of the chaos harness.
type chaosConfig struct {
	exe, dir, md, mode, faults, latency string
	rows, kills, chunk, limit           int
	maxAttempts                         int
	maxDelay                            time.Duration
	capUSD                              float64
	seed                                uint64
}

const defaultFaults = "5xx=0.05,reset=0.05,lost-create=0.05,fail=0.05,cut-stream=0.1,drop=0.05,dup=0.05,reorder=0.5,invent=0.05,off-schema=0.05"

func chaosMain(args []string) {
	fs := flag.NewFlagSet("chaos", flag.ExitOnError)
	c := chaosConfig{}
	fs.StringVar(&c.exe, "exe", "", "the exa-enrich binary")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a temp dir, removed)")
	fs.StringVar(&c.md, "md", "", "Markdown file whose chaos section (one per mode) is replaced by the results")
	fs.StringVar(&c.mode, "mode", "kill", "kill: SIGKILL at random moments; int: SIGINT (sometimes twice) under --max-cost")
	fs.StringVar(&c.faults, "faults", defaultFaults, "the simulator's --faults")
	fs.StringVar(&c.latency, "latency", "100ms-800ms", "the simulator's --latency")
	fs.IntVar(&c.rows, "rows", 2000, "rows in the job")
	fs.IntVar(&c.kills, "kills", 20, "kill mode: SIGKILLs to land; int mode: SIGINTs to land")
	fs.IntVar(&c.chunk, "chunk-size", 2, "--chunk-size (small: more runs, more moments to interrupt)")
	fs.IntVar(&c.limit, "limit", 8, "the simulator's --concurrency-limit")
	fs.IntVar(&c.maxAttempts, "max-attempts", 8, "--max-attempts, so that faults rarely leave a row failed")
	fs.DurationVar(&c.maxDelay, "max-delay", 1500*time.Millisecond, "signals land uniformly between 20ms and this after a start")
	fs.Float64Var(&c.capUSD, "max-cost", 0.5, "int mode: --max-cost of each execution")
	fs.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "seed of the signal moments and of the simulator")
	fs.Parse(args)
	if c.exe == "" {
		fatalf("chaos: -exe is required")
	}
	if c.mode != "kill" && c.mode != "int" {
		fatalf("chaos: -mode is kill or int")
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "enrichchaos-")
		if err != nil {
			fatalf("%v", err)
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	r := &report{}
	problems := runChaos(c, r)
	fmt.Print(r.String())
	if c.md != "" {
		if err := replaceSection(c.md, "chaos-"+c.mode, r.String()); err != nil {
			fatalf("%v", err)
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "FAIL:", p)
		}
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "chaos: PASS")
}

// execution is one start of `exa-enrich run` under chaos.
type execution struct {
	m       measured
	billed  float64 // by the simulator while it lived
	created int
}

func runChaos(c chaosConfig, r *report) (problems []string) {
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	rng := rand.New(rand.NewPCG(c.seed, 0x5eed))
	in := filepath.Join(c.dir, "companies.csv")
	must(genCSV(in, c.rows, nil))
	args := func(out string, extra ...string) []string {
		a := append(append([]string{"run"}, jobArgs...), "--chunk-size", fmt.Sprint(c.chunk), "--qps", "0",
			"--max-attempts", fmt.Sprint(c.maxAttempts), "--log-every", "1h", "-o", out, "--state", out+".db")
		return append(append(a, extra...), in)
	}

	// The reference: the same job, uninterrupted, against a simulator
	// without faults. Answers depend only on schema and row, so this is
	// what every row must end up holding.
	ref, err := startSim(c.exe, "--latency", "0", "--concurrency-limit", "1000")
	if err != nil {
		fatalf("%v", err)
	}
	refOut := filepath.Join(c.dir, "reference.csv")
	m, err := run([]string{"EXA_BASE_URL=" + ref.url(), "EXA_API_KEY=chaos"}, c.exe, args(refOut)...)
	ref.stop()
	if err != nil || m.Code != 0 {
		fatalf("reference run: %v, exit %d: %s", err, m.Code, m.Stderr)
	}

	s, err := startSim(c.exe, "--latency", c.latency, "--concurrency-limit", fmt.Sprint(c.limit),
		"--faults", c.faults, "--seed", fmt.Sprint(c.seed%1_000_000))
	if err != nil {
		fatalf("%v", err)
	}
	defer s.stop()
	env := []string{"EXA_BASE_URL=" + s.url(), "EXA_API_KEY=chaos"}
	out := filepath.Join(c.dir, "chaos.csv")
	var extra []string
	if c.mode == "int" {
		extra = []string{"--max-cost", fmt.Sprint(c.capUSD), "--grace", "2s"}
	}
	delay := func() time.Duration {
		return 20*time.Millisecond + time.Duration(rng.Int64N(int64(c.maxDelay-20*time.Millisecond)))
	}

	var execs []execution
	landed, codes := 0, map[int]int{}
	done := false
	start := time.Now()
	for !done && len(execs) < 40*c.kills+40 {
		before := s.mustStats()
		ch, err := startChild(env, c.exe, args(out, extra...)...)
		if err != nil {
			fatalf("%v", err)
		}
		interrupt := landed < c.kills
		if interrupt {
			select {
			case <-ch.done:
			case <-time.After(delay()):
				if c.mode == "kill" {
					if ch.signal(syscall.SIGKILL) {
						landed++
					}
				} else if ch.signal(syscall.SIGINT) {
					landed++
					if rng.Float64() < 0.4 {
						time.Sleep(time.Duration(rng.Int64N(int64(500 * time.Millisecond))))
						ch.signal(syscall.SIGINT)
					}
				}
			}
		}
		m := ch.wait()
		if c.mode == "int" {
			// A cancelled run may still bill a moment later: let the
			// simulator settle so each execution's spend is its own.
			time.Sleep(300 * time.Millisecond)
		}
		st := diff(s.mustStats(), before)
		execs = append(execs, execution{m: m, billed: st.BilledDollars, created: st.RunsCreated})
		codes[m.Code]++
		switch {
		case m.Code == 0 || m.Code == 3:
			done = landed >= c.kills
			if !done {
				// Finished before every interruption landed: the job is
				// too small for the moments drawn. Say so rather than
				// pass on fewer.
				fail("the job finished after %d of %d interruptions; use more -rows or a smaller -max-delay", landed, c.kills)
				done = true
			}
		case m.Code == 137 && c.mode == "kill":
		case m.Code == 130 && len(m.Signals) > 0:
		case m.Code == 4 && c.mode == "int":
		case m.Code == 1:
			// A fatal error under faults (say, retries exhausted on a
			// broken connection): rerunning is what an operator does.
			fmt.Fprintf(os.Stderr, "chaos: execution %d exited 1: %s\n", len(execs), lastLine(m.Stderr))
		default:
			fail("execution %d: exit %d after signals %v: %s", len(execs), m.Code, m.Signals, lastLine(m.Stderr))
		}
		if c.mode == "int" && execs[len(execs)-1].billed > c.capUSD+1e-9 {
			fail("execution %d billed $%.4f, over its --max-cost $%.2f", len(execs), execs[len(execs)-1].billed, c.capUSD)
		}
	}
	total := time.Since(start)
	if !done {
		fail("the job did not finish in %d executions", len(execs))
	}
	st := s.mustStats()
	if st.DuplicateCreates != 0 {
		fail("the simulator counted %d duplicate creates", st.DuplicateCreates)
	}

	same, okBoth, notOK, cmpProblems := compareOutputs(refOut, out)
	problems = append(problems, cmpProblems...)
	journal, jProblems := checkJournal(c.exe, out+".db", c.rows)
	problems = append(problems, jProblems...)
	early, err := errorsWithAttemptsLeft(out+".db", c.maxAttempts)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if early > 0 {
		// A stop must leave such rows for the next execution, not settle
		// them with their error.
		problems = append(problems, fmt.Sprintf("%d rows kept their error with attempts to spare", early))
	}

	// The report.
	title := map[string]string{"kill": "SIGKILL", "int": "SIGINT and a spend cap"}[c.mode]
	r.printf("## Chaos: %s\n\n", title)
	r.machine()
	r.printf("Generated by `%s` on %s (seed %d).\n\n", commandLine(), time.Now().UTC().Format("2006-01-02 15:04 MST"), c.seed)
	r.printf("A %d-row job (`--chunk-size %d --max-attempts %d --qps 0`", c.rows, c.chunk, c.maxAttempts)
	if c.mode == "int" {
		r.printf(" `--max-cost %g --grace 2s`", c.capUSD)
	}
	r.printf(") against `exa-enrich sim --latency %s --concurrency-limit %d --faults %s`, one simulator process for every execution. ", c.latency, c.limit, c.faults)
	if c.mode == "kill" {
		r.printf("Each execution is killed with SIGKILL at a moment drawn uniformly from 20 ms–%s after its start, until %d kills have landed; then the job is run until it finishes.\n\n", c.maxDelay, c.kills)
	} else {
		r.printf("Each execution gets SIGINT at a moment drawn uniformly from 20 ms–%s after its start (four in ten a second SIGINT up to 0.5 s later) unless it reached its spend cap first, until %d have landed; then the job is run, each execution under the same cap, until it finishes. Each execution's spend is what the simulator billed between its start and 0.3 s after its exit.\n\n", c.maxDelay, c.kills)
	}
	r.printf("| check | result |\n|---|---|\n")
	r.printf("| executions | %d (%s), %.1f s in all |\n", len(execs), exitCodes(codes), total.Seconds())
	r.printf("| interruptions landed | %d |\n", landed)
	r.printf("| rows equal to the uninterrupted run (answers and `_status`, row for row; `cached` counts as `ok`) | %d of %d |\n", same, c.rows)
	r.printf("| rows ok in both that differ | %d |\n", okBoth)
	r.printf("| rows not ok after the chaos | %d |\n", notOK)
	r.printf("| of which kept their error with attempts to spare (fewer than `--max-attempts` runs) | %d |\n", early)
	r.printf("| simulator: runs created / duplicate creates | %d / **%d** |\n", st.RunsCreated, st.DuplicateCreates)
	r.printf("| simulator: billed in all | $%.4f |\n", st.BilledDollars)
	r.printf("| journal (`exa-enrich status --json`) | %s |\n", journal)
	if c.mode == "int" {
		most := 0.0
		for _, e := range execs {
			most = max(most, e.billed)
		}
		r.printf("| most billed by one execution (cap $%.2f) | $%.4f |\n", c.capUSD, most)
	}
	if len(problems) == 0 {
		r.printf("| verdict | **pass** |\n\n")
	} else {
		r.printf("| verdict | **FAIL**: %s |\n\n", strings.Join(problems, "; "))
	}
	return problems
}

func exitCodes(codes map[int]int) string {
	var keys []int
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		name := fmt.Sprint(k)
		if k == 137 {
			name = "137 (SIGKILL)"
		}
		parts = append(parts, fmt.Sprintf("exit %s × %d", name, codes[k]))
	}
	return strings.Join(parts, ", ")
}

// compareOutputs compares the answer columns and _status of two outputs
// row for row: same counts rows equal in both; okDiff rows ok in both whose
// answers differ (a wrong answer joined to a row); notOK rows the chaos
// left failed or missing.
func compareOutputs(refPath, gotPath string) (same, okDiff, notOK int, problems []string) {
	ref, err := readCSV(refPath)
	if err != nil {
		return 0, 0, 0, []string{err.Error()}
	}
	got, err := readCSV(gotPath)
	if err != nil {
		return 0, 0, 0, []string{err.Error()}
	}
	if len(ref) != len(got) {
		problems = append(problems, fmt.Sprintf("the output has %d rows, the uninterrupted run's %d", len(got), len(ref)))
	}
	for i := range min(len(ref), len(got)) {
		a, b := ref[i], got[i]
		if a["name"] != b["name"] {
			problems = append(problems, fmt.Sprintf("row %d is %q, the uninterrupted run's %q", i+1, b["name"], a["name"]))
			continue
		}
		switch {
		case a["ceo"] == b["ceo"] && a["employees"] == b["employees"] && answered(a["_status"]) == answered(b["_status"]):
			same++
		case answered(b["_status"]) != "ok":
			notOK++
		default:
			okDiff++
		}
	}
	if okDiff > 0 {
		problems = append(problems, fmt.Sprintf("%d rows hold answers the uninterrupted run did not give them", okDiff))
	}
	return same, okDiff, notOK, problems
}

// answered folds cached (answered by an earlier execution of the job)
// into ok: after a kill, rows stored before it read cached.
func answered(status string) string {
	if status == "cached" {
		return "ok"
	}
	return status
}

func readCSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		rows = append(rows, m)
	}
	return rows, nil
}

// checkJournal reads the journal through `exa-enrich status --json`: one
// job, every chunk done, no run left open, and every row stored ok (or
// with the error the output shows).
func checkJournal(exe, state string, rows int) (summary string, problems []string) {
	out, err := exec.Command(exe, "status", "--json", "--state", state).Output()
	if err != nil {
		return "unreadable", []string{fmt.Sprintf("exa-enrich status: %v", err)}
	}
	var st struct {
		Jobs []struct {
			Chunks map[string]int  `json:"chunks"`
			Rows   map[string]int  `json:"rows"`
			Open   json.RawMessage `json:"open"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return "unreadable", []string{fmt.Sprintf("exa-enrich status --json: %v", err)}
	}
	if len(st.Jobs) != 1 {
		return fmt.Sprintf("%d jobs", len(st.Jobs)), []string{fmt.Sprintf("the journal holds %d jobs, not 1", len(st.Jobs))}
	}
	j := st.Jobs[0]
	for state, n := range j.Chunks {
		if state != "done" && n > 0 {
			problems = append(problems, fmt.Sprintf("the journal has %d chunks %s", n, state))
		}
	}
	if len(j.Open) > 0 && string(j.Open) != "null" {
		problems = append(problems, "the journal lists open runs: "+string(j.Open))
	}
	total := 0
	for _, n := range j.Rows {
		total += n
	}
	if total != rows {
		problems = append(problems, fmt.Sprintf("the journal stores %d rows, the input has %d", total, rows))
	}
	cj, _ := json.Marshal(j.Chunks)
	rj, _ := json.Marshal(j.Rows)
	return fmt.Sprintf("chunks %s, rows %s", cj, rj), problems
}

// errorsWithAttemptsLeft counts rows the journal stores in error after
// fewer runs than maxAttempts: rows a stopping execution settled instead of
// retrying, which no later execution sends again without --retry-errors.
// It reads the journal's results table directly (read-only).
func errorsWithAttemptsLeft(state string, maxAttempts int) (int, error) {
	db, err := sql.Open("sqlite", "file:"+state+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT count(*) FROM results WHERE status NOT IN ('ok', 'cached') AND attempts < ?`, maxAttempts).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", state, err)
	}
	return n, nil
}
