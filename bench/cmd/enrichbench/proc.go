package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

// sim is an `exa-enrich sim` child process on a loopback port.
type sim struct {
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// startSim starts the simulator with args (--latency, --faults, …) on a
// free loopback port and waits until it answers.
func startSim(exe string, args ...string) (*sim, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &sim{addr: addr, log: new(bytes.Buffer)}
	s.cmd = exec.Command(exe, append([]string{"sim", "--addr", addr}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := s.stats(); err == nil {
			return s, nil
		}
	}
	s.stop()
	return nil, fmt.Errorf("simulator on %s did not answer: %s", addr, s.log)
}

func (s *sim) url() string { return "http://" + s.addr }

func (s *sim) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// simStats is GET /_sim/stats, as the simulator defines it.
type simStats exasim.Stats

func (s *sim) stats() (simStats, error) {
	var st simStats
	resp, err := http.Get(s.url() + "/_sim/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /_sim/stats: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (s *sim) mustStats() simStats {
	st, err := s.stats()
	if err != nil {
		fatalf("%v", err)
	}
	return st
}

// measured is one child process: its wall time, peak RSS and exit code.
type measured struct {
	Wall    time.Duration
	MaxRSS  int64 // bytes
	Code    int
	Stderr  string
	Signals []string // what the harness sent it, in order
}

// runEnrich starts `exa-enrich ARGS` against the simulator; the caller
// waits (or kills) through the returned child.
type child struct {
	cmd    *exec.Cmd
	start  time.Time
	stderr *bytes.Buffer
	done   chan struct{}
	m      measured
}

func startChild(env []string, exe string, args ...string) (*child, error) {
	c := &child{stderr: new(bytes.Buffer), done: make(chan struct{})}
	c.cmd = exec.Command(exe, args...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout = c.stderr
	c.cmd.Stderr = c.stderr
	c.start = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		c.cmd.Wait()
		c.m.Wall = time.Since(c.start)
		if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			c.m.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
		}
		c.m.Code = c.cmd.ProcessState.ExitCode()
		if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.m.Code = 128 + int(ws.Signal())
		}
		c.m.Stderr = c.stderr.String()
		close(c.done)
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) signal(sig syscall.Signal) bool {
	if c.exited() {
		return false
	}
	c.m.Signals = append(c.m.Signals, sig.String())
	return c.cmd.Process.Signal(sig) == nil
}

func (c *child) wait() measured {
	<-c.done
	return c.m
}

// run runs a child to its end.
func run(env []string, exe string, args ...string) (measured, error) {
	c, err := startChild(env, exe, args...)
	if err != nil {
		return measured{}, err
	}
	return c.wait(), nil
}

// lastLine is the last non-empty line of a child's output, for reports of
// a failure.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "enrichbench: "+format+"\n", args...)
	os.Exit(1)
}
