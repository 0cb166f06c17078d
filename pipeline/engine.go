package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/schemas"
)

// API is the part of the Agent API that the pipeline uses.
type API interface {
	CreateRunStream(ctx context.Context, p *exa.CreateRunParams) (*exa.EventStream, error)
	Wait(ctx context.Context, id string) (*exa.Run, error)
	CancelRun(ctx context.Context, id string) (*exa.Run, error)
	FindRunByMetadata(ctx context.Context, md map[string]string, scan int) (*exa.Run, error)
}

// Rows is a source of input rows, such as a *readers.Reader.
type Rows interface {
	Next() ([]readers.Row, error) // io.EOF after the last batch
}

// Config is one execution of a job.
type Config struct {
	Spec    Spec            // what is asked; Spec.Columns are the columns sent
	Columns []string        // the input's header, to find the columns sent
	Schema  *schemas.Schema // builds each run's outputSchema and checks answers
	Journal *Journal

	ChunkSize      int     // rows per run
	Concurrency    int     // runs in flight to start with
	MaxConcurrency int     // runs in flight at most
	QPS            float64 // creates per second at most; 0: no limit
	MaxCost        float64 // dollars this execution may commit; 0: no cap
	MaxAttempts    int     // runs that may carry a row before it keeps its error

	// Keep, when set, names rows that need no research (--only-missing:
	// every cell the answer would fill already holds a value). They are
	// not sent; their results read StatusKept.
	Keep func(readers.Row) bool

	// TrackChanges keeps the answers this execution writes out, by row key,
	// so that it and the next tracked execution can report what changed.
	TrackChanges bool

	RefreshOlderThan time.Duration // re-research answers older than this; 0: never
	RetryErrors      bool          // re-send rows that ended in error
	Reuse            bool          // answers to an earlier spec count for this one

	// Stop, when closed, stops new creates; runs in flight may finish for
	// up to Grace, then they are cancelled. Cancelling ctx cancels them at
	// once. Either way, everything answered is recorded.
	Stop  <-chan struct{}
	Grace time.Duration

	Events Events // may be nil
}

// Summary is what one execution did.
type Summary struct {
	JobID     string
	Execution int64   // this execution's number in the journal
	Rows      int     // input rows read
	Cached    int     // rows whose answer was already in the journal
	Kept      int     // rows that needed no research (Config.Keep)
	Sent      int     // distinct rows sent in runs
	Runs      int     // runs created
	Resumed   int     // runs of an earlier execution attached to
	Retries   int     // rows sent again after a miss, a bad answer or a failed run
	Refused   int     // creates refused with 429
	Dropped   int     // answer items with an unknown or repeated rowId
	CostUSD   float64 // billed for the runs this execution followed
	Reserved  float64 // still set aside for runs whose cost is unknown
	StoppedBy string  // "", StopBudget or StopInterrupt
	Started   time.Time
	Finished  time.Time
}

// Why a job stopped before every row was sent.
const (
	StopBudget    = "budget"
	StopInterrupt = "interrupt"
)

// Metadata keys every create carries, so that a run whose create had an
// unknown outcome can be found again.
const (
	MetaJob     = "exa_enrich_job"
	MetaChunk   = "exa_enrich_chunk"
	MetaAttempt = "exa_enrich_attempt"
)

// orphanScan is how many of the newest runs are searched for a run whose
// create had an unknown outcome.
const orphanScan = 500

// pending is one distinct row to send.
type pending struct {
	Hash     string         `json:"hash"`
	RowHash  string         `json:"rowHash"`
	Source   readers.Source `json:"source"`
	Data     map[string]any `json:"data"` // the cells sent, rowId included
	Attempts int            `json:"attempts"`
	CostUSD  float64        `json:"cost"` // spent on this row by earlier runs
}

func (p *pending) id() string { return p.Data[schemas.RowIDProperty].(string) }

type engine struct {
	cfg      Config
	api      API
	specHash string
	jobID    string
	colIdx   []int
	limiter  *rate.Limiter
	window   *window
	budget   *budget
	waitCtx  context.Context // cancelled when runs in flight must stop
	// createCtx is cancelled when the job must create no more runs; waits
	// for a slot, the rate limiter or a back-off end with it.
	createCtx context.Context

	mu       sync.Mutex
	sum      Summary
	progress Progress             // the counters Summary lacks
	queued   map[hashKey]struct{} // rows in a chunk of this execution, by hash
	started  time.Time
}

