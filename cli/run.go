package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	Query       string   `required:"" help:"What to research for each row."`
	Key         []string `help:"Columns that identify a row (default: the first column)." sep:","`
	Columns     []string `help:"Columns sent to the API (default: all). Cell data travels only in the run's input, never in the query." sep:","`
	Effort      string   `default:"low" enum:"minimal,low,medium,high,xhigh,auto,max" help:"Research effort: ${enum}."`
	Out         string   `short:"o" help:"Output path (default: INPUT with .enriched before the extension)."`
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

	Sim bool `help:"Use the embedded simulator on a loopback port: no key, no network, synthetic answers."`

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

func (c *runCmd) Run(ctx context.Context, env *Env, sd *shutdown) error {
	if c.Input == "" {
		return usagef("name the file to enrich: exa-enrich run [flags] FILE, or input: in the --job file")
	}
	if c.ChunkSize < 1 || c.Concurrency < 1 || c.MaxConcurrency < 1 || c.MaxAttempts < 1 {
		return usagef("--chunk-size, --concurrency, --max-concurrency and --max-attempts must be at least 1")
	}
	if c.MaxCost < 0 || c.QPS < 0 {
		return usagef("--max-cost and --qps cannot be negative")
	}
	refresh, err := parseAge(c.RefreshOlderThan)
	if err != nil {
		return usagef("--refresh-older-than: %v", err)
	}
	if _, err := c.schemaFlags.load(); err != nil {
		return err // before the key and the input: a typo costs nothing
	}
	out := c.Out
	if out == "" {
		ext := filepath.Ext(c.Input)
		out = strings.TrimSuffix(c.Input, ext) + ".enriched" + ext
	}
	state := c.State
	if state == "" {
		state = filepath.Join(filepath.Dir(out), ".exa-enrich", filepath.Base(out)+".db")
	}

	api, closeAPI, err := c.client(env)
	if err != nil {
		return err
	}
	defer closeAPI()

	r, err := readers.Open(c.Input, c.readerOptions())
	if err != nil {
		return usageError{err}
	}
	defer r.Close()
	columns := r.Columns()
	for _, k := range slices.Concat(c.Key, c.Columns) {
		if !slices.Contains(columns, k) {
			return usagef("%s has no column %q (columns: %s)", c.Input, k, strings.Join(columns, ", "))
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
	schema, err := c.schemaFlags.compile(c.Input, columns, keys)
	if err != nil {
		return err
	}

	var exclusion []map[string]any
	if c.Exclusion != "" {
		if exclusion, err = readExclusion(c.Exclusion); err != nil {
			return err
		}
	}

	unlock, err := lockJob(ctx, state+".lock", c.WaitLock, env.Stderr)
	if err != nil {
		return err
	}
	defer unlock()
	journal, err := pipeline.OpenJournal(state)
	if err != nil {
		return err
	}
	defer journal.Close()
	cfg := pipeline.Config{
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
		Reuse:            c.Reuse,
		Stop:             sd.stop,
		Grace:            c.Grace,
	}
	sum, runErr := pipeline.Run(sd.hard, api, cfg, r)
	r.Close()

	// Whatever was answered is written, even when the job stopped early.
	counts, err := c.write(context.WithoutCancel(sd.hard), out, cfg, sum)
	if err != nil {
		return errors.Join(runErr, err)
	}
	spend := fmt.Sprintf("$%.4f", sum.CostUSD)
	if c.MaxCost > 0 {
		spend += fmt.Sprintf(" of $%.2f cap", c.MaxCost)
	}
	fmt.Fprintf(env.Stderr, "%s · %d runs · %s · %s · wrote %s\n",
		statusLine(sum.Rows, counts), sum.Runs, spend, sum.Finished.Sub(sum.Started).Round(10*time.Millisecond), out)
	unanswered := sum.Rows - counts[pipeline.StatusOK] - counts[pipeline.StatusCached] - counts[pipeline.StatusKept]
	switch {
	case runErr != nil:
		return runErr
	case sum.StoppedBy == pipeline.StopBudget:
		return budgetError{unsent: counts[pipeline.StatusSkippedBudget]}
	case sum.StoppedBy == pipeline.StopInterrupt:
		return interruptedError{unanswered: unanswered}
	case unanswered > 0:
		return incompleteError{unanswered: unanswered}
	}
	return nil
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
	opts := []exa.Option{exa.WithAPIKey(key)}
	if base := env.Getenv("EXA_BASE_URL"); base != "" {
		opts = append(opts, exa.WithBaseURL(base))
	}
	api, err := exa.NewClient(nil, opts...)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return api, func() {}, nil
}

// write walks the input again and writes each row with its result from the
// journal, so memory stays flat however long the file. It returns the rows
// by status.
func (c *runCmd) write(ctx context.Context, path string, cfg pipeline.Config, sum pipeline.Summary) (map[pipeline.Status]int, error) {
	joiner, err := pipeline.NewJoiner(cfg, sum)
	if err != nil {
		return nil, err
	}
	r, err := readers.Open(c.Input, c.readerOptions())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	w, err := writers.Create(path, r.Columns(), cfg.Schema.Columns)
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
			if err := w.Write(writers.Record{
				Values:  row.Values,
				Answer:  res.Answer,
				Status:  string(res.Status),
				Error:   res.Error,
				RunID:   res.RunID,
				CostUSD: res.CostUSD,
				Sources: res.Sources,
			}); err != nil {
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
