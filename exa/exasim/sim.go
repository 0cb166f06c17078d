// Package exasim is a local simulator of Exa's Agent API. It owns the
// server side of the HTTP contract (../shared/exa-agent-api.md): runs that
// go queued → running → completed | failed | cancelled on a clock, the
// validation, limits, error envelopes and SSE streams of the real service,
// deterministic and clearly synthetic answers, the real price list, and
// knobs that make it misbehave the way the real service can on a bad day,
// so that the client, the pipeline and the benchmarks are exercised
// without a key or a network.
//
// Time is read lazily from time.Now whenever a request arrives, so a
// simulator inside a testing/synctest bubble runs on the bubble's fake
// clock.
package exasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/exa-enrich/exa-enrich/exa"
)

// Defaults of the Config fields left zero.
const (
	DefaultConcurrencyLimit = 50
	DefaultMaxRunTime       = time.Hour
	DefaultKeepAlive        = 15 * time.Second
)

// Config sets how the simulator behaves. The zero value answers at once,
// accepts any key, and never misbehaves.
type Config struct {
	// Latency is how long a run takes from create to its terminal state:
	// uniform between Min and Max.
	Latency Latency
	// Seed makes latencies and faults repeatable. Answers do not depend on
	// it: they are a function of the schema and the row.
	Seed uint64
	// RequireBetaHeader rejects requests without a valid Exa-Beta, as the
	// service does during the beta.
	RequireBetaHeader bool
	// APIKey, when set, is the only key accepted; others get 401.
	APIKey string
	// ConcurrencyLimit caps the runs in progress (default 50); creates past
	// it get 429 CONCURRENCY_LIMIT_REACHED with Retry-After.
	ConcurrencyLimit int
	// QPS caps the request rate (0: no cap). Creates count double, GETs do
	// not count, as the contract says.
	QPS float64
	// MaxRunTime fails runs that would take longer with TIMEOUT (default 1h).
	MaxRunTime time.Duration
	// CreditDollars, when positive, is the account's credit: once billed
	// dollars reach it, creates get 402 NO_MORE_CREDITS.
	CreditDollars float64
	// ReplayOnly makes the events stream close once it has replayed the
	// events stored so far, instead of following the run to its end: the
	// contract can be read either way, and a client must cope with both.
	ReplayOnly bool
	// KeepAlive is the interval of ": keep-alive" comments on SSE streams
	// (default 15s).
	KeepAlive time.Duration
	// Faults injects misbehaviour, each at a rate in [0, 1].
	Faults Faults
}

// Latency is a uniform spread of run durations.
type Latency struct{ Min, Max time.Duration }

// Faults are the bad days the simulator can have. Each is a probability in
// [0, 1], drawn per request (transport faults) or per run (answer faults).
type Faults struct {
	// ServerError answers any call with a 5xx. A create that gets one may
	// or may not have started its run (half the time it has).
	ServerError float64
	// Reset breaks the connection, in one of three ways with equal odds:
	// before the request is handled (nothing happened), after it took
	// effect but before the answer (the answer is lost), or right after a
	// whole answer (the pooled connection is dead for the next request).
	Reset float64
	// LostCreate creates the run, then drops the connection before the
	// answer.
	LostCreate float64
	// Fail makes runs fail (status failed, error SERVER_ERROR).
	Fail float64
	// CutStream cuts SSE streams after a few events, without a terminal one.
	CutStream float64
	// Drop leaves one row out of an answer.
	Drop float64
	// Dup repeats one row of an answer.
	Dup float64
	// Reorder shuffles the items of an answer.
	Reorder float64
	// Invent adds an item whose rowId was never sent.
	Invent float64
	// OffSchema puts a value of the wrong type or outside its enum into one
	// field of an answer.
	OffSchema float64
	// Null answers null for fields the schema lets be null, as the agent
	// does when it finds no evidence.
	Null float64
}

// Stats counts what happened, for tests and benchmarks (GET /_sim/stats).
type Stats struct {
	RunsCreated   int `json:"runs_created"`
	RunsCompleted int `json:"runs_completed"`
	RunsFailed    int `json:"runs_failed"`
	RunsCancelled int `json:"runs_cancelled"`
	// DuplicateCreates counts creates whose non-empty metadata equals that
	// of an earlier run: what a client resending blind would cause.
	DuplicateCreates int     `json:"duplicate_creates"`
	BilledDollars    float64 `json:"billed_dollars"`
	Rejected429      int     `json:"rejected_429"`
	MaxActive        int     `json:"max_active"`
	// BusyRunSeconds sums the time every run spent queued or running.
	BusyRunSeconds float64 `json:"busy_run_seconds"`
}

