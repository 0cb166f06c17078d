package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/exa-enrich/exa-enrich/schemas"
	"github.com/exa-enrich/exa-enrich/writers"
)

// schemaFlags say what each row's answer is; run and schema share them.
type schemaFlags struct {
	Fields   string `help:"The answer for each row, as name:type pairs: \"ceo:string, employees:integer, stage:enum(seed|growth), tags:string[]\". Types: string, integer, number, boolean, date, datetime, url, email, phone, enum(a|b|…); [] makes a list; name:type=description adds a hint (quote a description that holds commas)." xor:"answer"`
	Schema   string `placeholder:"NAME|FILE" help:"The answer for each row as a built-in schema (see 'exa-enrich schemas') or a JSON Schema file for one row." xor:"answer"`
	Identity bool   `help:"Ask the agent to echo each row's key columns (--key), and mark answers about another entity as 'mismatch'."`
	Prefix   string `help:"Put this before every answer column's name (e.g. ai_), so answers never collide with the input's columns."`

	fill bool // --only-missing: answer columns may share a source column's name
}

// load reads the answer's schema from --fields or --schema.
func (f *schemaFlags) load() (*schemas.Schema, error) {
	switch {
	case f.Fields != "" && f.Schema != "":
		return nil, usagef("--fields and --schema both describe the answer: give one")
	case f.Fields != "":
		s, err := schemas.ParseFields(f.Fields)
		if err != nil {
			return nil, usageError{err}
		}
		return s, nil
	case f.Schema != "":
		s, err := schemas.Load(f.Schema)
		if err != nil {
			return nil, usageError{fmt.Errorf("--schema: %w", err)}
		}
		return s, nil
	}
	return nil, usagef("say what to find for each row: --fields \"name:type, …\" or --schema NAME|FILE (built-ins: %s)", strings.Join(builtinNames(), ", "))
}

// compile returns the schema a job over input runs with: identity echoes for
// the key columns when asked, the prefix on every column, and no column
// named like one the output already has.
func (f *schemaFlags) compile(input string, source, keys []string) (*schemas.Schema, error) {
	s, err := f.load()
	if err != nil {
		return nil, err
	}
	if f.Identity {
		if s, err = s.WithIdentity(keys); err != nil {
			return nil, usageError{fmt.Errorf("--identity: %w", err)}
		}
	}
	if f.Prefix != "" {
		s = s.WithPrefix(f.Prefix)
	}
	taken := append(slices.Clone(source), writers.MetaColumns...)
	if f.fill {
		taken = writers.MetaColumns // --only-missing: a field named like a column fills it
	}
	if err := s.CheckCollisions(taken); err != nil {
		hint := "rename the field"
		if f.Prefix == "" {
			hint += ", or add --prefix ai_ to put ai_ before every answer column"
		}
		return nil, usageError{fmt.Errorf("%s: %w\n(%s)", input, err, hint)}
	}
	return s, nil
}

func builtinNames() []string {
	var names []string
	for _, b := range schemas.Builtins() {
		names = append(names, b.Name)
	}
	return names
}

type schemaCmd struct {
	schemaFlags `embed:""`
	Key         []string `help:"Key columns the answer echoes with --identity." sep:","`
	Rows        int      `default:"3" help:"Rows in the example run: their ids are 2, 3, … as the first rows after a header line would be."`
	Columns     bool     `help:"Print the output columns (name, JSON type, format, Parquet type) instead of the batch schema."`
}

func (c *schemaCmd) Help() string {
	return `Prints the outputSchema one run would send, for an example run of --rows rows:
the answer for each row wrapped in an object holding one array, "rows", with
exactly one item per row, each carrying its rowId. With --columns, prints the
columns the answer adds to the output instead.

Examples:
  exa-enrich schema --fields "ceo:string, employees:integer, stage:enum(seed|growth)"
  exa-enrich schema --schema company --identity --key name,domain
  exa-enrich schema --schema row.json --columns`
}

func (c *schemaCmd) Run(env *Env) error {
	if c.Rows < 1 {
		return usagef("--rows must be at least 1")
	}
	if c.Identity && len(c.Key) == 0 {
		return usagef("--identity echoes the key columns: name them with --key (the schema command reads no file)")
	}
	s, err := c.compile("the key columns", c.Key, c.Key)
	if err != nil {
		return err
	}
	if c.Columns {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COLUMN\tTYPE\tFORMAT\tPARQUET")
		for _, col := range s.Columns {
			typ := col.Type
			if typ == "" {
				typ = "(several)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", col.Name, typ, col.Format, col.Arrow)
		}
		return tw.Flush()
	}
	ids := make([]string, c.Rows)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 2)
	}
	out, err := json.MarshalIndent(s.Batch(ids), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", out)
	return err
}

type schemasCmd struct{}

func (schemasCmd) Help() string {
	return `Lists the schemas built into the binary, for --schema NAME.

Examples:
  exa-enrich schemas
  exa-enrich schema --schema company --columns`
}

func (schemasCmd) Run(env *Env) error {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, b := range schemas.Builtins() {
		fmt.Fprintf(tw, "%s\t%s\n", b.Name, b.Description)
	}
	fmt.Fprintln(tw, "\nUse one with --schema NAME; 'exa-enrich schema --schema NAME' shows it in full.")
	return tw.Flush()
}
