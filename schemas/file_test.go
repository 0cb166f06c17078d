package schemas

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"syntax", "{\n \"type\": \"object\",\n \"properties\": {\n  \"a\": {\"type\": \"string\"},\n  }\n}",
			&SpecError{Source: "row.json", Line: 5, Err: errors.New("invalid character '}' looking for beginning of object key string")}},
		{"not JSON at all", "ceo:string",
			&SpecError{Source: "row.json", Line: 1, Err: errors.New("invalid character 'c' looking for beginning of value")}},
		{"root not an object", `["a"]`,
			&SpecError{Source: "row.json", Line: 1, Err: errors.New(`the root must be a JSON object (an object schema), got ["a"]`)}},
		{"root type array", "{\n \"type\": \"array\",\n \"items\": {}\n}",
			&SpecError{Source: "row.json", Pointer: "/type", Line: 2, Err: errors.New(`the root must be an object schema (type "object"), got type "array"`)}},
		{"root type list without object", "{\n \"type\": [\"string\", \"null\"]\n}",
			&SpecError{Source: "row.json", Pointer: "/type", Line: 2, Err: errors.New(`the root must be an object schema (type "object"), got type ["string","null"]`)}},
		{"no properties", "{\n \"type\": \"object\"\n}",
			&SpecError{Source: "row.json", Line: 1, Err: errors.New(`the root must be an object schema with at least one property under "properties"`)}},
		{"unknown type", "{\n \"type\": \"object\",\n \"properties\": {\n  \"a\": {\"type\": \"strin\"}\n }\n}",
			&SpecError{Source: "row.json", Pointer: "/properties/a/type", Line: 4, Err: errors.New("not a valid JSON Schema: value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'")}},
		{"bad keyword value", "{\"type\": \"object\",\n \"properties\": {\n  \"a\": {\"type\": \"array\",\n   \"minItems\": -1}}}",
			&SpecError{Source: "row.json", Pointer: "/properties/a/minItems", Line: 4, Err: errors.New("not a valid JSON Schema: minimum: got -1, want 0")}},
		{"rowId field", "{\"type\": \"object\",\n \"properties\": {\n  \"rowId\": {\"type\": \"string\"}}}",
			&SpecError{Source: "row.json", Pointer: "/properties/rowId", Line: 3, Err: errors.New(`"rowId" is reserved for joining answers to rows`)}},
		{"duplicate field", "{\"type\": \"object\",\n \"properties\": {\n  \"a\": {\"type\": \"string\"},\n  \"a\": {\"type\": \"integer\"}}}",
			&SpecError{Source: "row.json", Line: 4, Err: errors.New(`key "a" appears twice in the same object`)}},
		{"old draft", "{\"$schema\": \"http://json-schema.org/draft-04/schema#\",\n \"type\": \"object\", \"properties\": {\"a\": {}}}",
			&SpecError{Source: "row.json", Pointer: "/$schema", Line: 1, Err: errors.New(`$schema http://json-schema.org/draft-04/schema# is not one the Agent API accepts (draft-07, 2019-09 or 2020-12)`)}},
		{"remote ref", "{\"type\": \"object\",\n \"properties\": {\n  \"a\": {\"$ref\": \"https://example.com/a.json\"}}}",
			&SpecError{Source: "row.json", Pointer: "/properties/a/$ref", Line: 3, Err: errors.New(`$ref "https://example.com/a.json": only references into $defs or definitions of the same file are supported (the schema is sent to the API as one document)`)}},
		{"two values", `{"type": "object", "properties": {"a": {}}} {}`,
			&SpecError{Source: "row.json", Line: 1, Err: errors.New("more than one JSON value")}},
		{"flattened names clash", `{"type": "object", "properties": {"hq.city": {"type": "string"}, "hq": {"type": "object", "properties": {"city": {"type": "string"}}}}}`,
			&SpecError{Source: "row.json", Pointer: "/properties", Line: 1, Err: errors.New(`two fields make the column "hq.city"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("row.json", []byte(tt.doc))
			if !sameError(err, tt.want) {
				t.Errorf("Parse\n got %#v: %v\nwant %#v: %v", err, err, tt.want, tt.want)
			}
		})
	}
}

func TestParseFileColumns(t *testing.T) {
	s, err := ParseFile("testdata/nested.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []Column{
		{Name: "summary", Path: []string{"summary"}, Type: "string", Arrow: arrow.BinaryTypes.String},
		{Name: "hq.city", Path: []string{"hq", "city"}, Type: "string", Arrow: arrow.BinaryTypes.String},
		{Name: "hq.geo.lat", Path: []string{"hq", "geo", "lat"}, Type: "number", Arrow: arrow.PrimitiveTypes.Float64},
		{Name: "hq.geo.lon", Path: []string{"hq", "geo", "lon"}, Type: "number", Arrow: arrow.PrimitiveTypes.Float64},
		{Name: "founded", Path: []string{"founded"}, Type: "string", Format: "date", Arrow: arrow.FixedWidthTypes.Date32},
		{Name: "offices", Path: []string{"offices"}, Type: "array", Arrow: arrow.ListOf(arrow.StructOf(
			arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "opened", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		))},
	}
	sameColumns(t, s.Columns, want)
}

func TestParseFileRefs(t *testing.T) {
	s, err := ParseFile("testdata/refs.json")
	if err != nil {
		t.Fatal(err)
	}
	place := arrow.StructOf(
		arrow.Field{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	want := []Column{
		{Name: "segment", Path: []string{"segment"}, Type: "string", Arrow: arrow.BinaryTypes.String},
		{Name: "ranking", Path: []string{"ranking"}, Type: "integer", Arrow: arrow.PrimitiveTypes.Int64},
		{Name: "hq.country", Path: []string{"hq", "country"}, Type: "string", Arrow: arrow.BinaryTypes.String},
		{Name: "hq.city", Path: []string{"hq", "city"}, Type: "string", Arrow: arrow.BinaryTypes.String},
		{Name: "branches", Path: []string{"branches"}, Type: "array", Arrow: arrow.ListOf(place)},
		{Name: "extra", Path: []string{"extra"}, Type: "object", Arrow: arrow.BinaryTypes.String},
		{Name: "either", Path: []string{"either"}, Type: "", Arrow: arrow.BinaryTypes.String},
	}
	sameColumns(t, s.Columns, want)

	// $defs move to the batch's root, so the refs still resolve: the
	// validator follows them.
	batch := s.Batch([]string{"1"})
	if _, ok := batch["$defs"]; !ok {
		t.Errorf("batch schema lost $defs: %v", jsonText(batch))
	}
	err = s.Validate(map[string]any{"rowId": "1", "segment": "huge", "hq": map[string]any{"city": 7}})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "hq.city" || ve.Fields[1].Field != "segment" {
		t.Errorf("Validate through $ref = %v, want hq.city and segment wrong", err)
	}
}

func sameColumns(t *testing.T, got, want []Column) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d columns %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || !reflect.DeepEqual(g.Path, w.Path) || g.Type != w.Type || g.Format != w.Format || !arrow.TypeEqual(g.Arrow, w.Arrow) {
			t.Errorf("column %d\n got %+v (%s)\nwant %+v (%s)", i, g, g.Arrow, w, w.Arrow)
		}
	}
}

func TestParseNullableRoot(t *testing.T) {
	s, err := Parse("row.json", []byte(`{"type": ["object", "null"], "properties": {"a": {"type": "string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(map[string]any{"rowId": "1", "a": "x"}); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.json")
	if err := os.WriteFile(path, []byte(`{"type": "object", "properties": {"a": {"type": "string"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load("company")
	if err != nil || s.Source != "company" {
		t.Fatalf(`Load("company") = %v, %v; want the built-in`, s, err)
	}
	s, err = Load(path)
	if err != nil || s.Source != path || s.Columns[0].Name != "a" {
		t.Fatalf("Load(%q) = %v, %v; want the file", path, s, err)
	}
	_, err = Load("compnay")
	if err == nil || !strings.Contains(err.Error(), `no built-in schema "compnay" (built-ins: company, contact, person)`) {
		t.Errorf(`Load("compnay") = %v; want the built-ins listed`, err)
	}
	_, err = Load(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v; want ErrNotExist", err)
	}
}

func TestBuiltins(t *testing.T) {
	infos := Builtins()
	if len(infos) < 3 {
		t.Fatalf("Builtins() = %v; want company, contact, person", infos)
	}
	for _, info := range infos {
		if info.Description == "" {
			t.Errorf("built-in %q has no description", info.Name)
		}
		if _, err := Builtin(info.Name); err != nil {
			t.Errorf("built-in %q does not compile: %v", info.Name, err)
		}
	}
}
