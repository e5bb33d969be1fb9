// Package approvals is the approval queue between a blocked agent and its
// operator, which both sides write: supervise (in the bottle) files a
// proposal as pending/<id>.json, the operator's side (on the host) answers
// with responses/<id>.json, both archive answered pairs. It also holds the
// checks of what a proposal may carry (host, paths, a capability Dockerfile,
// terminal-safe text), applied by both ends.
package approvals

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Queue directories under SUPERVISE_QUEUE_DIR ($CLAUDE_BOTTLE_HOME/queue/<slug>
// on the host): the agent side writes pending/<id>.json, the operator
// writes responses/<id>.json, and both move to archive/ once answered.
const (
	PendingDir   = "pending"
	ResponsesDir = "responses"
	ArchiveDir   = "archive"
)

// Kinds of proposal, named after the tools that make them.
const (
	KindPipelock   = contract.ToolPipelockBlock
	KindEgress     = contract.ToolEgressBlock
	KindCapability = contract.ToolCapabilityBlock
)

// Decisions.
const (
	Approved = "approved"
	Modified = "modified"
	Rejected = "rejected"
	// NoAnswer is returned to the agent when the operator did not answer
	// within the wait; the proposal stays pending.
	NoAnswer = "no-answer"
)

// Proposal is what a blocked agent asks for.
type Proposal struct {
	ID            string    `json:"id"`
	Slug          string    `json:"slug"`
	Kind          string    `json:"kind"`
	CreatedAt     time.Time `json:"created_at"`
	FailedURL     string    `json:"failed_url,omitempty"`
	Host          string    `json:"host,omitempty"`
	Paths         []string  `json:"paths,omitempty"`
	Dockerfile    string    `json:"dockerfile,omitempty"`
	Justification string    `json:"justification"`
	// Key identifies identical proposals (kind and payload, not the
	// justification): a repeat joins the pending one.
	Key string `json:"key"`
}

// Response is the operator's answer.
type Response struct {
	ID        string    `json:"id"`
	Decision  string    `json:"decision"`
	Notes     string    `json:"notes,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
	// Host and Paths carry what was applied when the operator modified
	// the proposal.
	Host  string   `json:"host,omitempty"`
	Paths []string `json:"paths,omitempty"`
}

// Modes of the queue's directories and files (the operator's side reads
// and writes them as the same user).
const (
	dirPerm  os.FileMode = 0o700
	filePerm os.FileMode = 0o644
)

// Queue is one bottle's queue directory.
type Queue struct {
	Dir string
}

func (q Queue) Ensure() error {
	for _, d := range []string{PendingDir, ResponsesDir, ArchiveDir} {
		if err := os.MkdirAll(filepath.Join(q.Dir, d), dirPerm); err != nil {
			return fmt.Errorf("queue: %w", err)
		}
	}
	return nil
}

// Key is the de-duplication key of a proposal.
func Key(p Proposal) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", p.Kind, p.FailedURL, p.Host, strings.Join(p.Paths, "\x01"), p.Dockerfile)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func newID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// Submit writes p as pending (atomically) unless an identical proposal is
// already pending, in which case that one is returned: the caller waits for
// the same answer.
func (q Queue) Submit(p Proposal, now time.Time) (Proposal, bool, error) {
	if err := q.Ensure(); err != nil {
		return Proposal{}, false, err
	}
	p.Key = Key(p)
	pending, err := q.Pending()
	if err != nil {
		return Proposal{}, false, err
	}
	for _, old := range pending {
		if old.Key == p.Key {
			return old, true, nil
		}
	}
	p.ID = newID(now)
	p.CreatedAt = now.UTC()
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return Proposal{}, false, err
	}
	if err := atomicfile.Write(filepath.Join(q.Dir, PendingDir), p.ID+".json", data, filePerm); err != nil {
		return Proposal{}, false, err
	}
	return p, false, nil
}

// Pending lists pending proposals, oldest first.
func (q Queue) Pending() ([]Proposal, error) {
	return readAll[Proposal](filepath.Join(q.Dir, PendingDir))
}

// Unanswered lists pending proposals the operator has not answered yet (an
// answered one stays in pending/ until its waiter archives it).
func (q Queue) Unanswered() ([]Proposal, error) {
	ps, err := q.Pending()
	if err != nil {
		return nil, err
	}
	out := ps[:0]
	for _, p := range ps {
		if _, err := os.Stat(filepath.Join(q.Dir, ResponsesDir, p.ID+".json")); errors.Is(err, os.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Recent counts proposals created since t (pending and archived).
func (q Queue) Recent(since time.Time) (int, error) {
	n := 0
	for _, d := range []string{PendingDir, ArchiveDir} {
		ps, err := readAll[Proposal](filepath.Join(q.Dir, d))
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			if p.Kind != "" && p.CreatedAt.After(since) {
				n++
			}
		}
	}
	return n, nil
}

// Answer writes the operator's response for id (atomically).
func (q Queue) Answer(r Response) error {
	if err := q.Ensure(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(q.Dir, PendingDir, r.ID+".json")); err != nil {
		return fmt.Errorf("proposal %s is not pending: %w", r.ID, err)
	}
	switch r.Decision {
	case Approved, Modified, Rejected:
	default:
		return fmt.Errorf("decision %q: want approved, modified or rejected", r.Decision)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(q.Dir, ResponsesDir), r.ID+".json", data, filePerm)
}

// Response returns the answer to id, if there is one.
func (q Queue) Response(id string) (Response, bool, error) {
	data, err := os.ReadFile(filepath.Join(q.Dir, ResponsesDir, id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		// Another caller waiting on the same proposal may have archived it.
		data, err = os.ReadFile(filepath.Join(q.Dir, ArchiveDir, id+"."+ResponsesDir+".json"))
	}
	if errors.Is(err, os.ErrNotExist) {
		return Response{}, false, nil
	}
	if err != nil {
		return Response{}, false, err
	}
	var r Response
	if err := json.Unmarshal(data, &r); err != nil {
		return Response{}, false, fmt.Errorf("response %s: %w", id, err)
	}
	return r, true, nil
}

// Archive moves an answered proposal and its response to archive/.
func (q Queue) Archive(id string) error {
	var errs []error
	for _, src := range []string{filepath.Join(q.Dir, PendingDir, id+".json"), filepath.Join(q.Dir, ResponsesDir, id+".json")} {
		base := filepath.Base(filepath.Dir(src))
		dst := filepath.Join(q.Dir, ArchiveDir, strings.TrimSuffix(filepath.Base(src), ".json")+"."+base+".json")
		if err := os.Rename(src, dst); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func readAll[T any](dir string) ([]T, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := make([]T, 0, len(names))
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			continue // a file being written by an older writer; skip
		}
		out = append(out, v)
	}
	return out, nil
}
