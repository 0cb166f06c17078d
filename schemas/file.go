package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// Info names a built-in schema and says in one line what it asks for.
type Info struct {
	Name        string
	Description string
}

// Builtins lists the built-in schemas, by name.
func Builtins() []Info {
	entries, _ := builtinFS.ReadDir("builtin")
	var out []Info
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		data, _ := builtinFS.ReadFile("builtin/" + e.Name())
		var doc struct {
			Description string `json:"description"`
		}
		_ = json.Unmarshal(data, &doc)
		first, _, _ := strings.Cut(doc.Description, "\n")
		out = append(out, Info{Name: name, Description: first})
	}
	return out
}

// Builtin returns the built-in schema with this name.
func Builtin(name string) (*Schema, error) {
	data, err := builtinFS.ReadFile("builtin/" + name + ".json")
	if err != nil {
		names := make([]string, 0)
		for _, b := range Builtins() {
			names = append(names, b.Name)
		}
		return nil, fmt.Errorf("no built-in schema %q (built-ins: %s)", name, strings.Join(names, ", "))
	}
	return Parse(name, data)
}

// Load returns the built-in schema called ref, or else the schema in the
// file at ref. A name with a path separator or a .json extension is always
// a file.
func Load(ref string) (*Schema, error) {
	if !strings.ContainsAny(ref, `/\`) && path.Ext(ref) == "" {
		if _, err := builtinFS.ReadFile("builtin/" + ref + ".json"); err == nil {
			return Builtin(ref)
		}
		if _, err := os.Stat(ref); errors.Is(err, os.ErrNotExist) {
			return Builtin(ref) // the error lists the built-ins
		}
	}
	return ParseFile(ref)
}

// ParseFile reads a per-row JSON Schema from a file.
func ParseFile(name string) (*Schema, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// Parse reads a per-row JSON Schema (draft-07, 2019-09 or 2020-12 by its
// $schema; 2020-12 when it names none). Its root must be an object schema;
// its columns follow the order its properties are written in. source names
// it in errors.
func Parse(source string, data []byte) (*Schema, error) {
	d := &orderedDecoder{dec: json.NewDecoder(bytes.NewReader(data)), order: map[string][]string{}, offsets: map[string]int64{}}
	d.dec.UseNumber()
	v, err := d.value("")
	if err == nil {
		if _, extra := d.dec.Token(); extra != io.EOF {
			err = d.fail(d.dec.InputOffset(), errors.New("more than one JSON value"))
		}
	}
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			err = d.fail(se.Offset, err)
		}
		var pe *SpecError
		if errors.As(err, &pe) {
			pe.Source = source
			pe.Line = lineAt(data, d.errAt)
			return nil, pe
		}
		return nil, &SpecError{Source: source, Line: lineAt(data, d.dec.InputOffset()), Err: err}
	}
	row, ok := v.(map[string]any)
	if !ok {
		return nil, &SpecError{Source: source, Line: 1, Err: fmt.Errorf("the root must be a JSON object (an object schema), got %s", jsonText(v))}
	}
	at := func(ptr string) int {
		for {
			if off, ok := d.offsets[ptr]; ok {
				return lineAt(data, off)
			}
			i := strings.LastIndexByte(ptr, '/')
			if i < 0 {
				return 0
			}
			ptr = ptr[:i]
		}
	}
	return newSchema(source, row, d.order, at)
}

// orderedDecoder decodes JSON while remembering, for each object, its keys
// in the order written (columns follow it) and, for each value, where it
// starts (errors name the line).
type orderedDecoder struct {
	dec     *json.Decoder
	order   map[string][]string
	offsets map[string]int64
	errAt   int64
}

func (d *orderedDecoder) fail(at int64, err error) error {
	d.errAt = at
	return &SpecError{Err: err}
}

func (d *orderedDecoder) value(ptr string) (any, error) {
	d.offsets[ptr] = d.dec.InputOffset()
	tok, err := d.dec.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch delim {
	case '{':
		obj := map[string]any{}
		keys := []string{}
		for d.dec.More() {
			at := d.dec.InputOffset()
			kt, err := d.dec.Token()
			if err != nil {
				return nil, err
			}
			key := kt.(string)
			if _, dup := obj[key]; dup {
				return nil, d.fail(at+1, fmt.Errorf("key %q appears twice in the same object", key))
			}
			child, err := d.value(ptr + "/" + escapePointer(key))
			if err != nil {
				return nil, err
			}
			obj[key] = child
			keys = append(keys, key)
		}
		if _, err := d.dec.Token(); err != nil {
			return nil, err
		}
		d.order[ptr] = keys
		return obj, nil
	default: // '['
		arr := []any{}
		for i := 0; d.dec.More(); i++ {
			child, err := d.value(fmt.Sprintf("%s/%d", ptr, i))
			if err != nil {
				return nil, err
			}
			arr = append(arr, child)
		}
		if _, err := d.dec.Token(); err != nil {
			return nil, err
		}
		return arr, nil
	}
}

// lineAt returns the line holding the byte at off, counting from 1. The
// offset of a value is where the previous token ended, so leading
// whitespace is skipped first.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	for off < int64(len(data)) && slices.Contains([]byte(" \t\r\n:,"), data[off]) {
		off++
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}
