package supervise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/pipelockcfg"
	"github.com/claude-bottle/claude-bottle/pkg/routes"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Applier makes a running bottle pick up changed config: pipelock restarts
// (bundle: SIGUSR1 to initd; legacy: restart of the pipelock container),
// egress reloads its routes (SIGHUP).
type Applier interface {
	// Running fails when the container running daemon is not up.
	Running(ctx context.Context, slug, daemon string) error
	RestartPipelock(ctx context.Context, slug string) error
	ReloadEgress(ctx context.Context, slug string) error
	// RebuildAgent builds dockerfile (see RebaseDockerfile) on a snapshot
	// of the running agent and recreates the agent from it with the same
	// configuration, mounts and networks; it returns the old and new image.
	RebuildAgent(ctx context.Context, slug, dockerfile string) (before, after string, err error)
}

// Errors of the apply path; each leaves every file unchanged.
var (
	ErrInvalidHost = errors.New("invalid host")
	ErrNoBottle    = errors.New("no such bottle")
	ErrNotRunning  = errors.New("sidecar not running")
)

// Operator is the host side of supervise: it lists proposals of every
// bottle, records decisions and applies approved allowlist changes.
type Operator struct {
	Layout  statedir.Layout
	Applier Applier
	Now     func() time.Time
}

// Pending lists the pending proposals of every bottle, oldest first.
func (o *Operator) Pending() ([]Proposal, error) {
	dirs, err := filepath.Glob(filepath.Join(o.Layout.Home, "queue", "*"))
	if err != nil {
		return nil, err
	}
	var all []Proposal
	for _, d := range dirs {
		ps, err := Queue{Dir: d}.Unanswered()
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].CreatedAt.Before(all[j].CreatedAt) })
	return all, nil
}

