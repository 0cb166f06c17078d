package writers_test

import (
	"path/filepath"
	"testing"

	"github.com/exa-enrich/exa-enrich/writers"
)

// BenchmarkWrite writes 100,000 answered rows in each format:
// go test ./writers -run '^$' -bench Write -benchtime 1x -benchmem
func BenchmarkWrite(b *testing.B) {
	const rows = 100_000
	for _, format := range writers.Formats {
		b.Run(format, func(b *testing.B) {
			rec := table(b)[0]
			opts := options(b)
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "out."+format)
				w, err := writers.Create(path, opts)
				if err != nil {
					b.Fatal(err)
				}
				for i := range rows {
					rec.Source.Row = i + 2
					if err := w.Write(rec); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
