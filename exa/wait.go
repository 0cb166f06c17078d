package exa

import (
	"context"
	"time"
)

// Polling bounds for Wait: the first look comes soon, since simulated and
// small runs finish quickly, and the interval grows to MaxPoll for long ones.
const (
	MinPoll = 100 * time.Millisecond
	MaxPoll = 2 * time.Second
)

// Wait follows a run until it reaches a terminal status and returns it.
// The run goes on server-side whatever happens to ctx.
func (c *Client) Wait(ctx context.Context, id string) (*Run, error) {
	interval := MinPoll
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		run, err := c.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		if run.Status.Terminal() {
			return run, nil
		}
		interval = min(interval*3/2, MaxPoll)
		timer.Reset(interval)
	}
}