// Find returns the pending proposal with id.
func (o *Operator) Find(id string) (Proposal, error) {
	ps, err := o.Pending()
	if err != nil {
		return Proposal{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return Proposal{}, fmt.Errorf("no pending proposal %q (claude-bottle supervise ls lists them)", id)
}

// AuditEntry is one line of audit.jsonl.
type AuditEntry struct {
	Time          time.Time `json:"time"`
	Slug          string    `json:"slug"`
	Proposal      string    `json:"proposal,omitempty"`
	Kind          string    `json:"kind"`
	Justification string    `json:"justification,omitempty"`
	Decision      string    `json:"decision"`
	Notes         string    `json:"notes,omitempty"`
	Before        []string  `json:"before,omitempty"`
	After         []string  `json:"after,omitempty"`
}

// Reject answers a proposal with rejected.
func (o *Operator) Reject(id, reason string) error {
	p, err := o.Find(id)
	if err != nil {
		return err
	}
	if reason == "" {
		return errors.New("reject: give a reason; the agent reads it")
	}
	if err := o.audit(AuditEntry{Slug: p.Slug, Proposal: p.ID, Kind: p.Kind, Justification: p.Justification, Decision: Rejected, Notes: reason}); err != nil {
		return err
	}
	return o.queue(p).Answer(Response{ID: p.ID, Decision: Rejected, Notes: reason, DecidedAt: o.now()})
}

// Approve applies a proposal to its running bottle and answers approved.
// Nothing is answered when applying fails.
func (o *Operator) Approve(ctx context.Context, id, notes string) (AuditEntry, error) {
	return o.approve(ctx, id, "", nil, notes)
}

// ApproveModified applies a proposal with the operator's host (and, for
// egress-block, paths) instead of the agent's, and answers modified.
func (o *Operator) ApproveModified(ctx context.Context, id, host string, paths []string, notes string) (AuditEntry, error) {
	h, err := checkHost(host)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("%w: %w", ErrInvalidHost, err)
	}
	return o.approve(ctx, id, h, paths, notes)
}

func (o *Operator) approve(ctx context.Context, id, host string, paths []string, notes string) (AuditEntry, error) {
	p, err := o.Find(id)
	if err != nil {
		return AuditEntry{}, err
	}
	decision := Approved
	if host != "" && (host != p.Host || !slices.Equal(paths, p.Paths)) {
		p.Host, p.Paths, decision = host, paths, Modified
	}
	var entry AuditEntry
	switch p.Kind {
	case KindPipelock:
		entry, err = o.allowHost(ctx, p.Slug, p.Host)
	case KindEgress:
		entry, err = o.addRoute(ctx, p.Slug, p.Host, p.Paths)
	case KindCapability:
		entry, err = o.rebuildAgent(ctx, p.Slug, p.Dockerfile)
	default:
		return AuditEntry{}, fmt.Errorf("unknown proposal kind %q", p.Kind)
	}
	if err != nil {
		return AuditEntry{}, err
	}
	entry.Slug, entry.Proposal, entry.Kind, entry.Decision, entry.Notes = p.Slug, p.ID, p.Kind, decision, notes
	entry.Justification = p.Justification
	if err := o.audit(entry); err != nil {
		return entry, err
	}
	return entry, o.queue(p).Answer(Response{ID: p.ID, Decision: decision, Notes: notes, DecidedAt: o.now(), Host: p.Host, Paths: p.Paths})
}

func (o *Operator) rebuildAgent(ctx context.Context, slug, dockerfile string) (AuditEntry, error) {
	if o.Applier == nil {
		return AuditEntry{}, errors.New("no engine to rebuild the agent with")
	}
	df, err := RebaseDockerfile(dockerfile)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := o.Applier.Running(ctx, slug, "agent"); err != nil {
		return AuditEntry{}, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	before, after, err := o.Applier.RebuildAgent(ctx, slug, df)
	if err != nil {
		return AuditEntry{}, err
	}
	return AuditEntry{Before: []string{before}, After: []string{after}}, nil
}

func (o *Operator) queue(p Proposal) Queue { return Queue{Dir: o.Layout.QueueDir(p.Slug)} }

func (o *Operator) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Allowlist returns the current pipelock allowlist of a bottle.
func (o *Operator) Allowlist(slug string) ([]string, error) {
	cfg, err := o.pipelockConfig(slug)
	if err != nil {
		return nil, err
	}
	return cfg.APIAllowlist, nil
}

func (o *Operator) pipelockConfig(slug string) (pipelockcfg.Config, error) {
	if err := names.ValidateSlug(slug); err != nil {
		return pipelockcfg.Config{}, fmt.Errorf("%w: %w", ErrNoBottle, err)
	}
	data, err := os.ReadFile(filepath.Join(o.Layout.PipelockStateDir(slug), statedir.PipelockFile))
	if errors.Is(err, os.ErrNotExist) {
		return pipelockcfg.Config{}, fmt.Errorf("%w: %s has no state in %s (claude-bottle ls lists bottles)", ErrNoBottle, slug, o.Layout.StateRoot())
	}
	if err != nil {
		return pipelockcfg.Config{}, err
	}
	return pipelockcfg.Parse(data)
}

// AllowHosts is apply_allowlist_change: it validates hosts, checks that the
// bottle's pipelock is running, rewrites pipelock.yaml atomically in the
// directory the running pipelock has mounted (every other setting kept),
// restarts pipelock and waits for it, and appends the audit entry. Any error
// before the write leaves the file unchanged.
func (o *Operator) AllowHosts(ctx context.Context, slug string, hosts []string, notes string) (AuditEntry, error) {
	var clean []string
	for _, h := range hosts {
		host, err := checkHost(h)
		if err != nil {
			return AuditEntry{}, fmt.Errorf("%w: %w", ErrInvalidHost, err)
		}
		clean = append(clean, host)
	}
	entry, err := o.allowHost(ctx, slug, clean...)
	if err != nil {
		return AuditEntry{}, err
	}
	entry.Slug, entry.Kind, entry.Decision, entry.Notes = slug, "allow", Approved, notes
	return entry, o.audit(entry)
}

// allowHost adds hosts to pipelock's allowlist of a running bottle.
func (o *Operator) allowHost(ctx context.Context, slug string, hosts ...string) (AuditEntry, error) {
	cfg, err := o.pipelockConfig(slug)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := o.Applier.Running(ctx, slug, names.Pipelock); err != nil {
		return AuditEntry{}, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	dir := o.Layout.PipelockStateDir(slug)
	before := slices.Clone(cfg.APIAllowlist)
	next := cfg.WithAllowlist(append(slices.Clone(cfg.APIAllowlist), hosts...))
	if slices.Equal(before, next.APIAllowlist) {
		return AuditEntry{Before: before, After: before}, nil // already allowed
	}
	out, err := next.Marshal()
	if err != nil {
		return AuditEntry{}, err
	}
	if err := statedir.WriteFileAtomic(dir, statedir.PipelockFile, out, statedir.PublicPerm); err != nil {
		return AuditEntry{}, err
	}
	if err := o.Applier.RestartPipelock(ctx, slug); err != nil {
		return AuditEntry{}, fmt.Errorf("pipelock.yaml updated but pipelock was not restarted: %w", err)
	}
	return AuditEntry{Before: before, After: next.APIAllowlist}, nil
}

// addRoute adds (or widens) an egress route and admits its host in pipelock.
func (o *Operator) addRoute(ctx context.Context, slug, host string, paths []string) (AuditEntry, error) {
	for _, d := range []string{names.Egress, names.Pipelock} {
		if err := o.Applier.Running(ctx, slug, d); err != nil {
			return AuditEntry{}, fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
	}
	dir := o.Layout.EgressStateDir(slug)
	data, err := os.ReadFile(filepath.Join(dir, statedir.RoutesFile))
	if err != nil {
		return AuditEntry{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	f, err := routes.Parse(data)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	var before []string
	for _, r := range f.Routes {
		before = append(before, r.Host)
	}
	found := false
	for i, r := range f.Routes {
		if r.Host == host {
			found = true
			if len(paths) == 0 || len(r.Paths) == 0 {
				f.Routes[i].Paths = nil // the whole host
			} else {
				f.Routes[i].Paths = append(slices.Clone(r.Paths), paths...)
			}
		}
	}
	if !found {
		f.Routes = append(f.Routes, routes.Route{Host: host, Paths: paths})
	}
	out, err := f.Marshal()
	if err != nil {
		return AuditEntry{}, err
	}
	if err := statedir.WriteFileAtomic(dir, statedir.RoutesFile, out, statedir.PublicPerm); err != nil {
		return AuditEntry{}, err
	}
	if _, err := o.allowHost(ctx, slug, host); err != nil {
		return AuditEntry{}, err
	}
	if err := o.Applier.ReloadEgress(ctx, slug); err != nil {
		return AuditEntry{}, fmt.Errorf("routes.yaml updated but egress did not reload: %w", err)
	}
	var after []string
	for _, r := range f.Routes {
		after = append(after, r.Host)
	}
	return AuditEntry{Before: before, After: after}, nil
}

// audit appends one line to audit.jsonl. Each entry is a single write to a
// file opened O_APPEND, which the kernel keeps whole against concurrent
// appenders on a local file system.
func (o *Operator) audit(e AuditEntry) error {
	e.Time = o.now().UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Layout.Home, statedir.DirPerm); err != nil {
		return err
	}
	f, err := os.OpenFile(o.Layout.AuditLog(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, statedir.PrivatePerm)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	return f.Close()
}
