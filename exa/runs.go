package exa

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
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

// Run is the agent_run object.
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
	Grounding  []Grounding     `json:"grounding,omitempty"`
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

// CreateRun starts a run. Its outcome is billed, so callers must not resend
// a create whose outcome is unknown without first looking for the run.
func (c *Client) CreateRun(ctx context.Context, p *CreateRunParams) (*Run, error) {
	req, err := c.NewRequest(ctx, http.MethodPost, "agent/runs", p)
	if err != nil {
		return nil, err
	}
	run := new(Run)
	if _, err := c.Do(req, run); err != nil {
		return nil, err
	}
	return run, nil
}

// GetRun fetches a run by id.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "agent/runs/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	run := new(Run)
	if _, err := c.Do(req, run); err != nil {
		return nil, err
	}
	return run, nil
}
