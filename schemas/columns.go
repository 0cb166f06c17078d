package schemas

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Column is one output column: the answer's value at Path.
//
// Nested objects are flattened into one column per leaf, named
// "parent.child". Lists stay one column: a list in Parquet, JSON text in
// CSV and XLSX. Values are as decoded from JSON; a date is still its
// "2006-01-02" text and a date-time its RFC 3339 text, for the writer to
// convert to Arrow's Date32 or Timestamp.
type Column struct {
	Name   string   // the output column's name, prefix included: "hq.city", "ai_hq.city"
	Path   []string // where the value sits in an answer item: ["hq", "city"]
	Type   string   // JSON type: string, integer, number, boolean, array, object; "" when several are allowed
	Format string   // the string format, when one is set: date, date-time, uri, email, phone…
	// Arrow is the Parquet column type: string, int64, float64, bool,
	// date32, timestamp[us, UTC] or list<…> of those (list<struct<…>> for a
	// list of objects). An object without properties, or a value of several
	// types, is string: JSON text.
	Arrow arrow.DataType
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

// WithPrefix returns a copy of s whose column names start with prefix
// (for --prefix ai_: "ai_ceo"). The answer's fields keep their names.
func (s *Schema) WithPrefix(prefix string) *Schema {
	c := *s
	c.Columns = slices.Clone(s.Columns)
	for i := range c.Columns {
		c.Columns[i].Name = prefix + strings.Join(c.Columns[i].Path, ".")
	}
	return &c
}

// CheckCollisions reports every answer column named like one of the source
// columns: the output could not tell them apart. A prefix (WithPrefix) is
// the usual way out.
func (s *Schema) CheckCollisions(source []string) error {
	var errs []error
	for _, c := range s.Columns {
		if slices.Contains(source, c.Name) {
			errs = append(errs, &CollisionError{Column: c.Name, Field: strings.Join(c.Path, ".")})
		}
	}
	return errors.Join(errs...)
}

// CollisionError is an answer column named like a source column.
type CollisionError struct {
	Column string // the name both share
	Field  string // the answer field that makes the column
}

func (e *CollisionError) Error() string {
	return fmt.Sprintf("answer field %q would make column %q, but %q is already a column of the input", e.Field, e.Column, e.Column)
}

// columnError is a problem deriving columns, with where it is.
type columnError struct {
	ptr string
	err error
}

func (e *columnError) Error() string { return e.ptr + ": " + e.err.Error() }

// deriveColumns flattens the per-row schema into columns, in the order its
// properties are written.
func deriveColumns(row map[string]any, order map[string][]string) ([]Column, error) {
	d := columnDeriver{root: row, order: order}
	var cols []Column
	if err := d.object(row, "", nil, &cols); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.Name] {
			return nil, &columnError{ptr: "/properties", err: fmt.Errorf("two fields make the column %q", c.Name)}
		}
		seen[c.Name] = true
	}
	return cols, nil
}

type columnDeriver struct {
	root  map[string]any
	order map[string][]string
}

// keys returns an object's properties in written order (sorted when the
// order is unknown).
func (d *columnDeriver) keys(ptr string, props map[string]any) []string {
	if keys, ok := d.order[ptr+"/properties"]; ok && len(keys) == len(props) {
		return keys
	}
	return slices.Sorted(maps.Keys(props))
}

func (d *columnDeriver) object(sch map[string]any, ptr string, path []string, cols *[]Column) error {
	props, _ := sch["properties"].(map[string]any)
	for _, name := range d.keys(ptr, props) {
		sub, subPtr := d.resolve(props[name], ptr+"/properties/"+escapePointer(name))
		if sub == nil {
			return &columnError{ptr: ptr + "/properties/" + escapePointer(name), err: errors.New("a property's schema must be an object")}
		}
		p := append(slices.Clone(path), name)
		typ := d.typeOf(sub)
		if _, nested := sub["properties"].(map[string]any); nested && typ == "object" {
			if err := d.object(sub, subPtr, p, cols); err != nil {
				return err
			}
			continue
		}
		format, _ := sub["format"].(string)
		*cols = append(*cols, Column{
			Name:   strings.Join(p, "."),
			Path:   p,
			Type:   typ,
			Format: format,
			Arrow:  d.arrowOf(sub, subPtr, 0),
		})
	}
	return nil
}

