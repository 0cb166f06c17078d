package pipeline

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

var benchLatency = flag.String("bench.latency", "300ms-1500ms", "simulated run latency for the utilisation benchmark: MIN-MAX")

// BenchmarkUtilisation runs a job against a simulator whose concurrency
// limit the pipeline is not told, and reports how busy the account's slots
// were, busy_run_seconds ÷ (limit × wall), and the share of creates refused
// with 429. Targets: utilisation ≥ 0.95, refusals ≤ 2 %.
//
//	go test ./pipeline -run XXX -bench Utilisation -benchtime 1x
func BenchmarkUtilisation(b *testing.B) {
	min, max, ok := strings.Cut(*benchLatency, "-")
	if !ok {
		max = min
	}
	lo, hi := mustDuration(b, min), mustDuration(b, max)
	for _, limit := range []int{12, 50} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			for range b.N {
				// Enough runs that the ramp and the tail are small next to
				// the whole: about 40 rounds of the account's slots.
				runs := 40 * limit
				f := newFixture(b, exasim.Config{Seed: 1, ConcurrencyLimit: limit, Latency: exasim.Latency{Min: lo, Max: hi}})
				start := time.Now()
				sum, _, err := f.run(context.Background(), companies(runs*5), func(c *Config) {
					c.Concurrency, c.MaxConcurrency = 8, 50
				})
				wall := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				st := f.sim.Stats()
				util := st.BusyRunSeconds / (float64(limit) * wall.Seconds())
				refused := float64(st.Rejected429) / float64(st.RunsCreated+st.Rejected429)
				b.ReportMetric(util, "utilisation")
				b.ReportMetric(100*refused, "%refused")
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.Logf("limit %d: %d runs in %s, busy %.1f run-s, utilisation %.3f, %d of %d creates refused (%.2f %%), max active %d, summary refused %d",
					limit, st.RunsCreated, wall.Round(time.Millisecond), st.BusyRunSeconds, util, st.Rejected429,
					st.RunsCreated+st.Rejected429, 100*refused, st.MaxActive, sum.Refused)
			}
		})
	}
}

func mustDuration(b *testing.B, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		b.Fatalf("-bench.latency %q: want MIN-MAX or a duration", s)
	}
	return d
}
