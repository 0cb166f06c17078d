package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/exa/exasim"
	"github.com/exa-enrich/exa-enrich/pipeline"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/writers"
)

type runCmd struct {
	Input       string `arg:"" optional:"" help:"The file to enrich: CSV, TSV, XLSX, Parquet or JSONL (or the job file's input)."`
	schemaFlags `embed:""`
	outputFlags `embed:""`
	Query       string   `required:"" help:"What to research for each row."`
	Key         []string `help:"Columns that identify a row (default: the first column)." sep:","`
	Columns     []string `help:"Columns sent to the API (default: all). Cell data travels only in the run's input, never in the query." sep:","`
	Effort      string   `default:"low" enum:"minimal,low,medium,high,xhigh,auto,max" help:"Research effort: ${enum}."`
	Out         string   `short:"o" help:"Output path; its extension picks the format: csv, xlsx, parquet, jsonl (default: INPUT with .enriched before the extension)."`
	State       string   `help:"The job's journal (default: .exa-enrich/OUTPUT-NAME.db beside the output)."`

	ChunkSize      int           `default:"10" help:"Rows per run."`
	Concurrency    int           `default:"8" help:"Runs in flight to start with; the pool adapts to the account's limit."`
	MaxConcurrency int           `default:"50" help:"Runs in flight at most."`
	QPS            float64       `default:"4" help:"Creates per second at most (each create counts twice against the account's request rate)."`
	MaxCost        float64       `placeholder:"DOLLARS" help:"Spend cap for this execution: each run's worst case is reserved before it is created, so spend never exceeds it."`
	MaxAttempts    int           `default:"3" help:"Runs that may carry a row before it keeps its error."`
	Grace          time.Duration `default:"60s" help:"After Ctrl-C, how long runs in flight may finish before they are cancelled."`

	RefreshOlderThan string `placeholder:"AGE" help:"Research again answers older than AGE (e.g. 30d, 12h)."`
	RetryErrors      bool   `help:"Send again rows that ended in error (failed, missing, mismatch)."`
	Reuse            bool   `help:"Keep answers given under another query, schema or effort."`

	SystemPrompt string `help:"Standing instructions for the agent on every run (sources to prefer, how to answer)."`
	Exclusion    string `placeholder:"FILE" help:"Rows the agent should avoid returning (a file in any input format): sent as input.exclusion with every run."`

	Sim         bool   `help:"Use the embedded simulator on a loopback port: no key, no network, synthetic answers."`
	DryRun      bool   `help:"Work out what would be sent and what it could cost, as 'exa-enrich estimate' does, and send nothing."`
	SummaryJSON string `placeholder:"PATH" help:"Write the end-of-job summary as JSON to PATH, for monitoring."`
	Changes     string `placeholder:"PATH" help:"Write a CSV of the answers that differ from the previous complete run of this job that also had --changes (key, field, old value, new value)."`

	progressFlags `embed:""`
	estimateFlags `embed:""`

	inputFlags `embed:""`
	jobFlags   `embed:""`
}

func (c *runCmd) Help() string {
	return `Examples:
  exa-enrich run --sim --fields "ceo:string, employees:integer" \
      --query "Who runs this company and how many people work there?" examples/companies.csv
  EXA_API_KEY=... exa-enrich run --fields "hq_city:string" --query "Where is the HQ?" \
      --max-cost 5 companies.csv
  exa-enrich run --sim --schema company --identity --key name,domain --prefix ai_ \
      --query "Profile each company." examples/companies.csv
  exa-enrich run --job examples/companies.job.yaml --sim --max-cost 0.50

A rerun of the same command sends only the rows without an answer: it
re-attaches to runs a killed execution left in flight and never pays twice
for a row. The first Ctrl-C stops new runs and waits --grace for those in
flight; the second cancels them. Either way the output is written.

The key comes from EXA_API_KEY or --api-key-file; EXA_BASE_URL points the tool at another server.

` + exitHelp
}

// job is a run's configuration worked out from the flags and the input's
// header: everything Run and Estimate share.
type job struct {
	cfg     pipeline.Config
	out     string
	journal *pipeline.Journal
	unlock  func()
}

func (j *job) Close() error {
	err := j.journal.Close()
	j.unlock()
	return err
}