// Run executes a job over rows: rows whose answer the journal holds are not
// sent; the others go out in chunks, one run each, on a pool whose size
// adapts to the account's concurrency limit. Chunks an earlier execution
// left open are resumed first, without paying twice. Run returns when every
// row is answered or has its error, or when the job was stopped; the
// answers are in the journal, read them back with Results.
func Run(ctx context.Context, api API, cfg Config, rows Rows) (Summary, error) {
	e, err := newEngine(ctx, api, cfg)
	if err != nil {
		return Summary{}, err
	}
	fp, _ := json.Marshal(cfg.Spec)
	if err := cfg.Journal.BeginJob(ctx, e.jobID, string(fp)); err != nil {
		return Summary{}, err
	}
	if e.sum.Execution, err = cfg.Journal.BeginExecution(ctx, e.jobID, e.started, cfg.TrackChanges); err != nil {
		return Summary{}, err
	}
	waitCtx, cancelWaits := context.WithCancel(ctx)
	defer cancelWaits()
	e.waitCtx = waitCtx
	createCtx, cancelCreates := context.WithCancel(ctx)
	defer cancelCreates()
	e.createCtx = createCtx
	graceDone := make(chan struct{})
	defer close(graceDone)
	go func() {
		// After a stop, runs in flight get Grace to finish.
		select {
		case <-e.stopped():
			cancelCreates()
		case <-graceDone:
			return
		}
		select {
		case <-time.After(cfg.Grace):
			cancelWaits()
		case <-graceDone:
		}
	}()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.MaxConcurrency + 1) // the producer's own goroutine included
	g.Go(func() error { return e.produce(gctx, g, rows) })
	err = g.Wait()

	if ctx.Err() != nil || e.isStopped() {
		e.mu.Lock()
		if e.sum.StoppedBy == "" {
			e.sum.StoppedBy = StopInterrupt
		}
		e.mu.Unlock()
	}
	e.emit()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sum.CostUSD = round6(e.budget.spent)
	e.sum.Reserved = round6(e.budget.reserved)
	e.sum.Finished = time.Now()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = fmt.Errorf("interrupted: %w", err)
	}
	return e.sum, err
}

func newEngine(ctx context.Context, api API, cfg Config) (*engine, error) {
	cfg.ChunkSize = max(cfg.ChunkSize, 1)
	cfg.Concurrency = max(cfg.Concurrency, 1)
	cfg.MaxConcurrency = max(cfg.MaxConcurrency, cfg.Concurrency)
	cfg.MaxAttempts = max(cfg.MaxAttempts, 1)
	if cfg.Events == nil {
		cfg.Events = nopEvents{}
	}
	e := &engine{
		cfg:      cfg,
		api:      api,
		specHash: cfg.Spec.Hash(),
		window:   newWindow(cfg.Concurrency, cfg.MaxConcurrency),
		budget:   newBudget(cfg.MaxCost),
		queued:   map[hashKey]struct{}{},
		started:  time.Now(),
	}
	e.sum.Started = e.started
	for _, c := range cfg.Spec.Columns {
		i := slices.Index(cfg.Columns, c)
		if i < 0 {
			return nil, fmt.Errorf("column %q is not in the input (columns: %v)", c, cfg.Columns)
		}
		e.colIdx = append(e.colIdx, i)
	}
	if cfg.QPS > 0 {
		e.limiter = rate.NewLimiter(rate.Limit(cfg.QPS), 1)
	}
	instance, err := cfg.Journal.Instance(ctx)
	if err != nil {
		return nil, err
	}
	// The job id names the question; the journal's instance keeps two
	// journals asking the same question from adopting each other's runs.
	e.jobID = cfg.Spec.JobID() + "_" + instance
	e.sum.JobID = e.jobID
	return e, nil
}

