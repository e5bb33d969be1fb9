// Package statedir lays out $CLAUDE_BOTTLE_HOME: per-bottle state directories
// (one subdirectory per daemon, mounted as a directory so replaced files are
// seen), queues and the audit log; private permissions; and atomic file
// replacement inside a mounted directory.
package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// HomeEnv overrides the state root.
const HomeEnv = "CLAUDE_BOTTLE_HOME"

// Permissions: directories and private keys are private to the operator.
const (
	DirPerm     os.FileMode = 0o700
	PrivatePerm os.FileMode = 0o600
	PublicPerm  os.FileMode = 0o644
)

// Layout is the state tree rooted at Home.
type Layout struct {
	Home string
}

// FromEnv returns the layout rooted at $CLAUDE_BOTTLE_HOME, or ~/.claude-bottle.
func FromEnv(lookup func(string) (string, bool)) (Layout, error) {
	if v, ok := lookup(HomeEnv); ok && strings.TrimSpace(v) != "" {
		abs, err := filepath.Abs(strings.TrimSpace(v))
		if err != nil {
			return Layout{}, fmt.Errorf("%s: %w", HomeEnv, err)
		}
		return Layout{Home: abs}, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return Layout{}, fmt.Errorf("no home directory to put ~/.claude-bottle in (set %s): %w", HomeEnv, err)
	}
	return Layout{Home: filepath.Join(home, ".claude-bottle")}, nil
}

// StateRoot is the directory holding every bottle's state.
func (l Layout) StateRoot() string { return filepath.Join(l.Home, "state") }

// StateDir is the state directory of one bottle.
func (l Layout) StateDir(slug string) string { return filepath.Join(l.StateRoot(), slug) }

// DaemonDir is the directory of one daemon inside a bottle's state; the daemon
// sees it at contract.ConfigDir(daemon).
func (l Layout) DaemonDir(slug, daemon string) string {
	return filepath.Join(l.StateDir(slug), daemon)
}

// PipelockStateDir is the directory the running pipelock has mounted; an
// allowlist change must be written here to be seen.
func (l Layout) PipelockStateDir(slug string) string { return l.DaemonDir(slug, contract.Pipelock) }

// EgressStateDir holds routes.yaml and the bottle CA.
func (l Layout) EgressStateDir(slug string) string { return l.DaemonDir(slug, contract.Egress) }

// GitGateStateDir holds repo config, identities and known_hosts.
func (l Layout) GitGateStateDir(slug string) string { return l.DaemonDir(slug, contract.GitGate) }

// AgentCADir holds only the bottle CA certificate: the one file of the state
// the agent may see.
func (l Layout) AgentCADir(slug string) string { return filepath.Join(l.StateDir(slug), "agent") }

// QueueDir is the supervise queue of one bottle.
func (l Layout) QueueDir(slug string) string { return filepath.Join(l.Home, "queue", slug) }

// AuditLog is the append-only log of operator decisions.
func (l Layout) AuditLog() string { return filepath.Join(l.Home, "audit.jsonl") }

// Files of a bottle's state directory.
const (
	MetadataFile = "metadata.json"
	ComposeFile  = "docker-compose.yml"
	ComposeLog   = "compose.log"
)

// WriteFileAtomic replaces dir/name with data: it writes a temporary file in
// dir, fsyncs it, renames it over the target and fsyncs dir. A reader that has
// dir mounted sees the old file or the new one, never a mix, and a crash
// leaves no half-written file under the target name.
func WriteFileAtomic(dir, name string, data []byte, perm os.FileMode) error {
	return explainStorage(atomicfile.Write(dir, name, data, perm), dir)
}

// File is one file to stage: Dir is relative to the bottle's state directory
// ("" for the top level), Perm its mode.
type File struct {
	Dir  string
	Name string
	Data []byte
	Perm os.FileMode
}

// Stage creates the state directory of slug with exactly files in it. The
// tree is built under a temporary name beside it and renamed into place, so a
// failure leaves nothing behind and a bottle's state never exists half-written.
// Staging over an existing state directory is refused.
func (l Layout) Stage(slug string, files []File) (err error) {
	defer func() { err = explainStorage(err, l.StateRoot()) }()
	if err := contract.ValidateSlug(slug); err != nil {
		return err
	}
	final := l.StateDir(slug)
	if _, err := os.Stat(final); err == nil {
		return fmt.Errorf("state directory %s already exists: bottle %s is up or was not cleaned up (claude-bottle down %s, or claude-bottle cleanup)", final, slug, slug)
	}
	if err := os.MkdirAll(l.StateRoot(), DirPerm); err != nil {
		return fmt.Errorf("create %s: %w", l.StateRoot(), err)
	}
	tmp, err := os.MkdirTemp(l.StateRoot(), ".staging-"+slug+"-")
	if err != nil {
		return fmt.Errorf("stage %s: %w", slug, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, DirPerm); err != nil {
		return fmt.Errorf("stage %s: %w", slug, err)
	}
	for _, f := range files {
		if f.Dir != "" && (filepath.IsAbs(f.Dir) || strings.Contains(f.Dir, "..")) {
			return fmt.Errorf("stage %s: directory %q escapes the state dir", slug, f.Dir)
		}
		dir := filepath.Join(tmp, f.Dir)
		if err := os.MkdirAll(dir, DirPerm); err != nil {
			return fmt.Errorf("stage %s: %w", slug, err)
		}
		if err := atomicfile.Write(dir, f.Name, f.Data, f.Perm); err != nil {
			return fmt.Errorf("stage %s: %w", slug, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("stage %s: %w", slug, err)
	}
	ok = true
	return atomicfile.SyncDir(l.StateRoot())
}

// Remove deletes the state directory and queue of slug.
func (l Layout) Remove(slug string) error {
	if err := contract.ValidateSlug(slug); err != nil {
		return err
	}
	return errors.Join(os.RemoveAll(l.StateDir(slug)), os.RemoveAll(l.QueueDir(slug)))
}
