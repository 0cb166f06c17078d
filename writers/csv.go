package writers

import (
	"bufio"
	"encoding/csv"
	"io"
	"strings"
)

// csvEncoder writes RFC 4180 CSV: lists and objects as JSON text, _sources
// as space-separated URLs.
type csvEncoder struct {
	lay   *layout
	buf   *bufio.Writer
	w     *csv.Writer
	cells []string
}

func newCSV(w io.Writer, lay *layout) (encoder, error) {
	buf := bufio.NewWriterSize(w, 64<<10)
	e := &csvEncoder{lay: lay, buf: buf, w: csv.NewWriter(buf)}
	if err := e.w.Write(lay.header); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *csvEncoder) write(r *row) error {
	cells := e.cells[:0]
	for i, v := range r.values {
		if r.filled != nil && r.filled[i] {
			v = e.text(v)
		}
		cells = append(cells, v)
	}
	for _, v := range r.answers {
		if s, ok := v.(string); ok {
			cells = append(cells, e.text(s))
		} else {
			cells = append(cells, CellText(v)) // a number such as -1.5 is no formula
		}
	}
	rec := r.rec
	cells = append(cells, rec.Status, e.text(rec.Error), e.text(rec.RunID), r.cost,
		e.text(strings.Join(rec.Sources, " ")), e.text(rec.Confidence), r.cites, r.at)
	e.cells = cells
	return e.w.Write(cells)
}

// text guards a cell that came from the API: a leading ' makes Excel and
// LibreOffice show it as text instead of evaluating it.
func (e *csvEncoder) text(s string) string {
	if !e.lay.opts.AllowFormulas && risky(s) {
		return "'" + s
	}
	return s
}

func (e *csvEncoder) finish(map[string]int) error {
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return err
	}
	return e.buf.Flush()
}
