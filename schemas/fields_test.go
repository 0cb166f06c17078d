package schemas

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParseFieldsTypes(t *testing.T) {
	tests := []struct {
		spec   string
		schema string // the property's JSON Schema, as JSON
		typ    string // the column's JSON type
		arrow  arrow.DataType
	}{
		{"x:string", `{"type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:integer", `{"type":["integer","null"]}`, "integer", arrow.PrimitiveTypes.Int64},
		{"x:number", `{"type":["number","null"]}`, "number", arrow.PrimitiveTypes.Float64},
		{"x:boolean", `{"type":["boolean","null"]}`, "boolean", arrow.FixedWidthTypes.Boolean},
		{"x:date", `{"format":"date","type":["string","null"]}`, "string", arrow.FixedWidthTypes.Date32},
		{"x:datetime", `{"format":"date-time","type":["string","null"]}`, "string", timestampUTC},
		{"x:url", `{"format":"uri","type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:email", `{"format":"email","type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:phone", `{"format":"phone","type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:enum(seed|series_a|growth)", `{"enum":["seed","series_a","growth",null],"type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:enum( A | b=c )", `{"enum":["A","b=c",null],"type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:String", `{"type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:string[]", `{"items":{"type":"string"},"type":["array","null"]}`, "array", arrow.ListOf(arrow.BinaryTypes.String)},
		{"x:integer[]", `{"items":{"type":"integer"},"type":["array","null"]}`, "array", arrow.ListOf(arrow.PrimitiveTypes.Int64)},
		{"x:date[]", `{"items":{"format":"date","type":"string"},"type":["array","null"]}`, "array", arrow.ListOf(arrow.FixedWidthTypes.Date32)},
		{"x:enum(a|b)[]", `{"items":{"enum":["a","b"],"type":"string"},"type":["array","null"]}`, "array", arrow.ListOf(arrow.BinaryTypes.String)},
		{"x:string=current chief executive", `{"description":"current chief executive","type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{`x:string="chief executive, or founder"`, `{"description":"chief executive, or founder","type":["string","null"]}`, "string", arrow.BinaryTypes.String},
		{"x:url[]=press pages", `{"description":"press pages","items":{"format":"uri","type":"string"},"type":["array","null"]}`, "array", arrow.ListOf(arrow.BinaryTypes.String)},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseFields(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			prop := s.Row()["properties"].(map[string]any)["x"]
			got, _ := json.Marshal(prop)
			if string(got) != tt.schema {
				t.Errorf("schema\n got %s\nwant %s", got, tt.schema)
			}
			if len(s.Columns) != 1 {
				t.Fatalf("got %d columns, want 1", len(s.Columns))
			}
			c := s.Columns[0]
			if c.Name != "x" || !reflect.DeepEqual(c.Path, []string{"x"}) || c.Type != tt.typ || !arrow.TypeEqual(c.Arrow, tt.arrow) {
				t.Errorf("column = %+v (arrow %s), want x %s %s", c, c.Arrow, tt.typ, tt.arrow)
			}
		})
	}
}

func TestParseFieldsKeepsOrder(t *testing.T) {
	s, err := ParseFields("zeta:string, alpha:integer=how many, then, mid:enum(a|b, c)")
	if err == nil {
		t.Fatalf("an unquoted description with a comma parsed: %v", s.Columns)
	}
	s, err = ParseFields(`zeta:string, alpha:integer="how many, then", mid:enum(a|b), Last Name:string`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range s.Columns {
		names = append(names, c.Name)
	}
	if want := []string{"zeta", "alpha", "mid", "Last Name"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %q, want %q", names, want)
	}
	req := s.Row()["required"]
	if want := []any{"zeta", "alpha", "mid", "Last Name"}; !reflect.DeepEqual(req, want) {
		t.Errorf("required %v, want %v", req, want)
	}
}

func TestParseFieldsErrors(t *testing.T) {
	tests := []struct {
		spec string
		want error
	}{
		{"", &SpecError{Source: "--fields", Err: errors.New("no fields given: want name:type, name:type, …")}},
		{" , ,", &SpecError{Source: "--fields", Err: errors.New("no fields given: want name:type, name:type, …")}},
		{"ceo:text", &SpecError{Source: "--fields", Field: 1, Text: "ceo:text", Err: errors.New(`unknown type "text" (want one of boolean, date, datetime, email, integer, number, phone, string, url, enum(a|b|…))`)}},
		{"ceo:string, employees", &SpecError{Source: "--fields", Field: 2, Text: "employees", Err: errors.New("want name:type")}},
		{"ceo:", &SpecError{Source: "--fields", Field: 1, Text: "ceo:", Err: errors.New("want name:type, the type is missing")}},
		{":string", &SpecError{Source: "--fields", Field: 1, Text: ":string", Err: errors.New("want name:type")}},
		{"a:string, rowId:string", &SpecError{Source: "--fields", Field: 2, Text: "rowId:string", Err: errors.New(`"rowId" is reserved for joining answers to rows`)}},
		{"a:string, b:integer, a:number", &SpecError{Source: "--fields", Field: 3, Text: "a:number", Err: errors.New(`"a" is named twice`)}},
		{"hq.city:string", &SpecError{Source: "--fields", Field: 1, Text: "hq.city:string", Err: errors.New(`name "hq.city": names start with a letter or _ and hold only letters, digits, _, - and spaces (use --schema for nested objects)`)}},
		{"s:enum(a|b", &SpecError{Source: "--fields", Field: 1, Text: "s:enum(a|b", Err: errors.New(`enum "enum(a|b": want enum(a|b|c)`)}},
		{"s:enum(a||b)", &SpecError{Source: "--fields", Field: 1, Text: "s:enum(a||b)", Err: errors.New(`enum "enum(a||b)": empty value`)}},
		{"s:enum(a|a)", &SpecError{Source: "--fields", Field: 1, Text: "s:enum(a|a)", Err: errors.New(`enum "enum(a|a)": value "a" is listed twice`)}},
		{"s:string=", &SpecError{Source: "--fields", Field: 1, Text: "s:string=", Err: errors.New(`the description after "=" is empty`)}},
		{`s:string="open`, &SpecError{Source: "--fields", Err: errors.New("a double quote is not closed")}},
		{"ceo:string=chief executive, or founder", &SpecError{Source: "--fields", Field: 2, Text: "or founder", Err: errors.New(`want name:type (a description that holds a comma must be quoted: name:type="…, …")`)}},
		{"tags:strings[]", &SpecError{Source: "--fields", Field: 1, Text: "tags:strings[]", Err: errors.New(`unknown type "strings" (want one of boolean, date, datetime, email, integer, number, phone, string, url, enum(a|b|…))`)}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParseFields(tt.spec)
			if !sameError(err, tt.want) {
				t.Errorf("ParseFields(%q)\n got %#v: %v\nwant %#v: %v", tt.spec, err, err, tt.want, tt.want)
			}
		})
	}
}

// sameError compares two *SpecErrors field by field, their causes by text.
func sameError(got, want error) bool {
	g, ok1 := got.(*SpecError)
	w, ok2 := want.(*SpecError)
	if !ok1 || !ok2 {
		return false
	}
	return g.Source == w.Source && g.Field == w.Field && g.Text == w.Text &&
		g.Pointer == w.Pointer && g.Line == w.Line && g.Err.Error() == w.Err.Error()
}
