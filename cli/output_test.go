package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
	"github.com/xuri/excelize/v2"
)

// TestRunOnlyMissing: with --only-missing an answer field named like an
// input column fills that column's blank cells; rows whose cells are all
// filled are not sent and keep their values.
func TestRunOnlyMissing(t *testing.T) {
	sim, err := exasim.Start(exasim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	src := "name,domain,ceo\nApple,apple.com,Tim Cook\nMicrosoft,microsoft.com,\nNVIDIA,nvidia.com,  \nAmazon,amazon.com,Andy Jassy\n"
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	env := map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}
	code, _, stderr := runMain(t, env, "run", "--fields", "ceo:string", "--only-missing", "--query", "CEO?", "-o", out, in)
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	header, rows := readCSV(t, out)
	if got := strings.Join(header[:4], ","); got != "name,domain,ceo,_status" {
		t.Errorf("header %q: ceo must not be added twice", header)
	}
	want := map[string]string{"Apple": "kept", "Microsoft": "ok", "NVIDIA": "ok", "Amazon": "kept"}
	for _, row := range rows {
		if row["_status"] != want[row["name"]] {
			t.Errorf("%s: _status %q, want %q", row["name"], row["_status"], want[row["name"]])
		}
	}
	if rows[0]["ceo"] != "Tim Cook" || rows[3]["ceo"] != "Andy Jassy" {
		t.Errorf("filled cells were overwritten: %q, %q", rows[0]["ceo"], rows[3]["ceo"])
	}
	// Blank cells are filled with the answer about their own row.
	if rows[1]["ceo"] != "ceo of Microsoft (simulated)" || rows[2]["ceo"] != "ceo of NVIDIA (simulated)" {
		t.Errorf("blank cells not filled: %q, %q", rows[1]["ceo"], rows[2]["ceo"])
	}
	if st := sim.Stats(); st.RunsCreated != 1 {
		t.Errorf("%d runs, want 1 (the two filled rows are not sent)", st.RunsCreated)
	}
}

// TestRunOutputFormats: -o's extension picks the format.
func TestRunOutputFormats(t *testing.T) {
	in := copyExample(t)
	for _, ext := range []string{"xlsx", "parquet", "jsonl"} {
		t.Run(ext, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out."+ext)
			code, _, stderr := runMain(t, nil, "run", "--sim", "--fields", "ceo:string, employees:integer", "--query", "CEO?", "-o", out, in)
			if code != ExitOK {
				t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
			}
			switch ext {
			case "xlsx":
				f, err := excelize.OpenFile(out)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				rows, _ := f.GetRows("Enriched")
				if len(rows) != 26 || rows[0][3] != "ceo" || !strings.Contains(rows[1][3], "Apple") {
					t.Errorf("%d rows; first two %q", len(rows), rows[:2])
				}
				summary, _ := f.GetRows("Run summary")
				got := map[string]string{}
				for _, r := range summary {
					if len(r) == 2 {
						got[r[0]] = r[1]
					}
				}
				if got["query"] != "CEO?" || got["rows ok"] != "25" || got["runs"] != "3" || !strings.Contains(got["schema"], `"employees"`) {
					t.Errorf("Run summary: %q", summary)
				}
			case "jsonl":
				f, err := os.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				n := 0
				for sc := bufio.NewScanner(f); sc.Scan(); n++ {
					var obj map[string]any
					if err := json.Unmarshal(sc.Bytes(), &obj); err != nil || obj["_status"] != "ok" {
						t.Errorf("line %d: %v %v", n+1, obj, err)
					}
				}
				if n != 25 {
					t.Errorf("%d lines", n)
				}
			case "parquet":
				b, err := os.ReadFile(out)
				if err != nil || len(b) < 8 || string(b[:4]) != "PAR1" {
					t.Errorf("not a Parquet file (%v)", err)
				}
			}
		})
	}
	code, _, stderr := runMain(t, nil, "run", "--sim", "--fields", "ceo:string", "--query", "q", "-o", filepath.Join(t.TempDir(), "out.ods"), in)
	if code != ExitUsage || !strings.Contains(stderr, `unknown output format "ods" (supported: csv, jsonl, parquet, xlsx)`) {
		t.Errorf("-o out.ods: exit %d, stderr %q", code, stderr)
	}
}
