package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"
)

// syncBuffer lets the test read what a running command has printed.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSimServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--latency", "0", "--faults", "reorder=1"},
			Env{Stdout: &bytes.Buffer{}, Stderr: &stderr, Getenv: func(string) string { return "" }})
	}()
	addr := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		m = addr.FindStringSubmatch(stderr.String())
	}
	if m == nil {
		t.Fatalf("no listen address on stderr: %q", stderr.String())
	}
	resp, err := http.Get("http://" + m[1] + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	err = json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if err != nil || stats["runs_created"] != 0.0 {
		t.Errorf("stats %v, %v", stats, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit code %d after Ctrl-C, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sim did not stop when its context ended")
	}
}

func TestSimUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"remote address", []string{"sim", "--addr", "0.0.0.0:0"}, "not a loopback address"},
		{"unknown fault", []string{"sim", "--faults", "boom=0.1"}, `fault "boom": unknown`},
		{"rate above one", []string{"sim", "--faults", "drop=2"}, "RATE from 0 to 1"},
		{"bad latency", []string{"sim", "--latency", "2s-1s"}, "MAX must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, nil, tt.args...)
			if code != ExitUsage || !regexp.MustCompile(regexp.QuoteMeta(tt.wantErr)).MatchString(stderr) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, stderr, ExitUsage, tt.wantErr)
			}
		})
	}
	code, stdout, _ := runMain(t, nil, "sim", "--help")
	for _, name := range []string{"5xx", "reset", "lost-create", "fail", "cut-stream", "drop", "dup", "reorder", "invent", "off-schema", "null"} {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s`).MatchString(stdout) {
			t.Errorf("--help does not document fault %q (exit %d)", name, code)
		}
	}
}
