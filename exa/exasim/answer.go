package exasim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
)

// answer computes what a run finds and what it costs, applying the answer
// faults. The caller holds s.mu.
func (s *Server) answer(p exa.CreateRunParams, schema map[string]any) (*exa.Output, exa.Usage, exa.CostDollars, string) {
	var structured any
	grounding := []exa.Grounding{}
	rows := 0
	if p.Input != nil {
		rows = len(p.Input.Data)
	}
	f := s.cfg.Faults
	if array, items, ok := enrichmentShape(schema); ok && p.Input != nil {
		type answered struct {
			row  map[string]any
			item map[string]any
		}
		var out []answered
		for _, row := range p.Input.Data {
			item := rowAnswer(items, row)
			s.nullify(items, item)
			out = append(out, answered{row, item})
		}
		if len(out) > 0 && s.chance(f.Drop) {
			i := s.rng.IntN(len(out))
			out = slices.Delete(out, i, i+1)
		}
		if len(out) > 0 && s.chance(f.Dup) {
			i := s.rng.IntN(len(out))
			out = slices.Insert(out, i, answered{out[i].row, maps.Clone(out[i].item)})
		}
		if s.chance(f.Invent) {
			row := map[string]any{"rowId": fmt.Sprintf("invented-%d", s.rng.IntN(1000)), "name": "Invented Row Inc"}
			out = slices.Insert(out, s.rng.IntN(len(out)+1), answered{row, rowAnswer(items, row)})
		}
		if len(out) > 0 && s.chance(f.OffSchema) {
			s.offSchema(items, out[s.rng.IntN(len(out))].item)
		}
		if s.chance(f.Reorder) {
			s.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		}
		list := make([]map[string]any, len(out))
		for i, a := range out {
			list[i] = a.item
			grounding = append(grounding, itemGrounding(array, i, a.row, a.item)...)
		}
		structured = map[string]any{array: list}
	} else if schema != nil {
		structured = generate(schema, p.Query, "structured")
	}
	raw, _ := json.Marshal(structured) // null without a schema
	usage, cost, reason := bill(p, rows)
	return &exa.Output{
		Text:       fmt.Sprintf("Simulated research for %d rows: %s", rows, p.Query),
		Structured: raw,
		Grounding:  grounding,
	}, usage, cost, reason
}

// nullify answers null, at the Null fault's rate, for the fields that may
// be null.
func (s *Server) nullify(items, item map[string]any) {
	props, _ := items["properties"].(map[string]any)
	for _, name := range sortedKeys(props) {
		sub, _ := props[name].(map[string]any)
		if name != "rowId" && nullable(sub) && s.chance(s.cfg.Faults.Null) {
			item[name] = nil
		}
	}
}

func nullable(schema map[string]any) bool {
	switch t := schema["type"].(type) {
	case string:
		return t == "null"
	case []any:
		return slices.Contains(t, any("null"))
	}
	return false
}

// offSchema breaks one field of item: a value of the wrong type, or one
// outside its enum.
func (s *Server) offSchema(items, item map[string]any) {
	props, _ := items["properties"].(map[string]any)
	var names []string
	for _, k := range sortedKeys(props) {
		if k != "rowId" {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return
	}
	name := names[s.rng.IntN(len(names))]
	sub, _ := props[name].(map[string]any)
	switch schemaType(sub) {
	case "string":
		item[name] = 12345
	default:
		item[name] = "not a " + schemaType(sub) + " (simulated off-schema value)"
	}
	if _, ok := sub["enum"]; ok {
		item[name] = "NOT_IN_ENUM"
	}
}

// bill prices a run: a fixed price per effort, or usage up to the budget
// for the metered efforts, and says why the run stopped.
func bill(p exa.CreateRunParams, rows int) (exa.Usage, exa.CostDollars, string) {
	usage := exa.Usage{
		AgentComputeUnits: 1 + 0.25*float64(rows),
		Searches:          2 * max(rows, 1),
	}
	if price, ok := exa.FixedPrices[p.Effort]; ok {
		return usage, exa.CostDollars{Total: price, AgentCompute: price}, "schema_satisfied"
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
	reason := "schema_satisfied"
	if total > budget {
		scale := budget / total
		compute, search, total = compute*scale, search*scale, budget
		reason = "budget_reached"
	}
	return usage, exa.CostDollars{Total: round(total), AgentCompute: round(compute), Search: round(search)}, reason
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

func blank(v any) bool {
	s, isString := v.(string)
	return v == nil || isString && strings.TrimSpace(s) == ""
}

// rowAnswer answers one row: its rowId, any property that echoes a column of
// the row, and generated values for the rest.
func rowAnswer(items map[string]any, row map[string]any) map[string]any {
	props, _ := items["properties"].(map[string]any)
	subject := subjectOf(row)
	out := make(map[string]any, len(props))
	for name, ps := range props {
		// A column the row fills is echoed, as the agent echoes identity
		// fields; a blank one is researched, as --only-missing asks.
		if v, ok := row[name]; ok && !blank(v) {
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
