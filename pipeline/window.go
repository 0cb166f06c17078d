package pipeline

import (
	"context"
	"sync"
)

// window is the adaptive cap on runs in flight. The account's concurrency
// limit is not known in advance (50 runs on most accounts, 2 on early beta
// ones), so the window starts at --concurrency and learns: while no create
// has been refused it grows by one for each create accepted at the cap, up
// to --max-concurrency; a 429 CONCURRENCY_LIMIT_REACHED cuts it to the runs
// actually in flight, which is what the account allows right now. After
// that it probes one slot higher only after a growing number of accepted
// creates, so that the slots stay busy while refusals stay rare.
type window struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever a slot may have freed
	limit    int
	max      int
	inflight int

	ceiling    int // in flight at the last refusal; 0 before any
	sinceProbe int // creates accepted at the cap since the last change
	probeAfter int // accepted creates at the cap before trying one more
	refusals   int
}

func newWindow(start, max int) *window {
	max = maxInt(max, 1)
	return &window{
		changed:    make(chan struct{}),
		limit:      min(maxInt(start, 1), max),
		max:        max,
		probeAfter: 8,
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// acquire takes a slot, waiting for one to free.
func (w *window) acquire(ctx context.Context) error {
	for {
		ch, ok := w.tryAcquire()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tryAcquire takes a slot if one is free; otherwise it returns a channel
// that closes when one may have freed.
func (w *window) tryAcquire() (<-chan struct{}, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight < w.limit {
		w.inflight++
		return nil, true
	}
	return w.changed, false
}

// release gives back a slot: its run ended, or its create failed for a
// reason other than the concurrency limit.
func (w *window) release() {
	w.mu.Lock()
	w.inflight--
	w.broadcast()
	w.mu.Unlock()
}

// accepted notes that a create holding a slot was accepted.
func (w *window) accepted() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ceiling > 0 && w.inflight > w.ceiling {
		// A probe above the last refusal went through: the account allows
		// more than it did, so probe eagerly again.
		w.ceiling = w.inflight
		w.probeAfter = maxInt(w.probeAfter/2, 8)
	}
	if w.inflight < w.limit || w.limit >= w.max {
		return
	}
	if w.ceiling == 0 {
		w.limit++ // no refusal seen yet: grow as fast as creates succeed
		w.broadcast()
		return
	}
	w.sinceProbe++
	if w.sinceProbe >= w.probeAfter {
		w.sinceProbe = 0
		w.limit++
		w.broadcast()
	}
}

// refused notes that a create holding a slot was refused with 429: the slot
// was never used, and the account allows only the other runs in flight.
func (w *window) refused() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	w.refusals++
	if w.ceiling > 0 && w.inflight+1 > w.ceiling {
		// A probe failed: wait twice as long before the next.
		w.probeAfter = min(w.probeAfter*2, 4096)
	}
	w.ceiling = maxInt(w.inflight, 1)
	w.limit = w.ceiling
	w.sinceProbe = 0
	w.broadcast()
}

// active returns the slots taken.
func (w *window) active() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inflight
}

// size returns the current cap.
func (w *window) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limit
}

func (w *window) broadcast() {
	close(w.changed)
	w.changed = make(chan struct{})
}