// open checks the flags, reads the input's header, compiles the schema and
// opens the journal, under the job's lock when lock is set (an execution
// that will write to the journal). Nothing is sent.
func (c *runCmd) open(ctx context.Context, env *Env, lock bool) (*job, error) {
	if c.Input == "" {
		return nil, usagef("name the file to enrich: exa-enrich run [flags] FILE, or input: in the --job file")
	}
	if c.ChunkSize < 1 || c.Concurrency < 1 || c.MaxConcurrency < 1 || c.MaxAttempts < 1 {
		return nil, usagef("--chunk-size, --concurrency, --max-concurrency and --max-attempts must be at least 1")
	}
	if c.MaxCost < 0 || c.QPS < 0 {
		return nil, usagef("--max-cost and --qps cannot be negative")
	}
	refresh, err := parseAge(c.RefreshOlderThan)
	if err != nil {
		return nil, usagef("--refresh-older-than: %v", err)
	}
	if _, err := c.schemaFlags.load(); err != nil {
		return nil, err // before the key and the input: a typo costs nothing
	}
	out := c.Out
	if out == "" {
		ext := filepath.Ext(c.Input)
		out = strings.TrimSuffix(c.Input, ext) + ".enriched" + ext
	}
	if c.Out != "" {
		if err := c.outputFlags.check(out); err != nil {
			return nil, err // before anything is paid for
		}
	}
	state := c.State
	if state == "" {
		state = filepath.Join(filepath.Dir(out), ".exa-enrich", filepath.Base(out)+".db")
	}

	r, err := readers.Open(c.Input, c.readerOptions())
	if err != nil {
		return nil, usageError{err}
	}
	columns := r.Columns()
	r.Close()
	for _, k := range slices.Concat(c.Key, c.Columns) {
		if !slices.Contains(columns, k) {
			return nil, usagef("%s has no column %q (columns: %s)", c.Input, k, strings.Join(columns, ", "))
		}
	}
	keys := c.Key
	if len(keys) == 0 && len(columns) > 0 {
		keys = columns[:1]
	}
	sent := c.Columns
	if len(sent) == 0 {
		sent = columns
	}
	c.schemaFlags.fill = c.OnlyMissing
	schema, err := c.schemaFlags.compile(c.Input, columns, keys)
	if err != nil {
		return nil, err
	}
	var exclusion []map[string]any
	if c.Exclusion != "" {
		if exclusion, err = readExclusion(c.Exclusion); err != nil {
			return nil, err
		}
	}

	unlock := func() {}
	if lock {
		if unlock, err = lockJob(ctx, state+".lock", c.WaitLock, env.Stderr); err != nil {
			return nil, err
		}
	}
	journal, err := pipeline.OpenJournal(state)
	if err != nil {
		unlock()
		return nil, err
	}
	return &job{out: out, journal: journal, unlock: unlock, cfg: pipeline.Config{
		Keep: c.outputFlags.keep(columns, schema),
		Spec: pipeline.Spec{
			Query:        c.Query,
			SystemPrompt: c.SystemPrompt,
			Effort:       c.Effort,
			Schema:       schema.Batch(nil), // the per-row schema with any identity echoes
			Columns:      sent,
			Key:          keys,
			Exclusion:    exclusion,
		},
		Columns:          columns,
		Schema:           schema,
		Journal:          journal,
		ChunkSize:        c.ChunkSize,
		Concurrency:      c.Concurrency,
		MaxConcurrency:   c.MaxConcurrency,
		QPS:              c.QPS,
		MaxCost:          c.MaxCost,
		MaxAttempts:      c.MaxAttempts,
		RefreshOlderThan: refresh,
		RetryErrors:      c.RetryErrors,
		TrackChanges:     c.Changes != "",
		Reuse:            c.Reuse,
		Grace:            c.Grace,
	}}, nil
}

