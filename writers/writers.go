// Package writers writes the enriched file: every source row unchanged and
// in input order, followed by the answer's columns and the job's
// bookkeeping columns (_status, _error, _run_id, _cost_usd, _sources,
// _confidence, _citations, _enriched_at), in CSV, XLSX, Parquet or JSONL.
// It owns how answers become cells (types, formula-injection guard,
// links) and the atomic replacement of the output: files are written to a
// temporary name beside the output, synced and renamed into place, so a
// failed write never leaves a half file or spoils an earlier output.
package writers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/readers"
	"github.com/exa-enrich/exa-enrich/schemas"
)

// Record is one output row.
type Record struct {
	Source  readers.Source // where the row sits in the input (XLSX: the sheet row to write to)
	Values  []string       // the source row, unchanged
	Answer  map[string]any // the answer item; nil when there is none
	Status  string
	Error   string
	RunID   string
	CostUSD float64
	Sources []string // cited URLs, de-duplicated
	// Citations maps each answered field to the pages cited for it.
	Citations  map[string][]exa.Citation
	Confidence string    // lowest confidence among the row's fields
	EnrichedAt time.Time // zero when the row has no answer
}

// MetaColumns follow the answer's columns in every output, in this order.
var MetaColumns = []string{"_status", "_error", "_run_id", "_cost_usd", "_sources", "_confidence", "_citations", "_enriched_at"}

// Formats lists the supported output formats.
var Formats = []string{"csv", "jsonl", "parquet", "xlsx"}

// Options describe the file to write.
type Options struct {
	// Format names the output format; empty picks it by the extension.
	Format string
	// Columns is the input's header, in order.
	Columns []string
	// Answers are the answer's columns (schemas.Schema.Columns).
	Answers []schemas.Column
	// OnlyMissing makes an answer column named like a source column fill
	// that column's blank cells instead of being appended.
	OnlyMissing bool
	// AllowFormulas writes answer text that starts with =, +, -, @, tab or
	// CR as it is; by default it can never become a formula.
	AllowFormulas bool
	// Input is the file being enriched. When it is XLSX and the output is
	// XLSX, the output is a copy of its workbook with the answer columns
	// appended to the enriched sheet. When it is Parquet and the output is
	// Parquet, the source columns are copied from it with their types.
	Input string
	// Job describes the run, for XLSX's Run summary sheet and Parquet's
	// key-value metadata.
	Job Job
}

// Job is what the output says about the job that produced it. Status
// counts are not here: the writer counts the rows it writes.
type Job struct {
	ID       string
	Query    string
	Effort   string
	Schema   string // the per-row JSON Schema, as JSON text
	Runs     int
	CostUSD  float64
	Started  time.Time
	Finished time.Time
}

// Writer writes one output file. Call Write for every row in input order,
// then Commit; Abort discards everything.
type Writer struct {
	tmp    *os.File
	path   string
	layout *layout
	enc    encoder
	counts map[string]int
	rows   int
}

// encoder is what each file format implements.
type encoder interface {
	write(r *row) error
	// finish completes the file in the temp file; counts are the rows by
	// status.
	finish(counts map[string]int) error
}

// layout is where every value goes, shared by all formats.
type layout struct {
	opts     Options
	appended []schemas.Column // answer columns after the source columns
	fills    []fill           // --only-missing: answer columns that fill source columns
	header   []string         // source, appended answer columns, meta
}

type fill struct {
	source int // index of the source column
	answer schemas.Column
}

// row is a Record as every format needs it.
type row struct {
	rec     *Record
	values  []string // source values after --only-missing fills
	filled  []bool   // which source values came from the answer
	answers []any    // appended answer values, nil when missing
	cost    string
	cites   string // _citations as JSON
	at      string // _enriched_at
}

