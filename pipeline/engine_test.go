package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/exa/exasim"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/schemas"
)

// fixture is a simulator, a client and a journal for one test.
type fixture struct {
	t       testing.TB
	sim     *exasim.Server
	api     *exa.Client
	journal string
	schema  *schemas.Schema
}

func newFixture(t testing.TB, cfg exasim.Config) *fixture {
	t.Helper()
	sim := exasim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	api, err := exa.NewClient(nil, exa.WithBaseURL(srv.URL), exa.WithAPIKey("test"),
		exa.WithRetryPolicy(exa.RetryPolicy{MaxAttempts: 8, InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxRetryAfter: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := schemas.ParseFields("ceo:string, employees:integer")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, sim: sim, api: api, journal: filepath.Join(t.TempDir(), "job.db"), schema: schema}
}

var testColumns = []string{"name", "domain"}

// config is a job over testColumns; each test adjusts it.
func (f *fixture) config(j *Journal) Config {
	return Config{
		Spec:           Spec{Query: "CEO and head count", Effort: exa.EffortLow, Schema: f.schema.Row(), Columns: testColumns, Key: testColumns[:1]},
		Columns:        testColumns,
		Schema:         f.schema,
		Journal:        j,
		ChunkSize:      5,
		Concurrency:    4,
		MaxConcurrency: 50,
		MaxAttempts:    4,
	}
}

// run executes a job over rows and returns the summary, the results in row
// order, and the error.
func (f *fixture) run(ctx context.Context, rows [][]string, adjust func(*Config)) (Summary, []Result, error) {
	f.t.Helper()
	j, err := OpenJournal(f.journal)
	if err != nil {
		f.t.Fatal(err)
	}
	defer j.Close()
	cfg := f.config(j)
	if adjust != nil {
		adjust(&cfg)
	}
	sum, runErr := Run(ctx, f.api, cfg, sliceRows(rows))
	jn, err := NewJoiner(cfg, sum)
	if err != nil {
		f.t.Fatal(err)
	}
	results, err := jn.Results(context.Background(), toRows(rows))
	if err != nil {
		f.t.Fatal(err)
	}
	return sum, results, runErr
}

func companies(n int) [][]string {
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("Company %03d", i), fmt.Sprintf("c%03d.example", i)}
	}
	return rows
}

func toRows(values [][]string) []readers.Row {
	rows := make([]readers.Row, len(values))
	for i, v := range values {
		rows[i] = readers.Row{Source: readers.Source{File: "in.csv", Row: i + 2}, Values: v}
	}
	return rows
}

// sliceRows serves rows in batches of 7, to cross chunk boundaries.
func sliceRows(values [][]string) Rows {
	return &batches{rows: toRows(values)}
}

type batches struct {
	rows []readers.Row
}

func (b *batches) Next() ([]readers.Row, error) {
	if len(b.rows) == 0 {
		return nil, io.EOF
	}
	n := min(7, len(b.rows))
	out := b.rows[:n]
	b.rows = b.rows[n:]
	return out, nil
}

// checkAnswers asserts every row is ok (or cached) and holds its own answer:
// the simulator's strings name the row they are about.
func checkAnswers(t *testing.T, rows [][]string, results []Result, statuses ...Status) {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []Status{StatusOK}
	}
	for i, r := range results {
		ok := false
		for _, s := range statuses {
			ok = ok || r.Status == s
		}
		if !ok {
			t.Errorf("row %d (%s): status %q (%s), want one of %v", i+2, rows[i][0], r.Status, r.Error, statuses)
			continue
		}
		ceo, _ := r.Answer["ceo"].(string)
		if !strings.Contains(ceo, rows[i][0]) {
			t.Errorf("row %d (%s): ceo %q belongs to another row", i+2, rows[i][0], ceo)
		}
		for _, s := range r.Sources {
			if !strings.Contains(s, rows[i][1]) {
				t.Errorf("row %d (%s): source %q is another row's", i+2, rows[i][0], s)
			}
		}
	}
}

