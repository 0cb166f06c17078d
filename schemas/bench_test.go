package schemas

import (
	"encoding/json"
	"strconv"
	"testing"
)

// BenchmarkValidate measures checking one company answer, as the pipeline
// does for every row.
func BenchmarkValidate(b *testing.B) {
	s, err := Builtin("company")
	if err != nil {
		b.Fatal(err)
	}
	item := map[string]any{
		"rowId": "2", "description": "Makes phones.", "industry": "consumer electronics",
		"hq": map[string]any{"city": "Cupertino", "country": "United States"}, "employees_range": "10001+",
		"founded_year": json.Number("1976"), "ceo": "Tim Cook", "funding_stage": "public", "total_funding_usd": nil,
		"website": "https://apple.com", "linkedin_url": "https://www.linkedin.com/company/apple",
	}
	for b.Loop() {
		if err := s.Validate(item); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatch measures building and marshalling the batch schema of a
// 100-row chunk, as every run does.
func BenchmarkBatch(b *testing.B) {
	s, err := Builtin("company")
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 2)
	}
	for b.Loop() {
		if _, err := json.Marshal(s.Batch(ids)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile measures loading the company schema: two compilations.
func BenchmarkCompile(b *testing.B) {
	for b.Loop() {
		if _, err := Builtin("company"); err != nil {
			b.Fatal(err)
		}
	}
}
