package exa

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"net/url"
	"sync"

	sse "github.com/tmaxmax/go-sse"
)

// Names of the events a run emits. Others may appear (progress events,
// names added later); a client must ignore what it does not know.
const (
	EventCreated   = "agent_run.created"
	EventStarted   = "agent_run.started"
	EventCompleted = "agent_run.completed" // data: the full run
	EventFailed    = "agent_run.failed"    // data: {id, status, error}
	EventCancelled = "agent_run.cancelled"
)

// MaxEventSize bounds one SSE event. A completed run arrives as a single
// event holding the whole answer, so this is far above go-sse's 64 KiB
// default.
const MaxEventSize = 64 << 20

// Event is one entry of a run's event log.
type Event struct {
	ID        string          `json:"id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"createdAt,omitempty"`
}

// Terminal reports whether the event ends its run's stream.
func (e *Event) Terminal() bool {
	return e.Event == EventCompleted || e.Event == EventFailed || e.Event == EventCancelled
}

// UnmarshalJSON accepts the id as a string or a number: the contract
// counts ids 1, 2, 3… without pinning their JSON type.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var v struct {
		plain
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Event(v.plain)
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		e.ID = s
	} else {
		e.ID = string(bytes.TrimSpace(v.ID))
	}
	return nil
}

// ListEvents returns one page of a run's stored events, oldest first.
func (c *Client) ListEvents(ctx context.Context, id string, opts *ListOptions) (*List[Event], error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "agent/runs/"+url.PathEscape(id)+"/events"+opts.query(), nil)
	if err != nil {
		return nil, err
	}
	page := new(List[Event])
	if _, err := c.Do(req, page); err != nil {
		return nil, err
	}
	return page, nil
}

// EventStream is an open SSE stream of run events. Close it when done;
// Close may be called from another goroutine to interrupt a blocked Next.
type EventStream struct {
	body   io.Closer
	mu     sync.Mutex // serialises next and stop, which iter.Pull2 requires
	next   func() (sse.Event, error, bool)
	stop   func()
	lastID string
}

// StreamEvents replays a run's events as SSE from after lastEventID (""
// for all of them) and follows the run to its end.
func (c *Client) StreamEvents(ctx context.Context, id, lastEventID string) (*EventStream, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "agent/runs/"+url.PathEscape(id)+"/events", nil)
	if err != nil {
		return nil, err
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	return c.openStream(req)
}

// CreateRunStream starts a run and streams its events as they happen: the
// first, agent_run.created, carries the run's id. Errors are classified as
// by CreateRun, ErrCreateUncertain included; once the stream is open the
// run exists, and a stream that drops can be resumed with StreamEvents.
func (c *Client) CreateRunStream(ctx context.Context, p *CreateRunParams) (*EventStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "agent/runs", p)
	if err != nil {
		return nil, err
	}
	s, err := c.openStream(req)
	if err != nil {
		return nil, createError(err)
	}
	return s, nil
}

func (c *Client) openStream(req *http.Request) (*EventStream, error) {
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("exa: %s %s: answered %q, not an event stream", req.Method, req.URL.Path, mt)
	}
	next, stop := iter.Pull2(iter.Seq2[sse.Event, error](sse.Read(resp.Body, &sse.ReadConfig{MaxEventSize: MaxEventSize})))
	return &EventStream{body: resp.Body, next: next, stop: stop}, nil
}

// Next returns the next event, skipping comments such as ": keep-alive".
// It returns io.EOF when the server closed the stream cleanly; a stream
// cut mid-way returns the transport's error.
func (s *EventStream) Next() (*Event, error) {
	s.mu.Lock()
	ev, err, ok := s.next()
	s.mu.Unlock()
	if !ok {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("exa: reading event stream: %w", err)
	}
	if ev.LastEventID != "" {
		s.lastID = ev.LastEventID
	}
	name := ev.Type
	if name == "" {
		name = "message"
	}
	return &Event{ID: ev.LastEventID, Event: name, Data: json.RawMessage(ev.Data)}, nil
}

// LastEventID is the id of the last event read, to resume from.
func (s *EventStream) LastEventID() string { return s.lastID }

// Close releases the stream. Closing the body first unblocks a Next in
// progress, so that the stop below does not wait on the network.
func (s *EventStream) Close() error {
	err := s.body.Close()
	s.mu.Lock()
	s.stop()
	s.mu.Unlock()
	return err
}