// Create starts writing path in the format opts.Format or its extension
// names. Nothing appears at path until Commit.
func Create(path string, opts Options) (*Writer, error) {
	format := opts.Format
	if format == "" {
		format = FormatOf(path)
	}
	if !slices.Contains(Formats, format) {
		return nil, fmt.Errorf("%s: unknown output format %q (supported: %s)", path, format, strings.Join(Formats, ", "))
	}
	lay := newLayout(opts)
	// A process killed while writing this output left its temp file: it
	// can never be committed, so it goes.
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+globEscape(filepath.Base(path))+".tmp-*"))
	for _, s := range stale {
		os.Remove(s)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file private; the output gets the mode an
	// earlier output had, or the usual one.
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	w := &Writer{tmp: tmp, path: path, layout: lay, counts: map[string]int{}}
	if err := tmp.Chmod(mode); err != nil {
		w.Abort()
		return nil, err
	}
	w.enc, err = newEncoder(format, tmp, lay)
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`)
	return r.Replace(s)
}

// newEncoder returns the format's encoder, or a nil interface (never a
// typed nil) with the error.
func newEncoder(format string, out *os.File, lay *layout) (encoder, error) {
	switch format {
	case "csv":
		return newCSV(out, lay)
	case "jsonl":
		return newJSONL(out, lay), nil
	case "xlsx":
		e, err := newXLSX(out, lay)
		if err != nil {
			return nil, err
		}
		return e, nil
	default:
		e, err := newParquet(out, lay)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

// FormatOf returns the format a path's extension names ("csv" for
// out.CSV), which may be one Create does not support.
func FormatOf(path string) string {
	return strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
}

func newLayout(opts Options) *layout {
	l := &layout{opts: opts}
	for _, c := range opts.Answers {
		if i := slices.Index(opts.Columns, c.Name); opts.OnlyMissing && i >= 0 {
			l.fills = append(l.fills, fill{source: i, answer: c})
			continue
		}
		l.appended = append(l.appended, c)
	}
	l.header = slices.Clone(opts.Columns)
	for _, c := range l.appended {
		l.header = append(l.header, c.Name)
	}
	l.header = append(l.header, MetaColumns...)
	return l
}

// FillColumns returns, for --only-missing, the answer columns that fill a
// source column of the same name rather than being appended, and whether
// any answer column would be appended. The CLI uses it to leave unsent the
// rows whose cells are all filled.
func FillColumns(columns []string, answers []schemas.Column) (fills []int, appends bool) {
	for _, c := range answers {
		if i := slices.Index(columns, c.Name); i >= 0 {
			fills = append(fills, i)
		} else {
			appends = true
		}
	}
	return fills, appends
}

// Blank says whether a source cell holds no value.
func Blank(cell string) bool { return strings.TrimSpace(cell) == "" }

func (l *layout) prepare(rec *Record) (*row, error) {
	r := &row{rec: rec, values: rec.Values}
	if len(rec.Values) != len(l.opts.Columns) {
		return nil, fmt.Errorf("%s: %d cells, but the header has %d columns", rec.Source, len(rec.Values), len(l.opts.Columns))
	}
	if len(l.fills) > 0 && rec.Answer != nil {
		r.values = slices.Clone(rec.Values)
		r.filled = make([]bool, len(rec.Values))
		for _, f := range l.fills {
			if !Blank(r.values[f.source]) {
				continue // a cell with a value is never overwritten
			}
			if v := f.answer.Lookup(rec.Answer); v != nil {
				r.values[f.source] = CellText(v)
				r.filled[f.source] = true
			}
		}
	}
	r.answers = make([]any, len(l.appended))
	for i, c := range l.appended {
		r.answers[i] = c.Lookup(rec.Answer)
	}
	r.cost = strconv.FormatFloat(rec.CostUSD, 'f', 6, 64)
	if len(rec.Citations) > 0 {
		b, err := json.Marshal(rec.Citations) // map keys sorted: stable output
		if err != nil {
			return nil, fmt.Errorf("%s: citations: %w", rec.Source, err)
		}
		r.cites = string(b)
	}
	if !rec.EnrichedAt.IsZero() {
		r.at = rec.EnrichedAt.UTC().Format(time.RFC3339)
	}
	return r, nil
}

// Write appends one row.
func (w *Writer) Write(rec Record) error {
	r, err := w.layout.prepare(&rec)
	if err != nil {
		return fmt.Errorf("%s: %w", w.path, err)
	}
	if err := w.enc.write(r); err != nil {
		return fmt.Errorf("%s: %s: %w", w.path, rec.Source, err)
	}
	w.counts[rec.Status]++
	w.rows++
	return nil
}

// Commit finishes the file, syncs it and renames it into place.
func (w *Writer) Commit() error {
	err := w.enc.finish(w.counts)
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.tmp.Name())
		return fmt.Errorf("%s: %w", w.path, err)
	}
	if dir, err := os.Open(filepath.Dir(w.path)); err == nil {
		_ = dir.Sync() // makes the rename durable where the OS supports it
		dir.Close()
	}
	return nil
}

// Abort discards the file. It is safe after Commit.
func (w *Writer) Abort() {
	if a, ok := w.enc.(interface{ abort() }); ok && w.enc != nil {
		a.abort()
	}
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// CellText renders an answer value as the text a cell shows: numbers as the API wrote them,
// lists and objects as JSON, null as an empty cell.
func CellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// risky says whether a spreadsheet would read s as a formula (or, for tab
// and CR, as the start of one after its own trimming).
func risky(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

// sortedStatuses returns the statuses in counts, most frequent first.
func sortedStatuses(counts map[string]int) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}
