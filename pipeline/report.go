package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
)

// JobReport is what the journal knows of one job, for `exa-enrich status`.
type JobReport struct {
	ID        string          `json:"id"`
	Spec      json.RawMessage `json:"spec"` // the job's fingerprint: query, schema, effort, columns, key
	CreatedAt string          `json:"createdAt"`
	Chunks    map[string]int  `json:"chunks"` // by state
	Rows      map[Status]int  `json:"rows"`   // distinct answers stored, by status
	SpentUSD  float64         `json:"spentUsd"`
	// ReservedUSD is set aside for unfinished chunks: what they may still cost.
	ReservedUSD float64 `json:"reservedUsd"`
	// Open lists the unfinished chunks; those with a RunID may still be in
	// flight at the API.
	Open []OpenChunk `json:"open,omitempty"`
}

// OpenChunk is an unfinished chunk.
type OpenChunk struct {
	Chunk   int64  `json:"chunk"`
	State   string `json:"state"`
	Attempt int    `json:"attempt"`
	RunID   string `json:"runId,omitempty"`
	Rows    int    `json:"rows"`
}

// Report summarises every job in the journal, newest first.
func (j *Journal) Report(ctx context.Context) ([]JobReport, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT id, fingerprint, created_at FROM jobs ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var jobs []JobReport
	for rows.Next() {
		r := JobReport{Chunks: map[string]int{}, Rows: map[Status]int{}}
		var spec string
		if err := rows.Scan(&r.ID, &spec, &r.CreatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
		r.Spec = json.RawMessage(spec)
		jobs = append(jobs, r)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	for i := range jobs {
		r := &jobs[i]
		err := j.each(ctx, `SELECT state, COUNT(*), COALESCE(SUM(cost), 0), COALESCE(SUM(CASE WHEN state <> 'done' THEN reserved END), 0)
			FROM chunks WHERE job_id = ? GROUP BY state`, []any{r.ID}, func(scan func(...any) error) error {
			var state string
			var n int
			var cost, reserved float64
			if err := scan(&state, &n, &cost, &reserved); err != nil {
				return err
			}
			r.Chunks[state] = n
			r.SpentUSD += cost
			r.ReservedUSD += reserved
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = j.each(ctx, `SELECT status, COUNT(*) FROM results WHERE job_id = ? GROUP BY status`, []any{r.ID},
			func(scan func(...any) error) error {
				var status string
				var n int
				if err := scan(&status, &n); err != nil {
					return err
				}
				r.Rows[Status(status)] = n
				return nil
			})
		if err != nil {
			return nil, err
		}
		open, err := j.OpenChunks(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range open {
			r.Open = append(r.Open, OpenChunk{Chunk: c.ID, State: c.State, Attempt: c.Attempt, RunID: c.RunID, Rows: len(c.Rows)})
		}
		r.SpentUSD, r.ReservedUSD = round6(r.SpentUSD), round6(r.ReservedUSD)
	}
	return jobs, nil
}

func (j *Journal) each(ctx context.Context, query string, args []any, f func(scan func(...any) error) error) error {
	rows, err := j.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows.Scan); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
