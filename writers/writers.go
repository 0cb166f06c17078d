// Package writers writes the enriched file: every source row unchanged and
// in order, followed by the answer's columns and the job's bookkeeping
// columns (_status, _error, _run_id, _cost_usd, _sources). Files are written to a
// temporary name and renamed into place, so a failed write never leaves a
// half file or spoils an earlier output.
package writers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/exa-enrich/exa-enrich/schemas"
)

// Record is one output row.
type Record struct {
	Values  []string       // the source row, unchanged
	Answer  map[string]any // the answer item; nil when there is none
	Status  string
	Error   string
	RunID   string
	CostUSD float64
	Sources []string
}

// MetaColumns follow the answer's columns in every output.
var MetaColumns = []string{"_status", "_error", "_run_id", "_cost_usd", "_sources"}

// Formats lists the supported output formats.
var Formats = []string{"csv"}

// Writer writes one output file.
type Writer struct {
	tmp     *os.File
	path    string
	answers []schemas.Column
	enc     encoder
}

type encoder interface {
	write(cells []string) error
	flush() error
}

// Create starts writing path in the format its extension names. Nothing
// appears at path until Commit.
func Create(path string, sourceColumns []string, answers []schemas.Column) (*Writer, error) {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if ext != "csv" {
		return nil, fmt.Errorf("%s: unknown output format %q (supported: %s)", path, ext, strings.Join(Formats, ", "))
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
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	w := &Writer{tmp: tmp, path: path, answers: answers, enc: newCSV(tmp)}
	header := append([]string{}, sourceColumns...)
	for _, c := range answers {
		header = append(header, c.Name)
	}
	header = append(header, MetaColumns...)
	if err := w.enc.write(header); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

// Write appends one row.
func (w *Writer) Write(r Record) error {
	cells := make([]string, 0, len(r.Values)+len(w.answers)+len(MetaColumns))
	cells = append(cells, r.Values...)
	for _, c := range w.answers {
		cells = append(cells, cellText(c.Lookup(r.Answer)))
	}
	cells = append(cells, r.Status, r.Error, r.RunID, formatDollars(r.CostUSD), strings.Join(r.Sources, " "))
	if err := w.enc.write(cells); err != nil {
		return fmt.Errorf("%s: %w", w.path, err)
	}
	return nil
}

// Commit flushes, syncs and renames the file into place.
func (w *Writer) Commit() error {
	err := w.enc.flush()
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
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// cellText renders an answer value as text: numbers as the API wrote them,
// lists and objects as JSON, null as an empty cell.
func cellText(v any) string {
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

func formatDollars(x float64) string {
	return strconv.FormatFloat(x, 'f', 6, 64)
}
