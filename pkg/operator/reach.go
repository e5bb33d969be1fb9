package operator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// A host is reachable from the agent only when both egress has a route to
// it (egress refuses a host without one before pipelock is asked) and
// pipelock's allowlist admits it. Every approval and every `allow` goes
// through admit, which changes both together; every `deny` goes through
// revoke.

// ErrWidensAuth is returned when an approval would send a route's
// credential to paths the manifest did not give it; the operator must
// choose to widen it (WidenAuth) or narrow the request.
var ErrWidensAuth = errors.New("widens an authenticated route")

// Access is what one approval or `allow`/`deny` asks for.
type Access struct {
	Host string
	// Paths are path prefixes; empty means the whole host.
	Paths []string
	// KeepRoute leaves an existing route of Host as it is (pipelock-block,
	// `allow HOST`): the host needs routing, not more paths.
	KeepRoute bool
	// WidenAuth is the operator's explicit choice to extend a route that
	// carries a credential to more paths (or the whole host).
	WidenAuth bool
}

// Widening describes a change that sends a route's credential further.
type Widening struct {
	Host   string   `json:"host"`
	Scheme string   `json:"scheme"`
	From   []string `json:"from"`
	To     []string `json:"to"` // empty: every path
}

func (w Widening) String() string {
	to := "every path"
	if len(w.To) > 0 {
		to = strings.Join(w.To, ", ")
	}
	return fmt.Sprintf("route %s carries a credential (%s) for %s only; this sends it to %s", w.Host, w.Scheme, strings.Join(w.From, ", "), to)
}

// PlanAccess reports how a of a running bottle would change its route
// table, without writing anything: the routes after, and the widening of an
// authenticated route it implies (nil when none).
func (o *Operator) PlanAccess(slug string, a Access) (before, after []daemoncfg.Route, widen *Widening, err error) {
	f, err := o.routesFile(slug)
	if err != nil {
		return nil, nil, nil, err
	}
	before = cloneRoutes(f.Routes)
	after = cloneRoutes(f.Routes)
	i := slices.IndexFunc(after, func(r daemoncfg.Route) bool { return r.Host == a.Host })
	switch {
	case i < 0:
		after = append(after, daemoncfg.Route{Host: a.Host, Paths: slices.Clone(a.Paths)})
	case a.KeepRoute:
	case len(a.Paths) == 0 || len(after[i].Paths) == 0:
		after[i].Paths = nil // the whole host
	default:
		for _, p := range a.Paths {
			if !slices.Contains(after[i].Paths, p) {
				after[i].Paths = append(after[i].Paths, p)
			}
		}
	}
	if i >= 0 && before[i].Auth != nil && len(before[i].Paths) > 0 && !coveredBy(after[i].Paths, before[i].Paths) {
		widen = &Widening{Host: a.Host, Scheme: before[i].Auth.Scheme, From: before[i].Paths, To: after[i].Paths}
	}
	return before, after, widen, nil
}

// coveredBy reports whether every prefix of next is one of prev or under
// one of prev (empty next is the whole host, never covered).
func coveredBy(next, prev []string) bool {
	if len(next) == 0 {
		return false
	}
	for _, n := range next {
		if !slices.ContainsFunc(prev, func(p string) bool { return strings.HasPrefix(n, p) }) {
			return false
		}
	}
	return true
}

