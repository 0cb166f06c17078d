package pipeline

import (
	"context"
	"io"
	"math"

	"github.com/exa-enrich/exa-enrich/exa"
)

// Plan is what a job would do, worked out without sending anything.
type Plan struct {
	JobID      string
	Rows       int // input rows
	Cached     int // rows whose answer the journal already holds
	Kept       int // rows that need no research (Config.Keep)
	ToSend     int // distinct rows a run would send
	OpenChunks int // chunks an earlier execution left unfinished, which a run resumes
	Chunks     int // new chunks, one run each

	// WorstCaseUSD bounds what a run of the job can commit: every new chunk
	// and every unfinished chunk without a run at its worst-case price. It
	// is exact unless rows need retries, which --max-cost still bounds.
	WorstCaseUSD float64
	// AverageRunUSD is the mean cost of this job's finished runs in the
	// journal; zero when there are none, and ExpectedUSD is then zero too.
	AverageRunUSD float64
	ExpectedUSD   float64

	// FirstRequest is the create body of the first new chunk, for people to
	// inspect (metadata shows the job and chunk as they would be sent).
	FirstRequest *exa.CreateRunParams
}

// Estimate reads the input and the journal and works out what Run would
// send and what it could cost. It creates nothing and spends nothing.
func Estimate(ctx context.Context, cfg Config, rows Rows) (Plan, error) {
	e, err := newEngine(ctx, nil, cfg)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{JobID: e.jobID}
	open, err := cfg.Journal.OpenChunks(ctx, e.jobID)
	if err != nil {
		return Plan{}, err
	}
	p.OpenChunks = len(open)
	unstarted := 0
	for _, c := range open {
		for _, r := range c.Rows {
			e.queued[keyOf(r.Hash)] = struct{}{}
		}
		if c.RunID == "" {
			unstarted++
		}
	}
	var first []*pending
	for {
		batch, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Plan{}, err
		}
		todo, err := e.triage(ctx, batch)
		if err != nil {
			return Plan{}, err
		}
		if len(first) < e.cfg.ChunkSize {
			first = append(first, todo[:min(len(todo), e.cfg.ChunkSize-len(first))]...)
		}
	}
	p.Rows, p.Cached, p.Kept, p.ToSend = e.sum.Rows, e.sum.Cached, e.sum.Kept, e.sum.Sent
	p.Chunks = (p.ToSend + e.cfg.ChunkSize - 1) / e.cfg.ChunkSize
	p.WorstCaseUSD = round6(float64(p.Chunks+unstarted) * e.worstCase())
	avg, err := cfg.Journal.AverageRunCost(ctx, e.jobID)
	if err != nil {
		return Plan{}, err
	}
	if avg > 0 {
		p.AverageRunUSD = round6(avg)
		p.ExpectedUSD = round6(math.Min(float64(p.Chunks+unstarted)*avg, p.WorstCaseUSD))
	}
	if len(first) > 0 {
		rec := ChunkRecord{ID: 1, JobID: e.jobID, Attempt: 1, Rows: first, Reserved: e.worstCase()}
		p.FirstRequest = e.request(&rec)
	}
	return p, nil
}