// emit reports progress.
func (e *engine) emit() {
	e.mu.Lock()
	p := e.progress
	p.Rows, p.Cached, p.Kept, p.Sent = e.sum.Rows, e.sum.Cached, e.sum.Kept, e.sum.Sent
	p.Runs, p.Retries, p.Refused, p.StoppedBy = e.sum.Runs, e.sum.Retries, e.sum.Refused, e.sum.StoppedBy
	e.mu.Unlock()
	p.InFlight = e.window.active()
	p.SpentUSD, p.ReservedUSD = e.budget.totals()
	e.cfg.Events.Progress(p)
}

func (e *engine) stopped() <-chan struct{} {
	if e.cfg.Stop == nil {
		return nil
	}
	return e.cfg.Stop
}

func (e *engine) isStopped() bool {
	select {
	case <-e.stopped():
		return true
	default:
		return false
	}
}

// produce resumes the chunks an earlier execution left open, then streams
// the input, cutting the rows still to answer into chunks.
func (e *engine) produce(ctx context.Context, g *errgroup.Group, rows Rows) error {
	open, err := e.cfg.Journal.OpenChunks(ctx, e.jobID)
	if err != nil {
		return err
	}
	for _, rec := range open {
		e.mu.Lock()
		for _, p := range rec.Rows {
			e.queued[keyOf(p.Hash)] = struct{}{}
		}
		e.mu.Unlock()
		if !e.spawn(ctx, g, func() error { return e.resume(ctx, rec) }) {
			return nil
		}
	}

	var chunk []*pending
	flush := func() bool {
		if len(chunk) == 0 {
			return true
		}
		c := chunk
		chunk = nil
		return e.spawn(ctx, g, func() error { return e.send(ctx, c) })
	}
	for {
		batch, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		todo, err := e.triage(ctx, batch)
		if err != nil {
			return err
		}
		e.emit()
		for _, p := range todo {
			chunk = append(chunk, p)
			if len(chunk) == e.cfg.ChunkSize && !flush() {
				return nil
			}
		}
	}
	e.mu.Lock()
	e.progress.InputDone = true
	e.mu.Unlock()
	e.emit()
	flush()
	return nil
}

// spawn runs f on the pool unless the job is stopping. It blocks while the
// pool is full, which keeps the producer from reading far ahead.
func (e *engine) spawn(ctx context.Context, g *errgroup.Group, f func() error) bool {
	if ctx.Err() != nil || e.isStopped() || e.budgetStopped() {
		return false
	}
	g.Go(f)
	return true
}

func (e *engine) budgetStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sum.StoppedBy == StopBudget
}

