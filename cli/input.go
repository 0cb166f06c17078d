package cli

import (
	"fmt"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/exa-enrich/exa-enrich/readers"
)

// inputFlags are how a command is told to read its input file; embedded in
// every command that reads one, so the flags mean the same everywhere.
type inputFlags struct {
	Format        string        `help:"Input format when the extension does not say it: csv, tsv, jsonl, xlsx or parquet."`
	Sheet         string        `help:"XLSX: the sheet to read, by name or number (default: the first visible sheet)."`
	Delimiter     delimiterFlag `help:"CSV: the cell delimiter (default: detected among , ; tab |). A single character, or tab, comma, semicolon, pipe." placeholder:"CHAR"`
	AllowRagged   bool          `help:"CSV: pad rows shorter than the header with empty cells (and drop empty cells beyond it) instead of failing."`
	Encoding      string        `help:"CSV without a byte-order mark: its character set, one of utf-8, latin1, windows-1252, utf-16le, utf-16be (default: utf-8, and invalid UTF-8 is an error)."`
	DedupeHeaders bool          `help:"Rename duplicate column names to name_2, name_3, … instead of failing."`
}

// readerOptions is what the flags ask of readers.Open.
func (f inputFlags) readerOptions() readers.Options {
	return readers.Options{
		Format:        f.Format,
		Sheet:         f.Sheet,
		Delimiter:     rune(f.Delimiter),
		AllowRagged:   f.AllowRagged,
		Encoding:      f.Encoding,
		DedupeHeaders: f.DedupeHeaders,
	}
}

// delimiterFlag accepts a delimiter by name as well as by character,
// because a literal tab is hard to type in a shell.
type delimiterFlag rune

var delimiterNames = map[string]rune{
	"tab": '\t', `\t`: '\t', "comma": ',', "semicolon": ';', "pipe": '|', "space": ' ',
}

// Decode implements kong.MapperValue, so a bad delimiter is a usage error
// reported before anything runs.
func (d *delimiterFlag) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("delimiter", &s); err != nil {
		return err
	}
	if r, ok := delimiterNames[s]; ok {
		*d = delimiterFlag(r)
		return nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || size != len(s) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return fmt.Errorf("--delimiter %q: want one character other than a quote or line break, or tab, comma, semicolon, pipe, space", s)
	}
	*d = delimiterFlag(r)
	return nil
}
