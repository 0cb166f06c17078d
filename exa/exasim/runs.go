package exasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/exa-enrich/exa-enrich/exa"
)

// run is one simulated run. Its whole life is planned at create; what a
// client sees is read off that plan at the time it asks, so nothing needs
// a goroutine or a ticker.
type run struct {
	id      string
	seq     int // index in Server.order
	params  exa.CreateRunParams
	created time.Time
	started time.Time
	done    time.Time // when the plan reaches its outcome

	outcome    exa.RunStatus // completed or failed
	stopReason string
	runErr     *exa.RunError
	output     *exa.Output
	usage      exa.Usage
	fullCost   exa.CostDollars

	cancelledAt time.Time // zero unless cancelled before done
	deleted     bool
	// changed is closed and replaced when a cancel rewrites the plan, to
	// wake the streams that follow the run.
	changed chan struct{}
}

func (ru *run) statusAt(now time.Time) exa.RunStatus {
	switch {
	case !ru.cancelledAt.IsZero() && !now.Before(ru.cancelledAt):
		return exa.StatusCancelled
	case !now.Before(ru.done):
		return ru.outcome
	case !now.Before(ru.started):
		return exa.StatusRunning
	}
	return exa.StatusQueued
}

// endAt is when the run reaches (or will reach) its terminal status.
func (ru *run) endAt() time.Time {
	if !ru.cancelledAt.IsZero() {
		return ru.cancelledAt
	}
	return ru.done
}

// cost is what the run bills once terminal: all of it when completed,
// nothing when failed, and the share of the work done when cancelled.
func (ru *run) cost(at time.Time) exa.CostDollars {
	switch ru.statusAt(at) {
	case exa.StatusCompleted:
		return ru.fullCost
	case exa.StatusCancelled:
		span := ru.done.Sub(ru.started)
		f := 0.0
		if span > 0 {
			f = math.Min(1, math.Max(0, float64(ru.cancelledAt.Sub(ru.started))/float64(span)))
		}
		c := ru.fullCost
		return exa.CostDollars{Total: round(c.Total * f), AgentCompute: round(c.AgentCompute * f), Search: round(c.Search * f)}
	}
	return exa.CostDollars{}
}

// wireRun is the run object as the service writes it: null, not absent,
// where the contract says null.
type wireRun struct {
	ID          string               `json:"id"`
	Object      string               `json:"object"`
	Status      exa.RunStatus        `json:"status"`
	StopReason  *string              `json:"stopReason"`
	CreatedAt   string               `json:"createdAt"`
	CompletedAt *string              `json:"completedAt"`
	Request     *exa.CreateRunParams `json:"request"`
	Output      *exa.Output          `json:"output"`
	Usage       *exa.Usage           `json:"usage"`
	CostDollars *exa.CostDollars     `json:"costDollars"`
	Error       *exa.RunError        `json:"error,omitempty"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// view is the run as a client sees it at now; the caller holds s.mu.
func (ru *run) view(now time.Time) wireRun {
	v := wireRun{
		ID:        ru.id,
		Object:    "agent_run",
		Status:    ru.statusAt(now),
		CreatedAt: stamp(ru.created),
		Request:   &ru.params,
	}
	if !v.Status.Terminal() {
		return v
	}
	end := stamp(ru.endAt())
	v.CompletedAt = &end
	cost := ru.cost(now)
	v.CostDollars = &cost
	usage := exa.Usage{}
	reason := "cancelled"
	switch v.Status {
	case exa.StatusCompleted:
		usage, reason = ru.usage, ru.stopReason
		v.Output = ru.output
	case exa.StatusFailed:
		reason = ru.stopReason
		v.Error = ru.runErr
	}
	v.StopReason = &reason
	v.Usage = &usage
	return v
}

// lookup finds a live run or writes 404; the caller holds s.mu.
func (s *Server) lookup(w http.ResponseWriter, id string) (*run, bool) {
	ru, ok := s.runs[id]
	if !ok || ru.deleted {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "RUN_NOT_FOUND", fmt.Sprintf("run %q not found", id))
		return nil, false
	}
	return ru, true
}

// createBody is the create request as it arrives, before the checks that
// typed decoding would turn into unhelpful JSON errors.
type createBody struct {
	Metadata     map[string]any `json:"metadata"`
	OutputSchema any            `json:"outputSchema"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	reqID := w.Header().Get("x-request-id")
	raw, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", "reading body: "+err.Error())
		return
	}
	p, schema, aerr := s.validate(raw)
	if aerr != nil {
		aerr.write(w, reqID)
		return
	}

	now := time.Now()
	s.mu.Lock()
	if p.PreviousRunID != "" {
		prev, ok := s.runs[p.PreviousRunID]
		if !ok || prev.deleted {
			s.mu.Unlock()
			writeError(w, http.StatusNotFound, "NOT_FOUND", "PREVIOUS_RUN_NOT_FOUND", fmt.Sprintf("previous run %q not found", p.PreviousRunID))
			return
		}
		if st := prev.statusAt(now); st != exa.StatusCompleted {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "PREVIOUS_RUN_NOT_COMPLETED", fmt.Sprintf("previous run %q is %s, not completed", p.PreviousRunID, st))
			return
		}
	}
	if s.cfg.CreditDollars > 0 && s.billed(now) >= s.cfg.CreditDollars {
		s.mu.Unlock()
		flatError(http.StatusPaymentRequired, "NO_MORE_CREDITS", "You have run out of credits. Top up at dashboard.exa.ai.").write(w, reqID)
		return
	}
	s.prune(now)
	active, firstEnd := len(s.active), time.Time{}
	for _, ru := range s.active {
		if firstEnd.IsZero() || ru.endAt().Before(firstEnd) {
			firstEnd = ru.endAt()
		}
	}
	if active >= s.cfg.ConcurrencyLimit {
		s.stats.Rejected429++
		s.mu.Unlock()
		e := agentError(http.StatusTooManyRequests, "RATE_LIMIT_ERROR", "CONCURRENCY_LIMIT_REACHED",
			fmt.Sprintf("%d runs in progress, the limit is %d", active, s.cfg.ConcurrencyLimit))
		e.retryAfter = max(time.Second, firstEnd.Sub(now))
		e.write(w, reqID)
		return
	}
	ru := s.newRun(now, p, schema)
	s.stats.MaxActive = max(s.stats.MaxActive, active+1)
	lost := s.chance(s.cfg.Faults.LostCreate)
	s.mu.Unlock()

	if lost {
		resetConn(w)
		return
	}
	if wantsStream(r) {
		s.stream(w, r, ru, 0, true)
		return
	}
	s.mu.Lock()
	v := ru.view(now)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func readBody(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, 64<<20))
	return b.Bytes(), err
}

