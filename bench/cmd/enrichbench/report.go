package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// report is the Markdown a run of the benchmarks or of the chaos harness
// produces.
type report struct{ b strings.Builder }

func (r *report) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *report) String() string { return r.b.String() }

// machine says what the figures were measured on.
func (r *report) machine() {
	model, mem := "unknown", "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
		f.Close()
	}
	r.printf("Machine: %d CPUs (%s), %s memory, %s/%s, %s.\n", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func (r *report) overheadRow(format string, rows int, tool measured, what string, other measured) {
	r.printf("| %s | %d | %s | %s | %s | %s | %s | **%.2f×** | **%.2f×** |\n", format, rows,
		secs(tool.Wall), mib(tool.MaxRSS), what, secs(other.Wall), mib(other.MaxRSS),
		ratio(tool.Wall, other.Wall), float64(tool.MaxRSS)/float64(max(other.MaxRSS, 1)))
}

// replaceSection puts body between the file's <!-- NAME:begin --> and
// <!-- NAME:end --> markers (appending them when missing), so that the
// benchmarks and the chaos harness each regenerate their own part of
// BENCHMARKS.md.
func replaceSection(path, name, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	section := begin + "\n" + body + end
	s := string(old)
	if s == "" {
		s = "# Benchmarks\n\nThis file is written by `scripts/bench` and `scripts/chaos` (see README.md, \"Benchmarks and chaos\"); do not edit it by hand.\n"
	}
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i >= 0 && j > i {
		s = s[:i] + section + s[j+len(end):]
	} else {
		s = strings.TrimRight(s, "\n") + "\n\n" + section + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// commandLine is how this run was started, as the scripts name it.
func commandLine() string {
	if c := os.Getenv("ENRICHBENCH_COMMAND"); c != "" {
		return c
	}
	return strings.Join(os.Args, " ")
}

func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func ratio(a, b time.Duration) float64 { return a.Seconds() / max(b.Seconds(), 1e-9) }

func pct(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f %%", 100*a/b)
}
