package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/exa-enrich/exa-enrich/readers"
)

func TestInputFlags(t *testing.T) {
	tests := []struct {
		args []string
		want readers.Options
		err  string
	}{
		{args: nil, want: readers.Options{}},
		{args: []string{"--format", "tsv", "--sheet", "Q1", "--allow-ragged", "--encoding", "latin1", "--dedupe-headers", "--delimiter", ";"},
			want: readers.Options{Format: "tsv", Sheet: "Q1", Delimiter: ';', AllowRagged: true, Encoding: "latin1", DedupeHeaders: true}},
		{args: []string{"--delimiter", "tab"}, want: readers.Options{Delimiter: '\t'}},
		{args: []string{"--delimiter", `\t`}, want: readers.Options{Delimiter: '\t'}},
		{args: []string{"--delimiter", "pipe"}, want: readers.Options{Delimiter: '|'}},
		{args: []string{"--delimiter", "§"}, want: readers.Options{Delimiter: '§'}},
		{args: []string{"--delimiter", ";;"}, err: `--delimiter ";;": want one character`},
		{args: []string{"--delimiter", `"`}, err: `--delimiter "\"": want one character`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var cmd struct {
				inputFlags `embed:""`
			}
			parser, err := kong.New(&cmd)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parser.Parse(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cmd.readerOptions(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestRunReadsAwkwardCSV runs the command on an export the default
// settings refuse, and checks the input flags make it readable.
func TestRunReadsAwkwardCSV(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "export.txt")
	content := "\xef\xbb\xbfname;domain;name\nAcme;acme.com;Acme Corp\nGlobex;globex.com\n"
	if err := os.WriteFile(in, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--sim", "--fields", "ceo:string", "--query", "Who is the CEO?", "-o", filepath.Join(dir, "out.csv"), in}

	code, _, stderr := runMain(t, nil, args...)
	if code != ExitUsage || !strings.Contains(stderr, `export.txt: row 1, column "name": duplicate column name: columns 1 and 3`) {
		t.Fatalf("without flags: exit %d, stderr %q; want a usage error naming the duplicate", code, stderr)
	}

	code, _, stderr = runMain(t, nil, append([]string{args[0], "--dedupe-headers", "--allow-ragged"}, args[1:]...)...)
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	header, rows := readCSV(t, filepath.Join(dir, "out.csv"))
	if got := strings.Join(header[:4], ","); got != "name,domain,name_2,ceo" {
		t.Errorf("header starts %s, want name,domain,name_2,ceo", got)
	}
	if len(rows) != 2 || rows[0]["name_2"] != "Acme Corp" || rows[1]["domain"] != "globex.com" || rows[1]["name_2"] != "" {
		t.Errorf("rows = %v", rows)
	}
}
