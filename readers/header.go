package readers

import (
	"fmt"
	"strconv"
	"strings"
)

// normalizeHeader turns the names a file gives its columns into the names
// the rest of the program uses. Every format calls it, so that a header
// means the same thing whatever tool exported the file:
//   - leading and trailing spaces are trimmed;
//   - a blank name becomes column_N, N counting from 1;
//   - a name used twice is an error naming both positions, or, with
//     opts.DedupeHeaders, the later ones become name_2, name_3, … (skipping
//     any suffix another column already has).
//
// row is the header's row number (0 when the file has no header row, as in
// JSONL); it only goes into errors.
func normalizeHeader(file, sheet string, row int, names []string, opts Options) ([]string, error) {
	out := make([]string, len(names))
	first := make(map[string]int, len(names)) // name → 0-based position
	var dups []int
	for i, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			n = "column_" + strconv.Itoa(i+1)
		}
		out[i] = n
		if j, ok := first[n]; ok {
			if !opts.DedupeHeaders {
				return nil, &ParseError{File: file, Sheet: sheet, Row: row, Column: n,
					Err: fmt.Errorf("%w: columns %d and %d are both named %q; rename one or de-duplicate the headers", ErrDuplicateColumn, j+1, i+1, n)}
			}
			dups = append(dups, i)
			continue
		}
		first[n] = i
	}
	// Suffixes are chosen after every original name is known, so that a
	// renamed column never takes a name a later column already has.
	for _, i := range dups {
		base := out[i]
		for k := 2; ; k++ {
			cand := base + "_" + strconv.Itoa(k)
			if _, taken := first[cand]; !taken {
				out[i] = cand
				first[cand] = i
				break
			}
		}
	}
	return out, nil
}
