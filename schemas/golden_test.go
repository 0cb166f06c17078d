package schemas

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schemas -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./schemas -update rewrites it after review):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// columnList renders columns one a line: name, path, JSON type, format,
// Arrow type.
func columnList(cols []Column) []byte {
	var b bytes.Buffer
	for _, c := range cols {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", c.Name, strings.Join(c.Path, "/"), c.Type, c.Format, c.Arrow)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	company, err := Builtin("company")
	if err != nil {
		t.Fatal(err)
	}
	withIdentity, err := company.WithIdentity([]string{"name", "domain"})
	if err != nil {
		t.Fatal(err)
	}
	nested, err := ParseFile("testdata/nested.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		schema *Schema
	}{
		{"company", company},
		{"company-identity", withIdentity},
		{"nested", nested},
	} {
		t.Run(tt.name, func(t *testing.T) {
			batch, err := json.MarshalIndent(tt.schema.Batch([]string{"2", "3", "4"}), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".batch.golden", append(batch, '\n'))
			golden(t, tt.name+".columns.golden", columnList(tt.schema.Columns))
		})
	}
}
