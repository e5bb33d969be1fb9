// Package operator is the operator's side of approvals, on the host: list,
// approve (as asked or modified), reject, allow and revoke access directly,
// apply each change to the running bottle (egress routes, pipelock's
// allowlist, capability rebuilds) with confirmation and roll-back, audit
// every decision, and the terminal UI of `claude-bottle supervise`. The
// sidecars image does not contain it.
package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Applier makes a running bottle pick up changed config: pipelock reloads
// in place (bundle: SIGUSR1 to initd, which passes SIGHUP to pipelock;
// legacy: SIGHUP to the pipelock container), egress reloads its routes
// (SIGHUP).
type Applier interface {
	// Running fails when the container running daemon is not up.
	Running(ctx context.Context, slug, daemon string) error
	// ReloadPipelock returns once the pipelock.yaml whose SHA-256 is
	// configSum serves new requests (confirmed by pipelock, not guessed).
	ReloadPipelock(ctx context.Context, slug, configSum string) error
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
func (o *Operator) Pending() ([]approvals.Proposal, error) {
	dirs, err := filepath.Glob(filepath.Join(o.Layout.Home, "queue", "*"))
	if err != nil {
		return nil, err
	}
	var all []approvals.Proposal
	for _, d := range dirs {
		ps, err := approvals.Queue{Dir: d}.Unanswered()
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].CreatedAt.Before(all[j].CreatedAt) })
	return all, nil
}

