// Package schemas turns what a person asks for about each row into the JSON
// Schema the Agent API needs, checks each answer against it, and turns the
// answer back into typed output columns.
//
// A per-row schema describes one answer. It comes from the --fields
// shorthand (ParseFields), a JSON Schema file (ParseFile) or a built-in
// named schema (Builtin); Load picks between the last two. The batch schema
// sent with a run (Schema.Batch) wraps it in the shape Exa's own spreadsheet
// add-on uses: an object holding one array, "rows", whose items each carry a
// rowId drawn from an enum of the ids sent, with exactly as many items as
// rows and no properties beyond those asked for.
//
// The agent answers null for any field it cannot support from evidence,
// even a required one: null (or an omitted field) is a missing value, never
// a violation (Schema.Validate).
package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ItemsProperty names the array that holds one answer per row.
const ItemsProperty = "rows"

// RowIDProperty names the field that ties an answer to the row it is about.
const RowIDProperty = "rowId"

// Draft2020 is the $schema sent when the per-row schema names none.
const Draft2020 = "https://json-schema.org/draft/2020-12/schema"

// drafts are the $schema values the Agent API accepts, by how people write
// them (with or without the trailing "#", http or https).
var drafts = map[string]bool{
	"http://json-schema.org/draft-07/schema":       true,
	"https://json-schema.org/draft/2019-09/schema": true,
	"https://json-schema.org/draft/2020-12/schema": true,
}

// Schema is the answer asked for each row, with the columns it fills. It is
// immutable once built: WithIdentity and WithPrefix return new Schemas.
type Schema struct {
	// Source says where the schema came from: "--fields", a built-in's
	// name, or a file path. Errors start with it.
	Source string
	// Columns are the output columns, in the order the fields were written.
	Columns []Column

	row      map[string]any      // the per-row JSON Schema as written (decoded with json.Number)
	order    map[string][]string // JSON pointer of each object in row → its keys as written
	identity []string            // key columns each item echoes, when identity is on
	item     *jsonschema.Schema  // compiled validator for one answer item
}

// SpecError is a mistake in what was asked for, with where it is: the field
// (1-based) and its text for the shorthand, the JSON pointer and line for a
// file.
type SpecError struct {
	Source  string // "--fields", a built-in's name, or a file path
	Field   int    // the shorthand field, counting from 1; 0 for files
	Text    string // the shorthand field as written
	Pointer string // where in a file, as a JSON pointer; "" for its root
	Line    int    // the line of a file; 0 when unknown
	Err     error
}

func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	switch {
	case e.Field > 0:
		fmt.Fprintf(&b, ": field %d %q", e.Field, e.Text)
	case e.Line > 0 && e.Pointer != "":
		fmt.Fprintf(&b, ": line %d (%s)", e.Line, e.Pointer)
	case e.Line > 0:
		fmt.Fprintf(&b, ": line %d", e.Line)
	case e.Pointer != "":
		fmt.Fprintf(&b, ": %s", e.Pointer)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *SpecError) Unwrap() error { return e.Err }

// newSchema checks a per-row schema, derives its columns and compiles its
// validator. at maps a JSON pointer to a line, for errors (nil: no lines).
func newSchema(source string, row map[string]any, order map[string][]string, at func(ptr string) int) (*Schema, error) {
	fail := func(ptr string, err error) error {
		line := 0
		if at != nil {
			line = at(ptr)
		}
		return &SpecError{Source: source, Pointer: ptr, Line: line, Err: err}
	}
	if d, ok := row["$schema"]; ok {
		ds, _ := d.(string)
		if !drafts[strings.TrimSuffix(ds, "#")] {
			return nil, fail("/$schema", fmt.Errorf("$schema %v is not one the Agent API accepts (draft-07, 2019-09 or 2020-12)", d))
		}
	}
	if t, ok := row["type"]; ok && !objectType(t) {
		return nil, fail("/type", fmt.Errorf(`the root must be an object schema (type "object"), got type %v`, jsonText(t)))
	}
	props, ok := row["properties"].(map[string]any)
	if !ok || len(props) == 0 {
		return nil, fail("", errors.New("the root must be an object schema with at least one property under \"properties\""))
	}
	if _, ok := props[RowIDProperty]; ok {
		return nil, fail("/properties/"+RowIDProperty, fmt.Errorf("%q is reserved for joining answers to rows", RowIDProperty))
	}
	if ptr, ref := foreignRef(row, ""); ptr != "" {
		return nil, fail(ptr, fmt.Errorf("$ref %q: only references into $defs or definitions of the same file are supported (the schema is sent to the API as one document)", ref))
	}
	if err := compileRow(row); err != nil {
		ptr, msg := schemaProblem(err)
		return nil, fail(ptr, fmt.Errorf("not a valid JSON Schema: %s", msg))
	}
	s := &Schema{Source: source, row: row, order: order}
	cols, err := deriveColumns(row, order)
	if err != nil {
		var ce *columnError
		if errors.As(err, &ce) {
			return nil, fail(ce.ptr, ce.err)
		}
		return nil, &SpecError{Source: source, Err: err}
	}
	s.Columns = cols
	if err := s.compileItem(); err != nil {
		return nil, &SpecError{Source: source, Err: err}
	}
	return s, nil
}

