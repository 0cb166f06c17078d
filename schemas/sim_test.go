package schemas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/exa/exasim"
	"github.com/exa-enrich/exa-enrich/schemas"
)

// The simulator must accept every batch schema this package produces, and
// what it answers must pass the package's own validator: otherwise --sim
// would fail rows that the schema itself allows.
func TestSimulatorAcceptsBatchSchemas(t *testing.T) {
	srv := httptest.NewServer(exasim.New(exasim.Config{Faults: exasim.Faults{Reorder: 1}}))
	defer srv.Close()
	api, err := exa.NewClient(srv.Client(), exa.WithBaseURL(srv.URL), exa.WithAPIKey("test"))
	if err != nil {
		t.Fatal(err)
	}

	all, err := schemas.ParseFields(`ceo:string=current chief executive, employees:integer, revenue:number, public:boolean, founded:date, updated:datetime, website:url, email:email, phone:phone, stage:enum(seed|series_a|growth), tags:string[], offices:url[], notes:string="free text, any length"`)
	if err != nil {
		t.Fatal(err)
	}
	company, err := schemas.Builtin("company")
	if err != nil {
		t.Fatal(err)
	}
	person, err := schemas.Builtin("person")
	if err != nil {
		t.Fatal(err)
	}
	contact, err := schemas.Builtin("contact")
	if err != nil {
		t.Fatal(err)
	}
	nested, err := schemas.ParseFile("testdata/nested.json")
	if err != nil {
		t.Fatal(err)
	}
	identity, err := company.WithIdentity([]string{"name", "domain"})
	if err != nil {
		t.Fatal(err)
	}

	rows := []map[string]any{
		{"name": "Apple", "domain": "apple.com"},
		{"name": "Mistral AI", "domain": "mistral.ai"},
		{"name": "Klarna", "domain": "klarna.com"},
		{"name": "Figma", "domain": "figma.com"},
	}
	for _, tt := range []struct {
		name   string
		schema *schemas.Schema
	}{
		{"fields with every type", all},
		{"company", company},
		{"person", person},
		{"contact", contact},
		{"nested file", nested},
		{"company with identity", identity},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ids := make([]string, len(rows))
			data := make([]map[string]any, len(rows))
			for i, r := range rows {
				ids[i] = strconv.Itoa(i + 2)
				data[i] = map[string]any{schemas.RowIDProperty: ids[i]}
				for k, v := range r {
					data[i][k] = v
				}
			}
			ctx := context.Background()
			created, err := api.CreateRun(ctx, &exa.CreateRunParams{
				Query:        "Research each company.",
				Input:        &exa.Input{Data: data},
				OutputSchema: tt.schema.Batch(ids),
				Effort:       exa.EffortLow,
			})
			if err != nil {
				t.Fatalf("the simulator rejected the batch schema: %v", err)
			}
			run, err := api.Wait(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != exa.StatusCompleted {
				t.Fatalf("run %s", run.Status)
			}
			var out map[string][]map[string]any
			dec := json.NewDecoder(bytes.NewReader(run.Output.Structured))
			dec.UseNumber()
			if err := dec.Decode(&out); err != nil {
				t.Fatal(err)
			}
			items := out[schemas.ItemsProperty]
			if len(items) != len(rows) {
				t.Fatalf("got %d items, want %d", len(items), len(rows))
			}
			byID := map[string]map[string]any{}
			for _, item := range items {
				if err := tt.schema.Validate(item); err != nil {
					t.Errorf("item %v: %v", item[schemas.RowIDProperty], err)
				}
				byID[item[schemas.RowIDProperty].(string)] = item
			}
			for i, id := range ids {
				item, ok := byID[id]
				if !ok {
					t.Errorf("no item for row %s", id)
					continue
				}
				if err := tt.schema.CheckIdentity(item, data[i]); err != nil {
					t.Errorf("row %s: %v", id, err)
				}
				// Every column reads something from a simulated answer
				// (the simulator answers every field).
				answered := 0
				for _, c := range tt.schema.Columns {
					if c.Lookup(item) != nil {
						answered++
					}
				}
				if answered == 0 {
					t.Errorf("row %s: no column found a value in %v", id, item)
				}
			}
		})
	}
}