// Find returns the pending proposal with id.
func (o *Operator) Find(id string) (approvals.Proposal, error) {
	ps, err := o.Pending()
	if err != nil {
		return approvals.Proposal{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return approvals.Proposal{}, fmt.Errorf("no pending proposal %q (claude-bottle supervise ls lists them)", id)
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
	// Before and After are pipelock's allowlist (the agent image for a
	// capability rebuild) before and after the change.
	Before []string `json:"before,omitempty"`
	After  []string `json:"after,omitempty"`
	// RoutesBefore and RoutesAfter are egress' routes, with their paths and
	// credential (scheme and slot, never the value), before and after.
	RoutesBefore []daemoncfg.Route `json:"routes_before,omitempty"`
	RoutesAfter  []daemoncfg.Route `json:"routes_after,omitempty"`
	// WidenedAuth is set when the operator chose to send a route's
	// credential to more paths than the manifest gave it.
	WidenedAuth *Widening `json:"widened_auth,omitempty"`
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
	if err := o.audit(AuditEntry{Slug: p.Slug, Proposal: p.ID, Kind: p.Kind, Justification: p.Justification, Decision: approvals.Rejected, Notes: reason}); err != nil {
		return err
	}
	return o.queue(p).Answer(approvals.Response{ID: p.ID, Decision: approvals.Rejected, Notes: reason, DecidedAt: o.now()})
}

// Approve applies a proposal to its running bottle and answers approved.
// Nothing is answered when applying fails.
func (o *Operator) Approve(ctx context.Context, id, notes string) (AuditEntry, error) {
	return o.ApproveWith(ctx, id, ApproveOptions{Notes: notes})
}

// ApproveModified applies a proposal with the operator's host (and, for
// egress-block, paths) instead of the agent's, and answers modified.
func (o *Operator) ApproveModified(ctx context.Context, id, host string, paths []string, notes string) (AuditEntry, error) {
	return o.ApproveWith(ctx, id, ApproveOptions{Notes: notes, Host: host, Paths: paths})
}

// ApproveOptions are the operator's choices when approving.
type ApproveOptions struct {
	Notes string
	// Host and Paths replace the agent's (the answer is then "modified").
	Host  string
	Paths []string
	// WidenAuth allows extending a route that carries a credential to
	// more paths; without it such an approval fails with ErrWidensAuth.
	WidenAuth bool
}

// ApproveWith applies a proposal with the operator's choices and answers
// the agent. Nothing is answered when applying fails.
func (o *Operator) ApproveWith(ctx context.Context, id string, opts ApproveOptions) (AuditEntry, error) {
	if opts.Host != "" {
		h, err := approvals.CheckHost(opts.Host)
		if err != nil {
			return AuditEntry{}, fmt.Errorf("%w: %w", ErrInvalidHost, err)
		}
		opts.Host = h
		for _, p := range opts.Paths {
			if err := approvals.CheckPath(p); err != nil {
				return AuditEntry{}, err
			}
		}
	}
	p, err := o.Find(id)
	if err != nil {
		return AuditEntry{}, err
	}
	decision := approvals.Approved
	if opts.Host != "" && (opts.Host != p.Host || !slices.Equal(opts.Paths, p.Paths)) {
		p.Host, p.Paths, decision = opts.Host, opts.Paths, approvals.Modified
	}
	var entry AuditEntry
	switch p.Kind {
	case approvals.KindPipelock:
		entry, err = o.admit(ctx, p.Slug, Access{Host: p.Host, KeepRoute: true, WidenAuth: opts.WidenAuth})
	case approvals.KindEgress:
		entry, err = o.admit(ctx, p.Slug, Access{Host: p.Host, Paths: p.Paths, WidenAuth: opts.WidenAuth})
	case approvals.KindCapability:
		entry, err = o.rebuildAgent(ctx, p.Slug, p.Dockerfile)
	default:
		return AuditEntry{}, fmt.Errorf("unknown proposal kind %q", p.Kind)
	}
	if err != nil {
		return AuditEntry{}, err
	}
	entry.Slug, entry.Proposal, entry.Kind, entry.Decision, entry.Notes = p.Slug, p.ID, p.Kind, decision, opts.Notes
	entry.Justification = p.Justification
	if err := o.audit(entry); err != nil {
		return entry, err
	}
	return entry, o.queue(p).Answer(approvals.Response{ID: p.ID, Decision: decision, Notes: opts.Notes, DecidedAt: o.now(), Host: p.Host, Paths: p.Paths})
}

func (o *Operator) rebuildAgent(ctx context.Context, slug, dockerfile string) (AuditEntry, error) {
	if o.Applier == nil {
		return AuditEntry{}, errors.New("no engine to rebuild the agent with")
	}
	df, err := approvals.RebaseDockerfile(dockerfile)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := o.Applier.Running(ctx, slug, contract.RoleAgent); err != nil {
		return AuditEntry{}, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	before, after, err := o.Applier.RebuildAgent(ctx, slug, df)
	if err != nil {
		return AuditEntry{}, err
	}
	return AuditEntry{Before: []string{before}, After: []string{after}}, nil
}

func (o *Operator) queue(p approvals.Proposal) approvals.Queue {
	return approvals.Queue{Dir: o.Layout.QueueDir(p.Slug)}
}

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

func (o *Operator) pipelockConfig(slug string) (daemoncfg.Pipelock, error) {
	if err := contract.ValidateSlug(slug); err != nil {
		return daemoncfg.Pipelock{}, fmt.Errorf("%w: %w", ErrNoBottle, err)
	}
	data, err := os.ReadFile(filepath.Join(o.Layout.PipelockStateDir(slug), contract.PipelockFile))
	if errors.Is(err, os.ErrNotExist) {
		return daemoncfg.Pipelock{}, fmt.Errorf("%w: %s has no state in %s (claude-bottle ls lists bottles)", ErrNoBottle, slug, o.Layout.StateRoot())
	}
	if err != nil {
		return daemoncfg.Pipelock{}, err
	}
	return daemoncfg.ParsePipelock(data)
}

// AllowHosts is apply_allowlist_change by hand (`claude-bottle allow SLUG
// HOST…`): each host gets an egress route when it has none and a pipelock
// entry, so it is reachable. See AllowAccess.
func (o *Operator) AllowHosts(ctx context.Context, slug string, hosts []string, notes string) (AuditEntry, error) {
	var as []Access
	for _, h := range hosts {
		host, err := approvals.CheckHost(h)
		if err != nil {
			return AuditEntry{}, fmt.Errorf("%w: %w", ErrInvalidHost, err)
		}
		as = append(as, Access{Host: host, KeepRoute: true})
	}
	return o.AllowAccess(ctx, slug, as, notes)
}

// AllowAccess makes every access reachable from a running bottle (egress
// route and pipelock entry; see admit), restarting what changed and
// waiting for it, and appends one audit entry. Any error before the first
// write leaves the files unchanged.
func (o *Operator) AllowAccess(ctx context.Context, slug string, as []Access, notes string) (AuditEntry, error) {
	var all AuditEntry
	all.Slug, all.Kind, all.Decision, all.Notes = slug, "allow", approvals.Approved, notes
	for i, a := range as {
		e, err := o.admit(ctx, slug, a)
		if err != nil {
			if i > 0 {
				// What the earlier hosts changed is live: it is audited
				// even though the command fails.
				all.Notes = strings.TrimSpace(notes + " (stopped at " + a.Host + ": " + err.Error() + ")")
				if aerr := o.audit(all); aerr != nil {
					return AuditEntry{}, errors.Join(err, aerr)
				}
			}
			return AuditEntry{}, err
		}
		if i == 0 {
			all.Before, all.RoutesBefore = e.Before, e.RoutesBefore
		}
		all.After, all.RoutesAfter = e.After, e.RoutesAfter
		if e.WidenedAuth != nil {
			all.WidenedAuth = e.WidenedAuth
		}
	}
	return all, o.audit(all)
}

// allowHost adds hosts to pipelock's allowlist of a running bottle.
func (o *Operator) allowHost(ctx context.Context, slug string, hosts ...string) (AuditEntry, error) {
	cfg, err := o.pipelockConfig(slug)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := o.Applier.Running(ctx, slug, contract.Pipelock); err != nil {
		return AuditEntry{}, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	dir := o.Layout.PipelockStateDir(slug)
	old, err := os.ReadFile(filepath.Join(dir, contract.PipelockFile))
	if err != nil {
		return AuditEntry{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	before := slices.Clone(cfg.APIAllowlist)
	next := cfg.WithAllowlist(append(slices.Clone(cfg.APIAllowlist), hosts...))
	if slices.Equal(before, next.APIAllowlist) {
		return AuditEntry{Before: before, After: before}, nil // already allowed
	}
	out, err := next.Marshal()
	if err != nil {
		return AuditEntry{}, err
	}
	if err := statedir.WriteFileAtomic(dir, contract.PipelockFile, out, statedir.PublicPerm); err != nil {
		return AuditEntry{}, err
	}
	if err := o.reloadPipelock(ctx, slug, out); err != nil {
		// Put the file back: what is on disk must be what serves, or the
		// next reload (or a pipelock restart) would apply a change the
		// operator was told failed.
		if rerr := statedir.WriteFileAtomic(dir, contract.PipelockFile, old, statedir.PublicPerm); rerr != nil {
			return AuditEntry{}, fmt.Errorf("pipelock did not take the new allowlist (%w), and restoring the previous pipelock.yaml failed too: %w", err, rerr)
		}
		// Should the new file have been taken after all (a confirmation
		// that came too late), this puts the previous one back in force.
		_ = o.reloadPipelock(ctx, slug, old)
		return AuditEntry{}, fmt.Errorf("pipelock did not take the new allowlist; pipelock.yaml restored: %w", err)
	}
	return AuditEntry{Before: before, After: next.APIAllowlist}, nil
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