// objectType reports a root type that is an object: "object", or a list of
// "object" and perhaps "null" (the batch item is always an object).
func objectType(t any) bool {
	if t == "object" {
		return true
	}
	list, ok := t.([]any)
	return ok && slices.Contains(list, any("object")) && !slices.ContainsFunc(list, func(x any) bool { return x != "object" && x != "null" })
}

// foreignRef finds a $ref the batch schema could not resolve: one that
// points outside $defs/definitions, or outside the document. Rows are
// embedded under /properties/rows/items of the batch, so only definitions,
// which move to the batch's root, keep their address.
func foreignRef(v any, ptr string) (string, string) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			if !strings.HasPrefix(ref, "#/$defs/") && !strings.HasPrefix(ref, "#/definitions/") {
				return ptr + "/$ref", ref
			}
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if k == "enum" || k == "const" || k == "examples" || k == "default" {
				continue // data, not schemas
			}
			if p, ref := foreignRef(v[k], ptr+"/"+escapePointer(k)); p != "" {
				return p, ref
			}
		}
	case []any:
		for i, x := range v {
			if p, ref := foreignRef(x, fmt.Sprintf("%s/%d", ptr, i)); p != "" {
				return p, ref
			}
		}
	}
	return "", ""
}

// Row returns the per-row JSON Schema as written. Callers must not modify it.
func (s *Schema) Row() map[string]any { return s.row }

// Identity returns the key columns each answer echoes, or nil when
// identity is off.
func (s *Schema) Identity() []string { return slices.Clone(s.identity) }

// WithIdentity returns a copy of s whose batch schema asks the agent to echo
// the given key columns in each item (one string property per column, named
// after it), so that an answer about the wrong entity can be caught
// (CheckIdentity). No keys turns identity off.
func (s *Schema) WithIdentity(keys []string) (*Schema, error) {
	props, _ := s.row["properties"].(map[string]any)
	seen := map[string]bool{}
	for _, k := range keys {
		switch {
		case strings.TrimSpace(k) == "":
			return nil, fmt.Errorf("identity: key column names must not be empty")
		case k == RowIDProperty:
			return nil, fmt.Errorf("identity: key column %q is reserved for joining answers to rows", k)
		case seen[k]:
			return nil, fmt.Errorf("identity: key column %q is named twice", k)
		}
		if _, ok := props[k]; ok {
			return nil, fmt.Errorf("identity: key column %q is also a field of the answer; rename the field", k)
		}
		seen[k] = true
	}
	c := *s
	c.identity = slices.Clone(keys)
	if err := c.compileItem(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Batch returns the outputSchema for a run over the rows with these ids.
// Its JSON is deterministic: the same schema and ids marshal to the same
// bytes. Callers must not modify it: nested values are shared with s.
func (s *Schema) Batch(rowIDs []string) map[string]any {
	ids := make([]any, len(rowIDs))
	for i, id := range rowIDs {
		ids[i] = id
	}
	return s.batch(map[string]any{"type": "string", "enum": ids}, len(rowIDs))
}

// batch builds the batch schema around a rowId schema; n < 0 leaves the
// array's length open (for validating one item).
func (s *Schema) batch(rowID map[string]any, n int) map[string]any {
	root := map[string]any{"$schema": Draft2020}
	item := map[string]any{}
	for k, v := range s.row {
		switch k {
		case "$schema":
			root[k] = v
		case "$id":
			// The batch is a new document; the row's $id would re-base its refs.
		case "$defs", "definitions":
			root[k] = v // refs into them keep their address
		default:
			item[k] = v
		}
	}
	props := map[string]any{RowIDProperty: rowID}
	required := []any{RowIDProperty}
	for _, k := range s.identity {
		props[k] = map[string]any{
			"type":        "string",
			"description": fmt.Sprintf("Echo the row's %q value exactly as given, naming the entity this answer is about.", k),
		}
		required = append(required, k)
	}
	rowProps, _ := s.row["properties"].(map[string]any)
	maps.Copy(props, rowProps)
	if r, ok := s.row["required"].([]any); ok {
		required = append(required, r...)
	}
	item["type"] = "object"
	item["properties"] = props
	item["required"] = required
	item["additionalProperties"] = false
	rows := map[string]any{"type": "array", "items": item}
	if n >= 0 {
		rows["minItems"] = n
		rows["maxItems"] = n
	}
	root["type"] = "object"
	root["properties"] = map[string]any{ItemsProperty: rows}
	root["required"] = []any{ItemsProperty}
	root["additionalProperties"] = false
	return root
}

// CheckIdentity reports an answer whose echoed key fields do not name the
// row it is joined to. row holds the row's cells by column name. Values are
// compared ignoring case, surrounding space and runs of inner space. An echo
// that is missing or null cannot confirm the entity and counts as a
// mismatch. With identity off it always returns nil.
func (s *Schema) CheckIdentity(item, row map[string]any) error {
	var bad []string
	for _, k := range s.identity {
		want := fmt.Sprint(row[k])
		got, ok := item[k].(string)
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s: the answer does not echo it (want %q)", k, want))
		case normalizeKey(got) != normalizeKey(want):
			bad = append(bad, fmt.Sprintf("%s: the answer is about %q, the row is %q", k, got, want))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("answer about another entity: %s", strings.Join(bad, "; "))
}

func normalizeKey(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// jsonText renders a schema value for an error message.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
