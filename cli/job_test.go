package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

// parseRun parses a run command line without running it, and returns the
// run command's node with its flags bound to the parsed values.
func parseRun(t *testing.T, args ...string) (*kong.Node, error) {
	t.Helper()
	var cli root
	parser, err := kong.New(&cli, kong.Exit(func(int) { t.Fatal("kong exited") }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = parser.Parse(append([]string{"run"}, args...))
	for _, n := range parser.Model.Children {
		if n.Name == "run" {
			return n, err
		}
	}
	t.Fatal("no run command")
	return nil, nil
}

// flagsUpTo returns the flags of a command and of the commands above it.
func flagsUpTo(n *kong.Node) (flags []*kong.Flag) {
	for ; n != nil; n = n.Parent {
		flags = append(flags, n.Flags...)
	}
	return flags
}

// sampleJobValue is a YAML value for a flag that differs from its default.
func sampleJobValue(t *testing.T, f *kong.Flag) string {
	if f.Enum != "" {
		for _, e := range f.EnumSlice() {
			if e != f.Default {
				return e
			}
		}
	}
	switch f.Target.Interface().(type) {
	case bool:
		return "true"
	case int:
		return "7"
	case float64:
		return "0.5"
	case time.Duration:
		return "90s"
	case []string:
		return "[name, domain]"
	case delimiterFlag:
		return `";"`
	case string:
		return "sample"
	}
	t.Fatalf("--%s: no sample job value for its type %T: add one to sampleJobValue", f.Name, f.Target.Interface())
	return ""
}

// TestJobKeysSetEveryRunFlag writes, for every flag of run, a job file that
// sets only that flag's key, and checks the flag takes the job's value while
// every other flag keeps its default. A flag no job key reaches fails here.
func TestJobKeysSetEveryRunFlag(t *testing.T) {
	dir := t.TempDir()
	baseline, err := parseRun(t, "--query", "q", "in.csv")
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, f := range flagsUpTo(baseline) {
		defaults[f.Name] = fmt.Sprint(f.Target.Interface())
	}
	for _, f := range flagsUpTo(baseline) {
		if f.Name == "help" || f.Name == "job" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			key := strings.ReplaceAll(f.Name, "-", "_")
			job := filepath.Join(dir, key+".yaml")
			if err := os.WriteFile(job, []byte(key+": "+sampleJobValue(t, f)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"--job", job, "in.csv"}
			if f.Name != "query" {
				args = append(args, "--query", "q")
			}
			node, err := parseRun(t, args...)
			if err != nil {
				t.Fatalf("job key %s: %v", key, err)
			}
			for _, g := range flagsUpTo(node) {
				got := fmt.Sprint(g.Target.Interface())
				switch {
				case g.Name == f.Name && got == defaults[g.Name]:
					t.Errorf("job key %s left --%s at its default %q", key, f.Name, got)
				case g.Name != f.Name && g.Name != "job" && g.Name != "query" && got != defaults[g.Name]:
					t.Errorf("job key %s changed --%s to %q", key, g.Name, got)
				}
			}
		})
	}
	// YAML reads sheet: 2 as a number; the flag takes it as text.
	job := filepath.Join(dir, "sheet-number.yaml")
	if err := os.WriteFile(job, []byte("sheet: 2\nquery: q\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var numbered root
	parser, _ := kong.New(&numbered)
	if _, err := parser.Parse([]string{"run", "--job", job, "in.xlsx"}); err != nil || numbered.Run.Sheet != "2" {
		t.Errorf("sheet: 2 gave %q, %v; want the sheet named 2", numbered.Run.Sheet, err)
	}

	// The positional argument is a key too.
	job = filepath.Join(dir, "input.yaml")
	if err := os.WriteFile(job, []byte("input: companies.csv\nquery: q\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var cli root
	parser, _ = kong.New(&cli)
	if _, err := parser.Parse([]string{"run", "--job", job}); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "companies.csv"); cli.Run.Input != want {
		t.Errorf("input = %q, want %q (beside the job file)", cli.Run.Input, want)
	}
	if _, err := parser.Parse([]string{"run", "--job", job, "other.csv"}); err != nil {
		t.Fatal(err)
	}
	if cli.Run.Input != "other.csv" {
		t.Errorf("input = %q, want the command line's other.csv", cli.Run.Input)
	}
}

func TestJobPathsAreRelativeToTheJobFile(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "nightly.yaml")
	src := "input: data/in.csv\nout: out/x.csv\nstate: st/x.db\nexclusion: excl.csv\napi_key_file: key\nschema: company\nquery: q\n"
	if err := os.WriteFile(job, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var cli root
	parser, _ := kong.New(&cli)
	if _, err := parser.Parse([]string{"run", "--job", job}); err != nil {
		t.Fatal(err)
	}
	r := cli.Run
	got := []string{r.Input, r.Out, r.State, r.Exclusion, r.APIKeyFile, r.Schema}
	want := []string{filepath.Join(dir, "data/in.csv"), filepath.Join(dir, "out/x.csv"), filepath.Join(dir, "st/x.db"),
		filepath.Join(dir, "excl.csv"), filepath.Join(dir, "key"), "company"} // a built-in schema is a name, not a file
	if !slices.Equal(got, want) {
		t.Errorf("paths\n got %q\nwant %q", got, want)
	}
	// A schema that is not a built-in is a file beside the job.
	if err := os.WriteFile(job, []byte("schema: schemas/row.json\nquery: q\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse([]string{"run", "--job", job, "in.csv"}); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "schemas/row.json"); cli.Run.Schema != want {
		t.Errorf("schema = %q, want %q", cli.Run.Schema, want)
	}
}

func TestJobFileErrors(t *testing.T) {
	dir := t.TempDir()
	in := copyExample(t)
	tests := []struct {
		name string
		job  string
		args []string
		want []string
	}{
		{"unknown keys name their lines", "query: q\nfields: \"ceo:string\"\nchunksize: 5\nbogus: 1\n", nil,
			[]string{"job.yaml:3: unknown key \"chunksize\" (did you mean chunk_size?)", "job.yaml:4: unknown key \"bogus\""}},
		{"bad value", "query: q\neffort: hgh\nmax_cost: lots\n", nil,
			[]string{`job.yaml:2: effort: "hgh" is not one of minimal`, `job.yaml:3: max_cost: expected a float`}},
		{"a number for a duration", "query: q\ngrace: 90\n", nil, []string{"job.yaml:2: grace: 90 has no unit: write 90s or 90m"}},
		{"key twice", "query: q\nquery: r\n", nil, []string{"job.yaml:2:", `"query" already defined`}},
		{"not YAML", "query: [q\n", nil, []string{"job.yaml:1:"}},
		{"a list, not keys", "- query\n", nil, []string{"job.yaml:1: want keys and values"}},
		{"the job flag is no key", "job: other.yaml\nquery: q\n", nil, []string{`job.yaml:1: unknown key "job"`}},
		{"no input anywhere", "query: q\nfields: \"ceo:string\"\nsim: true\n", nil, []string{"name the file to enrich"}},
		{"missing job file", "", []string{"--job", filepath.Join(dir, "nope.yaml"), in}, []string{"nope.yaml: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := filepath.Join(t.TempDir(), "job.yaml")
			if err := os.WriteFile(job, []byte(tt.job), 0o644); err != nil {
				t.Fatal(err)
			}
			args := tt.args
			if args == nil {
				args = []string{"--job", job}
			}
			code, _, stderr := runMain(t, nil, append([]string{"run", "--sim"}, args...)...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, ExitUsage, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q\nwant it to say %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "Usage:") {
				t.Errorf("a job file mistake printed the usage: %q", stderr)
			}
		})
	}
}

// TestJobFlagsOverrideTheFile runs a job whose file asks for chunks of 5 at
// medium effort; the command line asks for one chunk at low effort, and a
// schema instead of the file's fields.
func TestJobFlagsOverrideTheFile(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	src, _ := os.ReadFile("../examples/companies.csv")
	if err := os.WriteFile(filepath.Join(dir, "companies.csv"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(dir, "nightly.yaml")
	if err := os.WriteFile(job, []byte(`input: companies.csv
query: Who runs it?
fields: "ceo:string"
chunk_size: 5
effort: medium
qps: 0
out: out/companies.csv
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}

	code, _, stderr := runMain(t, env, "run", "--job", job)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st := sim.Stats(); st.RunsCreated != 5 || st.BilledDollars < 0.499 || st.BilledDollars > 0.501 {
		t.Errorf("the file's chunk_size 5 and effort medium: %d runs, $%.4f; want 5 runs, $0.50", st.RunsCreated, st.BilledDollars)
	}
	header, _ := readCSV(t, filepath.Join(dir, "out", "companies.csv"))
	if !slices.Contains(header, "ceo") {
		t.Errorf("header %v: want the file's fields", header)
	}

	code, _, stderr = runMain(t, env, "run", "--job", job, "--chunk-size", "25", "--effort", "low",
		"--schema", "company", "--prefix", "ai_", "-o", filepath.Join(dir, "cli.csv"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st := sim.Stats(); st.RunsCreated != 6 {
		t.Errorf("--chunk-size 25 over the file's 5: %d runs in all, want 5+1", st.RunsCreated)
	}
	if !strings.Contains(stderr, "25 rows, 25 ok · 1 runs · $0.0250") {
		t.Errorf("summary %q: want one run at low effort", stderr)
	}
	header, _ = readCSV(t, filepath.Join(dir, "cli.csv"))
	if !slices.Contains(header, "ai_ceo") || slices.Contains(header, "ceo") {
		t.Errorf("header %v: want --schema company with --prefix ai_ instead of the file's fields", header)
	}
}

// TestExclusionAndSystemPromptReachEveryCreate checks what the API was
// sent, as the simulator recorded it.
func TestExclusionAndSystemPromptReachEveryCreate(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	dir := filepath.Dir(in)
	excl := filepath.Join(dir, "exclude.jsonl")
	if err := os.WriteFile(excl, []byte(`{"name":"Acme Corp","domain":"acme.example"}`+"\n"+`{"name":"Initech"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}
	out := filepath.Join(dir, "out.csv")
	args := []string{"run", "--fields", "ceo:string", "--query", "CEO", "--qps", "0", "--chunk-size", "10",
		"--system-prompt", "Prefer the company's own site.", "--exclusion", excl, "-o", out, in}
	if code, _, stderr := runMain(t, env, args...); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, rows := readCSV(t, out)
	api, err := exa.NewClient(nil, exa.WithBaseURL(sim.URL), exa.WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"name": "Acme Corp", "domain": "acme.example"}, {"name": "Initech"}}
	runs := map[string]bool{}
	for _, row := range rows {
		runs[row["_run_id"]] = true
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3", len(runs))
	}
	for id := range runs {
		run, err := api.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Request == nil || run.Request.Input == nil {
			t.Fatalf("%s: no request recorded", id)
		}
		if got := run.Request.Input.Exclusion; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: input.exclusion = %v, want %v", id, got, want)
		}
		if got := run.Request.SystemPrompt; got != "Prefer the company's own site." {
			t.Errorf("%s: systemPrompt = %q", id, got)
		}
	}

	// Another exclusion list is another question: nothing is cached.
	if err := os.WriteFile(excl, []byte(`{"name":"Initech"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := sim.Stats().RunsCreated
	code, _, stderr := runMain(t, env, args...)
	if code != ExitOK {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	if n := sim.Stats().RunsCreated - before; n != 3 {
		t.Errorf("with another exclusion list %d runs were created, want 3 (answers under the old list do not serve it)", n)
	}
}

func TestAPIKeyFile(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{APIKey: "secret-key-123"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	in := copyExample(t)
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		env      map[string]string
		file     string
		wantCode int
		want     string // in stderr
		notWant  string
	}{
		{"trimmed", nil, write("key", "  secret-key-123\n", 0o600), ExitOK, "25 ok", "warning"},
		{"over the environment", map[string]string{"EXA_API_KEY": "wrong"}, write("key2", "secret-key-123", 0o600), ExitOK, "25 ok", ""},
		{"readable by others", nil, write("open", "secret-key-123\n", 0o644), ExitOK, "readable by others (mode 0644)", ""},
		{"missing", nil, filepath.Join(dir, "absent"), ExitUsage, "absent: no such file", ""},
		{"empty", nil, write("empty", " \n\n", 0o600), ExitUsage, "empty is empty", ""},
		{"two lines", nil, write("two", "secret-key-123\nother-secret\n", 0o600), ExitUsage, "more than one line", "secret"},
		{"wrong key", nil, write("bad", "not-the-key-999\n", 0o600), ExitFatal, "", "not-the-key-999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"EXA_BASE_URL": sim.URL}
			for k, v := range tt.env {
				env[k] = v
			}
			code, _, stderr := runMain(t, env, "run", "--fields", "ceo:string", "--query", "CEO", "--qps", "0",
				"--api-key-file", tt.file, "-o", filepath.Join(t.TempDir(), "out.csv"), in)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q, want %q", stderr, tt.want)
			}
			if tt.notWant != "" && strings.Contains(strings.ReplaceAll(stderr, dir, ""), tt.notWant) {
				t.Errorf("stderr %q shows %q", stderr, tt.notWant)
			}
		})
	}
}

// TestREADMEJobFileIsValid keeps the README's full example a job the tool
// accepts: every key known, every value one its flag takes.
func TestREADMEJobFileIsValid(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n# nightly.yaml\n")
	if !ok {
		t.Fatal("README has no ```yaml block starting # nightly.yaml")
	}
	example, _, _ := strings.Cut(rest, "```")
	job := filepath.Join(t.TempDir(), "nightly.yaml")
	if err := os.WriteFile(job, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	node, err := parseRun(t, "--job", job)
	if err != nil {
		t.Fatalf("the README's job file: %v", err)
	}
	set := 0
	for _, f := range node.Flags {
		if f.Set {
			set++
		}
	}
	if set < 20 {
		t.Errorf("the README's job file sets %d flags; it should show nearly all", set)
	}
}

func TestJobSwitchTurnedOffOnTheCommandLine(t *testing.T) {
	job := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(job, []byte("query: q\nretry_errors: true\nreuse: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var cli root
	parser, _ := kong.New(&cli)
	if _, err := parser.Parse([]string{"run", "--job", job, "--retry-errors=false", "in.csv"}); err != nil {
		t.Fatal(err)
	}
	if cli.Run.RetryErrors || !cli.Run.Reuse {
		t.Errorf("retry_errors %v, reuse %v: want --retry-errors=false to win and the file's reuse kept", cli.Run.RetryErrors, cli.Run.Reuse)
	}
}
