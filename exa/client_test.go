package exa_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

const testKey = "sk-test-0123456789"

// sent is what the simulator received.
type sent struct {
	method, path string
	header       http.Header
}

// recorder notes every request on its way into the simulator, so tests can
// assert what the client sent.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func (r *recorder) count(method, path string) int {
	n := 0
	for _, s := range r.all() {
		if s.method == method && s.path == path {
			n++
		}
	}
	return n
}

// serve starts the simulator on a loopback port.
func serve(t *testing.T, cfg exasim.Config) (*exasim.Server, *recorder, string) {
	t.Helper()
	sim := exasim.New(cfg)
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, sent{r.Method, r.URL.Path, r.Header.Clone()})
		rec.mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return sim, rec, srv.URL
}

// fastRetries keeps the tests quick; Retry-After is still honoured in full.
var fastRetries = exa.RetryPolicy{MaxAttempts: 6, InitialInterval: 2 * time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxRetryAfter: 5 * time.Second}

func newClient(t *testing.T, url string, opts ...exa.Option) *exa.Client {
	t.Helper()
	c, err := exa.NewClient(nil, append([]exa.Option{exa.WithBaseURL(url), exa.WithAPIKey(testKey), exa.WithRetryPolicy(fastRetries)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ms(n int) exasim.Latency {
	return exasim.Latency{Min: time.Duration(n) * time.Millisecond, Max: time.Duration(n) * time.Millisecond}
}

// enrich is a create for three rows in the row-enrichment shape.
func enrich(md map[string]string) *exa.CreateRunParams {
	ids := []string{"2", "3", "4"}
	return &exa.CreateRunParams{
		Query:    "Who is the CEO? Return one report per input row.",
		Effort:   exa.EffortLow,
		Metadata: md,
		Input: &exa.Input{Data: []map[string]any{
			{"rowId": "2", "name": "Acme", "domain": "acme.com"},
			{"rowId": "3", "name": "Globex", "domain": "globex.com"},
			{"rowId": "4", "name": "Initech", "domain": "initech.com"},
		}},
		OutputSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{"rows": map[string]any{
				"type": "array", "minItems": 3, "maxItems": 3,
				"items": map[string]any{
					"type": "object", "additionalProperties": false,
					"required": []string{"rowId", "name", "ceo"},
					"properties": map[string]any{
						"rowId": map[string]any{"type": "string", "enum": ids},
						"name":  map[string]any{"type": "string"},
						"ceo":   map[string]any{"type": []string{"string", "null"}},
					},
				},
			}},
		},
	}
}

func rowsOf(t *testing.T, run *exa.Run) []map[string]any {
	t.Helper()
	if run.Output == nil {
		t.Fatalf("run %s (%s) has no output", run.ID, run.Status)
	}
	var doc struct{ Rows []map[string]any }
	if err := json.Unmarshal(run.Output.Structured, &doc); err != nil {
		t.Fatalf("structured output: %v", err)
	}
	return doc.Rows
}

func TestSendsKeyAndBetaOnEveryRequest(t *testing.T) {
	t.Parallel()
	_, rec, url := serve(t, exasim.Config{RequireBetaHeader: true, APIKey: testKey, Latency: ms(20)})
	c := newClient(t, url, exa.WithUserAgent("exa-enrich-test"))
	ctx := context.Background()
	run, err := c.CreateRun(ctx, enrich(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { _, err := c.GetRun(ctx, run.ID); return err },
		func() error { _, err := c.ListRuns(ctx, nil); return err },
		func() error { _, err := c.ListEvents(ctx, run.ID, nil); return err },
		func() error { _, err := c.CancelRun(ctx, run.ID); return err },
		func() error { _, err := c.DeleteRun(ctx, run.ID); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rec.all()
	if len(reqs) < 7 {
		t.Fatalf("only %d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.header.Get("x-api-key") != testKey || r.header.Get("Exa-Beta") != exa.BetaHeader || r.header.Get("User-Agent") != "exa-enrich-test" {
			t.Errorf("%s %s sent x-api-key %q, Exa-Beta %q, User-Agent %q", r.method, r.path,
				r.header.Get("x-api-key"), r.header.Get("Exa-Beta"), r.header.Get("User-Agent"))
		}
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	sim, _, url := serve(t, exasim.Config{Latency: ms(30), KeepAlive: 5 * time.Millisecond})
	c := newClient(t, url)
	ctx := context.Background()

	var ids []string
	for i := range 5 {
		run, err := c.CreateRun(ctx, enrich(map[string]string{"job": "t", "chunk": fmt.Sprint(i)}))
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != exa.StatusQueued || run.Object != "agent_run" || run.CreatedAt == "" || run.StopReason != "" || run.CompletedAt != "" {
			t.Errorf("fresh run: %+v", run)
		}
		ids = append([]string{run.ID}, ids...) // newest first
	}

	t.Run("list pages", func(t *testing.T) {
		page, err := c.ListRuns(ctx, &exa.ListOptions{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 || !page.HasMore || page.NextCursor == "" || page.Data[0].ID != ids[0] {
			t.Fatalf("first page: %+v", page)
		}
		next, err := c.ListRuns(ctx, &exa.ListOptions{Limit: 2, Cursor: page.NextCursor})
		if err != nil || next.Data[0].ID != ids[2] {
			t.Fatalf("second page: %+v, %v", next, err)
		}
	})
	t.Run("iterator", func(t *testing.T) {
		var got []string
		for run, err := range c.Runs(ctx, &exa.ListOptions{Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, run.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("Runs = %v, want %v", got, ids)
		}
		n := 0
		for range c.Runs(ctx, &exa.ListOptions{Limit: 2}) {
			if n++; n == 3 {
				break
			}
		}
		found, err := c.FindRunByMetadata(ctx, map[string]string{"job": "t", "chunk": "1"}, 100)
		if err != nil || found == nil || found.ID != ids[3] {
			t.Errorf("FindRunByMetadata = %+v, %v; want %s", found, err, ids[3])
		}
	})
	t.Run("events", func(t *testing.T) {
		run, err := c.Wait(ctx, ids[0])
		if err != nil || run.Status != exa.StatusCompleted || run.StopReason != "schema_satisfied" || run.CompletedAt == "" {
			t.Fatalf("Wait = %+v, %v", run, err)
		}
		page, err := c.ListEvents(ctx, ids[0], &exa.ListOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) < 3 || page.Data[0].ID != "1" || page.Data[0].Event != exa.EventCreated || !page.Data[len(page.Data)-1].Terminal() {
			t.Fatalf("events: %+v", page.Data)
		}
		st, err := c.StreamEvents(ctx, ids[0], "2")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var replayed []string
		for {
			ev, err := st.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			replayed = append(replayed, ev.ID)
		}
		if len(replayed) != len(page.Data)-2 || replayed[0] != "3" || st.LastEventID() != page.Data[len(page.Data)-1].ID {
			t.Errorf("replay after 2: %v, last %s", replayed, st.LastEventID())
		}
	})
	t.Run("create stream", func(t *testing.T) {
		st, err := c.CreateRunStream(ctx, enrich(nil))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var names []string
		var last *exa.Event
		for {
			ev, err := st.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names, last = append(names, ev.Event), ev
		}
		if names[0] != exa.EventCreated || names[1] != exa.EventStarted || last.Event != exa.EventCompleted {
			t.Fatalf("events %v", names)
		}
		var run exa.Run
		if err := json.Unmarshal(last.Data, &run); err != nil || len(rowsOf(t, &run)) != 3 {
			t.Errorf("completed event: %v %s", err, last.Data)
		}
	})
	t.Run("cancel and delete", func(t *testing.T) {
		slow, _, slowURL := serve(t, exasim.Config{Latency: ms(60_000)})
		sc := newClient(t, slowURL)
		run, err := sc.CreateRun(ctx, enrich(nil))
		if err != nil {
			t.Fatal(err)
		}
		first, err := sc.CancelRun(ctx, run.ID)
		if err != nil || first.Status != exa.StatusCancelled || first.StopReason != "cancelled" {
			t.Fatalf("cancel: %+v, %v", first, err)
		}
		again, err := sc.CancelRun(ctx, run.ID)
		if err != nil || again.CompletedAt != first.CompletedAt {
			t.Errorf("second cancel: %+v, %v", again, err)
		}
		del, err := sc.DeleteRun(ctx, run.ID)
		if err != nil || !del.Deleted || del.ID != run.ID || del.Object != "agent_run.deleted" {
			t.Errorf("delete: %+v, %v", del, err)
		}
		_, err = sc.GetRun(ctx, run.ID)
		var ae *exa.APIError
		if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != "RUN_NOT_FOUND" || ae.Type != "NOT_FOUND" {
			t.Errorf("get after delete: %v", err)
		}
		if st := slow.Stats(); st.RunsCancelled != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	if st := sim.Stats(); st.RunsCreated != 6 || st.DuplicateCreates != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestErrorEnvelopes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("agent envelope", func(t *testing.T) {
		_, _, url := serve(t, exasim.Config{})
		p := enrich(nil)
		p.OutputSchema = map[string]any{"type": "nosuch"}
		_, err := newClient(t, url).CreateRun(ctx, p)
		var ae *exa.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v", err)
		}
		if ae.Status != 400 || ae.Type != "INVALID_REQUEST" || ae.Code != "INVALID_OUTPUT_SCHEMA" || ae.Message == "" || !strings.HasPrefix(ae.RequestID, "req_sim_") {
			t.Errorf("%+v", ae)
		}
		if errors.Is(err, exa.ErrCreateUncertain) {
			t.Error("a 400 create is certain")
		}
	})
	t.Run("flat 402 envelope", func(t *testing.T) {
		_, _, url := serve(t, exasim.Config{CreditDollars: 0.02})
		c := newClient(t, url)
		if _, err := c.CreateRun(ctx, enrich(nil)); err != nil {
			t.Fatal(err)
		}
		_, err := c.CreateRun(ctx, enrich(nil))
		var ae *exa.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v", err)
		}
		if ae.Status != 402 || ae.Code != "NO_MORE_CREDITS" || ae.Message == "" || !strings.HasPrefix(ae.RequestID, "req_sim_") {
			t.Errorf("%+v", ae)
		}
	})
}

func TestKeyIsRedactedFromErrors(t *testing.T) {
	t.Parallel()
	_, _, url := serve(t, exasim.Config{APIKey: "the-right-key"})
	_, err := newClient(t, url).GetRun(context.Background(), "agent_run_x")
	var ae *exa.APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(ae.Message, testKey) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("the key leaks: %v / %q", err, ae.Message)
	}
}

func TestCreateHittingTheConcurrencyLimitIsCertain(t *testing.T) {
	t.Parallel()
	sim, rec, url := serve(t, exasim.Config{ConcurrencyLimit: 1, Latency: ms(1500)})
	c := newClient(t, url)
	ctx := context.Background()
	if _, err := c.CreateRun(ctx, enrich(nil)); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateRun(ctx, enrich(nil))
	var rl *exa.RateLimitError
	if !errors.As(err, &rl) || rl.Code != "CONCURRENCY_LIMIT_REACHED" || rl.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v, want a 429 with Retry-After 2s", err)
	}
	if errors.Is(err, exa.ErrCreateUncertain) {
		t.Error("a 429 create is certain: nothing was created")
	}
	if n := rec.count("POST", "/agent/runs"); n != 2 {
		t.Errorf("%d creates sent, want 2: a create is never retried", n)
	}
	if st := sim.Stats(); st.RunsCreated != 1 || st.Rejected429 != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	t.Parallel()
	_, rec, url := serve(t, exasim.Config{QPS: 1, Latency: ms(60_000)}) // a burst of 2: one create
	c := newClient(t, url)
	ctx := context.Background()
	run, err := c.CreateRun(ctx, enrich(nil))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancelled, err := c.CancelRun(ctx, run.ID) // 429, Retry-After: 1
	if err != nil || cancelled.Status != exa.StatusCancelled {
		t.Fatalf("cancel: %+v, %v", cancelled, err)
	}
	if took := time.Since(start); took < time.Second || took > 3*time.Second {
		t.Errorf("cancel took %s, want the 1 s Retry-After honoured", took)
	}
	if n := rec.count("POST", "/agent/runs/"+run.ID+"/cancel"); n != 2 {
		t.Errorf("%d cancels sent, want 2", n)
	}

	// A Retry-After beyond the policy's patience comes back to the caller.
	impatient := newClient(t, url, exa.WithRetryPolicy(exa.RetryPolicy{MaxAttempts: 5, MaxRetryAfter: 100 * time.Millisecond}))
	_, _ = impatient.CancelRun(ctx, run.ID) // spends whatever token is back
	_, err = impatient.CancelRun(ctx, run.ID)
	var rl *exa.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second || rl.Code != "RATE_LIMIT_EXCEEDED" {
		t.Errorf("err = %v, want the 429 with its Retry-After", err)
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, f := range []exasim.Faults{{ServerError: 0.5}, {Reset: 0.5}} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			_, frec, furl := serve(t, exasim.Config{Seed: 7, Faults: f})
			fc := newClient(t, furl, exa.WithRetryPolicy(exa.RetryPolicy{MaxAttempts: 10, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}))
			ok := 0
			for range 20 {
				if _, err := fc.ListRuns(ctx, nil); err != nil {
					t.Errorf("ListRuns: %v", err)
					continue
				}
				ok++
			}
			if n := frec.count("GET", "/agent/runs"); ok != 20 || n <= 20 {
				t.Errorf("%d of 20 lists succeeded in %d requests; want all, with retries", ok, n)
			}

			none := newClient(t, furl, exa.WithRetryPolicy(exa.RetryPolicy{MaxAttempts: 1}))
			failed := 0
			for range 20 {
				_, err := none.ListRuns(ctx, nil)
				if err == nil {
					continue
				}
				failed++
				var ae *exa.APIError
				if f.ServerError > 0 && (!errors.As(err, &ae) || ae.Status < 500 || ae.Code == "") {
					t.Errorf("a 5xx came back as %v", err)
				}
			}
			if failed == 0 {
				t.Error("without retries no call failed: the fault is not injected")
			}
		})
	}
}

func TestUncertainCreates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, f := range []exasim.Faults{{LostCreate: 1}, {ServerError: 1}, {Reset: 1}} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			sim, rec, url := serve(t, exasim.Config{Faults: f})
			c := newClient(t, url)
			uncertain := 0
			for i := range 10 {
				_, err := c.CreateRun(ctx, enrich(map[string]string{"job": "j", "chunk": fmt.Sprint(i)}))
				if errors.Is(err, exa.ErrCreateUncertain) {
					uncertain++
				} else if err != nil {
					t.Errorf("create %d: %v, want ErrCreateUncertain", i, err)
				}
			}
			// A reset that comes after a whole answer leaves the create
			// certain; every other fault leaves it unknown.
			if uncertain == 0 || f.Reset == 0 && uncertain != 10 {
				t.Errorf("%d of 10 creates uncertain", uncertain)
			}
			// A request written to a connection the server has just closed
			// never arrives, so with resets fewer may arrive; never more.
			if n := rec.count("POST", "/agent/runs"); n > 10 || f.Reset == 0 && n != 10 {
				t.Errorf("10 creates arrived %d times: a create is never resent", n)
			}
			if f.LostCreate == 1 && sim.Stats().RunsCreated != 10 {
				t.Errorf("lost create: the run was not created server-side: %+v", sim.Stats())
			}
		})
	}
	t.Run("the run can be found by its metadata", func(t *testing.T) {
		sim, _, url := serve(t, exasim.Config{Faults: exasim.Faults{LostCreate: 1}})
		c := newClient(t, url)
		md := map[string]string{"job": "j", "chunk": "7"}
		_, err := c.CreateRun(ctx, enrich(md))
		if !errors.Is(err, exa.ErrCreateUncertain) {
			t.Fatal(err)
		}
		run, err := c.FindRunByMetadata(ctx, md, 100)
		if err != nil || run == nil {
			t.Fatalf("FindRunByMetadata = %v, %v", run, err)
		}
		if st := sim.Stats(); st.RunsCreated != 1 || st.DuplicateCreates != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("a refused connection is certain", func(t *testing.T) {
		srv := httptest.NewServer(exasim.New(exasim.Config{}))
		url := srv.URL
		srv.Close()
		_, err := newClient(t, url).CreateRun(ctx, enrich(nil))
		if err == nil || errors.Is(err, exa.ErrCreateUncertain) {
			t.Errorf("err = %v, want a certain failure", err)
		}
	})
	t.Run("a create stream that is lost is uncertain", func(t *testing.T) {
		_, _, url := serve(t, exasim.Config{Faults: exasim.Faults{LostCreate: 1}})
		_, err := newClient(t, url).CreateRunStream(ctx, enrich(nil))
		if !errors.Is(err, exa.ErrCreateUncertain) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWaitFollowsTheStream(t *testing.T) {
	t.Parallel()
	_, rec, url := serve(t, exasim.Config{Latency: ms(100), KeepAlive: 5 * time.Millisecond})
	c := newClient(t, url)
	ctx := context.Background()
	// A completed run arrives as one event; this one is far above go-sse's
	// default 64 KiB limit.
	p := enrich(nil)
	p.OutputSchema = nil
	for i := range 3000 {
		p.Input.Data = append(p.Input.Data, map[string]any{"rowId": fmt.Sprint(i), "name": strings.Repeat("x", 40)})
	}
	created, err := c.CreateRun(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Wait(ctx, created.ID)
	if err != nil || run.Status != exa.StatusCompleted || run.CostDollars == nil || run.CostDollars.Total != 0.025 {
		t.Fatalf("Wait = %+v, %v", run, err)
	}
	if n := rec.count("GET", "/agent/runs/"+created.ID); n != 0 {
		t.Errorf("Wait polled %d times while the stream was up", n)
	}
	if n := rec.count("GET", "/agent/runs/"+created.ID+"/events"); n != 1 {
		t.Errorf("Wait opened %d streams, want 1", n)
	}
}

func TestWaitFallsBackToPollingWhenTheStreamIsCut(t *testing.T) {
	t.Parallel()
	_, rec, url := serve(t, exasim.Config{Latency: ms(300), Faults: exasim.Faults{CutStream: 1}})
	c := newClient(t, url)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			created, err := c.CreateRun(ctx, enrich(nil))
			if err != nil {
				t.Error(err)
				return
			}
			run, err := c.Wait(ctx, created.ID)
			if err != nil || run.Status != exa.StatusCompleted || len(rowsOf(t, run)) != 3 {
				t.Errorf("Wait = %+v, %v", run, err)
				return
			}
			if n := rec.count("GET", "/agent/runs/"+created.ID); n == 0 {
				t.Errorf("%s: the stream was cut, yet Wait never polled", created.ID)
			}
		})
	}
	wg.Wait()
}

func TestWaitPollsWhenTheReplayStopsAtStoredEvents(t *testing.T) {
	t.Parallel()
	_, rec, url := serve(t, exasim.Config{Latency: ms(200), ReplayOnly: true})
	c := newClient(t, url)
	created, err := c.CreateRun(context.Background(), enrich(nil))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Wait(context.Background(), created.ID)
	if err != nil || run.Status != exa.StatusCompleted || len(rowsOf(t, run)) != 3 {
		t.Fatalf("Wait = %+v, %v", run, err)
	}
	if n := rec.count("GET", "/agent/runs/"+created.ID); n == 0 {
		t.Error("the replay closed early, yet Wait never polled")
	}
}

func TestWaitReturnsFailedAndCancelledRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, _, url := serve(t, exasim.Config{Latency: ms(20), Faults: exasim.Faults{Fail: 1}})
	c := newClient(t, url)
	created, err := c.CreateRun(ctx, enrich(nil))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Wait(ctx, created.ID)
	if err != nil || run.Status != exa.StatusFailed || run.Error == nil || run.Error.Code != "SERVER_ERROR" || run.CostDollars == nil {
		t.Errorf("failed run: %+v, %v", run, err)
	}

	_, _, url = serve(t, exasim.Config{Latency: ms(60_000)})
	c = newClient(t, url)
	created, err = c.CreateRun(ctx, enrich(nil))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = c.CancelRun(ctx, created.ID)
	}()
	run, err = c.Wait(ctx, created.ID)
	if err != nil || run.Status != exa.StatusCancelled || run.CompletedAt == "" {
		t.Errorf("cancelled run: %+v, %v", run, err)
	}

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	created, err = c.CreateRun(ctx, enrich(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(short, created.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past its deadline: %v", err)
	}
}

// TestAnswerFaultsReachTheClient runs every answer fault through the client:
// what the pipeline will have to survive.
func TestAnswerFaultsReachTheClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ids := func(rows []map[string]any) []string {
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprint(r["rowId"]))
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name   string
		faults exasim.Faults
		want   func(rows []map[string]any) bool
	}{
		{"none", exasim.Faults{}, func(r []map[string]any) bool { return fmt.Sprint(ids(r)) == "[2 3 4]" }},
		{"drop", exasim.Faults{Drop: 1}, func(r []map[string]any) bool { return len(r) == 2 }},
		{"dup", exasim.Faults{Dup: 1}, func(r []map[string]any) bool { return len(r) == 4 && len(slices.Compact(ids(r))) == 3 }},
		{"invent", exasim.Faults{Invent: 1}, func(r []map[string]any) bool { return strings.Contains(fmt.Sprint(ids(r)), "invented-") }},
		{"reorder", exasim.Faults{Reorder: 1}, func(r []map[string]any) bool { return fmt.Sprint(ids(r)) == "[2 3 4]" }},
		{"null", exasim.Faults{Null: 1}, func(r []map[string]any) bool { return r[0]["ceo"] == nil && r[0]["name"] != nil }},
		{"off-schema", exasim.Faults{OffSchema: 1}, func(r []map[string]any) bool {
			for _, row := range r {
				if _, ok := row["ceo"].(float64); ok {
					return true
				}
				if _, ok := row["name"].(float64); ok {
					return true
				}
			}
			return false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, url := serve(t, exasim.Config{Latency: ms(5), Faults: tt.faults})
			c := newClient(t, url)
			created, err := c.CreateRun(ctx, enrich(nil))
			if err != nil {
				t.Fatal(err)
			}
			run, err := c.Wait(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			rows := rowsOf(t, run)
			if !tt.want(rows) {
				t.Errorf("rows %v", rows)
			}
			// Every item still says which row it is about, by name.
			names := map[string]string{"2": "Acme", "3": "Globex", "4": "Initech"}
			for _, r := range rows {
				id := fmt.Sprint(r["rowId"])
				if n, ok := names[id]; ok && tt.name != "off-schema" && r["name"] != n {
					t.Errorf("row %s carries name %v", id, r["name"])
				}
			}
		})
	}
}

// BenchmarkCreateAndWait measures a full run (create, then Wait on its
// event stream) against the simulator with no latency.
func BenchmarkCreateAndWait(b *testing.B) {
	sim := exasim.New(exasim.Config{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := exa.NewClient(nil, exa.WithBaseURL(srv.URL), exa.WithAPIKey(testKey))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		run, err := c.CreateRun(ctx, enrich(nil))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Wait(ctx, run.ID); err != nil {
			b.Fatal(err)
		}
	}
}
