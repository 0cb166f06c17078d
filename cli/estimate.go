package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/pipeline"
	"github.com/exa-enrich/exa-enrich/readers"
)

// estimateFlags tune what an estimate does.
type estimateFlags struct {
	Sample      int  `placeholder:"N" help:"Estimate only: run the first N rows for real (they are billed, and their answers kept), then extrapolate from what they cost."`
	ShowRequest bool `help:"Estimate only: print the first chunk's request body."`
}

// estimateCmd is run's dry run: the same flags, nothing sent.
type estimateCmd struct {
	runCmd `embed:""`
}

func (c *estimateCmd) Help() string {
	return `Reads the input and the job's journal, and prints how many rows a run would
send, in how many runs, the most it could cost (runs × the worst-case price of
one run) and, when the journal holds earlier runs of this job, the expected
cost from their average. Nothing is sent, unless --sample N runs the first N
rows for real to learn what a run costs.

Examples:
  exa-enrich estimate --fields "ceo:string" --query "Who is the CEO?" examples/companies.csv
  exa-enrich run --dry-run --show-request --schema company --query "Profile each company." companies.csv
  exa-enrich estimate --sample 20 --effort auto --fields "ceo:string" --query "CEO?" companies.csv`
}

func (c *estimateCmd) Run(ctx context.Context, env *Env, sd *shutdown) error {
	return c.estimate(ctx, env, sd)
}

func (c *runCmd) estimate(ctx context.Context, env *Env, sd *shutdown) error {
	if c.Sample < 0 {
		return usagef("--sample cannot be negative")
	}
	j, err := c.open(ctx, env, c.Sample > 0) // a sample writes to the journal
	if err != nil {
		return err
	}
	defer j.Close()
	if c.Sample > 0 {
		api, closeAPI, err := c.client(env)
		if err != nil {
			return err
		}
		defer closeAPI()
		sum, err := c.execute(env, sd, j, api, &c.Sample)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "sample: %d rows in %d runs cost $%.4f\n", sum.Sent, sum.Runs, sum.CostUSD)
	}
	r, err := readers.Open(c.Input, c.readerOptions())
	if err != nil {
		return err
	}
	defer r.Close()
	plan, err := pipeline.Estimate(ctx, j.cfg, r)
	if err != nil {
		return err
	}
	printPlan(env, c, plan)
	if c.ShowRequest && plan.FirstRequest != nil {
		b, err := json.MarshalIndent(plan.FirstRequest, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\nfirst request (POST /agent/runs):\n%s\n", b)
	}
	return nil
}

func printPlan(env *Env, c *runCmd, p pipeline.Plan) {
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	price := fmt.Sprintf("$%.3f a run", exa.FixedPrices[c.Effort])
	if _, fixed := exa.FixedPrices[c.Effort]; !fixed {
		price = "metered, up to the budget sent with each run"
	}
	fmt.Fprintf(w, "input\t%s\n", c.Input)
	fmt.Fprintf(w, "rows\t%d (%d answered earlier, %d need no research)\n", p.Rows, p.Cached, p.Kept)
	fmt.Fprintf(w, "to send\t%d rows in %d runs of up to %d rows (effort %s, %s)\n", p.ToSend, p.Chunks, c.ChunkSize, c.Effort, price)
	if p.OpenChunks > 0 {
		fmt.Fprintf(w, "to resume\t%d unfinished chunks of an earlier execution\n", p.OpenChunks)
	}
	fmt.Fprintf(w, "cost at most\t$%.4f\n", p.WorstCaseUSD)
	if c.MaxCost > 0 && p.WorstCaseUSD > c.MaxCost {
		fmt.Fprintf(w, "spend cap\t$%.2f: the run will stop there, with the rest skipped_budget\n", c.MaxCost)
	}
	if p.AverageRunUSD > 0 {
		fmt.Fprintf(w, "expected\t$%.4f (earlier runs of this job cost $%.4f on average)\n", p.ExpectedUSD, p.AverageRunUSD)
	} else {
		fmt.Fprintf(w, "expected\tunknown: no earlier runs of this job (--sample N runs a few to learn)\n")
	}
	w.Flush()
}
