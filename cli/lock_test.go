//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

const holdLockEnv = "EXA_ENRICH_TEST_HOLD_LOCK"

// TestHelperHoldLock is not a test: it is the other process of the lock
// tests. It takes the lock named in its environment, says so, and holds it
// until its stdin closes or it is killed.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv(holdLockEnv)
	if path == "" {
		t.Skip("helper process for the lock tests")
	}
	unlock, err := lockJob(context.Background(), path, false, io.Discard)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	unlock()
	os.Exit(0)
}

// holdLock starts another process that holds the lock at path.
func holdLock(t *testing.T, path string) (cmd *exec.Cmd, release func()) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), holdLockEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	return cmd, func() { stdin.Close() }
}

// lockedJob is a run whose journal, and so whose lock, is in a temp dir.
func lockedJob(t *testing.T) (args []string, lock string, env map[string]string) {
	sim, err := exasim.Start(exasim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	in := copyExample(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "job.db")
	return []string{"run", "--fields", "ceo:string", "--query", "CEO", "--qps", "0",
		"-o", filepath.Join(dir, "out.csv"), "--state", state, in}, state + ".lock", map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}
}

func TestLockKeepsTwoExecutionsApart(t *testing.T) {
	args, lock, env := lockedJob(t)
	holder, _ := holdLock(t, lock)

	code, _, stderr := runMain(t, env, args...)
	if code != ExitFatal {
		t.Fatalf("exit %d, want %d while another process holds the lock: %s", code, ExitFatal, stderr)
	}
	want := fmt.Sprintf("process %d holds %s", holder.Process.Pid, lock)
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "--wait-lock") {
		t.Errorf("stderr %q\nwant it to say %q and mention --wait-lock", stderr, want)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(lock), "out.csv")); err == nil {
		t.Error("the locked-out execution wrote the output")
	}

	// A killed holder leaves its lock file behind, and its pid in it; the
	// kernel released the lock itself.
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	if b, _ := os.ReadFile(lock); strings.TrimSpace(string(b)) != fmt.Sprint(holder.Process.Pid) {
		t.Fatalf("lock file holds %q, want the killed pid", b)
	}
	if code, _, stderr := runMain(t, env, args...); code != ExitOK {
		t.Fatalf("after the holder was killed: exit %d: %s", code, stderr)
	}
}

func TestLockFileWithoutHolderDoesNotBlock(t *testing.T) {
	args, lock, env := lockedJob(t)
	if err := os.WriteFile(lock, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runMain(t, env, args...); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(lock); len(b) != 0 {
		t.Errorf("lock file after the run holds %q, want it emptied", b)
	}
}

func TestWaitLockWaitsForTheHolder(t *testing.T) {
	args, lock, env := lockedJob(t)
	_, release := holdLock(t, lock)
	var released atomic.Bool
	time.AfterFunc(600*time.Millisecond, func() { released.Store(true); release() })

	code, _, stderr := runMain(t, env, append(args, "--wait-lock")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !released.Load() {
		t.Error("the run finished before the holder released the lock")
	}
	if !strings.Contains(stderr, "holds "+lock+": another execution of this job is running; waiting") {
		t.Errorf("stderr %q: want it to say what it waits for", stderr)
	}
}

func TestWaitLockEndsAtCtrlC(t *testing.T) {
	args, lock, env := lockedJob(t)
	holdLock(t, lock)
	signals := make(chan os.Signal, 1)
	time.AfterFunc(300*time.Millisecond, func() { signals <- os.Interrupt })
	var stderr strings.Builder
	start := time.Now()
	code := Main(context.Background(), append(args, "--wait-lock"), Env{Stdout: io.Discard, Stderr: &stderr,
		Getenv: func(k string) string { return env[k] }, Signals: signals})
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, ExitInterrupted, stderr.String())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Ctrl-C took %v to end the wait", d)
	}
}
