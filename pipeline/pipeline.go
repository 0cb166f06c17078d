// Package pipeline runs an enrichment job: it cuts the input rows into
// chunks, submits each chunk as one Agent API run on a pool that adapts to
// the account's concurrency limit, follows the run, checks its answers and
// records them in a journal before anything counts as done. Answers join
// the rows they are about by rowId, never by position, and are stored under
// the hash of what was sent, so a rerun pays for no row twice.
package pipeline

import (
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
)

// Status says how a row ended.
type Status string

// Row statuses, as the output's _status column shows them.
const (
	StatusOK      Status = "ok"      // answered by this execution
	StatusMissing Status = "missing" // runs finished without an answer for the row
	StatusFailed  Status = "failed"  // its runs failed, or the answer broke the schema
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
	Answer  map[string]any // the answer item
	RunID   string         // the run that gave the answer (or the last that tried)
	CostUSD float64        // the row's share of the runs that carried it
	Sources []string       // URLs the run cited for this row, de-duplicated
	// Citations maps each answered field to the pages cited for it.
	Citations map[string][]exa.Citation
	// Confidence is the lowest confidence the run gave any of the row's
	// fields: low, medium or high; empty when it gave none.
	Confidence string
	Attempts   int       // runs that carried this row
	EnrichedAt time.Time // when the answer arrived
}
