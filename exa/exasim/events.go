package exasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
)

// event is one entry of a run's event log.
type event struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	Data      any    `json:"data"`
	CreatedAt string `json:"createdAt"`
	terminal  bool
}

// progress names the events a run emits between started and its end.
var progress = []string{"agent_run.search_trace", "agent_run.source.added", "agent_run.preliminary_list"}

// eventsAt is the run's event log as it stands at now: created, started, a
// few progress events spread over the run, and one terminal event. The
// caller holds s.mu.
func (ru *run) eventsAt(now time.Time) []event {
	var out []event
	add := func(at time.Time, name string, data any) bool {
		if now.Before(at) {
			return false
		}
		out = append(out, event{ID: strconv.Itoa(len(out) + 1), Event: name, Data: data, CreatedAt: stamp(at)})
		return true
	}
	end := ru.endAt()
	add(ru.created, "agent_run.created", map[string]any{"id": ru.id, "status": exa.StatusQueued, "createdAt": stamp(ru.created)})
	if (ru.cancelledAt.IsZero() || ru.started.Before(ru.cancelledAt)) && !add(ru.started, "agent_run.started", map[string]any{"id": ru.id, "status": exa.StatusRunning}) {
		return out
	}
	span := ru.done.Sub(ru.started)
	for k, name := range progress {
		at := ru.started.Add(span * time.Duration(k+1) / time.Duration(len(progress)+1))
		if !at.Before(end) {
			break
		}
		if !add(at, name, progressData(ru, k)) {
			return out
		}
	}
	status := ru.statusAt(end)
	var data any
	switch status {
	case exa.StatusCompleted:
		data = ru.view(end)
	case exa.StatusFailed:
		data = map[string]any{"id": ru.id, "status": status, "error": ru.runErr}
	default:
		data = map[string]any{"id": ru.id, "status": status}
	}
	if add(end, "agent_run."+string(status), data) {
		out[len(out)-1].terminal = true
	}
	return out
}

func progressData(ru *run, k int) map[string]any {
	switch k {
	case 0:
		return map[string]any{"id": ru.id, "query": ru.params.Query, "results": 10}
	case 1:
		return map[string]any{"id": ru.id, "source": map[string]string{"url": "https://exasim.example/source/" + ru.id, "title": "Simulated source"}}
	}
	return map[string]any{"id": ru.id, "items": 0}
}

// nextAt is when the log grows next; zero once it is complete.
func (ru *run) nextAt(now time.Time) time.Time {
	end := ru.endAt()
	times := []time.Time{ru.created, ru.started, end}
	span := ru.done.Sub(ru.started)
	for k := range progress {
		times = append(times, ru.started.Add(span*time.Duration(k+1)/time.Duration(len(progress)+1)))
	}
	var next time.Time
	for _, at := range times {
		if now.Before(at) && !at.After(end) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

// events lists a run's events as JSON, or replays them as SSE from after
// Last-Event-ID and follows the run to its terminal event (with ReplayOnly,
// closes after the stored ones).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ru, ok := s.lookup(w, r.PathValue("id"))
	s.mu.Unlock()
	if !ok {
		return
	}
	if wantsStream(r) {
		after := 0
		if v := r.Header.Get("Last-Event-ID"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", fmt.Sprintf("Last-Event-ID %q is not an event id", v))
				return
			}
			after = n
		}
		s.stream(w, r, ru, after, !s.cfg.ReplayOnly)
		return
	}
	limit, cursor, aerr := page(r)
	if aerr != nil {
		aerr.write(w, "")
		return
	}
	s.mu.Lock()
	evs := ru.eventsAt(time.Now())
	s.mu.Unlock()
	p, ok := paginate(evs, func(e event) string { return e.ID }, limit, cursor)
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_REQUEST", fmt.Sprintf("unknown cursor %q", cursor))
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// stream writes the run's events after id `after` as SSE as they happen,
// with keep-alive comments, and closes after the terminal event. With the
// CutStream fault it stops after a few events instead.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, ru *run, after int, follow bool) {
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	s.mu.Lock()
	cutAfter, abort := 0, false
	if s.chance(s.cfg.Faults.CutStream) {
		cutAfter, abort = 1+s.rng.IntN(3), s.rng.IntN(2) == 0
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush()
	keepAlive := time.NewTicker(s.cfg.KeepAlive)
	defer keepAlive.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	sent := 0
	for {
		now := time.Now()
		s.mu.Lock()
		evs := ru.eventsAt(now)
		next := ru.nextAt(now)
		changed := ru.changed
		s.mu.Unlock()
		for _, e := range evs[min(after, len(evs)):] {
			data, _ := json.Marshal(e.Data)
			fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Event, data)
			after++
			sent++
			if e.terminal {
				flush()
				return
			}
			if cutAfter > 0 && sent >= cutAfter {
				flush()
				if abort {
					// Kills the connection mid-stream, as a dropped proxy would.
					panic(http.ErrAbortHandler)
				}
				return
			}
		}
		flush()
		if next.IsZero() || !follow {
			return
		}
		wake.Reset(next.Sub(now))
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-wake.C:
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
	}
}
