package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lockedError reports a job whose lock another execution holds.
type lockedError struct {
	path string
	pid  int // 0 when the holder has not written it yet
}

func (e *lockedError) Error() string {
	holder := "another process"
	if e.pid > 0 {
		holder = fmt.Sprintf("process %d", e.pid)
	}
	return fmt.Sprintf("%s holds %s: another execution of this job is running; add --wait-lock to wait for it", holder, e.path)
}

// lockPollInterval is how often --wait-lock tries the lock again. Polling,
// rather than a blocking lock, is what lets Ctrl-C end the wait.
const lockPollInterval = 200 * time.Millisecond

// lockJob takes the OS lock on path (the journal's name with .lock), so two
// executions of the same job never overlap. The kernel drops the lock when
// its holder exits, however it exits, so a killed run never blocks the
// next. With wait it waits until ctx ends; without, a held lock is a
// *lockedError. The holder's pid is written into the file for that message.
func lockJob(ctx context.Context, path string, wait bool, stderr io.Writer) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	waiting := false
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		held := &lockedError{path: path, pid: lockHolder(f)}
		if !wait {
			f.Close()
			return nil, held
		}
		if !waiting {
			fmt.Fprintf(stderr, "exa-enrich: %s; waiting (Ctrl-C to give up)\n", strings.TrimSuffix(held.Error(), "; add --wait-lock to wait for it"))
			waiting = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(lockPollInterval):
		}
	}
	// The pid is for the message a second execution prints; the lock is
	// the flock, not the file's content.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = unlockFile(f)
		f.Close()
	}, nil
}

// lockHolder reads the pid the lock's holder wrote, or 0.
func lockHolder(f *os.File) int {
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}