// validate checks a create body like the service does.
func (s *Server) validate(raw []byte) (exa.CreateRunParams, map[string]any, *apiError) {
	invalid := func(code, format string, args ...any) *apiError {
		return agentError(http.StatusBadRequest, "INVALID_REQUEST", code, fmt.Sprintf(format, args...))
	}
	var p exa.CreateRunParams
	var loose createBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&loose); err != nil {
		return p, nil, invalid("INVALID_REQUEST", "body is not a valid JSON object: %v", err)
	}
	for k, v := range loose.Metadata {
		if _, ok := v.(string); !ok {
			return p, nil, invalid("INVALID_REQUEST", "metadata.%s must be a string", k)
		}
	}
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return p, nil, invalid("INVALID_REQUEST", "invalid request body: %v", err)
	}
	if strings.TrimSpace(p.Query) == "" {
		return p, nil, invalid("INVALID_REQUEST", "query must be a non-empty string")
	}
	var schema map[string]any
	if p.OutputSchema != nil {
		var ok bool
		if schema, ok = p.OutputSchema.(map[string]any); !ok {
			return p, nil, invalid("INVALID_OUTPUT_SCHEMA", "outputSchema must be a JSON object")
		}
		if err := compileSchema(schema); err != nil {
			return p, nil, invalid("INVALID_OUTPUT_SCHEMA", "outputSchema does not compile: %v", err)
		}
	}
	if p.Effort == "" {
		p.Effort = exa.EffortAuto
	}
	metered := p.Effort == exa.EffortAuto || p.Effort == exa.EffortMax
	if _, fixed := exa.FixedPrices[p.Effort]; !fixed && !metered {
		return p, nil, invalid("INVALID_REQUEST", "effort %q is not one of minimal, low, medium, high, xhigh, auto, max", p.Effort)
	}
	if metered && p.Budget != nil && (p.Budget.MaxCostDollars < 1 || p.Budget.MaxCostDollars > 100) {
		return p, nil, invalid("INVALID_REQUEST", "budget.maxCostDollars must be between 1 and 100, not %g", p.Budget.MaxCostDollars)
	}
	if len(p.DataSources) > 0 && p.DataSources[0] != '[' {
		return p, nil, invalid("INVALID_DATA_SOURCE", "dataSources must be an array")
	}
	return p, schema, nil
}

// compileSchema compiles an outputSchema by the draft its $schema names
// (2020-12 by default), knowing the phone format the service adds.
func compileSchema(schema map[string]any) error {
	c := jsonschema.NewCompiler()
	c.RegisterFormat(&jsonschema.Format{Name: "phone", Validate: func(any) error { return nil }})
	if err := c.AddResource("outputSchema.json", schema); err != nil {
		return err
	}
	_, err := c.Compile("outputSchema.json")
	return err
}

func wantsStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// newRun plans a run's life; the caller holds s.mu.
func (s *Server) newRun(now time.Time, p exa.CreateRunParams, schema map[string]any) *run {
	s.nextID++
	d := s.latency()
	ru := &run{
		id:      fmt.Sprintf("agent_run_sim%08d", s.nextID),
		params:  p,
		created: now,
		started: now.Add(d / 10),
		done:    now.Add(d),
		outcome: exa.StatusCompleted,
		changed: make(chan struct{}),
	}
	ru.output, ru.usage, ru.fullCost, ru.stopReason = s.answer(p, schema)
	switch {
	case d > s.cfg.MaxRunTime:
		ru.done = now.Add(s.cfg.MaxRunTime)
		ru.outcome, ru.stopReason = exa.StatusFailed, "time_limit_reached"
		ru.runErr = &exa.RunError{Type: "SERVER_ERROR", Code: "TIMEOUT", Message: fmt.Sprintf("the run did not finish within %s", s.cfg.MaxRunTime)}
	case s.chance(s.cfg.Faults.Fail):
		ru.outcome, ru.stopReason = exa.StatusFailed, "error"
		ru.runErr = &exa.RunError{Type: "SERVER_ERROR", Code: "SERVER_ERROR", Message: "simulated failure: the agent crashed"}
	}
	s.runs[ru.id] = ru
	ru.seq = len(s.order)
	s.order = append(s.order, ru)
	s.active = append(s.active, ru)
	s.stats.RunsCreated++
	if len(p.Metadata) > 0 {
		key := metadataKey(p.Metadata)
		if s.metadata[key] {
			s.stats.DuplicateCreates++
		}
		s.metadata[key] = true
	}
	return ru
}

// prune moves the runs that have ended out of s.active, settling their
// cost, so that limits cost O(active runs), not O(all runs). Ended runs
// never come back: the clock only moves forward. The caller holds s.mu.
func (s *Server) prune(now time.Time) {
	keep := s.active[:0]
	for _, ru := range s.active {
		if ru.statusAt(now).Terminal() {
			s.settled += ru.cost(now).Total
		} else {
			keep = append(keep, ru)
		}
	}
	clear(s.active[len(keep):])
	s.active = keep
}

// billed is what ended runs have cost by now; the caller holds s.mu.
func (s *Server) billed(now time.Time) float64 {
	s.prune(now)
	return s.settled
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ru, ok := s.lookup(w, r.PathValue("id"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, ru.view(time.Now()))
}

// cancel stops a run that is still going; a terminal run comes back
// unchanged, never 409.
func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ru, ok := s.lookup(w, r.PathValue("id"))
	if !ok {
		return
	}
	now := time.Now()
	s.cancelRun(ru, now)
	writeJSON(w, http.StatusOK, ru.view(now))
}

func (s *Server) cancelRun(ru *run, now time.Time) {
	if ru.statusAt(now).Terminal() {
		return
	}
	ru.cancelledAt = now
	close(ru.changed)
	ru.changed = make(chan struct{})
}

// delete forgets a run; one still going is cancelled first, so it stops
// billing.
func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ru, ok := s.lookup(w, r.PathValue("id"))
	if !ok {
		return
	}
	s.cancelRun(ru, time.Now())
	ru.deleted = true
	writeJSON(w, http.StatusOK, map[string]any{"id": ru.id, "object": "agent_run.deleted", "deleted": true})
}

// page reads limit (1..100, default 20) and cursor.
func page(r *http.Request) (limit int, cursor string, err *apiError) {
	limit = 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 100 {
			return 0, "", agentError(http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", fmt.Sprintf("limit must be an integer from 1 to 100, not %q", v))
		}
		limit = n
	}
	return limit, r.URL.Query().Get("cursor"), nil
}

type listPage[T any] struct {
	Object     string  `json:"object"`
	Data       []T     `json:"data"`
	HasMore    bool    `json:"hasMore"`
	NextCursor *string `json:"nextCursor"`
}

// paginate cuts items after cursor (an item's key) into one page.
func paginate[T any](items []T, key func(T) string, limit int, cursor string) (listPage[T], bool) {
	start := 0
	if cursor != "" {
		start = -1
		for i, it := range items {
			if key(it) == cursor {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return listPage[T]{}, false
		}
	}
	end := min(start+limit, len(items))
	p := listPage[T]{Object: "list", Data: items[start:end], HasMore: end < len(items)}
	if p.Data == nil {
		p.Data = []T{}
	}
	if p.HasMore {
		next := key(items[end-1])
		p.NextCursor = &next
	}
	return p, true
}

// list returns runs newest first.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	limit, cursor, aerr := page(r)
	if aerr != nil {
		aerr.write(w, "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	from := len(s.order) - 1
	if cursor != "" {
		ru, ok := s.runs[cursor]
		if !ok {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", fmt.Sprintf("unknown cursor %q", cursor))
			return
		}
		from = ru.seq - 1
	}
	p := listPage[wireRun]{Object: "list", Data: []wireRun{}}
	for i := from; i >= 0; i-- {
		ru := s.order[i]
		if ru.deleted {
			continue
		}
		if len(p.Data) == limit {
			p.HasMore = true
			next := p.Data[limit-1].ID
			p.NextCursor = &next
			break
		}
		p.Data = append(p.Data, ru.view(now))
	}
	writeJSON(w, http.StatusOK, p)
}