// admit makes a.Host reachable from a running bottle: the egress route
// (added or widened) and pipelock's allowlist entry, then egress reloads.
// Nothing is written when a check fails.
func (o *Operator) admit(ctx context.Context, slug string, a Access) (AuditEntry, error) {
	if o.Applier == nil {
		return AuditEntry{}, errors.New("no engine to apply the change with")
	}
	before, after, widen, err := o.PlanAccess(slug, a)
	if err != nil {
		return AuditEntry{}, err
	}
	if widen != nil && !a.WidenAuth {
		return AuditEntry{}, fmt.Errorf("%w: %s; approve with --widen-auth to do that, or ask for paths under %s", ErrWidensAuth, widen, strings.Join(widen.From, ", "))
	}
	if _, err := o.pipelockConfig(slug); err != nil {
		return AuditEntry{}, err
	}
	for _, d := range []string{contract.Egress, contract.Pipelock} {
		if err := o.Applier.Running(ctx, slug, d); err != nil {
			return AuditEntry{}, fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
	}
	routesChanged := !routesEqual(before, after)
	if routesChanged {
		if err := o.writeRoutes(slug, after); err != nil {
			return AuditEntry{}, err
		}
	}
	entry, err := o.allowHost(ctx, slug, a.Host)
	if err != nil {
		return AuditEntry{}, err
	}
	if routesChanged {
		if err := o.Applier.ReloadEgress(ctx, slug); err != nil {
			return AuditEntry{}, fmt.Errorf("routes.yaml updated but egress did not reload: %w", err)
		}
	}
	entry.RoutesBefore, entry.RoutesAfter = before, after
	entry.WidenedAuth = widen
	return entry, nil
}

// Revoke is `claude-bottle deny`: it takes back what admit gave. With
// paths it removes those prefixes from the host's route (the route goes
// when none is left); without, it removes the route and the host's
// pipelock entry. The change is audited like an approval.
func (o *Operator) Revoke(ctx context.Context, slug string, a Access, notes string) (AuditEntry, error) {
	host, err := approvals.CheckHost(a.Host)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("%w: %w", ErrInvalidHost, err)
	}
	for _, p := range a.Paths {
		if err := approvals.CheckPath(p); err != nil {
			return AuditEntry{}, err
		}
	}
	if o.Applier == nil {
		return AuditEntry{}, errors.New("no engine to apply the change with")
	}
	f, err := o.routesFile(slug)
	if err != nil {
		return AuditEntry{}, err
	}
	cfg, err := o.pipelockConfig(slug)
	if err != nil {
		return AuditEntry{}, err
	}
	before := cloneRoutes(f.Routes)
	after := cloneRoutes(f.Routes)
	dropHost := len(a.Paths) == 0
	if i := slices.IndexFunc(after, func(r daemoncfg.Route) bool { return r.Host == host }); i >= 0 && !dropHost {
		if len(after[i].Paths) == 0 {
			return AuditEntry{}, fmt.Errorf("route %s covers every path: deny %s to remove it, then allow the paths to keep", host, host)
		}
		for _, p := range a.Paths {
			if !slices.Contains(after[i].Paths, p) {
				return AuditEntry{}, fmt.Errorf("route %s has no path prefix %s (it has %s)", host, p, strings.Join(after[i].Paths, ", "))
			}
		}
		after[i].Paths = slices.DeleteFunc(after[i].Paths, func(p string) bool { return slices.Contains(a.Paths, p) })
		dropHost = len(after[i].Paths) == 0
	}
	if dropHost {
		after = slices.DeleteFunc(after, func(r daemoncfg.Route) bool { return r.Host == host })
	}
	plBefore := slices.Clone(cfg.APIAllowlist)
	plAfter := plBefore
	if dropHost {
		plAfter = slices.DeleteFunc(slices.Clone(plBefore), func(h string) bool { return h == host })
	}
	if routesEqual(before, after) && slices.Equal(plBefore, plAfter) {
		return AuditEntry{}, fmt.Errorf("bottle %s neither routes nor allows %s: nothing to deny (claude-bottle allow %s lists what it allows)", slug, host, slug)
	}
	for _, d := range []string{contract.Egress, contract.Pipelock} {
		if err := o.Applier.Running(ctx, slug, d); err != nil {
			return AuditEntry{}, fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
	}
	// Egress first: once its route is gone nothing reaches the host,
	// whatever pipelock still allows.
	if !routesEqual(before, after) {
		if err := o.writeRoutes(slug, after); err != nil {
			return AuditEntry{}, err
		}
		if err := o.Applier.ReloadEgress(ctx, slug); err != nil {
			return AuditEntry{}, fmt.Errorf("routes.yaml updated but egress did not reload: %w", err)
		}
	}
	if !slices.Equal(plBefore, plAfter) {
		out, err := cfg.WithAllowlist(plAfter).Marshal()
		if err != nil {
			return AuditEntry{}, err
		}
		if err := statedir.WriteFileAtomic(o.Layout.PipelockStateDir(slug), contract.PipelockFile, out, statedir.PublicPerm); err != nil {
			return AuditEntry{}, err
		}
		if err := o.reloadPipelock(ctx, slug, out); err != nil {
			return AuditEntry{}, fmt.Errorf("pipelock.yaml updated but pipelock did not confirm it serves: %w", err)
		}
	}
	entry := AuditEntry{Slug: slug, Kind: "deny", Decision: "revoked", Notes: notes,
		Before: plBefore, After: plAfter, RoutesBefore: before, RoutesAfter: after}
	return entry, o.audit(entry)
}

// reloadPipelock makes a running pipelock load pipelock.yaml again and
// returns once pipelock confirms that the file with exactly the bytes
// written serves (by its SHA-256); every allowlist change goes through it.
func (o *Operator) reloadPipelock(ctx context.Context, slug string, written []byte) error {
	sum := sha256.Sum256(written)
	return o.Applier.ReloadPipelock(ctx, slug, hex.EncodeToString(sum[:]))
}

func (o *Operator) routesFile(slug string) (daemoncfg.Routes, error) {
	if err := contract.ValidateSlug(slug); err != nil {
		return daemoncfg.Routes{}, fmt.Errorf("%w: %w", ErrNoBottle, err)
	}
	data, err := os.ReadFile(filepath.Join(o.Layout.EgressStateDir(slug), contract.RoutesFile))
	if errors.Is(err, os.ErrNotExist) {
		return daemoncfg.Routes{}, fmt.Errorf("%w: %s has no state in %s (claude-bottle ls lists bottles)", ErrNoBottle, slug, o.Layout.StateRoot())
	}
	if err != nil {
		return daemoncfg.Routes{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	f, err := daemoncfg.ParseRoutes(data)
	if err != nil {
		return daemoncfg.Routes{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	return f, nil
}

func (o *Operator) writeRoutes(slug string, rs []daemoncfg.Route) error {
	out, err := daemoncfg.Routes{Routes: rs}.Marshal()
	if err != nil {
		return err
	}
	return statedir.WriteFileAtomic(o.Layout.EgressStateDir(slug), contract.RoutesFile, out, statedir.PublicPerm)
}

func cloneRoutes(rs []daemoncfg.Route) []daemoncfg.Route {
	out := make([]daemoncfg.Route, 0, len(rs))
	for _, r := range rs {
		r.Paths = slices.Clone(r.Paths)
		if r.Auth != nil {
			a := *r.Auth
			r.Auth = &a
		}
		out = append(out, r)
	}
	return out
}

func routesEqual(a, b []daemoncfg.Route) bool {
	return slices.EqualFunc(a, b, func(x, y daemoncfg.Route) bool {
		return x.Host == y.Host && slices.Equal(x.Paths, y.Paths) && (x.Auth == nil) == (y.Auth == nil) && (x.Auth == nil || *x.Auth == *y.Auth)
	})
}

// ParseHostPath splits the HOST[/PATH] of `allow` and `deny`.
func ParseHostPath(s string) (Access, error) {
	host, path, hasPath := strings.Cut(s, "/")
	h, err := approvals.CheckHost(host)
	if err != nil {
		return Access{}, fmt.Errorf("%w: %w", ErrInvalidHost, err)
	}
	a := Access{Host: h}
	if hasPath {
		p := "/" + path
		if err := approvals.CheckPath(p); err != nil {
			return Access{}, err
		}
		a.Paths = []string{p}
	}
	return a, nil
}

// Routes returns the current egress routes of a bottle.
func (o *Operator) Routes(slug string) ([]daemoncfg.Route, error) {
	f, err := o.routesFile(slug)
	if err != nil {
		return nil, err
	}
	if f.Routes == nil {
		return []daemoncfg.Route{}, nil
	}
	return f.Routes, nil
}
