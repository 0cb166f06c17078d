package exa

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Polling bounds for Wait once it falls back to polling: the first look
// comes soon, since simulated and small runs finish quickly, and the
// interval grows to MaxPoll for long ones.
const (
	MinPoll = 100 * time.Millisecond
	MaxPoll = 2 * time.Second
)

// Wait follows a run until it reaches a terminal status and returns it.
// It follows the run's event stream and, when the stream cannot be opened
// or drops before the terminal event, polls GetRun instead. The run goes
// on server-side whatever happens to ctx.
func (c *Client) Wait(ctx context.Context, id string) (*Run, error) {
	run, err := c.follow(ctx, id)
	if run != nil {
		return run, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests {
		return nil, err // polling would be refused the same way
	}
	return c.poll(ctx, id)
}

// follow reads the run's events to the terminal one. It returns a nil run
// when the stream ends early.
func (c *Client) follow(ctx context.Context, id string) (*Run, error) {
	st, err := c.StreamEvents(ctx, id, "")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for {
		ev, err := st.Next()
		if err != nil {
			return nil, err
		}
		switch ev.Event {
		case EventCompleted:
			run := new(Run)
			if json.Unmarshal(ev.Data, run) == nil && run.Status.Terminal() {
				return run, nil
			}
			return c.GetRun(ctx, id)
		case EventFailed, EventCancelled:
			// These carry only {id, status, error}; the run has the costs.
			return c.GetRun(ctx, id)
		}
	}
}

func (c *Client) poll(ctx context.Context, id string) (*Run, error) {
	interval := MinPoll
	for {
		run, err := c.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		if run.Status.Terminal() {
			return run, nil
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, err
		}
		interval = min(interval*3/2, MaxPoll)
	}
}