// triage counts a batch of input rows and returns those to send: rows with
// no usable answer in the journal, once each however often they repeat.
func (e *engine) triage(ctx context.Context, batch []readers.Row) ([]*pending, error) {
	all := make([]*pending, len(batch))
	hashes := make([]string, len(batch))
	rowHashes := make([]string, len(batch))
	var keep []bool
	if e.cfg.Keep != nil {
		keep = make([]bool, len(batch))
		for i, r := range batch {
			keep[i] = e.cfg.Keep(r)
		}
	}
	for i, r := range batch {
		values := make([]string, len(e.colIdx))
		data := make(map[string]any, len(e.colIdx)+1)
		for j, c := range e.colIdx {
			values[j] = r.Values[c]
			data[e.cfg.Spec.Columns[j]] = r.Values[c]
		}
		data[schemas.RowIDProperty] = strconv.Itoa(r.Source.Row)
		rh := rowHash(e.cfg.Spec.Columns, values)
		all[i] = &pending{Hash: resultHash(e.specHash, rh), RowHash: rh, Source: r.Source, Data: data}
		hashes[i], rowHashes[i] = all[i].Hash, rh
	}
	known, err := e.cfg.Journal.Statuses(ctx, hashes, false)
	if err != nil {
		return nil, err
	}
	var reused map[string]Result
	if e.cfg.Reuse {
		if reused, err = e.cfg.Journal.Statuses(ctx, rowHashes, true); err != nil {
			return nil, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var todo []*pending
	for i, p := range all {
		e.sum.Rows++
		if keep != nil && keep[i] {
			e.sum.Kept++
			continue
		}
		res, ok := known[p.Hash]
		if !ok && e.cfg.Reuse {
			res, ok = reused[p.RowHash]
		}
		if ok && e.settled(res) {
			e.sum.Cached++
			continue
		}
		k := keyOf(p.Hash)
		if _, dup := e.queued[k]; dup {
			continue // a duplicate of a row already on its way
		}
		e.queued[k] = struct{}{}
		e.sum.Sent++
		todo = append(todo, p)
	}
	return todo, nil
}

// settled reports whether a stored result stands, or the row must be sent.
func (e *engine) settled(r Result) bool {
	switch {
	case r.Status == StatusCancelled || r.Status == "":
		return false
	case r.Status != StatusOK && e.cfg.RetryErrors:
		return false
	case e.cfg.RefreshOlderThan > 0 && r.EnrichedAt.Before(e.started.Add(-e.cfg.RefreshOlderThan)):
		return false
	}
	return true
}

// send runs a new chunk of rows.
func (e *engine) send(ctx context.Context, rows []*pending) error {
	if e.isStopped() {
		return nil
	}
	reserved, ok := e.reserve()
	if !ok {
		return nil
	}
	rec, err := e.cfg.Journal.NewChunk(ctx, e.jobID, rows, reserved)
	if err != nil {
		e.budget.release(reserved, 0)
		return err
	}
	return e.create(ctx, &rec)
}

// reserve sets aside the worst-case cost of one run; false means the job
// is stopping, or the spend cap cannot cover another run and the job stops
// creating.
func (e *engine) reserve() (float64, bool) {
	worst := e.worstCase()
	if e.budget.reserve(e.createCtx, worst) {
		return worst, true
	}
	if e.createCtx.Err() != nil {
		return 0, false
	}
	e.mu.Lock()
	first := e.sum.StoppedBy == ""
	e.sum.StoppedBy = StopBudget
	e.mu.Unlock()
	if first {
		e.emit()
	}
	return 0, false
}

// worstCase is the most one run can cost: the fixed price of its effort,
// or, for the metered efforts, the budget the tool sends with it.
func (e *engine) worstCase() float64 {
	if p, ok := exa.FixedPrices[e.cfg.Spec.Effort]; ok {
		return p
	}
	return meteredBudget(e.cfg.Spec.Effort)
}

// meteredBudget is the maxCostDollars sent with every metered run: the
// API's own default, sent explicitly so the reservation is exact.
func meteredBudget(effort string) float64 {
	if effort == exa.EffortMax {
		return 20
	}
	return 5
}

// resume picks up a chunk an earlier execution left open: it attaches to
// its run when the id is known, looks for the run by its metadata when the
// create's outcome was never recorded, and creates it only when no such run
// exists.
func (e *engine) resume(ctx context.Context, rec ChunkRecord) error {
	e.mu.Lock()
	e.sum.Resumed++
	e.mu.Unlock()
	e.budget.commit(rec.Reserved)
	if rec.RunID == "" {
		run, err := e.api.FindRunByMetadata(ctx, e.metadata(&rec), orphanScan)
		if err != nil {
			return fmt.Errorf("chunk %d: looking for its run: %w", rec.ID, err)
		}
		if run == nil {
			// The create never reached the service. Send it again under a
			// new attempt number, so the two can never be confused.
			if err := e.cfg.Journal.Resubmit(ctx, &rec); err != nil {
				return err
			}
			return e.create(ctx, &rec)
		}
		if err := e.cfg.Journal.SetRunID(ctx, &rec, run.ID); err != nil {
			return err
		}
	}
	if err := e.window.acquire(ctx); err != nil {
		return e.interrupted(ctx, &rec, err)
	}
	return e.follow(ctx, &rec, nil)
}

func (e *engine) metadata(rec *ChunkRecord) map[string]string {
	return map[string]string{
		MetaJob:     e.jobID,
		MetaChunk:   strconv.FormatInt(rec.ID, 10),
		MetaAttempt: strconv.Itoa(rec.Attempt),
	}
}

// create starts the chunk's run and follows it. A 429 waits and tries
// again; a create with an unknown outcome is looked for before it is sent
// again, under a new attempt number.
func (e *engine) create(ctx context.Context, rec *ChunkRecord) error {
	params := e.request(rec)
	backoff := time.Second
	for {
		if e.limiter != nil {
			if err := e.limiter.Wait(e.createCtx); err != nil {
				return e.interrupted(ctx, rec, err)
			}
		}
		if err := e.window.acquire(e.createCtx); err != nil {
			return e.interrupted(ctx, rec, err)
		}
		params.Metadata = e.metadata(rec) // the attempt may have changed
		st, err := e.api.CreateRunStream(ctx, params)
		var created *exa.Event
		if err == nil {
			created, err = firstEvent(st)
			if err != nil {
				st.Close()
				// The stream broke before naming the run: it may exist.
				err = fmt.Errorf("%w: %w", exa.ErrCreateUncertain, err)
			}
		}
		var rl *exa.RateLimitError
		switch {
		case err == nil:
			var ev struct {
				ID string `json:"id"`
			}
			if jerr := json.Unmarshal(created.Data, &ev); jerr != nil || ev.ID == "" {
				st.Close()
				e.window.release()
				return fmt.Errorf("chunk %d: the created event names no run: %s", rec.ID, created.Data)
			}
			return e.attach(ctx, rec, ev.ID, st)
		case errors.As(err, &rl):
			if rl.Code == "CONCURRENCY_LIMIT_REACHED" {
				e.window.refused()
			} else {
				e.window.release()
			}
			e.mu.Lock()
			e.sum.Refused++
			e.mu.Unlock()
			e.emit()
			wait := rl.RetryAfter
			if wait <= 0 {
				wait = jitter(backoff)
				backoff = min(backoff*2, time.Minute)
			}
			if err := sleep(e.createCtx, wait); err != nil {
				return e.interrupted(ctx, rec, err)
			}
		case errors.Is(err, exa.ErrCreateUncertain) && ctx.Err() == nil:
			run, ferr := e.api.FindRunByMetadata(ctx, e.metadata(rec), orphanScan)
			if ferr != nil {
				e.window.release()
				return fmt.Errorf("chunk %d: create outcome unknown (%v), and looking for its run failed: %w", rec.ID, err, ferr)
			}
			if run != nil {
				return e.attach(ctx, rec, run.ID, nil)
			}
			e.window.release()
			if err := e.cfg.Journal.Resubmit(ctx, rec); err != nil {
				return err
			}
			if err := sleep(e.createCtx, jitter(backoff)); err != nil {
				return e.interrupted(ctx, rec, err)
			}
			backoff = min(backoff*2, time.Minute)
		case errors.Is(err, exa.ErrCreateUncertain):
			// Cancelled mid-create: the run may exist and bill. Find it, so
			// that it is cancelled like the other runs in flight; if it
			// cannot be found now, the chunk stays open and the next
			// execution looks again.
			fctx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			run, ferr := e.api.FindRunByMetadata(fctx, e.metadata(rec), orphanScan)
			done()
			if ferr != nil || run == nil {
				e.window.release()
				return e.interrupted(ctx, rec, ctx.Err())
			}
			return e.attach(ctx, rec, run.ID, nil)
		default:
			e.window.release()
			if ctx.Err() != nil {
				return e.interrupted(ctx, rec, ctx.Err())
			}
			return fmt.Errorf("chunk %d (rows %s): creating its run: %w", rec.ID, rowRange(rec.Rows), err)
		}
	}
}

// attach takes on the run a chunk's create started, whether the create
// answered or the run was found by its metadata: it holds the chunk's
// window slot, records the run id and follows the run. st is the create's
// event stream, or nil.
func (e *engine) attach(ctx context.Context, rec *ChunkRecord, runID string, st *exa.EventStream) error {
	e.window.accepted()
	e.mu.Lock()
	e.sum.Runs++
	e.mu.Unlock()
	// The run exists and bills: record it even if the job is being
	// interrupted.
	if err := e.cfg.Journal.SetRunID(context.WithoutCancel(ctx), rec, runID); err != nil {
		if st != nil {
			st.Close()
		}
		e.window.release()
		return err
	}
	e.emit()
	return e.follow(ctx, rec, st)
}

// request is the create body of a chunk's run.
func (e *engine) request(rec *ChunkRecord) *exa.CreateRunParams {
	ids := make([]string, len(rec.Rows))
	data := make([]map[string]any, len(rec.Rows))
	for i, p := range rec.Rows {
		ids[i], data[i] = p.id(), p.Data
	}
	params := &exa.CreateRunParams{
		Query:        e.cfg.Spec.Query,
		SystemPrompt: e.cfg.Spec.SystemPrompt,
		Input:        &exa.Input{Data: data, Exclusion: e.cfg.Spec.Exclusion},
		OutputSchema: e.cfg.Schema.Batch(ids),
		Effort:       e.cfg.Spec.Effort,
		Metadata:     e.metadata(rec),
	}
	if _, fixed := exa.FixedPrices[params.Effort]; !fixed {
		params.Budget = &exa.Budget{MaxCostDollars: rec.Reserved}
	}
	return params
}

// firstEvent reads the stream up to agent_run.created.
func firstEvent(st *exa.EventStream) (*exa.Event, error) {
	for {
		ev, err := st.Next()
		if err != nil {
			return nil, err
		}
		if ev.Event == exa.EventCreated {
			return ev, nil
		}
		if ev.Terminal() {
			return ev, nil
		}
	}
}

// interrupted ends a chunk that never got a run because the job stopped:
// the chunk stays open in the journal, and its reservation is returned. A
// graceful stop is no error; the stop is reported in the summary.
func (e *engine) interrupted(ctx context.Context, rec *ChunkRecord, err error) error {
	e.budget.release(rec.Reserved, 0)
	if ctx.Err() == nil && e.isStopped() {
		return nil
	}
	return err
}

// follow waits for the chunk's run (holding its window slot) and records
// what it answered. st is the create's event stream, or nil.
func (e *engine) follow(ctx context.Context, rec *ChunkRecord, st *exa.EventStream) error {
	run, err := e.await(rec.RunID, st)
	e.window.release()
	if err != nil {
		if e.waitCtx.Err() == nil {
			return fmt.Errorf("chunk %d: run %s: %w", rec.ID, rec.RunID, err)
		}
		// The job is stopping: cancel the run so it stops billing, and
		// keep whatever it finished.
		run, err = e.cancel(ctx, rec.RunID)
		if err != nil {
			return fmt.Errorf("chunk %d: cancelling run %s: %w", rec.ID, rec.RunID, err)
		}
	}
	return e.record(ctx, rec, run)
}

// await follows the create's stream to the terminal event; when there is
// no stream, or it drops, Wait takes over.
func (e *engine) await(id string, st *exa.EventStream) (*exa.Run, error) {
	if st != nil {
		defer st.Close()
		stop := context.AfterFunc(e.waitCtx, func() { st.Close() })
		defer stop()
		for {
			ev, err := st.Next()
			if err != nil {
				break
			}
			if ev.Event == exa.EventCompleted {
				run := new(exa.Run)
				if json.Unmarshal(ev.Data, run) == nil && run.Status == exa.StatusCompleted {
					return run, nil
				}
				break
			}
			if ev.Terminal() {
				break
			}
		}
	}
	return e.api.Wait(e.waitCtx, id)
}

// cancel stops a run after the job was told to stop, and returns it as it
// ended: a run that finished meanwhile keeps its answers.
func (e *engine) cancel(ctx context.Context, id string) (*exa.Run, error) {
	cctx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer done()
	if _, err := e.api.CancelRun(cctx, id); err != nil {
		return nil, err
	}
	return e.api.Wait(cctx, id)
}

// record stores a finished run's answers. Rows it did not answer go out
// again in smaller chunks while they have attempts left; the rest keep
// their error.
func (e *engine) record(ctx context.Context, rec *ChunkRecord, run *exa.Run) error {
	// The run's cost is known: the reservation gives way to it.
	cost := 0.0
	if run.CostDollars != nil {
		cost = run.CostDollars.Total
	}
	e.budget.release(rec.Reserved, cost)
	share := cost / float64(len(rec.Rows))

	var verdicts []verdict
	switch run.Status {
	case exa.StatusCompleted:
		ids := make([]string, len(rec.Rows))
		cells := make([]map[string]any, len(rec.Rows))
		for i, p := range rec.Rows {
			ids[i], cells[i] = p.id(), p.Data
		}
		var dropped int
		verdicts, dropped = judge(run, e.cfg.Schema, ids, cells)
		e.mu.Lock()
		e.sum.Dropped += dropped
		e.mu.Unlock()
	default:
		msg := fmt.Sprintf("run %s %s", run.ID, run.Status)
		if run.Error != nil {
			msg += ": " + run.Error.Error()
		}
		status := StatusFailed
		if run.Status == exa.StatusCancelled {
			status = StatusCancelled
		}
		verdicts = make([]verdict, len(rec.Rows))
		for i := range verdicts {
			verdicts[i] = verdict{Status: status, Error: msg}
		}
	}

	now := time.Now()
	var entries []Entry
	var again []*pending
	for i, p := range rec.Rows {
		v := verdicts[i]
		p.Attempts++
		p.CostUSD += share
		retry := v.Status != StatusOK && v.Status != StatusCancelled && p.Attempts < e.cfg.MaxAttempts
		if retry && !e.isStopped() && ctx.Err() == nil {
			again = append(again, p)
			continue
		}
		if retry {
			// The job is stopping: the row keeps its attempts to spare, and
			// the next execution sends it again.
			v = verdict{Status: StatusCancelled, Error: "the job stopped before this row could be sent again; last try: " + v.Error}
		}
		entries = append(entries, Entry{Hash: p.Hash, RowHash: p.RowHash, Result: Result{
			Status: v.Status, Error: v.Error, Answer: v.Answer, RunID: run.ID, CostUSD: p.CostUSD,
			Sources: v.Sources, Citations: v.Citations, Confidence: v.Confidence,
			Attempts: p.Attempts, EnrichedAt: now,
		}})
	}
	// Answers are stored even while the job is being interrupted: they are
	// paid for.
	if err := e.cfg.Journal.FinishChunk(context.WithoutCancel(ctx), rec, cost, entries); err != nil {
		return err
	}
	e.mu.Lock()
	for _, en := range entries {
		if en.Status == StatusOK {
			e.progress.Answered++
		} else {
			e.progress.Failed++
		}
	}
	e.mu.Unlock()
	e.emit()
	if len(again) == 0 {
		return nil
	}
	e.mu.Lock()
	e.sum.Retries += len(again)
	e.mu.Unlock()
	// Halve the chunk: a run that missed rows in a big chunk often answers
	// them in a small one, and a bad row then spoils fewer others.
	half := (len(again) + 1) / 2
	for _, part := range [][]*pending{again[:half], again[half:]} {
		if len(part) == 0 {
			continue
		}
		if err := e.send(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

func rowRange(rows []*pending) string {
	if len(rows) == 0 {
		return "none"
	}
	lo, hi := rows[0].Source.Row, rows[0].Source.Row
	for _, p := range rows {
		lo, hi = min(lo, p.Source.Row), max(hi, p.Source.Row)
	}
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// budget is the spend cap: every run's worst case is reserved before its
// create, and the reservation gives way to the real cost when it is known,
// so committed spend never exceeds the cap.
type budget struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when a reservation gives way
	limit    float64       // 0: no cap
	spent    float64
	reserved float64
}

func newBudget(limit float64) *budget {
	return &budget{limit: limit, changed: make(chan struct{})}
}

// reserve sets aside amount. While runs in flight hold reservations that
// may give way to a smaller real cost, it waits for them; it reports false
// when the cap cannot cover amount even with nothing reserved, or when ctx
// ends.
func (b *budget) reserve(ctx context.Context, amount float64) bool {
	for {
		b.mu.Lock()
		if b.limit <= 0 || b.spent+b.reserved+amount <= b.limit+1e-9 {
			b.reserved += amount
			b.mu.Unlock()
			return true
		}
		if b.reserved <= 1e-9 {
			b.mu.Unlock()
			return false
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// commit takes on a reservation made by an earlier execution whose run this
// one now follows.
func (b *budget) commit(amount float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved += amount
}

func (b *budget) totals() (spent, reserved float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return round6(b.spent), round6(b.reserved)
}

func (b *budget) release(reserved, cost float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved -= reserved
	b.spent += cost
	close(b.changed)
	b.changed = make(chan struct{})
}
