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

	"github.com/claude-bottle/claude-bottle/pkg/pipelockcfg"
	"github.com/claude-bottle/claude-bottle/pkg/routes"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Applier makes a running bottle pick up changed config: pipelock restarts
// (bundle: SIGUSR1 to initd; legacy: restart of the pipelock container),
// egress reloads its routes (SIGHUP).
type Applier interface {
	RestartPipelock(ctx context.Context, slug string) error
	ReloadEgress(ctx context.Context, slug string) error
}

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
		ps, err := Queue{Dir: d}.Pending()
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
	Time     time.Time `json:"time"`
	Slug     string    `json:"slug"`
	Proposal string    `json:"proposal"`
	Kind     string    `json:"kind"`
	Decision string    `json:"decision"`
	Notes    string    `json:"notes,omitempty"`
	Before   []string  `json:"before,omitempty"`
	After    []string  `json:"after,omitempty"`
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
	if err := o.audit(AuditEntry{Slug: p.Slug, Proposal: p.ID, Kind: p.Kind, Decision: Rejected, Notes: reason}); err != nil {
		return err
	}
	return o.queue(p).Answer(Response{ID: p.ID, Decision: Rejected, Notes: reason, DecidedAt: o.now()})
}

// Approve applies a proposal to its running bottle and answers approved.
// Nothing is answered when applying fails.
func (o *Operator) Approve(ctx context.Context, id, notes string) (AuditEntry, error) {
	p, err := o.Find(id)
	if err != nil {
		return AuditEntry{}, err
	}
	var entry AuditEntry
	switch p.Kind {
	case KindPipelock:
		entry, err = o.allowHost(ctx, p.Slug, p.Host)
	case KindEgress:
		entry, err = o.addRoute(ctx, p.Slug, p.Host, p.Paths)
	default:
		return AuditEntry{}, fmt.Errorf("approving %s is not supported yet (it needs the bottle bring-up backend); reject it with a reason or leave it pending", p.Kind)
	}
	if err != nil {
		return AuditEntry{}, err
	}
	entry.Slug, entry.Proposal, entry.Kind, entry.Decision, entry.Notes = p.Slug, p.ID, p.Kind, Approved, notes
	if err := o.audit(entry); err != nil {
		return entry, err
	}
	return entry, o.queue(p).Answer(Response{ID: p.ID, Decision: Approved, Notes: notes, DecidedAt: o.now(), Host: p.Host, Paths: p.Paths})
}

func (o *Operator) queue(p Proposal) Queue { return Queue{Dir: o.Layout.QueueDir(p.Slug)} }

func (o *Operator) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// allowHost is apply_allowlist_change for one host: pipelock.yaml is
// rewritten atomically in the directory the running pipelock has mounted,
// keeping every other setting, and pipelock is restarted.
func (o *Operator) allowHost(ctx context.Context, slug, host string) (AuditEntry, error) {
	dir := o.Layout.PipelockStateDir(slug)
	data, err := os.ReadFile(filepath.Join(dir, statedir.PipelockFile))
	if err != nil {
		return AuditEntry{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	cfg, err := pipelockcfg.Parse(data)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	before := slices.Clone(cfg.APIAllowlist)
	next := cfg.WithAllowlist(append(slices.Clone(cfg.APIAllowlist), host))
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
