package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeItem decodes an answer item the way the pipeline does.
func decodeItem(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var item map[string]any
	if err := dec.Decode(&item); err != nil {
		t.Fatal(err)
	}
	return item
}

func TestValidate(t *testing.T) {
	s, err := ParseFields("ceo:string, employees:integer, revenue:number, public:boolean, founded:date, updated:datetime, website:url, email:email, phone:phone, stage:enum(seed|growth), tags:string[]")
	if err != nil {
		t.Fatal(err)
	}
	nested, err := ParseFile("testdata/nested.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		schema *Schema
		item   string
		want   []FieldError // nil: valid
	}{
		{"all good", s, `{"rowId":"1","ceo":"Tim Cook","employees":161000,"revenue":391.04,"public":true,"founded":"1976-04-01","updated":"2024-09-01T10:00:00Z","website":"https://apple.com","email":"press@apple.com","phone":"+1 (408) 996-1010","stage":"growth","tags":["hardware","software"]}`, nil},
		{"all null", s, `{"rowId":"1","ceo":null,"employees":null,"revenue":null,"public":null,"founded":null,"updated":null,"website":null,"email":null,"phone":null,"stage":null,"tags":null}`, nil},
		{"fields omitted", s, `{"rowId":"1","ceo":"Tim Cook"}`, nil},
		{"null inside a list", s, `{"rowId":"1","tags":["a",null]}`, nil},
		{"big integer as json.Number", s, `{"rowId":"1","employees":12345678901234567890}`, nil},
		{"integer written as 3.0", s, `{"rowId":"1","employees":3.0}`, nil},
		{"wrong types", s, `{"rowId":"1","ceo":42,"employees":"about 50","public":"yes","tags":"a, b"}`, []FieldError{
			{Field: "ceo", Value: json.Number("42"), Problem: "got number, want string"},
			{Field: "employees", Value: "about 50", Problem: "got string, want integer"},
			{Field: "public", Value: "yes", Problem: "got string, want boolean"},
			{Field: "tags", Value: "a, b", Problem: "got string, want array"},
		}},
		{"fraction for an integer", s, `{"rowId":"1","employees":1.5}`, []FieldError{
			{Field: "employees", Value: json.Number("1.5"), Problem: "got number, want integer"},
		}},
		{"bad formats", s, `{"rowId":"1","founded":"2021","updated":"yesterday","website":"apple dot com","email":"nobody","phone":"call us"}`, []FieldError{
			{Field: "email", Value: "nobody", Problem: "not a valid email"},
			{Field: "founded", Value: "2021", Problem: "not a valid date"},
			{Field: "phone", Value: "call us", Problem: "not a valid phone"},
			{Field: "updated", Value: "yesterday", Problem: "not a valid date-time"},
			{Field: "website", Value: "apple dot com", Problem: "not a valid uri"},
		}},
		{"enum and list item", s, `{"rowId":"1","stage":"ipo","tags":["a",7]}`, []FieldError{
			{Field: "stage", Value: "ipo", Problem: `want one of "seed", "growth"`},
			{Field: "tags[1]", Value: json.Number("7"), Problem: "got number, want string"},
		}},
		{"extra field", s, `{"rowId":"1","ceo":"x","cfo":"y"}`, []FieldError{
			{Field: "", Problem: "fields not asked for: cfo"},
		}},
		{"nested null object", nested, `{"rowId":"1","summary":"s","hq":null}`, nil},
		{"nested null leaf", nested, `{"rowId":"1","summary":"s","hq":{"city":null,"geo":{"lat":null,"lon":2.5}}}`, nil},
		{"nested wrong", nested, `{"rowId":"1","hq":{"city":["Paris"],"geo":{"lat":"north"}},"offices":[{"city":"Lyon","opened":"1990"}]}`, []FieldError{
			{Field: "hq.city", Value: []any{"Paris"}, Problem: "got array, want string"},
			{Field: "hq.geo.lat", Value: "north", Problem: "got string, want number"},
			{Field: "offices[0].opened", Value: "1990", Problem: "got string, want integer"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.schema.Validate(decodeItem(t, tt.item))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if !reflect.DeepEqual(ve.Fields, tt.want) {
				t.Errorf("fields\n got %#v\nwant %#v", ve.Fields, tt.want)
			}
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	s, err := ParseFields("employees:integer, founded:date")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate(map[string]any{"rowId": "1", "employees": "about 50", "founded": "2021", "x": 1.0})
	want := `the answer does not fit the schema: fields not asked for: x; employees ("about 50"): got string, want integer; founded ("2021"): not a valid date`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestValidatePhone(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"+1 (408) 996-1010", true},
		{"+44 20 7946 0958", true},
		{"020.7946.0958", true},
		{"+1-555-123-4567 ext. 89", true},
		{"555 1234 x12", true},
		{"555-1234", true},
		{"12345", false},             // too few digits
		{"+1234567890123456", false}, // too many
		{"call the front desk", false},
		{"+1 408 FLOWERS", false},
		{"+1 408+996", false},
	}
	for _, tt := range tests {
		if err := validatePhone(tt.in); (err == nil) != tt.ok {
			t.Errorf("validatePhone(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
	if err := validatePhone(json.Number("5551234")); err != nil {
		t.Errorf("a number is not a string; the format should not judge it: %v", err)
	}
}

func TestIdentity(t *testing.T) {
	base, err := ParseFields("ceo:string")
	if err != nil {
		t.Fatal(err)
	}
	s, err := base.WithIdentity([]string{"name", "domain"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Identity(); !reflect.DeepEqual(got, []string{"name", "domain"}) {
		t.Errorf("Identity() = %v", got)
	}
	if base.Identity() != nil {
		t.Errorf("WithIdentity changed its receiver: %v", base.Identity())
	}
	items := s.Batch([]string{"2"})["properties"].(map[string]any)[ItemsProperty].(map[string]any)["items"].(map[string]any)
	if want := []any{"rowId", "name", "domain", "ceo"}; !reflect.DeepEqual(items["required"], want) {
		t.Errorf("required = %v, want %v", items["required"], want)
	}
	props := items["properties"].(map[string]any)
	if p, ok := props["domain"].(map[string]any); !ok || p["type"] != "string" {
		t.Errorf("no echo field for domain: %v", props)
	}

	row := map[string]any{"name": "Apple", "domain": "apple.com", "ticker": "AAPL"}
	if err := s.Validate(map[string]any{"rowId": "2", "name": "Apple", "domain": "apple.com", "ceo": "Tim Cook"}); err != nil {
		t.Errorf("an item with echoes does not validate: %v", err)
	}
	if err := base.Validate(map[string]any{"rowId": "2", "name": "Apple", "ceo": "Tim Cook"}); err == nil {
		t.Errorf("without identity, an echo is a field not asked for; it validated")
	}
	checks := []struct {
		item map[string]any
		want string
	}{
		{map[string]any{"name": " apple ", "domain": "APPLE.COM"}, ""},
		{map[string]any{"name": "Apple  Inc", "domain": "apple.com"}, `answer about another entity: name: the answer is about "Apple  Inc", the row is "Apple"`},
		{map[string]any{"name": "Apple", "domain": nil}, `answer about another entity: domain: the answer does not echo it (want "apple.com")`},
		{map[string]any{}, `answer about another entity: name: the answer does not echo it (want "Apple"); domain: the answer does not echo it (want "apple.com")`},
	}
	for _, c := range checks {
		err := s.CheckIdentity(c.item, row)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("CheckIdentity(%v)\n got %q\nwant %q", c.item, got, c.want)
		}
	}
	if err := base.CheckIdentity(map[string]any{}, row); err != nil {
		t.Errorf("identity off, CheckIdentity = %v", err)
	}

	for _, keys := range [][]string{{"ceo"}, {"rowId"}, {"a", "a"}, {""}} {
		if _, err := base.WithIdentity(keys); err == nil {
			t.Errorf("WithIdentity(%q) accepted", keys)
		}
	}
}

func TestCollisions(t *testing.T) {
	s, err := ParseFile("testdata/nested.json")
	if err != nil {
		t.Fatal(err)
	}
	source := []string{"name", "summary", "hq.city", "ai_summary"}
	err = s.CheckCollisions(source)
	want := `answer field "summary" would make column "summary", but "summary" is already a column of the input` + "\n" +
		`answer field "hq.city" would make column "hq.city", but "hq.city" is already a column of the input`
	if err == nil || err.Error() != want {
		t.Errorf("CheckCollisions\n got %v\nwant %s", err, want)
	}
	var ce *CollisionError
	if !errors.As(err, &ce) || ce.Column != "summary" {
		t.Errorf("errors.As CollisionError: %v", ce)
	}
	p := s.WithPrefix("ai_")
	if p.Columns[1].Name != "ai_hq.city" || s.Columns[1].Name != "hq.city" {
		t.Errorf("WithPrefix: %q (original now %q)", p.Columns[1].Name, s.Columns[1].Name)
	}
	err = p.CheckCollisions(source)
	if err == nil || !strings.Contains(err.Error(), `"ai_summary" is already a column`) {
		t.Errorf("prefixed CheckCollisions = %v, want ai_summary to collide", err)
	}
	if err := s.WithPrefix("x_").CheckCollisions(source); err != nil {
		t.Errorf("CheckCollisions with a free prefix = %v", err)
	}
	if got := p.Columns[1].Lookup(map[string]any{"hq": map[string]any{"city": "Paris"}}); got != "Paris" {
		t.Errorf("prefixed column looks up %v, want the unprefixed field's value", got)
	}
}

// The batch schema is hashed for the job fingerprint: the same schema and
// ids must marshal to the same bytes every time.
func TestBatchDeterministic(t *testing.T) {
	first := ""
	for range 20 {
		s, err := Builtin("company")
		if err != nil {
			t.Fatal(err)
		}
		s, err = s.WithIdentity([]string{"name"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(s.Batch([]string{"3", "1", "2"}))
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = string(b)
		} else if !bytes.Equal(b, []byte(first)) {
			t.Fatalf("batch schema changed between builds:\n%s\n%s", first, b)
		}
	}
}
