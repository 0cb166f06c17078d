package readers

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Run with: go test -run '^$' -bench . -benchtime 1x ./readers
// peak-heap-MB must stay the same from 100k to 1M rows: the reader streams.

func BenchmarkCSV100k(b *testing.B)   { benchmarkRead(b, "big.csv", 100_000) }
func BenchmarkCSV1M(b *testing.B)     { benchmarkRead(b, "big.csv", 1_000_000) }
func BenchmarkJSONL100k(b *testing.B) { benchmarkRead(b, "big.jsonl", 100_000) }
func BenchmarkJSONL1M(b *testing.B)   { benchmarkRead(b, "big.jsonl", 1_000_000) }

func benchmarkRead(b *testing.B, name string, n int) {
	path := filepath.Join(b.TempDir(), name)
	writeBigFile(b, path, n)
	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		runtime.GC()
		p := readAndMeasure(b, path, n)
		peak = max(peak, p)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// readAndMeasure reads every row of path, sampling the heap every few
// batches, and returns the largest heap seen.
func readAndMeasure(b *testing.B, path string, n int) uint64 {
	r, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var ms runtime.MemStats
	var peak uint64
	rows := 0
	for i := 0; ; i++ {
		batch, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		rows += len(batch)
		if i%20 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if rows != n {
		b.Fatalf("read %d rows, want %d", rows, n)
	}
	return peak
}

// writeBigFile writes n rows of six columns, CSV or JSONL by extension.
func writeBigFile(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	jsonl := filepath.Ext(path) == ".jsonl"
	if !jsonl {
		fmt.Fprintln(w, "id,name,domain,note,amount,date")
	}
	for i := range n {
		if jsonl {
			fmt.Fprintf(w, `{"id":%d,"name":"Company %d","domain":"company%d.example.com","note":"Note, with a comma \"and quotes\"","amount":%d.%02d,"date":"2024-%02d-%02d"}`+"\n",
				i+1, i, i, i%100000, i%100, i%12+1, i%28+1)
			continue
		}
		fmt.Fprintf(w, "%d,Company %d,company%d.example.com,\"Note, with a comma \"\"and quotes\"\"\",%d.%02d,2024-%02d-%02d\n",
			i+1, i, i, i%100000, i%100, i%12+1, i%28+1)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
