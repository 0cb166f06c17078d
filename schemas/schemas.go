// Package schemas turns what a person asks for about each row into the JSON
// Schema the Agent API needs, and the answer back into output columns.
//
// A per-row schema describes one answer. The batch schema sent with a run
// wraps it in the shape Exa's own spreadsheet add-on uses: an object holding
// one array, "rows", whose items each carry a rowId drawn from an enum of the
// ids sent, with exactly as many items as rows.
package schemas

import (
	"fmt"
	"slices"
	"strings"
)

// ItemsProperty names the array that holds one answer per row.
const ItemsProperty = "rows"

// RowIDProperty names the field that ties an answer to the row it is about.
const RowIDProperty = "rowId"

// Schema is the answer asked for each row, with the columns it fills.
type Schema struct {
	row     map[string]any
	Columns []Column
}

// Column is one output column: the answer's value at Path.
type Column struct {
	Name string   // e.g. "hq.city"
	Path []string // e.g. ["hq", "city"]
	Type string   // the JSON Schema type: string, integer, number, boolean, array, object
}

// Lookup returns the value of the column in one decoded answer item, or nil
// when the item does not hold it.
func (c Column) Lookup(item map[string]any) any {
	var v any = item
	for _, key := range c.Path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// fieldTypes maps shorthand types to their JSON Schema.
var fieldTypes = map[string]map[string]any{
	"string":  {"type": "string"},
	"integer": {"type": "integer"},
	"number":  {"type": "number"},
	"boolean": {"type": "boolean"},
}

// ParseFields reads the --fields shorthand: "name:type, name:type, …".
func ParseFields(spec string) (*Schema, error) {
	props := map[string]any{}
	var required []string
	s := &Schema{}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, typ, ok := strings.Cut(part, ":")
		name, typ = strings.TrimSpace(name), strings.TrimSpace(typ)
		if !ok || name == "" || typ == "" {
			return nil, fmt.Errorf("--fields: field %d %q: want name:type", i+1, part)
		}
		if name == RowIDProperty {
			return nil, fmt.Errorf("--fields: field %d: %q is reserved for joining answers to rows", i+1, name)
		}
		if _, dup := props[name]; dup {
			return nil, fmt.Errorf("--fields: field %d: %q is named twice", i+1, name)
		}
		base, ok := fieldTypes[typ]
		if !ok {
			return nil, fmt.Errorf("--fields: field %d %q: unknown type %q (want one of %s)", i+1, name, typ, strings.Join(typeNames(), ", "))
		}
		props[name] = nullable(base)
		required = append(required, name)
		s.Columns = append(s.Columns, Column{Name: name, Path: []string{name}, Type: base["type"].(string)})
	}
	if len(s.Columns) == 0 {
		return nil, fmt.Errorf("--fields: no fields given")
	}
	s.row = map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
	return s, nil
}

func typeNames() []string {
	names := make([]string, 0, len(fieldTypes))
	for n := range fieldTypes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// nullable lets the agent answer null, as it does for any field it cannot
// support from evidence.
func nullable(s map[string]any) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = v
	}
	out["type"] = []any{s["type"], "null"}
	return out
}

// Row returns the per-row JSON Schema.
func (s *Schema) Row() map[string]any { return s.row }

// Batch returns the outputSchema for a run over the rows with these ids.
func (s *Schema) Batch(rowIDs []string) map[string]any {
	props := map[string]any{
		RowIDProperty: map[string]any{"type": "string", "enum": rowIDs},
	}
	rowProps, _ := s.row["properties"].(map[string]any)
	for k, v := range rowProps {
		props[k] = v
	}
	required := []string{RowIDProperty}
	if r, ok := s.row["required"].([]string); ok {
		required = append(required, r...)
	}
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			ItemsProperty: map[string]any{
				"type":     "array",
				"minItems": len(rowIDs),
				"maxItems": len(rowIDs),
				"items": map[string]any{
					"type":                 "object",
					"properties":           props,
					"required":             required,
					"additionalProperties": false,
				},
			},
		},
		"required":             []string{ItemsProperty},
		"additionalProperties": false,
	}
}
