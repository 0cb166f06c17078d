package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/exa-enrich/exa-enrich/pipeline"
)

// progressFlags say how a job reports progress.
type progressFlags struct {
	LogFormat string        `default:"text" enum:"text,json" help:"Format of progress lines when stderr is not a terminal: ${enum}."`
	LogEvery  time.Duration `default:"30s" help:"When stderr is not a terminal, log progress this often (and on every change of state)."`
}

// progressView renders pipeline progress on stderr: a bar on a terminal,
// structured log lines elsewhere, so that a cron log never fills with bar
// redraws. Data never goes to stderr, and progress never to stdout.
type progressView struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar // on a terminal
	log   *slog.Logger             // elsewhere
	every time.Duration
	last  time.Time // of the last log line
	state string    // what the last log line reported, to log changes at once
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgressView(stderr io.Writer, f progressFlags) *progressView {
	return newProgressViewOn(stderr, f, isTerminal(stderr))
}

func newProgressViewOn(stderr io.Writer, f progressFlags, terminal bool) *progressView {
	v := &progressView{every: f.LogEvery}
	if terminal {
		v.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionShowIts(),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
		return v
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if f.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	v.log = slog.New(h)
	return v
}

// Progress renders one snapshot.
func (v *progressView) Progress(p pipeline.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	done := p.Cached + p.Kept + p.Answered + p.Failed
	if v.bar != nil {
		if p.InputDone {
			v.bar.ChangeMax64(int64(p.Rows))
		}
		v.bar.Describe(fmt.Sprintf("· $%.4f spent · %d runs in flight", p.SpentUSD, p.InFlight))
		_ = v.bar.Set(done)
		return
	}
	state := p.StoppedBy
	if p.InputDone {
		state += "/read"
	}
	if p.Runs > 0 {
		state += "/running"
	}
	now := time.Now()
	if state == v.state && now.Sub(v.last) < v.every {
		return
	}
	v.state, v.last = state, now
	attrs := []any{
		"rows_done", done, "rows_read", p.Rows, "input_done", p.InputDone,
		"answered", p.Answered, "failed", p.Failed, "cached", p.Cached,
		"runs", p.Runs, "runs_in_flight", p.InFlight, "retries", p.Retries, "refused_429", p.Refused,
		"spent_usd", p.SpentUSD, "reserved_usd", p.ReservedUSD,
	}
	if p.StoppedBy != "" {
		attrs = append(attrs, "stopped_by", p.StoppedBy)
	}
	v.log.Info("progress", attrs...)
}

// Close removes the bar before the summary line is printed.
func (v *progressView) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.bar != nil {
		_ = v.bar.Finish()
	}
}
