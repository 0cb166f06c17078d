package readers

import (
	"fmt"
	"strings"
	"testing"
)

func TestJSONL(t *testing.T) {
	runReadCases(t, []readCase{
		{name: "keys in first-seen order across the file", file: "x.jsonl",
			content: `{"b":1,"a":"x"}` + "\n" + `{"a":"y","c":true}` + "\n" + `{"c":false}` + "\n",
			columns: []string{"b", "a", "c"}, values: [][]string{{"1", "x", ""}, {"", "y", "true"}, {"", "", "false"}}, rows: []int{1, 2, 3}},
		{name: "values", file: "x.jsonl",
			content: `{"n":1.50,"e":1e3,"big":12345678901234567890,"null":null,"obj":{"k": [1, "two"]},"arr":[ ],"s":"a\tb\u00e9"}` + "\n",
			columns: []string{"n", "e", "big", "null", "obj", "arr", "s"},
			values:  [][]string{{"1.50", "1e3", "12345678901234567890", "", `{"k":[1,"two"]}`, "[]", "a\tbé"}}},
		{name: "blank lines skipped but counted, CRLF, BOM", file: "x.ndjson",
			content: "\xef\xbb\xbf{\"a\":1}\r\n\r\n   \n{\"a\":2}",
			columns: []string{"a"}, values: [][]string{{"1"}, {"2"}}, rows: []int{1, 4}},
		{name: "keys trimmed and blank named", file: "x.jsonl", content: `{" a ":1,"":2}` + "\n",
			columns: []string{"a", "column_2"}, values: [][]string{{"1", "2"}}},
		{name: "keys equal once trimmed", file: "x.jsonl", content: `{"a":1}` + "\n" + `{"a ":2}` + "\n",
			err: `x.jsonl: column "a": duplicate column name: columns 1 and 2 are both named "a"; rename one or de-duplicate the headers`, is: ErrDuplicateColumn},
		{name: "keys equal once trimmed, deduped", file: "x.jsonl", content: `{"a":1}` + "\n" + `{"a ":2}` + "\n", opts: Options{DedupeHeaders: true},
			columns: []string{"a", "a_2"}, values: [][]string{{"1", ""}, {"", "2"}}},
		{name: "not an object", file: "x.jsonl", content: `{"a":1}` + "\n\n" + `[1,2]` + "\n",
			err: `x.jsonl: row 3: line is not a JSON object (it starts with "[1,2]")`, is: ErrNotObject},
		{name: "a string", file: "x.jsonl", content: `"a"` + "\n",
			err: `x.jsonl: row 1: line is not a JSON object (it starts with "\"a\"")`, is: ErrNotObject},
		{name: "invalid JSON", file: "x.jsonl", content: `{"a":1}` + "\n" + `{"a":}` + "\n",
			err: `x.jsonl: row 2, column "a": invalid JSON: invalid character '}' looking for beginning of value`},
		{name: "truncated object", file: "x.jsonl", content: `{"a":1` + "\n",
			err: `x.jsonl: row 1: invalid JSON: unexpected EOF`},
		{name: "two objects on a line", file: "x.jsonl", content: `{"a":1}{"a":2}` + "\n",
			err: `x.jsonl: row 1: invalid JSON: more than one value on the line`},
		{name: "duplicate key", file: "x.jsonl", content: `{"a":1,"b":2,"a":3}` + "\n",
			err: `x.jsonl: row 1, column "a": key appears twice in the object`, is: ErrDuplicateKey},
		{name: "invalid UTF-8", file: "x.jsonl", content: "{\"a\":\"caf\xe9\"}\n",
			err: `x.jsonl: row 1: invalid UTF-8 (byte 0xE9 after "{\"a\":\"caf"); JSON Lines must be UTF-8`, is: ErrInvalidUTF8},
		{name: "empty file", file: "x.jsonl", content: "", err: "x.jsonl: the file is empty", is: ErrEmpty},
		{name: "only blank lines", file: "x.jsonl", content: "\n \n\r\n", err: "x.jsonl: the file is empty", is: ErrEmpty},
		{name: "only empty objects", file: "x.jsonl", content: "{}\n{ }\n", err: "x.jsonl: the file is empty: no object has a key", is: ErrEmpty},
		{name: "a line longer than the buffer", file: "x.jsonl", content: `{"a":"` + strings.Repeat("x", 200<<10) + `"}` + "\n" + `{"a":"y"}`,
			columns: []string{"a"}, values: [][]string{{strings.Repeat("x", 200<<10)}, {"y"}}, rows: []int{1, 2}},
	})
}

func TestJSONLTooManyKeys(t *testing.T) {
	var b strings.Builder
	for i := 0; i <= MaxJSONLColumns; i++ {
		fmt.Fprintf(&b, `{"k%d":1}`+"\n", i)
	}
	runReadCases(t, []readCase{{name: "too many keys", file: "x.jsonl", content: b.String(),
		err: `x.jsonl: row 10001, column "k10000": too many columns: more than 10000 distinct keys`, is: ErrTooManyColumns}})
}
