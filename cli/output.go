package cli

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/exa-enrich/exa-enrich/pipeline"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/schemas"
	"github.com/exa-enrich/exa-enrich/writers"
)

// outputFlags say how the enriched file is written. Its format is the one
// -o's extension names, or the input's.
type outputFlags struct {
	AllowFormulas bool `help:"Write answer text that starts with =, +, -, @, tab or CR as it is. By default such text stays text: opening the file never runs a formula the web put there."`
	OnlyMissing   bool `help:"Answer fields named like an input column fill that column's blank cells instead of adding a column; cells with a value are kept, and rows with every such cell filled are not researched."`
}

// check refuses an output path whose format cannot be written.
func (f outputFlags) check(out string) error {
	if format := writers.FormatOf(out); !slices.Contains(writers.Formats, format) {
		return usagef("%s: unknown output format %q (supported: %s)", out, format, strings.Join(writers.Formats, ", "))
	}
	return nil
}

// keep returns the pipeline's Config.Keep for --only-missing: a row needs
// no research when every answer column fills an input column and every one
// of those cells already holds a value.
func (f outputFlags) keep(columns []string, schema *schemas.Schema) func(readers.Row) bool {
	if !f.OnlyMissing {
		return nil
	}
	fills, appends := writers.FillColumns(columns, schema.Columns)
	if appends || len(fills) == 0 {
		return nil
	}
	return func(r readers.Row) bool {
		return !slices.ContainsFunc(fills, func(i int) bool { return writers.Blank(r.Values[i]) })
	}
}

// writerOptions describes the output for writers.Create.
func (f outputFlags) writerOptions(input string, columns []string, cfg pipeline.Config, sum pipeline.Summary) writers.Options {
	schema, _ := json.Marshal(cfg.Schema.Row())
	return writers.Options{
		Columns:       columns,
		Answers:       cfg.Schema.Columns,
		OnlyMissing:   f.OnlyMissing,
		AllowFormulas: f.AllowFormulas,
		Input:         input,
		Job: writers.Job{
			ID:       sum.JobID,
			Query:    cfg.Spec.Query,
			Effort:   cfg.Spec.Effort,
			Schema:   string(schema),
			Runs:     sum.Runs,
			CostUSD:  sum.CostUSD,
			Started:  sum.Started,
			Finished: sum.Finished,
		},
	}
}

// record is the output row for one input row and its result. Only answers
// that joined the row (ok, cached) fill answer cells: a mismatched answer is
// about another entity.
func record(row readers.Row, res pipeline.Result) writers.Record {
	answer := res.Answer
	if res.Status != pipeline.StatusOK && res.Status != pipeline.StatusCached {
		answer = nil
	}
	return writers.Record{
		Source:     row.Source,
		Values:     row.Values,
		Answer:     answer,
		Status:     string(res.Status),
		Error:      res.Error,
		RunID:      res.RunID,
		CostUSD:    res.CostUSD,
		Sources:    res.Sources,
		Citations:  res.Citations,
		Confidence: res.Confidence,
		EnrichedAt: res.EnrichedAt,
	}
}
