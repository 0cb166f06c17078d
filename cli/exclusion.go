package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/exa-enrich/exa-enrich/readers"
)

// readExclusion reads the rows a job asks the agent to avoid (--exclusion):
// each becomes one object of the runs' input.exclusion, keyed by the file's
// column names. Any format the input may be in works.
func readExclusion(path string) ([]map[string]any, error) {
	r, err := readers.Open(path, readers.Options{})
	if err != nil {
		return nil, usageError{fmt.Errorf("--exclusion: %w", err)}
	}
	defer r.Close()
	columns := r.Columns()
	var rows []map[string]any
	for {
		batch, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("--exclusion: %w", err)}
		}
		for _, row := range batch {
			m := make(map[string]any, len(columns))
			for i, c := range columns {
				if row.Values[i] != "" {
					m[c] = row.Values[i]
				}
			}
			rows = append(rows, m)
		}
	}
}
