package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/exa/exasim"
	"github.com/exa-enrich/exa-enrich/pipeline"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/schemas"
	"github.com/exa-enrich/exa-enrich/writers"
)

type runCmd struct {
	Input       string   `arg:"" help:"The file to enrich (CSV)."`
	Fields      string   `required:"" help:"The answer for each row, as name:type pairs: \"ceo:string, employees:integer\". Types: string, integer, number, boolean."`
	Query       string   `required:"" help:"What to research for each row."`
	Key         []string `help:"Columns that identify a row (default: the first column)." sep:","`
	ChunkSize   int      `default:"10" help:"Rows per run."`
	Concurrency int      `default:"8" help:"Runs in flight at once."`
	Effort      string   `default:"low" enum:"minimal,low,medium,high,xhigh,auto,max" help:"Research effort: ${enum}."`
	Out         string   `short:"o" help:"Output path (default: INPUT with .enriched before the extension)."`
	Sim         bool     `help:"Use the embedded simulator on a loopback port: no key, no network, synthetic answers."`
	inputFlags  `embed:""`
}

func (c *runCmd) Help() string {
	return `Examples:
  exa-enrich run --sim --fields "ceo:string, employees:integer" \
      --query "Who runs this company and how many people work there?" examples/companies.csv
  EXA_API_KEY=... exa-enrich run --fields "hq_city:string" --query "Where is the HQ?" companies.csv

The key comes from EXA_API_KEY; EXA_BASE_URL points the tool at another server.

` + exitHelp
}

func (c *runCmd) Run(ctx context.Context, env *Env) error {
	if c.ChunkSize < 1 || c.Concurrency < 1 {
		return usagef("--chunk-size and --concurrency must be at least 1")
	}
	schema, err := schemas.ParseFields(c.Fields)
	if err != nil {
		return usageError{err}
	}
	out := c.Out
	if out == "" {
		ext := filepath.Ext(c.Input)
		out = strings.TrimSuffix(c.Input, ext) + ".enriched" + ext
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
	for _, k := range c.Key {
		if !slices.Contains(columns, k) {
			return usagef("--key: %s has no column %q (columns: %s)", c.Input, k, strings.Join(columns, ", "))
		}
	}
	for _, col := range schema.Columns {
		if slices.Contains(columns, col.Name) {
			return usagef("--fields: %q is already a column of %s", col.Name, c.Input)
		}
	}
	rows, err := readAll(r)
	if err != nil {
		return err
	}

	start := time.Now()
	results, sum, runErr := pipeline.Run(ctx, api, pipeline.Job{
		Columns:     columns,
		Query:       c.Query,
		Effort:      c.Effort,
		Schema:      schema,
		ChunkSize:   c.ChunkSize,
		Concurrency: c.Concurrency,
	}, rows)

	// Whatever was answered is written, even when the job stopped early.
	if err := write(out, columns, schema, rows, results); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(env.Stderr, "%s · %d runs · $%.4f · %s · wrote %s\n",
		statusLine(sum), sum.Runs, sum.CostUSD, time.Since(start).Round(10*time.Millisecond), out)
	if runErr != nil {
		return runErr
	}
	if n := sum.Rows - sum.ByStatus[pipeline.StatusOK]; n > 0 {
		return incompleteError{unanswered: n}
	}
	return nil
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
	key := env.Getenv("EXA_API_KEY")
	if key == "" {
		return nil, nil, usagef("EXA_API_KEY is not set: export your Exa API key, or add --sim to try the embedded simulator")
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

func readAll(r *readers.Reader) ([]readers.Row, error) {
	var rows []readers.Row
	for {
		batch, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, batch...)
	}
}

func write(path string, columns []string, schema *schemas.Schema, rows []readers.Row, results []pipeline.Result) error {
	w, err := writers.Create(path, columns, schema.Columns)
	if err != nil {
		return err
	}
	for i, row := range rows {
		res := results[i]
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
			return err
		}
	}
	return w.Commit()
}

func statusLine(sum pipeline.Summary) string {
	parts := []string{fmt.Sprintf("%d rows", sum.Rows)}
	for _, s := range []pipeline.Status{pipeline.StatusOK, pipeline.StatusMissing, pipeline.StatusFailed, pipeline.StatusCancelled} {
		if n := sum.ByStatus[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}
