// Package pipeline runs an enrichment job: it cuts the input rows into
// chunks, submits each chunk as one Agent API run, waits for it, and joins
// the answers back onto the rows they are about, by rowId, never by position.
package pipeline

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/schemas"
)

// API is the part of the Agent API that the pipeline uses.
type API interface {
	CreateRun(ctx context.Context, p *exa.CreateRunParams) (*exa.Run, error)
	Wait(ctx context.Context, id string) (*exa.Run, error)
}

// Job says what to find out about each row and how to ask.
type Job struct {
	Columns     []string // the input's header
	Query       string
	Effort      string
	Schema      *schemas.Schema
	ChunkSize   int
	Concurrency int
}

// Status says how a row ended.
type Status string

// Row statuses.
const (
	StatusOK      Status = "ok"      // answered
	StatusMissing Status = "missing" // the run finished without an answer for the row
	StatusFailed  Status = "failed"  // the run failed
	// StatusCancelled marks rows the job stopped before answering.
	StatusCancelled Status = "cancelled"
	// StatusMismatch marks an answer whose echoed key columns name another
	// entity than the row (identity on); it is not joined.
	StatusMismatch Status = "mismatch"
)

// Result is what the job found for one row.
type Result struct {
	Status  Status
	Error   string
	Answer  map[string]any // the answer item, rowId included
	RunID   string
	CostUSD float64  // the row's even share of its run's cost
	Sources []string // URLs the run cited for this row, de-duplicated
	// Citations maps each answered field to the pages cited for it.
	Citations map[string][]exa.Citation
	// Confidence is the lowest confidence the run gave any of the row's
	// fields: low, medium or high; empty when it gave none.
	Confidence string
	Attempts   int       // runs that carried this row
	EnrichedAt time.Time // when the answer arrived
}

// Summary totals a job.
type Summary struct {
	Rows     int
	Runs     int
	CostUSD  float64
	ByStatus map[Status]int
}

// Run enriches rows and returns one result per row, in the same order.
// An error means the job could not go on (a rejected request, a cancelled
// context); results already gathered are returned with it.
func Run(ctx context.Context, api API, job Job, rows []readers.Row) ([]Result, Summary, error) {
	results := make([]Result, len(rows))
	size := max(job.ChunkSize, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(job.Concurrency, 1))
	runs := 0
	for start := 0; start < len(rows); start += size {
		if gctx.Err() != nil {
			break
		}
		end := min(start+size, len(rows))
		runs++
		// Each chunk writes only its own slice of results, so no lock.
		g.Go(func() error {
			return runChunk(gctx, api, job, rows[start:end], results[start:end])
		})
	}
	err := g.Wait()
	sum := Summary{Rows: len(rows), Runs: runs, ByStatus: map[Status]int{}}
	for i := range results {
		r := &results[i]
		if r.Status == "" {
			r.Status, r.Error = StatusCancelled, "the job stopped before this row was answered"
		}
		sum.ByStatus[r.Status]++
		sum.CostUSD += r.CostUSD
	}
	sum.CostUSD = math.Round(sum.CostUSD*1e6) / 1e6
	return results, sum, err
}

// rowID names a row inside its run. Row numbers are unique in a file.
func rowID(r readers.Row) string { return strconv.Itoa(r.Source.Row) }

func runChunk(ctx context.Context, api API, job Job, rows []readers.Row, results []Result) error {
	ids := make([]string, len(rows))
	data := make([]map[string]any, len(rows))
	for i, r := range rows {
		ids[i] = rowID(r)
		cells := make(map[string]any, len(job.Columns)+1)
		for c, name := range job.Columns {
			cells[name] = r.Values[c]
		}
		cells[schemas.RowIDProperty] = ids[i]
		data[i] = cells
	}
	first, last := rows[0].Source, rows[len(rows)-1].Source
	where := fmt.Sprintf("rows %d–%d", first.Row, last.Row)

	created, err := api.CreateRun(ctx, &exa.CreateRunParams{
		Query:        job.Query,
		Input:        &exa.Input{Data: data},
		OutputSchema: job.Schema.Batch(ids),
		Effort:       job.Effort,
	})
	if err != nil {
		return fmt.Errorf("%s: creating run: %w", where, err)
	}
	run, err := api.Wait(ctx, created.ID)
	if err != nil {
		return fmt.Errorf("%s: run %s: %w", where, created.ID, err)
	}

	share := 0.0
	if run.CostDollars != nil {
		share = run.CostDollars.Total / float64(len(rows))
	}
	for i := range results {
		results[i] = Result{RunID: run.ID, CostUSD: share}
	}
	if run.Status != exa.StatusCompleted {
		msg := "run " + string(run.Status)
		if run.Error != nil {
			msg = run.Error.Error()
		}
		for i := range results {
			results[i].Status, results[i].Error = StatusFailed, msg
		}
		return nil
	}
	join(run, job.Schema, ids, data, results)
	return nil
}

// join puts each answer item on the row whose id it carries, with the URLs
// cited for it. Items with an unknown or repeated rowId are dropped; an
// item that breaks the schema fails its row, one about another entity
// (identity on) is a mismatch; rows left without an item are missing.
// cells holds each row's input, by column name.
func join(run *exa.Run, schema *schemas.Schema, ids []string, cells []map[string]any, results []Result) {
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	items, err := decodeItems(run.Output)
	if err != nil {
		for i := range results {
			results[i].Status, results[i].Error = StatusFailed, err.Error()
		}
		return
	}
	// byPosition maps an item's place in the answer array to its row, for
	// reading grounding paths.
	byPosition := make(map[int]int, len(items))
	seen := make([]bool, len(ids))
	for pos, item := range items {
		id, _ := item[schemas.RowIDProperty].(string)
		i, ok := index[id]
		if !ok || seen[i] {
			continue
		}
		seen[i] = true
		if err := schema.Validate(item); err != nil {
			results[i].Status, results[i].Error = StatusFailed, err.Error()
			continue
		}
		if err := schema.CheckIdentity(item, cells[i]); err != nil {
			results[i].Status, results[i].Error = StatusMismatch, err.Error()
			continue
		}
		results[i].Answer = item
		results[i].Status = StatusOK
		byPosition[pos] = i
	}
	for _, g := range run.Output.Grounding {
		pos, ok := itemPosition(g.Field)
		if !ok {
			continue
		}
		i, ok := byPosition[pos]
		if !ok {
			continue
		}
		for _, c := range g.Citations {
			results[i].Sources = appendUnique(results[i].Sources, c.URL)
		}
	}
	for i := range results {
		if !seen[i] {
			results[i].Status = StatusMissing
			results[i].Error = "the run returned no answer for this row"
		}
	}
}