// Server is the simulated API. It is an http.Handler.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	limiter *rate.Limiter

	mu       sync.Mutex
	rng      *rand.Rand
	runs     map[string]*run
	order    []*run // creation order
	active   []*run // runs not yet seen ended, see prune
	settled  float64
	metadata map[string]bool
	nextID   int
	nextReq  int
	stats    Stats // counters; the per-run ones are summed in Stats()
}

// New returns a simulator.
func New(cfg Config) *Server {
	if cfg.ConcurrencyLimit <= 0 {
		cfg.ConcurrencyLimit = DefaultConcurrencyLimit
	}
	if cfg.MaxRunTime <= 0 {
		cfg.MaxRunTime = DefaultMaxRunTime
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	s := &Server{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		runs:     map[string]*run{},
		metadata: map[string]bool{},
		mux:      http.NewServeMux(),
	}
	if cfg.QPS > 0 {
		// A burst of one second's worth, and room for at least one create.
		s.limiter = rate.NewLimiter(rate.Limit(cfg.QPS), max(2, int(math.Ceil(cfg.QPS))))
	}
	s.mux.HandleFunc("POST /agent/runs", s.create)
	s.mux.HandleFunc("GET /agent/runs", s.list)
	s.mux.HandleFunc("GET /agent/runs/{id}", s.get)
	s.mux.HandleFunc("POST /agent/runs/{id}/cancel", s.cancel)
	s.mux.HandleFunc("DELETE /agent/runs/{id}", s.delete)
	s.mux.HandleFunc("GET /agent/runs/{id}/events", s.events)
	s.mux.HandleFunc("GET /_sim/stats", s.serveStats)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "NOT_FOUND", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	return s
}

// ServeHTTP applies what every route shares (request id, transport faults,
// auth, beta header, rate limit) and then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.nextReq++
	reqID := fmt.Sprintf("req_sim_%06d", s.nextReq)
	sim := strings.HasPrefix(r.URL.Path, "/_sim/")
	var fault string
	if !sim {
		switch {
		case s.chance(s.cfg.Faults.Reset):
			fault = []string{"reset-before", "reset-after", "close-after"}[s.rng.IntN(3)]
		case s.chance(s.cfg.Faults.ServerError):
			fault = "5xx"
		}
	}
	s.mu.Unlock()
	w.Header().Set("x-request-id", reqID)
	if sim {
		s.mux.ServeHTTP(w, r)
		return
	}
	if err := s.admit(r); err != nil {
		err.write(w, reqID)
		return
	}

	switch fault {
	case "reset-before":
		resetConn(w)
	case "reset-after":
		// The request takes effect; its answer is lost with the connection.
		s.mux.ServeHTTP(httptest.NewRecorder(), unstreamed(r))
		resetConn(w)
	case "close-after":
		// The answer arrives whole, then the connection dies under the
		// client's connection pool.
		s.mux.ServeHTTP(w, r)
		if w.Header().Get("Content-Type") != "text/event-stream" {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
				}
			}
		}
	case "5xx":
		if r.Method == http.MethodPost && r.URL.Path == "/agent/runs" {
			s.mu.Lock()
			created := s.rng.IntN(2) == 0
			s.mu.Unlock()
			if created {
				s.mux.ServeHTTP(httptest.NewRecorder(), unstreamed(r))
			}
		}
		s.serverError(w)
	default:
		s.mux.ServeHTTP(w, r)
	}
}

// unstreamed is r asking for a JSON answer, for handling a request whose
// answer will be thrown away: a stream would otherwise block until the run
// ends.
func unstreamed(r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Header.Del("Accept")
	return r2
}