// resolve follows local $refs and unwraps "X or null" written as
// anyOf/oneOf, returning the schema that says what the value is.
func (d *columnDeriver) resolve(v any, ptr string) (map[string]any, string) {
	for range 32 { // a longer chain is a cycle
		sch, ok := v.(map[string]any)
		if !ok {
			return nil, ptr
		}
		if ref, ok := sch["$ref"].(string); ok {
			target, ok := d.lookup(ref)
			if !ok {
				return sch, ptr
			}
			v, ptr = target, strings.TrimPrefix(ref, "#")
			continue
		}
		if kw, alt := nonNullAlternative(sch); alt >= 0 {
			v, ptr = sch[kw].([]any)[alt], fmt.Sprintf("%s/%s/%d", ptr, kw, alt)
			continue
		}
		return sch, ptr
	}
	return map[string]any{}, ptr
}

// nonNullAlternative finds X in {anyOf: [X, {type: null}]} (or oneOf),
// returning the keyword and X's index, or -1.
func nonNullAlternative(sch map[string]any) (string, int) {
	if _, typed := sch["type"]; typed {
		return "", -1
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		list, ok := sch[kw].([]any)
		if !ok || len(list) != 2 {
			continue
		}
		for i := range list {
			other, _ := list[1-i].(map[string]any)
			if other["type"] == "null" && len(other) == 1 {
				return kw, i
			}
		}
	}
	return "", -1
}

func (d *columnDeriver) lookup(ref string) (any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	toks := strings.Split(ptr, "/")
	for i, tok := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	}
	return valueAt(d.root, toks)
}

// typeOf returns the one JSON type a schema allows besides null, "" when it
// allows several or says nothing that tells.
func (d *columnDeriver) typeOf(sch map[string]any) string {
	switch t := sch["type"].(type) {
	case string:
		return t
	case []any:
		var types []string
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				types = append(types, s)
			}
		}
		if len(types) == 2 && slices.Contains(types, "integer") && slices.Contains(types, "number") {
			return "number"
		}
		if len(types) == 1 {
			return types[0]
		}
		return ""
	}
	if _, ok := sch["properties"]; ok {
		return "object"
	}
	if _, ok := sch["items"]; ok {
		return "array"
	}
	values, _ := sch["enum"].([]any)
	if c, ok := sch["const"]; ok {
		values = []any{c}
	}
	typ := ""
	for _, v := range values {
		var t string
		switch v.(type) {
		case nil:
			continue
		case string:
			t = "string"
		case bool:
			t = "boolean"
		default:
			t = "number"
		}
		if typ != "" && typ != t {
			return ""
		}
		typ = t
	}
	return typ
}

var timestampUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

func (d *columnDeriver) arrowOf(sch map[string]any, ptr string, depth int) arrow.DataType {
	if depth > 16 { // a recursive schema: keep the rest as JSON text
		return arrow.BinaryTypes.String
	}
	switch d.typeOf(sch) {
	case "integer":
		return arrow.PrimitiveTypes.Int64
	case "number":
		return arrow.PrimitiveTypes.Float64
	case "boolean":
		return arrow.FixedWidthTypes.Boolean
	case "string":
		switch sch["format"] {
		case "date":
			return arrow.FixedWidthTypes.Date32
		case "date-time":
			return timestampUTC
		}
		return arrow.BinaryTypes.String
	case "array":
		items, itemsPtr := d.resolve(sch["items"], ptr+"/items")
		if items == nil { // no items schema, or draft-07 tuple items
			return arrow.ListOf(arrow.BinaryTypes.String)
		}
		return arrow.ListOf(d.arrowOf(items, itemsPtr, depth+1))
	case "object":
		props, ok := sch["properties"].(map[string]any)
		if !ok || len(props) == 0 {
			return arrow.BinaryTypes.String
		}
		fields := make([]arrow.Field, 0, len(props))
		for _, name := range d.keys(ptr, props) {
			sub, subPtr := d.resolve(props[name], ptr+"/properties/"+escapePointer(name))
			if sub == nil {
				sub = map[string]any{}
			}
			fields = append(fields, arrow.Field{Name: name, Type: d.arrowOf(sub, subPtr, depth+1), Nullable: true})
		}
		return arrow.StructOf(fields...)
	}
	return arrow.BinaryTypes.String
}
