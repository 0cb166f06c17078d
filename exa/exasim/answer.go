package exasim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
)

// answer computes the terminal state of a run when it is created. The
// caller holds s.mu.
func (s *Server) answer(ru *run, schema map[string]any) exa.Run {
	p := ru.params
	var structured any
	var grounding []exa.Grounding
	rows := 0
	if p.Input != nil {
		rows = len(p.Input.Data)
	}
	if array, items, ok := enrichmentShape(schema); ok && p.Input != nil {
		data := slices.Clone(p.Input.Data)
		if s.chance(s.cfg.Faults.Reorder) {
			s.rng.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
		}
		out := make([]map[string]any, len(data))
		for i, row := range data {
			out[i] = rowAnswer(items, row)
			grounding = append(grounding, itemGrounding(array, i, row, out[i])...)
		}
		structured = map[string]any{array: out}
	} else if schema != nil {
		structured = generate(schema, p.Query, "structured")
	}
	raw, _ := json.Marshal(structured)
	usage, cost := bill(p, rows)
	return exa.Run{
		ID:         ru.id,
		Object:     "agent_run",
		Status:     exa.StatusCompleted,
		StopReason: "schema_satisfied",
		CreatedAt:  ru.created.UTC().Format(time.RFC3339Nano),
		Request:    &ru.params,
		Output: &exa.Output{
			Text:       fmt.Sprintf("Simulated research for %d rows: %s", rows, p.Query),
			Structured: raw,
			Grounding:  grounding,
		},
		Usage:       &usage,
		CostDollars: &cost,
	}
}

