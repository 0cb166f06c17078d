package pipeline

import (
	"context"
	"testing"
	"time"
)

// account is a fake account limit for the window: it refuses creates past
// its limit, as the API does with 429 CONCURRENCY_LIMIT_REACHED.
type account struct {
	limit, active    int
	created, refused int
}

func (a *account) create() bool {
	if a.active >= a.limit {
		a.refused++
		return false
	}
	a.active++
	a.created++
	return true
}

// drive runs n creates through the window against the account; whenever
// the window is full, a run ends and frees its slot.
func drive(t *testing.T, w *window, a *account, n int) {
	t.Helper()
	for a.created < n {
		if _, ok := w.tryAcquire(); !ok {
			a.active--
			w.release()
			if _, ok := w.tryAcquire(); !ok {
				t.Fatalf("no slot after a release (window %d)", w.size())
			}
		}
		if a.create() {
			w.accepted()
		} else {
			w.refused()
		}
	}
}

func TestWindowLearnsHiddenLimitWithFewRefusals(t *testing.T) {
	for _, tt := range []struct{ start, max, hidden int }{
		{8, 50, 2},
		{8, 50, 12},
		{8, 50, 50},
		{1, 50, 30},
	} {
		w := newWindow(tt.start, tt.max)
		a := &account{limit: tt.hidden}
		drive(t, w, a, 2000)
		if got := w.size(); got < tt.hidden || got > tt.hidden+1 {
			t.Errorf("hidden limit %d: window ended at %d", tt.hidden, got)
		}
		share := float64(a.refused) / float64(a.created+a.refused)
		t.Logf("hidden limit %d: window %d, %d of %d creates refused", tt.hidden, w.size(), a.refused, a.created+a.refused)
		if share > 0.02 {
			t.Errorf("hidden limit %d: %.1f%% of creates refused (%d of %d), want ≤ 2%%",
				tt.hidden, 100*share, a.refused, a.created+a.refused)
		}
	}
}

func TestWindowNeverExceedsMax(t *testing.T) {
	w := newWindow(8, 10)
	a := &account{limit: 100}
	drive(t, w, a, 500)
	if got := w.size(); got != 10 {
		t.Errorf("window %d, want the ceiling 10", got)
	}
	if a.refused != 0 {
		t.Errorf("%d refusals under a roomy account", a.refused)
	}
}

func TestWindowAcquireStopsOnCancel(t *testing.T) {
	w := newWindow(1, 1)
	if err := w.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.acquire(ctx); err != context.DeadlineExceeded {
		t.Errorf("acquire on a full window = %v, want the context's error", err)
	}
}
