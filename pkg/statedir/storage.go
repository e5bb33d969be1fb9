package statedir

import (
	"errors"
	"fmt"
	"syscall"
)

// StorageError is a write to the state root that the file system refused
// (full disk, read-only mount, no permission, quota): it names the
// directory, says what to do, and promises what the writers guarantee —
// nothing was changed (staging renames a complete tree into place, and
// WriteFileAtomic renames a complete file over the old one, so a failed
// write leaves the previous state).
type StorageError struct {
	Dir  string
	Hint string
	Err  error
}

func (e *StorageError) Error() string {
	return fmt.Sprintf("%v: %s; nothing was changed", e.Err, e.Hint)
}

func (e *StorageError) Unwrap() error { return e.Err }

// explainStorage turns a file-system refusal into a StorageError; other
// errors, and ones already explained, pass through.
func explainStorage(err error, dir string) error {
	if err == nil {
		return nil
	}
	var se *StorageError
	if errors.As(err, &se) {
		return err
	}
	hint := storageHint(err, dir)
	if hint == "" {
		return err
	}
	return &StorageError{Dir: dir, Hint: hint, Err: err}
}

func storageHint(err error, dir string) string {
	var hint string
	switch {
	case errors.Is(err, syscall.ENOSPC):
		hint = "the disk holding " + dir + " is full: free some space (or point CLAUDE_BOTTLE_HOME elsewhere) and try again"
	case errors.Is(err, syscall.EDQUOT):
		hint = "your disk quota for " + dir + " is used up: free some space and try again"
	case errors.Is(err, syscall.EROFS):
		hint = dir + " is on a read-only file system: remount it read-write or point CLAUDE_BOTTLE_HOME elsewhere"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		hint = "no permission to write in " + dir + ": fix its owner or mode, or point CLAUDE_BOTTLE_HOME elsewhere"
	}
	return hint
}
