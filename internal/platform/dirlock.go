package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrDataDirInUse means another process holds the embedded MongoDB folder:
// a second embedded engine over the same SQLite files would have its own
// connection, so conditional updates would no longer be atomic between the
// two processes (DESIGN.md, "Two ways to run").
var ErrDataDirInUse = errors.New("embedded MongoDB folder in use by another process")

// lockFileName is the lock file inside the embedded MongoDB folder.
const lockFileName = ".lock"

// lockDataDir takes the exclusive lock on dir (the embedded MongoDB folder)
// for as long as the process runs or until the returned unlock is called,
// and writes the process ID into the lock file for the next one's message.
// A lock held by another process is an error wrapping ErrDataDirInUse that
// names the folder, the holder's PID and what to do. The lock is an advisory
// flock(2) on dir/.lock: the kernel releases it when the process ends, so a
// crash never leaves the folder locked. On systems without flock it is not
// taken (lockFile then always succeeds).
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock embedded MongoDB folder: %w", err)
	}
	held, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock embedded MongoDB folder %s: %w", dir, err)
	}
	if !held {
		pid := "unknown"
		if b, rerr := os.ReadFile(path); rerr == nil && strings.TrimSpace(string(b)) != "" {
			pid = strings.TrimSpace(string(b))
		}
		f.Close()
		return nil, fmt.Errorf("%w: %s is used by Banshi process %s; stop that process, give this one its own BANSHI_DATA_DIR, or set MONGODB_URI to share a real MongoDB",
			ErrDataDirInUse, dir, pid)
	}
	// Best effort: the PID only improves the next process's message.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { _ = f.Close() }, nil // closing the file releases the lock
}
