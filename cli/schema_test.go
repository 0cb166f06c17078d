package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

func TestSchemaCommandPrintsBatchSchema(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, "schema", "--fields", "ceo:string, stage:enum(seed|growth), tags:string[]", "--rows", "2")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	var doc struct {
		Properties struct {
			Rows struct {
				MinItems, MaxItems int
				Items              struct {
					Properties           map[string]map[string]any
					Required             []string
					AdditionalProperties bool
				}
			} `json:"rows"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	rows := doc.Properties.Rows
	if rows.MinItems != 2 || rows.MaxItems != 2 {
		t.Errorf("minItems %d, maxItems %d; want 2 and 2", rows.MinItems, rows.MaxItems)
	}
	if got := rows.Items.Properties["rowId"]["enum"]; !reflect.DeepEqual(got, []any{"2", "3"}) {
		t.Errorf("rowId enum %v, want [2 3]", got)
	}
	if want := []string{"rowId", "ceo", "stage", "tags"}; !reflect.DeepEqual(rows.Items.Required, want) {
		t.Errorf("required %v, want %v", rows.Items.Required, want)
	}
}

func TestSchemaCommandColumnsAndIdentity(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, "schema", "--schema", "company", "--columns", "--prefix", "ai_")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	lines := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		f := strings.Fields(line)
		lines[f[0]] = strings.Join(f[1:], " ")
	}
	for col, want := range map[string]string{"ai_hq.city": "string utf8", "ai_founded_year": "integer int64", "ai_website": "string uri utf8"} {
		if lines[col] != want {
			t.Errorf("--columns: %s is %q, want %q:\n%s", col, lines[col], want, stdout)
		}
	}
	code, stdout, stderr = runMain(t, nil, "schema", "--schema", "company", "--identity", "--key", "name,domain")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, `Echo the row's \"domain\" value`) {
		t.Errorf("no echo field for the key column domain:\n%s", stdout)
	}
}

func TestSchemasListsBuiltins(t *testing.T) {
	code, stdout, _ := runMain(t, nil, "schemas")
	if code != ExitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, name := range []string{"company ", "person ", "contact "} {
		if !strings.Contains(stdout, name) {
			t.Errorf("schemas does not list %q:\n%s", name, stdout)
		}
	}
}

func TestSchemaUsageErrors(t *testing.T) {
	in := copyExample(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"type\": \"object\",\n  \"properties\": {\"a\": {\"type\": \"text\"}}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"nothing asked", []string{"schema"}, "--fields \"name:type, …\" or --schema NAME|FILE"},
		{"both", []string{"schema", "--fields", "a:string", "--schema", "company"}, "--fields and --schema can't be used together"},
		{"unknown built-in", []string{"schema", "--schema", "compnay"}, `no built-in schema "compnay" (built-ins: company, contact, person)`},
		{"bad file", []string{"schema", "--schema", bad}, bad + `: line 3 (/properties/a/type): not a valid JSON Schema`},
		{"identity without key", []string{"schema", "--schema", "company", "--identity"}, "name them with --key"},
		{"run: nothing asked", []string{"run", "--sim", "--query", "q", in}, "--fields \"name:type, …\" or --schema NAME|FILE"},
		{"run: collision names both", []string{"run", "--sim", "--fields", "name:string", "--query", "q", in}, `answer field "name" would make column "name", but "name" is already a column of the input`},
		{"run: collision suggests prefix", []string{"run", "--sim", "--fields", "name:string", "--query", "q", in}, "add --prefix ai_"},
		{"run: collision with a prefix", []string{"run", "--sim", "--fields", "ker:string", "--prefix", "tic", "--query", "q", in}, `"ticker" is already a column`},
		{"run: bookkeeping column", []string{"run", "--sim", "--fields", "_status:string", "--query", "q", in}, `"_status" is already a column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, nil, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d; stderr %s", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tt.wantErr)
			}
		})
	}
}

// A built-in schema with nested fields, identity echoes and a prefix runs
// end to end: columns are flattened and prefixed, and every answer is
// checked against the row's key columns.
func TestRunWithBuiltinSchemaAndIdentity(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{Faults: exasim.Faults{Reorder: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	out := filepath.Join(t.TempDir(), "out.csv")
	code, _, stderr := runMain(t, map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL},
		"run", "--schema", "company", "--identity", "--key", "name,domain", "--prefix", "ai_",
		"--query", "Profile each company", "-o", out, in)
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	header, rows := readCSV(t, out)
	want := "name,domain,ticker,ai_description,ai_industry,ai_hq.city,ai_hq.country,ai_employees_range,ai_founded_year,ai_ceo,ai_funding_stage,ai_total_funding_usd,ai_website,ai_linkedin_url,_status,_error,_run_id,_cost_usd,_sources,_confidence,_citations,_enriched_at"
	if got := strings.Join(header, ","); got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
	for _, row := range rows {
		if row["_status"] != "ok" {
			t.Errorf("%s: _status %q, _error %q", row["name"], row["_status"], row["_error"])
		}
		if !strings.Contains(row["ai_hq.city"], row["name"]) {
			t.Errorf("%s: hq.city %q is not about this row", row["name"], row["ai_hq.city"])
		}
	}
}

// An answer that breaks the row's schema is not joined: the row fails with
// the validator's message. The simulator does not honour "pattern", so its
// answers break this one.
func TestRunFailsRowsWhoseAnswerBreaksTheSchema(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	schema := filepath.Join(t.TempDir(), "row.json")
	doc := `{"type": "object", "properties": {"ceo": {"type": "string"}, "isin": {"type": "string", "pattern": "^[A-Z]{2}[0-9A-Z]{10}$"}}}`
	if err := os.WriteFile(schema, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.csv")
	code, _, stderr := runMain(t, map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL},
		"run", "--schema", schema, "--query", "ISIN and CEO", "--qps", "0", "-o", out, in)
	if code != ExitIncomplete {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitIncomplete, stderr)
	}
	if !strings.Contains(stderr, "25 rows, 25 failed") {
		t.Errorf("summary %q, want all 25 failed", stderr)
	}
	_, rows := readCSV(t, out)
	for _, row := range rows {
		if row["_status"] != "failed" || !strings.Contains(row["_error"], "the answer does not fit the schema: isin (") || row["ceo"] != "" {
			t.Errorf("%s: _status %q, _error %q, ceo %q; want failed on isin and nothing joined", row["name"], row["_status"], row["_error"], row["ceo"])
		}
	}
}
