package writers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
)

// jsonlEncoder writes one JSON object per line: the source columns as
// strings, then the answer's top-level fields (objects stay objects, lists
// arrays, numbers as the API wrote them), then the _ columns.
type jsonlEncoder struct {
	lay    *layout
	buf    *bufio.Writer
	fields []jsonField // top-level answer fields in schema order
	line   bytes.Buffer
}

type jsonField struct {
	name string // output key, prefix included
	path string // the answer's field
}

func newJSONL(w io.Writer, lay *layout) *jsonlEncoder {
	e := &jsonlEncoder{lay: lay, buf: bufio.NewWriterSize(w, 64<<10)}
	for _, c := range lay.appended {
		prefix := strings.TrimSuffix(c.Name, strings.Join(c.Path, "."))
		f := jsonField{name: prefix + c.Path[0], path: c.Path[0]}
		if !slices.Contains(e.fields, f) {
			e.fields = append(e.fields, f)
		}
	}
	return e
}

func (e *jsonlEncoder) write(r *row) error {
	b := &e.line
	b.Reset()
	b.WriteByte('{')
	n := 0
	put := func(key string, v any) error {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		val, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(val)
		return nil
	}
	for i, c := range e.lay.opts.Columns {
		if err := put(c, r.values[i]); err != nil {
			return err
		}
	}
	for _, f := range e.fields {
		var v any
		if r.rec.Answer != nil {
			v = r.rec.Answer[f.path]
		}
		if err := put(f.name, v); err != nil {
			return err
		}
	}
	rec := r.rec
	sources := rec.Sources
	if sources == nil {
		sources = []string{}
	}
	var cites any = json.RawMessage("{}")
	if r.cites != "" {
		cites = json.RawMessage(r.cites)
	}
	for _, kv := range []struct {
		k string
		v any
	}{
		{"_status", rec.Status}, {"_error", rec.Error}, {"_run_id", rec.RunID},
		{"_cost_usd", json.Number(r.cost)}, {"_sources", sources}, {"_confidence", rec.Confidence},
		{"_citations", cites}, {"_enriched_at", r.at},
	} {
		if err := put(kv.k, kv.v); err != nil {
			return err
		}
	}
	b.WriteString("}\n")
	_, err := e.buf.Write(b.Bytes())
	return err
}

func (e *jsonlEncoder) finish(map[string]int) error { return e.buf.Flush() }
