// Package exasim is a local simulator of Exa's Agent API. It speaks the same
// HTTP contract as the real service (../shared/exa-agent-api.md), answers
// with deterministic, clearly synthetic research, bills like the real price
// list, and can be told to misbehave, so that the client, the pipeline and
// the benchmarks are exercised without a key or a network.
package exasim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
)

// Config sets how the simulator behaves. The zero value answers at once.
type Config struct {
	// Latency is how long a run takes from create to its terminal state:
	// uniform between Min and Max.
	Latency Latency
	// Seed makes latencies and faults repeatable. Answers do not depend on
	// it: they are a function of the schema and the row.
	Seed uint64
	// RequireBetaHeader rejects requests without Exa-Beta, as the service
	// does during the beta.
	RequireBetaHeader bool
	// Faults injects misbehaviour, each at a rate in [0, 1].
	Faults Faults
}

// Latency is a uniform spread of run durations.
type Latency struct{ Min, Max time.Duration }

// Faults are the bad days the simulator can have. Each is a probability.
type Faults struct {
	// Reorder shuffles the items of an answer.
	Reorder float64
}

// Stats counts what happened, for tests and benchmarks (GET /_sim/stats).
type Stats struct {
	RunsCreated      int     `json:"runs_created"`
	RunsCompleted    int     `json:"runs_completed"`
	RunsFailed       int     `json:"runs_failed"`
	RunsCancelled    int     `json:"runs_cancelled"`
	DuplicateCreates int     `json:"duplicate_creates"`
	BilledDollars    float64 `json:"billed_dollars"`
	MaxActive        int     `json:"max_active"`
}

// Server is the simulated API. It is an http.Handler.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex
	rng      *rand.Rand
	runs     map[string]*run
	order    []*run // creation order
	metadata map[string]bool
	nextID   int
	nextReq  int
	stats    Stats
}

type run struct {
	id        string
	created   time.Time
	started   time.Time
	done      time.Time
	params    exa.CreateRunParams
	result    exa.Run // the terminal run, computed at create
	status    exa.RunStatus
	completed time.Time
}

// New returns a simulator.
func New(cfg Config) *Server {
	s := &Server{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		runs:     map[string]*run{},
		metadata: map[string]bool{},
		mux:      http.NewServeMux(),
	}
	s.mux.HandleFunc("POST /agent/runs", s.create)
	s.mux.HandleFunc("GET /agent/runs/{id}", s.get)
	s.mux.HandleFunc("GET /_sim/stats", s.serveStats)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.nextReq++
	w.Header().Set("x-request-id", fmt.Sprintf("req_sim_%06d", s.nextReq))
	s.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, "/_sim/") {
		if key := apiKey(r); key == "" {
			writeError(w, http.StatusUnauthorized, "AUTHENTICATION_ERROR", "TEAM_NOT_FOUND", "missing API key: send x-api-key or Authorization: Bearer")
			return
		}
		if s.cfg.RequireBetaHeader && r.Header.Get("Exa-Beta") == "" {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "MISSING_BETA_HEADER", "the Exa-Beta header is required")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func apiKey(r *http.Request) string {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k
	}
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll(time.Now())
	return s.stats
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var p exa.CreateRunParams
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", "body is not valid JSON: "+err.Error())
		return
	}
	if strings.TrimSpace(p.Query) == "" {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", "query must be a non-empty string")
		return
	}
	schema, ok := p.OutputSchema.(map[string]any)
	if p.OutputSchema != nil && !ok {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_OUTPUT_SCHEMA", "outputSchema must be a JSON object")
		return
	}
	if p.Effort == "" {
		p.Effort = exa.EffortAuto
	}
	if _, fixed := exa.FixedPrices[p.Effort]; !fixed && p.Effort != exa.EffortAuto && p.Effort != exa.EffortMax {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", fmt.Sprintf("effort %q is not one of minimal, low, medium, high, xhigh, auto, max", p.Effort))
		return
	}

	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll(now)
	s.nextID++
	ru := &run{
		id:      fmt.Sprintf("agent_run_sim%08d", s.nextID),
		created: now,
		params:  p,
		status:  exa.StatusQueued,
	}
	d := s.latency()
	ru.started = now.Add(d / 10)
	ru.done = now.Add(d)
	ru.result = s.answer(ru, schema)
	s.runs[ru.id] = ru
	s.order = append(s.order, ru)
	s.stats.RunsCreated++
	if len(p.Metadata) > 0 {
		key := metadataKey(p.Metadata)
		if s.metadata[key] {
			s.stats.DuplicateCreates++
		}
		s.metadata[key] = true
	}
	s.noteActive()
	s.advance(ru, now)
	writeJSON(w, http.StatusOK, s.view(ru))
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ru, ok := s.runs[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "RUN_NOT_FOUND", fmt.Sprintf("run %q not found", r.PathValue("id")))
		return
	}
	s.advanceAll(time.Now())
	writeJSON(w, http.StatusOK, s.view(ru))
}

// advanceAll moves every run along the clock; the caller holds s.mu.
func (s *Server) advanceAll(now time.Time) {
	for _, ru := range s.order {
		s.advance(ru, now)
	}
}

func (s *Server) advance(ru *run, now time.Time) {
	if ru.status.Terminal() {
		return
	}
	switch {
	case !now.Before(ru.done):
		ru.status = ru.result.Status
		ru.completed = ru.done
		switch ru.status {
		case exa.StatusCompleted:
			s.stats.RunsCompleted++
		case exa.StatusFailed:
			s.stats.RunsFailed++
		}
		if ru.result.CostDollars != nil {
			s.stats.BilledDollars += ru.result.CostDollars.Total
		}
	case !now.Before(ru.started):
		ru.status = exa.StatusRunning
	}
}

func (s *Server) noteActive() {
	active := 0
	for _, ru := range s.order {
		if !ru.status.Terminal() {
			active++
		}
	}
	s.stats.MaxActive = max(s.stats.MaxActive, active)
}

// view is the run as a client sees it now.
func (s *Server) view(ru *run) exa.Run {
	v := exa.Run{
		ID:        ru.id,
		Object:    "agent_run",
		Status:    ru.status,
		CreatedAt: ru.created.UTC().Format(time.RFC3339Nano),
		Request:   &ru.params,
	}
	if ru.status.Terminal() {
		v = ru.result
		v.Status = ru.status
		v.CompletedAt = ru.completed.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func (s *Server) latency() time.Duration {
	lo, hi := s.cfg.Latency.Min, s.cfg.Latency.Max
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
}

func (s *Server) chance(rate float64) bool {
	return rate > 0 && s.rng.Float64() < rate
}

func metadataKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%q=%q;", k, m[k])
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"type": typ, "code": code, "message": msg}})
}

// Running is a simulator served on a loopback port.
type Running struct {
	URL string
	*Server
	srv *http.Server
}

// Start serves a new simulator on a random 127.0.0.1 port until Close.
func Start(cfg Config) (*Running, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("exasim: %w", err)
	}
	s := New(cfg)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return &Running{URL: "http://" + l.Addr().String(), Server: s, srv: srv}, nil
}

// Close stops serving.
func (r *Running) Close() error { return r.srv.Close() }
