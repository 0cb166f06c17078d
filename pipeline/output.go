package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/schemas"
)

// decodeItems reads the answer array out of a run's structured output,
// keeping numbers as written.
func decodeItems(out *exa.Output) ([]map[string]any, error) {
	if out == nil || len(out.Structured) == 0 || string(out.Structured) == "null" {
		return nil, errors.New("the run completed without structured output")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out.Structured, &doc); err != nil {
		return nil, fmt.Errorf("structured output is not an object: %w", err)
	}
	raw, ok := doc[schemas.ItemsProperty]
	if !ok {
		return nil, fmt.Errorf("structured output has no %q array", schemas.ItemsProperty)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var elems []json.RawMessage
	if err := dec.Decode(&elems); err != nil {
		return nil, fmt.Errorf("structured output %q is not an array: %w", schemas.ItemsProperty, err)
	}
	items := make([]map[string]any, len(elems))
	for i, e := range elems {
		d := json.NewDecoder(bytes.NewReader(e))
		d.UseNumber()
		// An item that is not an object stays nil and joins no row.
		_ = d.Decode(&items[i])
	}
	return items, nil
}

// itemPosition reads i out of a grounding path "structured.rows[i]…".
func itemPosition(field string) (int, bool) {
	rest, ok := strings.CutPrefix(field, "structured."+schemas.ItemsProperty+"[")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil && i >= 0
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