// bill prices a run: a fixed price per effort, or usage up to the budget
// for the metered efforts.
func bill(p exa.CreateRunParams, rows int) (exa.Usage, exa.CostDollars) {
	usage := exa.Usage{
		AgentComputeUnits: 1 + 0.25*float64(rows),
		Searches:          2 * max(rows, 1),
	}
	if price, ok := exa.FixedPrices[p.Effort]; ok {
		return usage, exa.CostDollars{Total: price, AgentCompute: price}
	}
	budget := 5.0
	if p.Effort == exa.EffortMax {
		budget = 20
	}
	if p.Budget != nil && p.Budget.MaxCostDollars > 0 {
		budget = p.Budget.MaxCostDollars
	}
	compute := usage.AgentComputeUnits * 0.10
	search := float64(usage.Searches) * 0.005
	total := compute + search
	if total > budget {
		scale := budget / total
		compute, search, total = compute*scale, search*scale, budget
	}
	return usage, exa.CostDollars{Total: round(total), AgentCompute: round(compute), Search: round(search)}
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// enrichmentShape recognises the row-enrichment schema: an object holding
// one array whose items have a rowId property.
func enrichmentShape(schema map[string]any) (array string, items map[string]any, ok bool) {
	props, _ := schema["properties"].(map[string]any)
	if len(props) != 1 {
		return "", nil, false
	}
	for name, v := range props {
		arr, _ := v.(map[string]any)
		items, _ = arr["items"].(map[string]any)
		itemProps, _ := items["properties"].(map[string]any)
		if _, has := itemProps["rowId"]; has {
			return name, items, true
		}
	}
	return "", nil, false
}

// rowAnswer answers one row: its rowId, any property that echoes a column of
// the row, and generated values for the rest.
func rowAnswer(items map[string]any, row map[string]any) map[string]any {
	props, _ := items["properties"].(map[string]any)
	subject := subjectOf(row)
	out := make(map[string]any, len(props))
	for name, ps := range props {
		if v, ok := row[name]; ok {
			out[name] = v
			continue
		}
		sub, _ := ps.(map[string]any)
		out[name] = generate(sub, subject, name)
	}
	return out
}

// subjectOf picks the value that names a row: a column called like a name,
// else the first non-id value in column order of the sorted keys.
func subjectOf(row map[string]any) string {
	for _, k := range []string{"name", "company", "Name", "Company", "Security", "title"} {
		if v, ok := row[k].(string); ok && v != "" {
			return v
		}
	}
	keys := sortedKeys(row)
	for _, k := range keys {
		if k == "rowId" {
			continue
		}
		if v, ok := row[k].(string); ok && v != "" {
			return v
		}
	}
	return "the subject"
}

func hostOf(row map[string]any, subject string) string {
	for _, k := range sortedKeys(row) {
		if v, ok := row[k].(string); ok && strings.Contains(v, ".") && !strings.ContainsAny(v, " /@") && len(v) < 64 {
			return strings.ToLower(v)
		}
	}
	return slug(subject) + ".example"
}

// itemGrounding cites two pages for each answered field: one about the
// field, and the subject's about page, which many fields share.
func itemGrounding(array string, i int, row, item map[string]any) []exa.Grounding {
	subject := subjectOf(row)
	host := hostOf(row, subject)
	levels := []string{"high", "medium", "low"}
	var out []exa.Grounding
	for _, k := range sortedKeys(item) {
		if k == "rowId" || item[k] == nil {
			continue
		}
		h := hash(subject, k)
		out = append(out, exa.Grounding{
			Field: fmt.Sprintf("structured.%s[%d].%s", array, i, k),
			Citations: []exa.Citation{
				{URL: fmt.Sprintf("https://%s/exasim/%s", host, slug(k)), Title: fmt.Sprintf("%s: %s (simulated source)", subject, k)},
				{URL: fmt.Sprintf("https://%s/about", host), Title: fmt.Sprintf("About %s (simulated source)", subject)},
			},
			Confidence: levels[h%3],
		})
	}
	return out
}

// generate makes a deterministic value that satisfies schema, seeded by the
// subject and the field's name.
func generate(schema map[string]any, subject, field string) any {
	h := hash(subject, field)
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[h%uint64(len(enum))]
	}
	if c, ok := schema["const"]; ok {
		return c
	}
	typ := schemaType(schema)
	switch typ {
	case "integer":
		lo, hi := bounds(schema, 1, 100000)
		return int64(lo) + int64(h%uint64(hi-lo+1))
	case "number":
		lo, hi := bounds(schema, 0, 1000)
		return math.Round((lo+float64(h%10000)/10000*(hi-lo))*100) / 100
	case "boolean":
		return h%2 == 0
	case "array":
		items, _ := schema["items"].(map[string]any)
		n := 2
		if m, ok := number(schema["minItems"]); ok && int(m) > n {
			n = int(m)
		}
		if m, ok := number(schema["maxItems"]); ok && int(m) < n {
			n = int(m)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = generate(items, subject, fmt.Sprintf("%s[%d]", field, i))
		}
		return out
	case "object":
		props, _ := schema["properties"].(map[string]any)
		out := make(map[string]any, len(props))
		for _, k := range sortedKeys(props) {
			sub, _ := props[k].(map[string]any)
			out[k] = generate(sub, subject, field+"."+k)
		}
		return out
	case "null":
		return nil
	}
	switch format, _ := schema["format"].(string); format {
	case "date":
		return time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(h%25000)).Format(time.DateOnly)
	case "date-time":
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h%800000000) * time.Second).Format(time.RFC3339)
	case "uri", "url":
		return fmt.Sprintf("https://%s.example/%s", slug(subject), slug(field))
	case "email":
		return fmt.Sprintf("%s@%s.example", slug(field), slug(subject))
	case "phone":
		return fmt.Sprintf("+1-555-%03d-%04d", h%1000, (h/1000)%10000)
	}
	return fmt.Sprintf("%s of %s (simulated)", strings.ReplaceAll(field, "_", " "), subject)
}

// schemaType returns the schema's first non-null type.
func schemaType(schema map[string]any) string {
	switch t := schema["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
		return "null"
	}
	if _, ok := schema["properties"]; ok {
		return "object"
	}
	return "string"
}

func bounds(schema map[string]any, lo, hi float64) (float64, float64) {
	if v, ok := number(schema["minimum"]); ok {
		lo = v
	}
	if v, ok := number(schema["maximum"]); ok {
		hi = v
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
