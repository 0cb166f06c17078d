package cli

import (
	"context"
	"encoding/csv"
	"io"

	"github.com/exa-enrich/exa-enrich/pipeline"
	"github.com/exa-enrich/exa-enrich/writers"
)

// writeChanges writes the --changes report: one CSV line per field whose
// answer differs from the job's previous complete execution. It reports
// false when there was nothing to compare with.
func writeChanges(ctx context.Context, path string, j *job, sum pipeline.Summary) (compared bool, err error) {
	var names []string
	lookup := map[string]func(map[string]any) any{}
	for _, c := range j.cfg.Schema.Columns {
		names = append(names, c.Name)
		lookup[c.Name] = c.Lookup
	}
	cell := func(column string, answer map[string]any) string {
		if answer == nil {
			return ""
		}
		return writers.CellText(lookup[column](answer))
	}
	err = writeAtomic(path, func(out io.Writer) error {
		w := csv.NewWriter(out)
		if err := w.Write(append(append([]string{}, j.cfg.Spec.Key...), "field", "old_value", "new_value")); err != nil {
			return err
		}
		var err error
		compared, err = j.journal.Changes(ctx, sum.Execution, names, cell, func(c pipeline.Change) error {
			return w.Write(append(append(c.Key, c.Field), c.Old, c.New))
		})
		if err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	})
	return compared, err
}
