package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/pipeline"
)

type statusCmd struct {
	Input string `arg:"" optional:"" help:"The input file of the job (its journal is found as run finds it)."`
	Out   string `short:"o" help:"The job's output path, when run was given -o."`
	State string `help:"The journal itself."`
	JSON  bool   `name:"json" help:"Print JSON."`
	API   bool   `name:"api" help:"Ask the API (EXA_API_KEY) where the unfinished runs are now."`
}

func (c *statusCmd) Help() string {
	return `Reads a job's journal and shows each job in it: chunks by state, rows by
status, what was spent, and the runs an interrupted execution left in flight
(with --api, where they are now at the API). Reading the journal sends nothing.

Examples:
  exa-enrich status examples/companies.csv
  exa-enrich status --state /var/lib/enrich/.exa-enrich/companies.enriched.csv.db --json`
}

// statusJob is one job of the journal, as status prints it.
type statusJob struct {
	pipeline.JobReport
	Query  string            `json:"query"`
	Effort string            `json:"effort"`
	AtAPI  map[string]string `json:"runsAtApi,omitempty"` // run id → status now
}

func (c *statusCmd) Run(ctx context.Context, env *Env) error {
	state := c.State
	if state == "" {
		if c.Input == "" {
			return usagef("say which job: status INPUT [-o OUT], or --state PATH")
		}
		out := c.Out
		if out == "" {
			ext := filepath.Ext(c.Input)
			out = strings.TrimSuffix(c.Input, ext) + ".enriched" + ext
		}
		state = filepath.Join(filepath.Dir(out), ".exa-enrich", filepath.Base(out)+".db")
	}
	if _, err := os.Stat(state); err != nil {
		return usagef("no journal at %s: has this job run? (--state names another)", state)
	}
	j, err := pipeline.OpenJournal(state)
	if err != nil {
		return err
	}
	defer j.Close()
	reports, err := j.Report(ctx)
	if err != nil {
		return err
	}
	var api *exa.Client
	if c.API {
		key := env.Getenv("EXA_API_KEY")
		if key == "" {
			return usagef("--api needs EXA_API_KEY")
		}
		if api, err = apiClient(env, key); err != nil {
			return err
		}
	}
	jobs := make([]statusJob, len(reports))
	for i, r := range reports {
		var spec pipeline.Spec
		_ = json.Unmarshal(r.Spec, &spec)
		jobs[i] = statusJob{JobReport: r, Query: spec.Query, Effort: spec.Effort}
		if api == nil {
			continue
		}
		for _, o := range r.Open {
			if o.RunID == "" {
				continue
			}
			if jobs[i].AtAPI == nil {
				jobs[i].AtAPI = map[string]string{}
			}
			run, err := api.GetRun(ctx, o.RunID)
			if err != nil {
				jobs[i].AtAPI[o.RunID] = "unknown: " + err.Error()
				continue
			}
			jobs[i].AtAPI[o.RunID] = string(run.Status)
		}
	}
	if c.JSON {
		b, err := json.MarshalIndent(map[string]any{"journal": state, "jobs": jobs}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return nil
	}
	fmt.Fprintf(env.Stdout, "journal %s: %d job(s)\n", state, len(jobs))
	for _, jb := range jobs {
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "\njob\t%s (since %s)\n", jb.ID, jb.CreatedAt)
		fmt.Fprintf(w, "query\t%s\n", jb.Query)
		fmt.Fprintf(w, "effort\t%s\n", jb.Effort)
		fmt.Fprintf(w, "rows\t%s\n", counted(jb.Rows))
		fmt.Fprintf(w, "chunks\t%s\n", counted(jb.Chunks))
		fmt.Fprintf(w, "spent\t$%.4f\n", jb.SpentUSD)
		if len(jb.Open) > 0 {
			fmt.Fprintf(w, "unfinished\t%d chunks ($%.4f reserved); run the job again to finish them\n", len(jb.Open), jb.ReservedUSD)
			for _, o := range jb.Open {
				where := "no run yet, or its create had no answer"
				if o.RunID != "" {
					where = "run " + o.RunID
					if s, ok := jb.AtAPI[o.RunID]; ok {
						where += ": " + s + " at the API"
					}
				}
				fmt.Fprintf(w, "\tchunk %d (%d rows, attempt %d): %s\n", o.Chunk, o.Rows, o.Attempt, where)
			}
		}
		w.Flush()
	}
	return nil
}

// counted prints a count map sorted by key: "failed 2, ok 40".
func counted[K ~string](m map[K]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
