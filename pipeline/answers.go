package pipeline

import (
	"fmt"
	"strings"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/schemas"
)

// verdict is what a completed run said about one of its rows.
type verdict struct {
	Status     Status // ok, missing, failed (off-schema) or mismatch
	Error      string
	Answer     map[string]any
	Sources    []string
	Citations  map[string][]exa.Citation
	Confidence string
}

// judge reads a completed run's answer and returns one verdict per row sent,
// in the order of ids, and how many items it dropped. Items join rows by
// rowId, never by position: an item with an unknown or repeated rowId is
// dropped; one that breaks the per-row schema fails its row; one about
// another entity (identity on) is a mismatch; rows left without an item are
// missing. cells holds what each row sent, by column name.
func judge(run *exa.Run, schema *schemas.Schema, ids []string, cells []map[string]any) ([]verdict, int) {
	out := make([]verdict, len(ids))
	items, err := decodeItems(run.Output)
	if err != nil {
		for i := range out {
			out[i] = verdict{Status: StatusMissing, Error: fmt.Sprintf("run %s: %v", run.ID, err)}
		}
		return out, 0
	}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	seen := make([]bool, len(ids))
	dropped := 0
	// row maps an item's place in the answer array to its row, for reading
	// grounding paths; -1 for items not joined.
	row := make([]int, len(items))
	for pos, item := range items {
		row[pos] = -1
		id, _ := item[schemas.RowIDProperty].(string)
		i, ok := index[id]
		if !ok || seen[i] {
			dropped++
			continue
		}
		seen[i] = true
		if err := schema.Validate(item); err != nil {
			out[i] = verdict{Status: StatusFailed, Error: fmt.Sprintf("run %s: %v", run.ID, err)}
			continue
		}
		if err := schema.CheckIdentity(item, cells[i]); err != nil {
			out[i] = verdict{Status: StatusMismatch, Error: fmt.Sprintf("run %s: %v", run.ID, err)}
			continue
		}
		delete(item, schemas.RowIDProperty)
		out[i] = verdict{Status: StatusOK, Answer: item}
		row[pos] = i
	}
	for _, g := range run.Output.Grounding {
		pos, field, ok := groundingPath(g.Field)
		if !ok || pos >= len(row) || row[pos] < 0 {
			continue
		}
		v := &out[row[pos]]
		for _, c := range g.Citations {
			v.Sources = appendUnique(v.Sources, c.URL)
			if field != "" {
				if v.Citations == nil {
					v.Citations = map[string][]exa.Citation{}
				}
				v.Citations[field] = append(v.Citations[field], c)
			}
		}
		if g.Confidence != "" && (v.Confidence == "" || confidenceRank[g.Confidence] < confidenceRank[v.Confidence]) {
			v.Confidence = g.Confidence
		}
	}
	for i := range out {
		if !seen[i] {
			out[i] = verdict{Status: StatusMissing, Error: fmt.Sprintf("run %s returned no answer for this row", run.ID)}
		}
	}
	return out, dropped
}

var confidenceRank = map[string]int{"low": 1, "medium": 2, "high": 3}

// groundingPath reads "structured.rows[3].hq.city" as item 3, field
// "hq.city"; the field is empty when the path names the whole item.
func groundingPath(path string) (int, string, bool) {
	pos, ok := itemPosition(path)
	if !ok {
		return 0, "", false
	}
	_, rest, _ := strings.Cut(path, "]")
	return pos, strings.TrimPrefix(rest, "."), true
}