func TestRunAnswersEveryRowAndRerunPaysNothing(t *testing.T) {
	f := newFixture(t, exasim.Config{Faults: exasim.Faults{Reorder: 1}})
	rows := companies(42)
	sum, results, err := f.run(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, rows, results)
	if sum.Runs != 9 || sum.Sent != 42 || sum.Cached != 0 {
		t.Errorf("summary %+v, want 9 runs for 42 rows in chunks of 5", sum)
	}
	if want := 9 * 0.025; sum.CostUSD < want-1e-9 || sum.CostUSD > want+1e-9 {
		t.Errorf("cost %.4f, want %.4f", sum.CostUSD, want)
	}
	st := f.sim.Stats()

	sum2, results2, err := f.run(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, rows, results2, StatusCached)
	if sum2.Runs != 0 || sum2.Cached != 42 || sum2.CostUSD != 0 {
		t.Errorf("rerun summary %+v, want everything cached", sum2)
	}
	if st2 := f.sim.Stats(); st2.RunsCreated != st.RunsCreated {
		t.Errorf("rerun created %d runs", st2.RunsCreated-st.RunsCreated)
	}
}

func TestRunPaysOnceForDuplicateRowsAndOnlyForChangedRows(t *testing.T) {
	f := newFixture(t, exasim.Config{})
	rows := companies(100)
	rows = append(rows, rows[:20]...) // 20 rows appear twice
	sum, results, err := f.run(context.Background(), rows, func(c *Config) { c.ChunkSize = 10 })
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, rows, results)
	if sum.Sent != 100 || sum.Runs != 10 {
		t.Errorf("summary %+v, want 100 distinct rows sent in 10 runs", sum)
	}

	// Tomorrow 5 % of the rows changed.
	for i := 0; i < 100; i += 20 {
		rows[i] = []string{fmt.Sprintf("Renamed %03d", i), rows[i][1]}
	}
	before := f.sim.Stats()
	sum, results, err = f.run(context.Background(), rows, func(c *Config) { c.ChunkSize = 10 })
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, rows, results, StatusOK, StatusCached)
	after := f.sim.Stats()
	if sum.Sent != 5 || sum.Runs != 1 || after.RunsCreated-before.RunsCreated != 1 {
		t.Errorf("summary %+v, %d runs created; want only the 5 changed rows sent, in 1 run", sum, after.RunsCreated-before.RunsCreated)
	}
	if billed := after.BilledDollars - before.BilledDollars; billed > 0.025+1e-9 {
		t.Errorf("billed $%.4f for the changed rows, want one run's $0.025", billed)
	}
	for i := 0; i < 100; i += 20 {
		if results[i].Status != StatusOK {
			t.Errorf("changed row %d: %s, want ok (answered today)", i+2, results[i].Status)
		}
	}
}

func TestRunSurvivesEveryFault(t *testing.T) {
	faults := map[string]exasim.Faults{
		"5xx":        {ServerError: 0.2},
		"reset":      {Reset: 0.2},
		"lost":       {LostCreate: 0.3},
		"fail":       {Fail: 0.3},
		"cut":        {CutStream: 0.5},
		"drop":       {Drop: 0.5},
		"dup":        {Dup: 0.5},
		"reorder":    {Reorder: 1},
		"invent":     {Invent: 0.5},
		"off-schema": {OffSchema: 0.5},
		"all": {ServerError: 0.1, Reset: 0.1, LostCreate: 0.1, Fail: 0.1, CutStream: 0.2,
			Drop: 0.2, Dup: 0.2, Reorder: 0.5, Invent: 0.2, OffSchema: 0.2},
	}
	for name, fl := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, exasim.Config{Seed: 7, Faults: fl, Latency: exasim.Latency{Max: 5 * time.Millisecond}})
			rows := companies(60)
			sum, results, err := f.run(context.Background(), rows, func(c *Config) { c.MaxAttempts = 8 })
			if err != nil {
				t.Fatalf("%v (summary %+v)", err, sum)
			}
			// Every row ends answered with its own values, or carrying a
			// specific error: never another row's answer.
			for i, r := range results {
				switch r.Status {
				case StatusOK:
					checkAnswers(t, rows[i:i+1], results[i:i+1])
				case StatusFailed, StatusMissing:
					if r.Error == "" || r.Answer != nil {
						t.Errorf("row %d: %s with error %q and answer %v", i+2, r.Status, r.Error, r.Answer)
					}
				default:
					t.Errorf("row %d: status %q (%s)", i+2, r.Status, r.Error)
				}
			}
			st := f.sim.Stats()
			if st.DuplicateCreates != 0 {
				t.Errorf("%d duplicate creates", st.DuplicateCreates)
			}
			if d := st.BilledDollars - sum.CostUSD; d > 1e-6 || d < -1e-6 {
				t.Errorf("simulator billed $%.4f, the job counted $%.4f", st.BilledDollars, sum.CostUSD)
			}
		})
	}
}