func (c *runCmd) Run(ctx context.Context, env *Env, sd *shutdown) error {
	if c.DryRun {
		return c.estimate(ctx, env, sd)
	}
	j, err := c.open(ctx, env, true)
	if err != nil {
		return err
	}
	defer j.Close()
	api, closeAPI, err := c.client(env)
	if err != nil {
		return err
	}
	defer closeAPI()
	sum, err := c.execute(env, sd, j, api, nil)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(sd.hard)
	counts, err := c.write(ctx, j, sum)
	if err != nil {
		return err
	}
	outcome := c.report(env, j, sum, counts)
	// Only an execution that answered every row it could is what the next
	// one compares with.
	if err := j.journal.FinishExecution(ctx, sum.Execution, outcome == nil); err != nil {
		return errors.Join(outcome, err)
	}
	if c.Changes != "" {
		compared, err := writeChanges(ctx, c.Changes, j, sum)
		if err != nil {
			return errors.Join(outcome, fmt.Errorf("--changes: %w", err))
		}
		if !compared {
			fmt.Fprintf(env.Stderr, "changes: no earlier complete run of this job to compare with; %s lists none\n", c.Changes)
		}
	}
	return outcome
}

// execute runs the job over the input (or its first limit rows, when limit
// is not nil) with progress on stderr.
func (c *runCmd) execute(env *Env, sd *shutdown, j *job, api pipeline.API, limit *int) (pipeline.Summary, error) {
	r, err := readers.Open(c.Input, c.readerOptions())
	if err != nil {
		return pipeline.Summary{}, err
	}
	defer r.Close()
	var rows pipeline.Rows = r
	if limit != nil {
		rows = &firstRows{r: r, left: *limit}
	}
	view := newProgressView(env.Stderr, c.progressFlags)
	cfg := j.cfg
	cfg.Stop, cfg.Events = sd.stop, view
	sum, err := pipeline.Run(sd.hard, api, cfg, rows)
	view.Close()
	if err != nil && sum.JobID != "" {
		// Whatever was answered is written, even when the job failed.
		if _, werr := c.write(context.WithoutCancel(sd.hard), j, sum); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return sum, err
}

// firstRows passes on the first left rows of r.
type firstRows struct {
	r    pipeline.Rows
	left int
}

func (f *firstRows) Next() ([]readers.Row, error) {
	if f.left <= 0 {
		return nil, io.EOF
	}
	rows, err := f.r.Next()
	if len(rows) > f.left {
		rows = rows[:f.left]
	}
	f.left -= len(rows)
	return rows, err
}

// report prints the end-of-job summary, writes --summary-json, and says how
// the job ended as an error that maps to its exit code.
func (c *runCmd) report(env *Env, j *job, sum pipeline.Summary, counts map[pipeline.Status]int) error {
	spend := fmt.Sprintf("$%.4f", sum.CostUSD)
	if c.MaxCost > 0 {
		spend += fmt.Sprintf(" of $%.2f cap", c.MaxCost)
	}
	extra := ""
	if sum.Retries > 0 {
		extra += fmt.Sprintf(" · %d retried", sum.Retries)
	}
	if sum.Refused > 0 {
		extra += fmt.Sprintf(" · %d refused (429)", sum.Refused)
	}
	wall := sum.Finished.Sub(sum.Started)
	fmt.Fprintf(env.Stderr, "%s · %d runs%s · %s · %s · wrote %s\n",
		statusLine(sum.Rows, counts), sum.Runs, extra, spend, wall.Round(10*time.Millisecond), j.out)

	unanswered := sum.Rows - counts[pipeline.StatusOK] - counts[pipeline.StatusCached] - counts[pipeline.StatusKept]
	var outcome error
	switch {
	case sum.StoppedBy == pipeline.StopBudget:
		outcome = budgetError{unsent: counts[pipeline.StatusSkippedBudget]}
	case sum.StoppedBy == pipeline.StopInterrupt:
		outcome = interruptedError{unanswered: unanswered}
	case unanswered > 0:
		outcome = incompleteError{unanswered: unanswered}
	}
	if c.SummaryJSON != "" {
		byStatus := map[string]int{}
		for s, n := range counts {
			byStatus[string(s)] = n
		}
		doc := summaryJSON{
			JobID: sum.JobID, Input: c.Input, Output: j.out, Journal: j.journal.Path(),
			Rows: sum.Rows, RowsByStatus: byStatus, Runs: sum.Runs, Resumed: sum.Resumed,
			Retries: sum.Retries, Refused429: sum.Refused, Dropped: sum.Dropped,
			SpentUSD: sum.CostUSD, CapUSD: c.MaxCost, ReservedUSD: sum.Reserved,
			StoppedBy: sum.StoppedBy, ExitCode: exitCode(context.Background(), outcome),
			Started: sum.Started.UTC().Format(time.RFC3339), Finished: sum.Finished.UTC().Format(time.RFC3339),
			WallSeconds: wall.Seconds(),
		}
		if err := writeJSONFile(c.SummaryJSON, doc); err != nil {
			return errors.Join(outcome, fmt.Errorf("--summary-json: %w", err))
		}
	}
	return outcome
}

// summaryJSON is the end-of-job summary for monitoring (--summary-json).
type summaryJSON struct {
	JobID        string         `json:"job_id"`
	Input        string         `json:"input"`
	Output       string         `json:"output"`
	Journal      string         `json:"journal"`
	Rows         int            `json:"rows"`
	RowsByStatus map[string]int `json:"rows_by_status"`
	Runs         int            `json:"runs"`
	Resumed      int            `json:"runs_resumed"`
	Retries      int            `json:"retries"`
	Refused429   int            `json:"refused_429"`
	Dropped      int            `json:"items_dropped"`
	SpentUSD     float64        `json:"spent_usd"`
	CapUSD       float64        `json:"cap_usd,omitempty"`
	ReservedUSD  float64        `json:"reserved_usd"`
	StoppedBy    string         `json:"stopped_by,omitempty"`
	ExitCode     int            `json:"exit_code"`
	Started      string         `json:"started"`
	Finished     string         `json:"finished"`
	WallSeconds  float64        `json:"wall_seconds"`
}

// writeJSONFile writes v to path through writeAtomic, so a monitor never
// reads half a summary.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// writeAtomic writes a small report file through a temporary file in the
// same folder and a rename: a reader sees the old file or the new one,
// never half of one.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// parseAge reads a duration that may be given in days: 30d, 12h, 90m.
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not an age such as 30d or 12h", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not an age such as 30d or 12h", s)
	}
	return d, nil
}

