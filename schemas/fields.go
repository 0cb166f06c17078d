package schemas

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// FieldsSource is the Source of a schema written with the shorthand.
const FieldsSource = "--fields"

// fieldTypes maps the shorthand's types to their JSON Schema, before null
// is allowed.
var fieldTypes = map[string]map[string]any{
	"string":   {"type": "string"},
	"integer":  {"type": "integer"},
	"number":   {"type": "number"},
	"boolean":  {"type": "boolean"},
	"date":     {"type": "string", "format": "date"},
	"datetime": {"type": "string", "format": "date-time"},
	"url":      {"type": "string", "format": "uri"},
	"email":    {"type": "string", "format": "email"},
	"phone":    {"type": "string", "format": "phone"},
}

// FieldTypes lists the shorthand's types, for help texts.
func FieldTypes() []string {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range fieldTypes {
			if !yield(n) {
				return
			}
		}
	})
	return append(names, "enum(a|b|…)")
}

// ParseFields reads the --fields shorthand:
//
//	name:type[=description], name:type[=description], …
//
// Types are string, integer, number, boolean, date, datetime, url, email,
// phone and enum(a|b|c); a "[]" suffix makes a list (tags:string[]). Fields
// are split on commas, except commas inside enum(…) or inside a description
// in double quotes: ceo:string="chief executive, or founder". An unquoted
// description ends at the next comma. Names hold letters, digits, "_", "-"
// and inner spaces, and start with a letter or "_". Every field may be null.
func ParseFields(spec string) (*Schema, error) {
	parts, err := splitFields(spec)
	if err != nil {
		return nil, &SpecError{Source: FieldsSource, Err: err}
	}
	props := map[string]any{}
	var required []any
	var order []string
	for i, part := range parts {
		fail := func(err error) error {
			return &SpecError{Source: FieldsSource, Field: i + 1, Text: part, Err: err}
		}
		name, sch, err := parseField(part)
		if err != nil {
			if i > 0 && !strings.Contains(part, ":") && strings.Contains(parts[i-1], "=") {
				err = fmt.Errorf("%w (a description that holds a comma must be quoted: name:type=\"…, …\")", err)
			}
			return nil, fail(err)
		}
		if name == RowIDProperty {
			return nil, fail(fmt.Errorf("%q is reserved for joining answers to rows", name))
		}
		if _, dup := props[name]; dup {
			return nil, fail(fmt.Errorf("%q is named twice", name))
		}
		props[name] = sch
		required = append(required, name)
		order = append(order, name)
	}
	if len(props) == 0 {
		return nil, &SpecError{Source: FieldsSource, Err: errors.New("no fields given: want name:type, name:type, …")}
	}
	row := map[string]any{
		"$schema":              Draft2020,
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
	return newSchema(FieldsSource, row, map[string][]string{"": {"$schema", "type", "properties", "required", "additionalProperties"}, "/properties": order}, nil)
}

// splitFields cuts the shorthand at commas outside parentheses and quotes.
func splitFields(spec string) ([]string, error) {
	var parts []string
	depth, quoted, start := 0, false, 0
	for i, r := range spec {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '(':
			depth++
		case r == ')':
			depth = max(depth-1, 0)
		case r == ',' && depth == 0:
			parts = append(parts, spec[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("a double quote is not closed")
	}
	parts = append(parts, spec[start:])
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// parseField reads one name:type[=description].
func parseField(part string) (string, map[string]any, error) {
	name, rest, ok := strings.Cut(part, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", nil, errors.New("want name:type")
	}
	if err := checkName(name); err != nil {
		return "", nil, err
	}
	typ, desc, hasDesc := cutDescription(rest)
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return "", nil, errors.New("want name:type, the type is missing")
	}
	list := false
	if t, ok := strings.CutSuffix(typ, "[]"); ok {
		typ, list = strings.TrimSpace(t), true
	}
	base, err := baseType(typ)
	if err != nil {
		return "", nil, err
	}
	var sch map[string]any
	if list {
		sch = map[string]any{"type": []any{"array", "null"}, "items": base}
	} else {
		sch = nullable(base)
	}
	if hasDesc {
		desc = strings.TrimSpace(desc)
		if unq, ok := strings.CutPrefix(desc, `"`); ok {
			if desc, ok = strings.CutSuffix(unq, `"`); !ok {
				return "", nil, errors.New("a quoted description must end with its closing quote")
			}
		}
		if desc == "" {
			return "", nil, errors.New(`the description after "=" is empty`)
		}
		sch["description"] = desc
	}
	return name, sch, nil
}

// cutDescription splits "type=description" at the first "=" outside
// parentheses, so enum values may hold "=".
func cutDescription(s string) (string, string, bool) {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth = max(depth-1, 0)
		case '=':
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

func baseType(typ string) (map[string]any, error) {
	lower := strings.ToLower(typ)
	if inner, ok := strings.CutPrefix(lower, "enum("); ok {
		if !strings.HasSuffix(inner, ")") {
			return nil, fmt.Errorf("enum %q: want enum(a|b|c)", typ)
		}
		body := typ[len("enum(") : len(typ)-1] // values keep their case
		var values []any
		seen := map[string]bool{}
		for v := range strings.SplitSeq(body, "|") {
			v = strings.TrimSpace(v)
			if v == "" {
				return nil, fmt.Errorf("enum %q: empty value", typ)
			}
			if seen[v] {
				return nil, fmt.Errorf("enum %q: value %q is listed twice", typ, v)
			}
			seen[v] = true
			values = append(values, v)
		}
		return map[string]any{"type": "string", "enum": values}, nil
	}
	base, ok := fieldTypes[lower]
	if !ok {
		return nil, fmt.Errorf("unknown type %q (want one of %s)", typ, strings.Join(FieldTypes(), ", "))
	}
	return cloneMap(base), nil
}

// checkName keeps field names usable as JSON properties and column names:
// no dots (they name nested columns), no punctuation the shorthand uses.
func checkName(name string) error {
	for i, r := range name {
		ok := r == '_' || unicode.IsLetter(r) || i > 0 && (unicode.IsDigit(r) || r == '-' || r == ' ')
		if !ok {
			return fmt.Errorf("name %q: names start with a letter or _ and hold only letters, digits, _, - and spaces (use --schema for nested objects)", name)
		}
	}
	return nil
}

// nullable lets the agent answer null, as it does for any field it cannot
// support from evidence.
func nullable(s map[string]any) map[string]any {
	out := cloneMap(s)
	out["type"] = []any{s["type"], "null"}
	if enum, ok := s["enum"].([]any); ok {
		out["enum"] = append(slices.Clone(enum), nil)
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
