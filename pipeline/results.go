package pipeline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/exa-enrich/exa-enrich/readers"
)

// StatusCached marks a row answered by an earlier execution, from the
// journal; StatusSkippedBudget one left unsent because the spend cap could
// not cover its run.
// StatusKept one that needed no research (--only-missing: its cells were
// already filled).
const (
	StatusCached        Status = "cached"
	StatusSkippedBudget Status = "skipped_budget"
	StatusKept          Status = "kept"
)

// Joiner reads each input row's result back from the journal, for writing
// the output in input order while memory stays flat.
type Joiner struct {
	journal    *Journal
	specHash   string
	columns    []string
	colIdx     []int
	keyIdx     []int // the key columns, for recording answers by row key
	execution  int64
	track      bool // record answers by row key for the changes report
	reuse      bool
	keep       func(readers.Row) bool
	since      time.Time // results from before this are cached
	unanswered Status    // for rows with no result
	unansErr   string
}

// NewJoiner returns a Joiner for the job cfg describes, as the execution
// summed up in sum left it.
func NewJoiner(cfg Config, sum Summary) (*Joiner, error) {
	jn := &Joiner{
		journal:    cfg.Journal,
		specHash:   cfg.Spec.Hash(),
		columns:    cfg.Spec.Columns,
		reuse:      cfg.Reuse,
		keep:       cfg.Keep,
		execution:  sum.Execution,
		track:      cfg.TrackChanges,
		since:      sum.Started,
		unanswered: StatusCancelled,
		unansErr:   "the job stopped before this row was answered",
	}
	if sum.StoppedBy == StopBudget {
		jn.unanswered = StatusSkippedBudget
		jn.unansErr = "not sent: the spend cap (--max-cost) could not cover another run"
	}
	for _, c := range cfg.Spec.Columns {
		i := slices.Index(cfg.Columns, c)
		if i < 0 {
			return nil, fmt.Errorf("column %q is not in the input", c)
		}
		jn.colIdx = append(jn.colIdx, i)
	}
	for _, c := range cfg.Spec.Key {
		i := slices.Index(cfg.Columns, c)
		if i < 0 {
			return nil, fmt.Errorf("key column %q is not in the input", c)
		}
		jn.keyIdx = append(jn.keyIdx, i)
	}
	return jn, nil
}

// Results returns the result of each row, in order; with TrackChanges it
// records the answers under their rows' keys, for the changes report.
func (jn *Joiner) Results(ctx context.Context, rows []readers.Row) ([]Result, error) {
	hashes := make([]string, len(rows))
	rowHashes := make([]string, len(rows))
	values := make([]string, len(jn.colIdx))
	for i, r := range rows {
		for j, c := range jn.colIdx {
			values[j] = r.Values[c]
		}
		rowHashes[i] = rowHash(jn.columns, values)
		hashes[i] = resultHash(jn.specHash, rowHashes[i])
	}
	found, err := jn.journal.Lookup(ctx, hashes)
	if err != nil {
		return nil, err
	}
	var byRow map[string]Result
	if jn.reuse {
		if byRow, err = jn.journal.LookupRows(ctx, rowHashes); err != nil {
			return nil, err
		}
	}
	out := make([]Result, len(rows))
	for i := range rows {
		if jn.keep != nil && jn.keep(rows[i]) {
			out[i] = Result{Status: StatusKept}
			continue
		}
		r, ok := found[hashes[i]]
		if !ok && jn.reuse {
			r, ok = byRow[rowHashes[i]]
		}
		switch {
		case !ok || r.Status == StatusCancelled && r.EnrichedAt.Before(jn.since):
			r = Result{Status: jn.unanswered, Error: jn.unansErr}
		case r.Status == StatusOK && r.EnrichedAt.Before(jn.since):
			r.Status = StatusCached
		}
		out[i] = r
	}
	if jn.track && jn.execution > 0 {
		var keys []string
		var answers []map[string]any
		for i, r := range out {
			if r.Answer == nil {
				continue
			}
			k := make([]string, len(jn.keyIdx))
			for n, c := range jn.keyIdx {
				k[n] = rows[i].Values[c]
			}
			keys, answers = append(keys, answerKey(k)), append(answers, r.Answer)
		}
		if err := jn.journal.recordAnswers(ctx, jn.execution, keys, answers); err != nil {
			return nil, err
		}
	}
	return out, nil
}
