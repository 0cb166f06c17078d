package schemas

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// ValidationError lists every field of one answer that breaks the per-row
// schema.
type ValidationError struct {
	Fields []FieldError
}

// FieldError is one field of an answer and what is wrong with it.
type FieldError struct {
	Field   string // dotted path inside the answer, "" for the answer itself: "hq.city", "tags[1]"
	Value   any    // the offending value (nil when the problem is the item's shape)
	Problem string // e.g. "got string, want integer"
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		switch {
		case f.Field == "":
			parts[i] = f.Problem
		case f.Value == nil:
			parts[i] = f.Field + ": " + f.Problem
		default:
			parts[i] = fmt.Sprintf("%s (%s): %s", f.Field, jsonText(f.Value), f.Problem)
		}
	}
	return "the answer does not fit the schema: " + strings.Join(parts, "; ")
}

// newCompiler returns a compiler that asserts formats (dates, URLs, emails
// become typed columns, so a malformed one is a wrong answer) and knows the
// API's "phone" format.
func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "phone", Validate: validatePhone})
	return c
}

// compileRow checks the per-row schema, as written, against its metaschema,
// so errors point into the user's own document.
func compileRow(row map[string]any) error {
	doc, err := roundTrip(row)
	if err != nil {
		return err
	}
	c := newCompiler()
	if err := c.AddResource("row.json", doc); err != nil {
		return err
	}
	_, err = c.Compile("row.json")
	return err
}

// compileItem compiles the validator for one answer item: the batch's item
// schema, with rowId any string (the pipeline joins by it before validating).
func (s *Schema) compileItem() error {
	doc, err := roundTrip(s.batch(map[string]any{"type": "string"}, -1))
	if err != nil {
		return err
	}
	c := newCompiler()
	if err := c.AddResource("batch.json", doc); err != nil {
		return err
	}
	item, err := c.Compile("batch.json#/properties/" + ItemsProperty + "/items")
	if err != nil {
		return fmt.Errorf("compiling the batch schema: %w", err)
	}
	s.item = item
	return nil
}

// roundTrip turns Go values ([]string, int) into the JSON values the
// compiler reads.
func roundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// schemaProblem turns a compile error into the pointer it is about and a
// message.
func schemaProblem(err error) (string, string) {
	var sve *jsonschema.SchemaValidationError
	if !errors.As(err, &sve) {
		return "", err.Error()
	}
	var ve *jsonschema.ValidationError
	if !errors.As(sve.Err, &ve) {
		return "", sve.Err.Error()
	}
	// The metaschema's alternatives each add a complaint (type: a name or a
	// list of names); the first one at the deepest place is the one a
	// person can act on.
	best := ve
	for _, l := range leafErrors(ve, nil) {
		if len(l.InstanceLocation) > len(best.InstanceLocation) {
			best = l
		}
	}
	return pointerOf(best.InstanceLocation), best.ErrorKind.LocalizedString(printer)
}

func leafErrors(e *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return append(out, e)
	}
	for _, c := range e.Causes {
		out = leafErrors(c, out)
	}
	return out
}

func pointerOf(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}

// Validate checks one answer item (decoded from JSON, numbers as
// json.Number or float64) against the per-row schema, rowId and identity
// echoes included. Null, or an omitted field, is a missing value and never a
// violation; everything else wrong comes back as a *ValidationError listing
// each field.
func (s *Schema) Validate(item map[string]any) error {
	err := s.item.Validate(any(item))
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validating the answer: %w", err)
	}
	var fields []FieldError
	for _, l := range leafErrors(ve, nil) {
		if _, ok := l.ErrorKind.(*kind.Required); ok {
			continue // an omitted field reads as null: missing, not wrong
		}
		v, found := valueAt(item, l.InstanceLocation)
		if found && v == nil {
			continue // null where a value was wanted: the agent found no evidence
		}
		f := FieldError{Field: fieldName(l.InstanceLocation), Problem: problem(l.ErrorKind)}
		if _, isObj := v.(map[string]any); !isObj {
			f.Value = v
		}
		fields = append(fields, f)
	}
	if len(fields) == 0 {
		return nil
	}
	// The library's order follows map iteration; people read a stable one.
	slices.SortStableFunc(fields, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Problem, b.Problem))
	})
	return &ValidationError{Fields: fields}
}

// problem says what is wrong in the answer's terms: null is always allowed,
// so it is left out of what was wanted.
func problem(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		want := slices.DeleteFunc(slices.Clone(k.Want), func(t string) bool { return t == "null" })
		return fmt.Sprintf("got %s, want %s", k.Got, strings.Join(want, " or "))
	case *kind.Enum:
		var want []string
		for _, v := range k.Want {
			if v != nil {
				want = append(want, jsonText(v))
			}
		}
		return "want one of " + strings.Join(want, ", ")
	case *kind.Format:
		return "not a valid " + k.Want
	case *kind.AdditionalProperties:
		return "fields not asked for: " + strings.Join(k.Properties, ", ")
	}
	return k.LocalizedString(printer)
}

// valueAt follows an instance location into a decoded item.
func valueAt(item map[string]any, loc []string) (any, bool) {
	var v any = item
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// fieldName writes an instance location the way columns are named:
// hq.city, tags[1].
func fieldName(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil {
			fmt.Fprintf(&b, "[%s]", tok)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

var phoneExtension = regexp.MustCompile(`(?i)\s*(?:ext\.?|x|#)\s*\d{1,6}$`)

// validatePhone accepts a telephone number as people write them: digits,
// spaces, dashes, dots and parentheses, an optional leading "+", an
// optional extension ("x 12", "ext. 12"), and 7 to 15 digits (E.164's most).
func validatePhone(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil // formats constrain strings only
	}
	body := strings.TrimSpace(phoneExtension.ReplaceAllString(s, ""))
	body = strings.TrimPrefix(body, "+")
	digits := 0
	for _, r := range body {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" -.()", r):
		default:
			return fmt.Errorf("%q is not a phone number: unexpected %q", s, r)
		}
	}
	if digits < 7 || digits > 15 {
		return fmt.Errorf("%q is not a phone number: %d digits, want 7 to 15", s, digits)
	}
	return nil
}
