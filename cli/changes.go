package cli

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"

	"github.com/exa-enrich/exa-enrich/pipeline"
	"github.com/exa-enrich/exa-enrich/writers"
)

// writeChanges writes the --changes report: one CSV line per field whose
// answer differs from the job's previous complete execution. It reports
// false when there was nothing to compare with.
func writeChanges(ctx context.Context, path string, j *job, sum pipeline.Summary) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	w := csv.NewWriter(tmp)
	header := append(append([]string{}, j.cfg.Spec.Key...), "field", "old_value", "new_value")
	if err := w.Write(header); err != nil {
		tmp.Close()
		return false, err
	}
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
	compared, err := j.journal.Changes(ctx, sum.Execution, names, cell, func(c pipeline.Change) error {
		return w.Write(append(append(c.Key, c.Field), c.Old, c.New))
	})
	if err != nil {
		tmp.Close()
		return false, err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return compared, os.Rename(tmp.Name(), path)
}