// admit checks the key, the beta header and the request rate.
func (s *Server) admit(r *http.Request) *apiError {
	key := apiKey(r)
	if key == "" {
		return agentError(http.StatusUnauthorized, "AUTHENTICATION_ERROR", "TEAM_NOT_FOUND", "missing API key: send x-api-key or Authorization: Bearer")
	}
	if s.cfg.APIKey != "" && key != s.cfg.APIKey {
		// The real service has been seen echoing the key it refused; the
		// client must redact it.
		return agentError(http.StatusUnauthorized, "AUTHENTICATION_ERROR", "TEAM_NOT_FOUND", fmt.Sprintf("no team for API key %q", key))
	}
	if s.cfg.RequireBetaHeader {
		beta := r.Header.Get("Exa-Beta")
		if beta == "" {
			return agentError(http.StatusBadRequest, "INVALID_REQUEST", "MISSING_BETA_HEADER", "the Exa-Beta header is required during the beta: send Exa-Beta: "+exa.BetaHeader)
		}
		if !slices.ContainsFunc(strings.Split(beta, ","), func(t string) bool { return strings.TrimSpace(t) == exa.BetaHeader }) {
			return agentError(http.StatusBadRequest, "INVALID_REQUEST", "INVALID_BETA_HEADER", fmt.Sprintf("unknown Exa-Beta %q: send %s", beta, exa.BetaHeader))
		}
	}
	if s.limiter != nil && r.Method != http.MethodGet {
		cost := 1
		if r.Method == http.MethodPost && r.URL.Path == "/agent/runs" {
			cost = 2
		}
		now := time.Now()
		if res := s.limiter.ReserveN(now, cost); res.DelayFrom(now) > 0 {
			wait := res.DelayFrom(now)
			res.CancelAt(now)
			s.mu.Lock()
			s.stats.Rejected429++
			s.mu.Unlock()
			// The account-wide rate limit answers in Exa's flat envelope.
			e := flatError(http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED", fmt.Sprintf("request rate above %g per second", s.cfg.QPS))
			e.retryAfter = wait
			return e
		}
	}
	return nil
}

func apiKey(r *http.Request) string {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k
	}
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(k)
	}
	return ""
}

// serverError answers like a failing backend or edge: sometimes the agent
// envelope, sometimes a bare gateway page.
func (s *Server) serverError(w http.ResponseWriter) {
	s.mu.Lock()
	n := s.rng.IntN(3)
	s.mu.Unlock()
	switch n {
	case 0:
		writeError(w, http.StatusInternalServerError, "SERVER_ERROR", "SERVER_ERROR", "simulated internal error")
	case 1:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	default:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "upstream connect error")
	}
}

// resetConn drops the connection without an answer, with an RST when the
// connection is TCP.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	st := s.stats
	for _, ru := range s.order {
		status := ru.statusAt(now)
		switch status {
		case exa.StatusCompleted:
			st.RunsCompleted++
		case exa.StatusFailed:
			st.RunsFailed++
		case exa.StatusCancelled:
			st.RunsCancelled++
		}
		if status.Terminal() {
			st.BilledDollars += ru.cost(ru.endAt()).Total
		}
		end := ru.endAt()
		if now.Before(end) {
			end = now
		}
		st.BusyRunSeconds += end.Sub(ru.created).Seconds()
	}
	st.BilledDollars = round(st.BilledDollars)
	st.BusyRunSeconds = math.Round(st.BusyRunSeconds*1000) / 1000
	return st
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) latency() time.Duration {
	lo, hi := s.cfg.Latency.Min, s.cfg.Latency.Max
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
}

// chance draws from the seeded source; the caller holds s.mu.
func (s *Server) chance(rate float64) bool {
	return rate > 0 && s.rng.Float64() < rate
}

// apiError is an error answer in one of Exa's two envelopes.
type apiError struct {
	status     int
	body       map[string]any
	flat       bool
	retryAfter time.Duration
}

func agentError(status int, typ, code, msg string) *apiError {
	return &apiError{status: status, body: map[string]any{"error": map[string]string{"type": typ, "code": code, "message": msg}}}
}

func flatError(status int, tag, msg string) *apiError {
	return &apiError{status: status, flat: true, body: map[string]any{"error": msg, "tag": tag}}
}

func (e *apiError) write(w http.ResponseWriter, reqID string) {
	if e.flat {
		e.body["requestId"] = reqID
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	writeJSON(w, e.status, e.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"type":"SERVER_ERROR","code":"SERVER_ERROR","message":"encoding the answer"}}`)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	agentError(status, typ, code, msg).write(w, "")
}

func metadataKey(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%q=%q;", k, m[k])
	}
	return b.String()
}

// Running is a simulator served on a loopback port.
type Running struct {
	URL string
	*Server
	srv *http.Server
	l   net.Listener
}

// Start serves a new simulator on a random 127.0.0.1 port until Close.
func Start(cfg Config) (*Running, error) {
	return Listen("127.0.0.1:0", cfg)
}

// Listen serves a new simulator on addr until Close.
func Listen(addr string, cfg Config) (*Running, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("exasim: %w", err)
	}
	s := New(cfg)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &Running{URL: "http://" + l.Addr().String(), Server: s, srv: srv, l: l}, nil
}

// Addr is the address the simulator listens on.
func (r *Running) Addr() net.Addr { return r.l.Addr() }

// Close stops serving.
func (r *Running) Close() error {
	if err := r.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