func TestRunSpendCapIsNeverExceeded(t *testing.T) {
	for _, effort := range []string{exa.EffortHigh, exa.EffortAuto} {
		t.Run(effort, func(t *testing.T) {
			f := newFixture(t, exasim.Config{Latency: exasim.Latency{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond}})
			rows := companies(400)
			capUSD := 7.3
			if effort == exa.EffortAuto {
				capUSD = 23
			}
			sum, results, err := f.run(context.Background(), rows, func(c *Config) {
				c.Spec.Effort = effort
				c.MaxCost = capUSD
				c.Concurrency, c.MaxConcurrency = 50, 50
			})
			if err != nil {
				t.Fatal(err)
			}
			st := f.sim.Stats()
			if st.BilledDollars > capUSD+1e-9 {
				t.Errorf("billed $%.4f, over the $%.2f cap", st.BilledDollars, capUSD)
			}
			if sum.StoppedBy != StopBudget {
				t.Errorf("stopped by %q, want the budget", sum.StoppedBy)
			}
			var ok, skipped int
			for _, r := range results {
				switch r.Status {
				case StatusOK:
					ok++
				case StatusSkippedBudget:
					skipped++
				default:
					t.Errorf("status %q", r.Status)
				}
			}
			if ok == 0 || skipped == 0 || ok+skipped != len(rows) {
				t.Errorf("%d ok, %d skipped of %d", ok, skipped, len(rows))
			}
			t.Logf("%s: cap $%.2f, billed $%.4f, %d runs, %d rows ok", effort, capUSD, st.BilledDollars, st.RunsCreated, ok)
		})
	}
}

// killAfter is an API that dies at its at-th call, as a process killed
// with SIGKILL does: the job's context ends, nothing it sends from then on
// arrives, and no run is cancelled.
type killAfter struct {
	API
	calls, at atomic.Int64
	kill      context.CancelFunc
	lose      bool // the killing create reaches the service, its answer does not
}

var errKilled = errors.New("killed")

func (k *killAfter) dead() bool {
	n := k.calls.Add(1)
	if n > k.at.Load() {
		k.kill()
		return true
	}
	return false
}

func (k *killAfter) CreateRunStream(ctx context.Context, p *exa.CreateRunParams) (*exa.EventStream, error) {
	if k.dead() {
		if k.lose && k.calls.Load() == k.at.Load()+1 {
			if st, err := k.API.CreateRunStream(context.WithoutCancel(ctx), p); err == nil {
				st.Close()
			}
		}
		return nil, errKilled
	}
	return k.API.CreateRunStream(ctx, p)
}

func (k *killAfter) Wait(ctx context.Context, id string) (*exa.Run, error) {
	if k.dead() {
		return nil, errKilled
	}
	return k.API.Wait(ctx, id)
}

func (k *killAfter) CancelRun(ctx context.Context, id string) (*exa.Run, error) {
	k.dead()
	return nil, errKilled
}

func (k *killAfter) FindRunByMetadata(ctx context.Context, md map[string]string, scan int) (*exa.Run, error) {
	if k.dead() {
		return nil, errKilled
	}
	return k.API.FindRunByMetadata(ctx, md, scan)
}

