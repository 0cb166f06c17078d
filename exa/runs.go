package exa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// RunStatus is where a run is in its life: queued, running, then exactly one
// of completed, failed or cancelled.
type RunStatus string

// The statuses of the run object.
const (
	StatusQueued    RunStatus = "queued"
	StatusRunning   RunStatus = "running"
	StatusCompleted RunStatus = "completed"
	StatusFailed    RunStatus = "failed"
	StatusCancelled RunStatus = "cancelled"
)

// Terminal reports whether a run in this status will never change again.
func (s RunStatus) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Efforts accepted by the API, cheapest first.
const (
	EffortMinimal = "minimal"
	EffortLow     = "low"
	EffortMedium  = "medium"
	EffortHigh    = "high"
	EffortXHigh   = "xhigh"
	EffortAuto    = "auto"
	EffortMax     = "max"
)

// FixedPrices is the price in dollars of one run at each fixed effort.
// The metered efforts (auto, max) are priced by usage up to the run's budget.
var FixedPrices = map[string]float64{
	EffortMinimal: 0.012,
	EffortLow:     0.025,
	EffortMedium:  0.10,
	EffortHigh:    0.50,
	EffortXHigh:   1.00,
}

// CreateRunParams is the body of POST /agent/runs.
type CreateRunParams struct {
	Query         string            `json:"query"`
	SystemPrompt  string            `json:"systemPrompt,omitempty"`
	Input         *Input            `json:"input,omitempty"`
	OutputSchema  any               `json:"outputSchema,omitempty"`
	Effort        string            `json:"effort,omitempty"`
	PreviousRunID string            `json:"previousRunId,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Budget        *Budget           `json:"budget,omitempty"`
	DataSources   json.RawMessage   `json:"dataSources,omitempty"`
}

// Input carries the rows a run works on. Cell data travels here, never in
// the query.
type Input struct {
	Data      []map[string]any `json:"data,omitempty"`
	Exclusion []map[string]any `json:"exclusion,omitempty"`
}

// Budget caps the spend of a run at a metered effort.
type Budget struct {
	MaxCostDollars float64 `json:"maxCostDollars"`
}

// Run is the agent_run object. Fields the service sends as null (stopReason
// and completedAt until the run ends, output until it completes) decode to
// their zero values.
type Run struct {
	ID          string           `json:"id"`
	Object      string           `json:"object"`
	Status      RunStatus        `json:"status"`
	StopReason  string           `json:"stopReason,omitempty"`
	CreatedAt   string           `json:"createdAt,omitempty"`
	CompletedAt string           `json:"completedAt,omitempty"`
	Request     *CreateRunParams `json:"request,omitempty"`
	Output      *Output          `json:"output,omitempty"`
	Usage       *Usage           `json:"usage,omitempty"`
	CostDollars *CostDollars     `json:"costDollars,omitempty"`
	Error       *RunError        `json:"error,omitempty"`
}

// Output is what a run found. Structured follows the run's outputSchema,
// except that the agent may answer null for any field it cannot support.
type Output struct {
	Text       string          `json:"text,omitempty"`
	Structured json.RawMessage `json:"structured,omitempty"`
	Grounding  []Grounding     `json:"grounding"`
}

// Grounding ties one field of the structured output, named by a path such as
// "structured.rows[3].ceo", to the pages that support it.
type Grounding struct {
	Field      string     `json:"field"`
	Citations  []Citation `json:"citations"`
	Score      *float64   `json:"score,omitempty"`
	Confidence string     `json:"confidence,omitempty"`
}

// Citation is one source page.
type Citation struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// Usage counts what a run consumed.
type Usage struct {
	AgentComputeUnits float64 `json:"agentComputeUnits"`
	Searches          int     `json:"searches"`
	Emails            int     `json:"emails"`
	PhoneNumbers      int     `json:"phoneNumbers"`
	DataSources       *int    `json:"dataSources,omitempty"`
}

// CostDollars is what a run was billed.
type CostDollars struct {
	Total        float64  `json:"total"`
	AgentCompute float64  `json:"agentCompute"`
	Search       float64  `json:"search"`
	Emails       float64  `json:"emails"`
	PhoneNumbers float64  `json:"phoneNumbers"`
	DataSources  *float64 `json:"dataSources,omitempty"`
}

// RunError says why a run failed.
type RunError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *RunError) Error() string {
	return e.Code + ": " + e.Message
}

// CreateRun starts a run. It is never retried: a 429 or another 4xx means
// nothing was created and comes back as *RateLimitError or *APIError; any
// failure that leaves the outcome unknown matches ErrCreateUncertain.
func (c *Client) CreateRun(ctx context.Context, p *CreateRunParams) (*Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "agent/runs", p)
	if err != nil {
		return nil, err
	}
	run := new(Run)
	if _, err := c.Do(req, run); err != nil {
		return nil, createError(err)
	}
	return run, nil
}

// createError says whether a failed create may have created its run.
func createError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status < 500 {
		return err // the service refused it: certain
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return err // never reached the service: certain
	}
	return fmt.Errorf("%w; %w", err, ErrCreateUncertain)
}

// GetRun fetches a run by id.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	return c.runCall(ctx, http.MethodGet, "agent/runs/"+url.PathEscape(id))
}

// CancelRun stops a run. Cancelling a run that already ended returns it
// unchanged.
func (c *Client) CancelRun(ctx context.Context, id string) (*Run, error) {
	return c.runCall(ctx, http.MethodPost, "agent/runs/"+url.PathEscape(id)+"/cancel")
}

func (c *Client) runCall(ctx context.Context, method, path string) (*Run, error) {
	req, err := c.NewRequest(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	run := new(Run)
	if _, err := c.Do(req, run); err != nil {
		return nil, err
	}
	return run, nil
}

// DeletedRun is the answer to DeleteRun.
type DeletedRun struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// DeleteRun deletes a run.
func (c *Client) DeleteRun(ctx context.Context, id string) (*DeletedRun, error) {
	req, err := c.NewRequest(ctx, http.MethodDelete, "agent/runs/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	d := new(DeletedRun)
	if _, err := c.Do(req, d); err != nil {
		return nil, err
	}
	return d, nil
}

// ListOptions pages through a list. Limit is 1..100 (0: the server's
// default, 20); Cursor is the NextCursor of the previous page.
type ListOptions struct {
	Limit  int
	Cursor string
}

func (o *ListOptions) query() string {
	if o == nil {
		return ""
	}
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// List is one page of a list endpoint.
type List[T any] struct {
	Object     string `json:"object"`
	Data       []T    `json:"data"`
	HasMore    bool   `json:"hasMore"`
	NextCursor string `json:"nextCursor"`
}

// ListRuns returns one page of runs, newest first.
func (c *Client) ListRuns(ctx context.Context, opts *ListOptions) (*List[Run], error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "agent/runs"+opts.query(), nil)
	if err != nil {
		return nil, err
	}
	page := new(List[Run])
	if _, err := c.Do(req, page); err != nil {
		return nil, err
	}
	return page, nil
}

// Runs iterates over every run, newest first, fetching pages of
// opts.Limit as it goes. It stops at the first error, which it yields.
func (c *Client) Runs(ctx context.Context, opts *ListOptions) iter.Seq2[*Run, error] {
	return func(yield func(*Run, error) bool) {
		o := ListOptions{}
		if opts != nil {
			o = *opts
		}
		for {
			page, err := c.ListRuns(ctx, &o)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page.Data {
				if !yield(&page.Data[i], nil) {
					return
				}
			}
			if !page.HasMore || page.NextCursor == "" {
				return
			}
			o.Cursor = page.NextCursor
		}
	}
}

// FindRunByMetadata returns the newest of the latest `scan` runs whose
// request metadata holds every pair of md, or nil when none does. It is how
// a caller recovers after ErrCreateUncertain.
func (c *Client) FindRunByMetadata(ctx context.Context, md map[string]string, scan int) (*Run, error) {
	seen := 0
	for run, err := range c.Runs(ctx, &ListOptions{Limit: 100}) {
		if err != nil {
			return nil, err
		}
		if run.Request != nil && matches(run.Request.Metadata, md) {
			return run, nil
		}
		if seen++; seen >= scan {
			break
		}
	}
	return nil, nil
}

func matches(have, want map[string]string) bool {
	if len(want) == 0 {
		return false
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