// client returns the real API client, or one talking to an embedded
// simulator with --sim.
func (c *runCmd) client(env *Env) (*exa.Client, func(), error) {
	if c.Sim {
		sim, err := exasim.Start(exasim.Config{
			Latency: exasim.Latency{Min: 200 * time.Millisecond, Max: 800 * time.Millisecond},
		})
		if err != nil {
			return nil, nil, err
		}
		api, err := exa.NewClient(nil, exa.WithBaseURL(sim.URL), exa.WithAPIKey("sim"))
		if err != nil {
			sim.Close()
			return nil, nil, err
		}
		return api, func() { sim.Close() }, nil
	}
	key, err := c.apiKey(env)
	if err != nil {
		return nil, nil, err
	}
	api, err := apiClient(env, key)
	if err != nil {
		return nil, nil, err
	}
	return api, func() {}, nil
}

// write walks the input again and writes each row with its result from the
// journal, so memory stays flat however long the file. It returns the rows
// by status.
func (c *runCmd) write(ctx context.Context, j *job, sum pipeline.Summary) (map[pipeline.Status]int, error) {
	cfg, path := j.cfg, j.out
	joiner, err := pipeline.NewJoiner(cfg, sum)
	if err != nil {
		return nil, err
	}
	r, err := readers.Open(c.Input, c.readerOptions())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	w, err := writers.Create(path, c.outputFlags.writerOptions(c.Input, r.Columns(), cfg, sum))
	if err != nil {
		return nil, err
	}
	counts := map[pipeline.Status]int{}
	for {
		rows, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Abort()
			return nil, err
		}
		results, err := joiner.Results(ctx, rows)
		if err != nil {
			w.Abort()
			return nil, err
		}
		for i, row := range rows {
			res := results[i]
			counts[res.Status]++
			if err := w.Write(record(row, res)); err != nil {
				w.Abort()
				return nil, err
			}
		}
	}
	return counts, w.Commit()
}

func statusLine(rows int, counts map[pipeline.Status]int) string {
	parts := []string{fmt.Sprintf("%d rows", rows)}
	for _, s := range []pipeline.Status{pipeline.StatusOK, pipeline.StatusCached, pipeline.StatusKept, pipeline.StatusMissing,
		pipeline.StatusFailed, pipeline.StatusMismatch, pipeline.StatusSkippedBudget, pipeline.StatusCancelled} {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}
