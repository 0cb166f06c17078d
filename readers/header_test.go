package readers

import (
	"fmt"
	"reflect"
	"testing"
)

func TestNormalizeHeader(t *testing.T) {
	tests := []struct {
		name  string
		in    []string
		dedup bool
		want  []string
		err   error
	}{
		{name: "unchanged", in: []string{"a", "b"}, want: []string{"a", "b"}},
		{name: "trimmed", in: []string{" a", "b\t", "\u00a0c "}, want: []string{"a", "b", "c"}},
		{name: "blanks numbered by position", in: []string{"", "b", "  "}, want: []string{"column_1", "b", "column_3"}},
		{name: "case differs is not a duplicate", in: []string{"Name", "name"}, want: []string{"Name", "name"}},
		{name: "duplicate", in: []string{"a", "b", "a"},
			err: &ParseError{File: "f.xlsx", Sheet: "S", Row: 3, Column: "a", Err: fmt.Errorf("%w: columns %d and %d are both named %q; rename one or de-duplicate the headers", ErrDuplicateColumn, 1, 3, "a")}},
		{name: "blank name collides with a real one", in: []string{"column_2", ""},
			err: &ParseError{File: "f.xlsx", Sheet: "S", Row: 3, Column: "column_2", Err: fmt.Errorf("%w: columns %d and %d are both named %q; rename one or de-duplicate the headers", ErrDuplicateColumn, 1, 2, "column_2")}},
		{name: "deduped", in: []string{"a", "a", "b", "a"}, dedup: true, want: []string{"a", "a_2", "b", "a_3"}},
		{name: "suffix skips names taken later", in: []string{"a", "a", "a_2"}, dedup: true, want: []string{"a", "a_3", "a_2"}},
		{name: "deduped blank", in: []string{"column_2", ""}, dedup: true, want: []string{"column_2", "column_2_2"}},
		{name: "empty header", in: []string{}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizeHeader("f.xlsx", "S", 3, tt.in, Options{DedupeHeaders: tt.dedup})
			if !reflect.DeepEqual(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{File: "companies.csv", Row: 17, Column: "domain", Err: ErrInvalidUTF8}, `companies.csv: row 17, column "domain": invalid UTF-8`},
		{&ParseError{File: "a.xlsx", Sheet: "Q1", Row: 2, Err: ErrRagged}, `a.xlsx: sheet "Q1": row 2: row has a different number of cells than the header`},
		{&ParseError{File: "a.parquet", Column: "price", Err: ErrEmpty}, `a.parquet: column "price": the file is empty`},
		{&ParseError{File: "a.csv", Err: ErrNoRows}, `a.csv: the file has a header but no data rows`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