func TestRunKilledAnywhereResumesWithoutPayingTwice(t *testing.T) {
	rows := companies(30)
	ref := newFixture(t, exasim.Config{})
	_, want, err := ref.run(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for at := int64(0); at < 12; at++ {
		for _, lose := range []bool{false, true} {
			// Kill once, then again during the resume, then finish.
			f := newFixture(t, exasim.Config{Latency: exasim.Latency{Min: time.Millisecond, Max: 30 * time.Millisecond}})
			for round := 0; round < 2; round++ {
				ctx, cancel := context.WithCancel(context.Background())
				k := &killAfter{API: f.api, lose: lose, kill: cancel}
				k.at.Store(at + int64(round))
				j, err := OpenJournal(f.journal)
				if err != nil {
					t.Fatal(err)
				}
				_, err = Run(ctx, k, f.config(j), sliceRows(rows))
				j.Close()
				cancel()
				if err != nil {
					kills++
				}
			}
			sum, got, err := f.run(context.Background(), rows, nil)
			if err != nil {
				t.Fatalf("kill at call %d: resume: %v", at, err)
			}
			checkAnswers(t, rows, got, StatusOK, StatusCached)
			for i := range got {
				if fmt.Sprint(got[i].Answer) != fmt.Sprint(want[i].Answer) {
					t.Errorf("kill at call %d: row %d: %v, want %v", at, i+2, got[i].Answer, want[i].Answer)
				}
			}
			st := f.sim.Stats()
			if st.DuplicateCreates != 0 {
				t.Errorf("kill at call %d (lose=%v): %d duplicate creates", at, lose, st.DuplicateCreates)
			}
			if st.RunsCreated != 6 {
				t.Errorf("kill at call %d (lose=%v): %d runs created for 6 chunks (resume summary %+v)", at, lose, st.RunsCreated, sum)
			}
		}
	}
	if kills < 20 {
		t.Errorf("only %d executions were killed before finishing", kills)
	}
	t.Logf("%d kills, each resumed to the uninterrupted answers with no duplicate create", kills)
}

func TestRunGracefulStopWaitsForRunsInFlight(t *testing.T) {
	f := newFixture(t, exasim.Config{Latency: exasim.Latency{Min: 100 * time.Millisecond, Max: 100 * time.Millisecond}})
	rows := companies(200)
	stop := make(chan struct{})
	var once sync.Once
	sum, results, err := f.run(context.Background(), rows, func(c *Config) {
		// Stop as soon as two runs are in flight.
		c.Events = eventsFunc(func(p Progress) {
			if p.InFlight >= 2 {
				once.Do(func() { close(stop) })
			}
		})
		c.Stop = stop
		c.Grace = 10 * time.Second
		c.Concurrency, c.MaxConcurrency = 4, 4
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.StoppedBy != StopInterrupt {
		t.Errorf("stopped by %q", sum.StoppedBy)
	}
	st := f.sim.Stats()
	if st.RunsCancelled != 0 || st.RunsCompleted != st.RunsCreated || st.RunsCreated == 0 || st.RunsCreated >= 40 {
		t.Errorf("stats %+v: want the runs in flight completed, none cancelled, no new ones", st)
	}
	answered := 0
	for _, r := range results {
		switch r.Status {
		case StatusOK:
			answered++
		case StatusCancelled:
		default:
			t.Errorf("status %q", r.Status)
		}
	}
	if answered != 5*st.RunsCreated {
		t.Errorf("%d rows answered by %d runs of 5", answered, st.RunsCreated)
	}
}

func TestRunHardStopCancelsRunsInFlight(t *testing.T) {
	f := newFixture(t, exasim.Config{Latency: exasim.Latency{Min: 10 * time.Second, Max: 10 * time.Second}})
	rows := companies(20)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once all four chunks' runs are in flight.
		for f.sim.Stats().RunsCreated < 4 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	sum, results, err := f.run(ctx, rows, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if sum.StoppedBy != StopInterrupt {
		t.Errorf("stopped by %q, want an interrupt", sum.StoppedBy)
	}
	st := f.sim.Stats()
	if st.RunsCancelled != st.RunsCreated || st.RunsCreated != 4 {
		t.Errorf("stats %+v: want the 4 runs in flight cancelled", st)
	}
	for i, r := range results {
		if r.Status != StatusCancelled {
			t.Errorf("row %d: %q", i+2, r.Status)
		}
	}
	// The next execution sends the cancelled rows again.
	f.sim = nil
	g := newFixture(t, exasim.Config{})
	g.journal = f.journal
	sum, results, err = g.run(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, rows, results)
	if sum.Sent != 20 {
		t.Errorf("resume sent %d rows, want the 20 cancelled ones", sum.Sent)
	}
}

func TestRunKeepsRowsThatNeedNoResearch(t *testing.T) {
	f := newFixture(t, exasim.Config{})
	rows := companies(20)
	keep := func(r readers.Row) bool { return r.Source.Row%2 == 0 }
	sum, results, err := f.run(context.Background(), rows, func(c *Config) { c.Keep = keep })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Kept != 10 || sum.Sent != 10 {
		t.Errorf("summary %+v, want 10 kept and 10 sent", sum)
	}
	for i, r := range results {
		want := StatusOK
		if keep(readers.Row{Source: readers.Source{Row: i + 2}}) {
			want = StatusKept
		}
		if r.Status != want {
			t.Errorf("row %d: %q, want %q", i+2, r.Status, want)
		}
	}
}

func TestRunNewQueryStartsAfreshUnlessReused(t *testing.T) {
	f := newFixture(t, exasim.Config{})
	rows := companies(10)
	if _, _, err := f.run(context.Background(), rows, nil); err != nil {
		t.Fatal(err)
	}
	newQuery := func(c *Config) { c.Spec.Query = "Who founded it?" }
	sum, _, err := f.run(context.Background(), rows, func(c *Config) { newQuery(c); c.Reuse = true })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Runs != 0 || sum.Cached != 10 {
		t.Errorf("with --reuse: %+v, want the old answers", sum)
	}
	sum, results, err := f.run(context.Background(), rows, newQuery)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Runs != 2 || sum.Sent != 10 {
		t.Errorf("new query: %+v, want every row sent again", sum)
	}
	checkAnswers(t, rows, results)
}

func TestRunRefreshesStaleAnswersAndRetriesErrorsOnlyWhenAsked(t *testing.T) {
	f := newFixture(t, exasim.Config{Seed: 3, Faults: exasim.Faults{Drop: 1}})
	rows := companies(10)
	sum, results, err := f.run(context.Background(), rows, func(c *Config) { c.MaxAttempts = 1 })
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, r := range results {
		if r.Status == StatusMissing {
			missing++
		}
	}
	if missing != 2 {
		t.Fatalf("%d rows missing after one attempt with a row dropped from each of 2 runs (%+v)", missing, sum)
	}
	// A plain rerun leaves rows that ended in error alone.
	if sum, _, _ = f.run(context.Background(), rows, nil); sum.Sent != 0 {
		t.Errorf("plain rerun sent %d rows", sum.Sent)
	}
	if sum, _, _ = f.run(context.Background(), rows, func(c *Config) { c.RetryErrors = true }); sum.Sent != missing {
		t.Errorf("--retry-errors sent %d rows, want the %d missing", sum.Sent, missing)
	}
	time.Sleep(20 * time.Millisecond)
	if sum, _, _ = f.run(context.Background(), rows, func(c *Config) { c.RefreshOlderThan = 10 * time.Millisecond }); sum.Sent != 10 {
		t.Errorf("--refresh-older-than sent %d rows, want all 10", sum.Sent)
	}
}

func TestEstimateSendsNothingAndBoundsTheRun(t *testing.T) {
	f := newFixture(t, exasim.Config{})
	rows := companies(42)
	estimate := func(adjust func(*Config)) Plan {
		t.Helper()
		j, err := OpenJournal(f.journal)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		cfg := f.config(j)
		if adjust != nil {
			adjust(&cfg)
		}
		p, err := Estimate(context.Background(), cfg, sliceRows(rows))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := estimate(nil)
	if p.Rows != 42 || p.ToSend != 42 || p.Chunks != 9 || p.WorstCaseUSD != 0.225 || p.ExpectedUSD != 0 {
		t.Errorf("plan %+v, want 42 rows in 9 chunks, worst case $0.225, no history", p)
	}
	if p.FirstRequest == nil || len(p.FirstRequest.Input.Data) != 5 || p.FirstRequest.Input.Data[0]["name"] != "Company 000" {
		t.Errorf("first request %+v", p.FirstRequest)
	}
	if st := f.sim.Stats(); st.RunsCreated != 0 {
		t.Fatalf("estimate created %d runs", st.RunsCreated)
	}
	sum, _, err := f.run(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.CostUSD > p.WorstCaseUSD {
		t.Errorf("spent $%.4f, over the estimate's bound $%.4f", sum.CostUSD, p.WorstCaseUSD)
	}
	rows[3] = []string{"Changed", "changed.example"}
	p = estimate(func(c *Config) { c.Spec.Effort = exa.EffortLow })
	if p.Cached != 41 || p.ToSend != 1 || p.Chunks != 1 || p.AverageRunUSD != 0.025 || p.ExpectedUSD != 0.025 {
		t.Errorf("plan after a run %+v, want 1 row to send at the $0.025 average", p)
	}
}

type eventsFunc func(Progress)

func (f eventsFunc) Progress(p Progress) { f(p) }

type lastProgress struct {
	mu   sync.Mutex
	last Progress
	n    int
}

func (l *lastProgress) Progress(p Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last, l.n = p, l.n+1
}

func TestRunReportsProgress(t *testing.T) {
	f := newFixture(t, exasim.Config{Seed: 1, Faults: exasim.Faults{Drop: 1}})
	rows := companies(42)
	var events lastProgress
	sum, _, err := f.run(context.Background(), rows, func(c *Config) { c.Events = &events; c.MaxAttempts = 1 })
	if err != nil {
		t.Fatal(err)
	}
	want := Progress{Rows: 42, InputDone: true, Sent: 42, Answered: 42 - 9, Failed: 9, Runs: 9, SpentUSD: sum.CostUSD}
	if events.last != want {
		t.Errorf("last progress %+v\nwant %+v", events.last, want)
	}
	if events.n < 9 {
		t.Errorf("%d progress events for 9 runs", events.n)
	}
}

func TestRunStoppingKeepsRowsWithAttemptsToSpareForTheNextExecution(t *testing.T) {
	f := newFixture(t, exasim.Config{Seed: 5, Faults: exasim.Faults{Drop: 1}, Latency: exasim.Latency{Min: 50 * time.Millisecond, Max: 50 * time.Millisecond}})
	rows := companies(10)
	stop := make(chan struct{})
	var once sync.Once
	_, results, err := f.run(context.Background(), rows, func(c *Config) {
		c.Concurrency, c.MaxConcurrency = 2, 2
		c.Events = eventsFunc(func(p Progress) {
			if p.InFlight >= 2 {
				once.Do(func() { close(stop) })
			}
		})
		c.Stop, c.Grace = stop, 10*time.Second
	})
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for i, r := range results {
		switch r.Status {
		case StatusOK:
		case StatusCancelled:
			dropped++
		default:
			t.Errorf("row %d: %q (%s): a row with attempts to spare must not be settled by a stop", i+2, r.Status, r.Error)
		}
	}
	if dropped != 2 {
		t.Fatalf("%d rows left for later, want the 2 the runs dropped", dropped)
	}
	sum, results, err := f.run(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 2 {
		t.Errorf("next execution sent %d rows, want the 2 left", sum.Sent)
	}
	for i, r := range results {
		if r.Status == StatusCancelled {
			t.Errorf("row %d still cancelled after the next execution", i+2)
		}
	}
}
