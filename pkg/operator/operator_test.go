package operator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// recordingApplier records what the operator asked of the running bottle;
// the Docker side is covered by the integration test.
type recordingApplier struct {
	calls     []string
	sums      []string
	down      bool
	reloadErr error
}

func (r *recordingApplier) Running(_ context.Context, slug, daemon string) error {
	if r.down {
		return errors.New("bottle " + slug + " has no running " + daemon)
	}
	return nil
}

func (r *recordingApplier) ReloadPipelock(_ context.Context, slug, sum string) error {
	r.calls = append(r.calls, "reload-pipelock "+slug)
	r.sums = append(r.sums, sum)
	if r.reloadErr != nil {
		return r.reloadErr
	}
	return nil
}

func (r *recordingApplier) ReloadEgress(_ context.Context, slug string) error {
	r.calls = append(r.calls, "reload-egress "+slug)
	return nil
}

func (r *recordingApplier) RebuildAgent(_ context.Context, slug, dockerfile string) (string, string, error) {
	r.calls = append(r.calls, "rebuild-agent "+slug+": "+dockerfile)
	return "old-image", "new-image", nil
}

func stagedBottle(t *testing.T) (statedir.Layout, string) {
	t.Helper()
	m, err := manifest.Parse([]byte("name = \"op\"\n[[egress.routes]]\nhost = \"api.github.com\"\npaths = [\"/repos/acme/\"]\n[pipelock]\ntls_passthrough = [\"x.example.com\"]\n"), "op.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(func(string) (string, bool) { return "", false })
	assert.NilError(t, err)
	l := statedir.Layout{Home: t.TempDir()}
	p, err := bottle.Prepare(bottle.Options{Bottle: r, Slug: "op-abcde", Shape: contract.Bundle, Layout: l})
	assert.NilError(t, err)
	assert.NilError(t, p.Stage())
	return l, p.Slug
}

func TestOperatorApprovePipelock(t *testing.T) {
	l, slug := stagedBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindPipelock, FailedURL: "https://pypi.org/simple/", Host: "pypi.org", Justification: "install requests"}, time.Now())
	assert.NilError(t, err)
	app := &recordingApplier{}
	op := &Operator{Layout: l, Applier: app}
	ps, err := op.Pending()
	assert.NilError(t, err)
	assert.Equal(t, len(ps), 1)

	before, _ := os.ReadFile(filepath.Join(l.PipelockStateDir(slug), "pipelock.yaml"))
	entry, err := op.Approve(t.Context(), p.ID, "fine")
	assert.NilError(t, err)
	// One approval makes the host reachable: pipelock admits it and egress
	// gets a route to it (egress refuses a host without one before pipelock
	// is asked).
	assert.DeepEqual(t, app.calls, []string{"reload-pipelock " + slug, "reload-egress " + slug})
	assert.DeepEqual(t, readRoutes(t, l, slug)[1], daemoncfg.Route{Host: "pypi.org"})
	after, err := os.ReadFile(filepath.Join(l.PipelockStateDir(slug), "pipelock.yaml"))
	assert.NilError(t, err)
	cfg, err := daemoncfg.ParsePipelock(after)
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(cfg.APIAllowlist, "pypi.org"))
	old, err := daemoncfg.ParsePipelock(before)
	assert.NilError(t, err)
	assert.DeepEqual(t, cfg.TLSInterception, old.TLSInterception) // everything else is kept
	assert.DeepEqual(t, cfg.DLP, old.DLP)
	assert.DeepEqual(t, cfg.ForwardProxy, old.ForwardProxy)
	assert.Assert(t, !slicesContains(entry.Before, "pypi.org") && slicesContains(entry.After, "pypi.org"))

	r, ok, err := q.Response(p.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok)
	assert.Equal(t, r.Decision, approvals.Approved)
	audit, err := os.ReadFile(l.AuditLog())
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(audit), `"decision":"approved"`))
	assert.Assert(t, is.Contains(string(audit), `"after":[`))
}

func TestOperatorApproveEgressAndReject(t *testing.T) {
	l, slug := stagedBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindEgress, Host: "registry.npmjs.org", Justification: "install deps"}, time.Now())
	assert.NilError(t, err)
	app := &recordingApplier{}
	op := &Operator{Layout: l, Applier: app}
	_, err = op.Approve(t.Context(), p.ID, "")
	assert.NilError(t, err)
	assert.DeepEqual(t, app.calls, []string{"reload-pipelock " + slug, "reload-egress " + slug})
	data, err := os.ReadFile(filepath.Join(l.EgressStateDir(slug), "routes.yaml"))
	assert.NilError(t, err)
	f, err := daemoncfg.ParseRoutes(data)
	assert.NilError(t, err)
	assert.DeepEqual(t, f.Routes[len(f.Routes)-1], daemoncfg.Route{Host: "registry.npmjs.org"})

	c, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindCapability, Dockerfile: "FROM x\nRUN true\n", Justification: "need a tool"}, time.Now())
	assert.NilError(t, err)
	assert.ErrorContains(t, op.Reject(c.ID, ""), "give a reason")
	assert.NilError(t, op.Reject(c.ID, "use the tools you have"))

	// Approving a capability-block rebuilds the agent from the rebased
	// Dockerfile; the audit entry records the images before and after.
	c2, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindCapability, Dockerfile: "FROM anything:latest\nRUN apt-get install -y jq\n", Justification: "parse JSON"}, time.Now())
	assert.NilError(t, err)
	entry, err := op.Approve(t.Context(), c2.ID, "ok")
	assert.NilError(t, err)
	assert.DeepEqual(t, entry.Before, []string{"old-image"})
	assert.DeepEqual(t, entry.After, []string{"new-image"})
	assert.Equal(t, app.calls[len(app.calls)-1], "rebuild-agent "+slug+": ARG CLAUDE_BOTTLE_AGENT_BASE\nFROM ${CLAUDE_BOTTLE_AGENT_BASE}\nRUN apt-get install -y jq\n")
	r, ok, err := q.Response(c.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && r.Decision == approvals.Rejected && strings.Contains(r.Notes, "tools you have"))
	_, err = op.Approve(t.Context(), "missing-id", "")
	assert.ErrorContains(t, err, `no pending proposal "missing-id"`)
}

func TestAllowHostsErrorsLeaveFilesUnchanged(t *testing.T) {
	l, slug := stagedBottle(t)
	file := filepath.Join(l.PipelockStateDir(slug), "pipelock.yaml")
	before, err := os.ReadFile(file)
	assert.NilError(t, err)
	app := &recordingApplier{}
	op := &Operator{Layout: l, Applier: app}

	_, err = op.AllowHosts(t.Context(), slug, []string{"ok.example.com", "10.0.0.1"}, "")
	assert.Assert(t, errors.Is(err, ErrInvalidHost), "%v", err)
	_, err = op.AllowHosts(t.Context(), slug, []string{"https://x.example.com/"}, "")
	assert.Assert(t, errors.Is(err, ErrInvalidHost), "%v", err)
	_, err = op.AllowHosts(t.Context(), "gone-zzzzz", []string{"ok.example.com"}, "")
	assert.Assert(t, errors.Is(err, ErrNoBottle), "%v", err)
	app.down = true
	_, err = op.AllowHosts(t.Context(), slug, []string{"ok.example.com"}, "")
	assert.Assert(t, errors.Is(err, ErrNotRunning), "%v", err)
	after, err := os.ReadFile(file)
	assert.NilError(t, err)
	assert.Equal(t, string(after), string(before), "a failed apply changed pipelock.yaml")
	assert.Equal(t, len(app.calls), 0)

	app.down = false
	entry, err := op.AllowHosts(t.Context(), slug, []string{"OK.example.com."}, "by hand")
	assert.NilError(t, err)
	assert.Assert(t, slicesContains(entry.After, "ok.example.com"))
	list, err := op.Allowlist(slug)
	assert.NilError(t, err)
	assert.Assert(t, slicesContains(list, "ok.example.com") && slicesContains(list, "api.github.com"))
	// Allowing it again changes nothing and restarts nothing.
	app.calls = nil
	_, err = op.AllowHosts(t.Context(), slug, []string{"ok.example.com"}, "")
	assert.NilError(t, err)
	assert.Equal(t, len(app.calls), 0)
}

func readRoutes(t *testing.T, l statedir.Layout, slug string) []daemoncfg.Route {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(l.EgressStateDir(slug), "routes.yaml"))
	assert.NilError(t, err)
	f, err := daemoncfg.ParseRoutes(data)
	assert.NilError(t, err)
	return f.Routes
}

func authBottle(t *testing.T) (statedir.Layout, string) {
	t.Helper()
	m, err := manifest.Parse([]byte("name = \"op\"\n[[egress.routes]]\nhost = \"api.github.com\"\npaths = [\"/repos/acme/\"]\nauth = { scheme = \"token\", token_ref = \"GH_PAT\" }\n"), "op.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(func(k string) (string, bool) { return "ghp_secretvalue", k == "GH_PAT" })
	assert.NilError(t, err)
	l := statedir.Layout{Home: t.TempDir()}
	p, err := bottle.Prepare(bottle.Options{Bottle: r, Slug: "op-abcde", Shape: contract.Bundle, Layout: l})
	assert.NilError(t, err)
	assert.NilError(t, p.Stage())
	return l, p.Slug
}

func TestWideningAnAuthenticatedRouteNeedsTheOperatorsChoice(t *testing.T) {
	l, slug := authBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	app := &recordingApplier{}
	op := &Operator{Layout: l, Applier: app}
	before := readRoutes(t, l, slug)

	for _, paths := range [][]string{nil, {"/user/"}, {"/repos/"}} {
		p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindEgress, Host: "api.github.com", Paths: paths, Justification: "need the API for this task"}, time.Now())
		assert.NilError(t, err)
		_, err = op.Approve(t.Context(), p.ID, "")
		assert.Assert(t, errors.Is(err, ErrWidensAuth), "%v: %v", paths, err)
		assert.ErrorContains(t, err, "route api.github.com carries a credential (token) for /repos/acme/ only")
		assert.ErrorContains(t, err, "--widen-auth")
		assert.DeepEqual(t, readRoutes(t, l, slug), before)
		assert.Equal(t, len(app.calls), 0)
		_, ok, err := q.Response(p.ID)
		assert.NilError(t, err)
		assert.Assert(t, !ok, "a refused approval answers nothing")
		assert.NilError(t, op.Reject(p.ID, "not like that"))
		assert.NilError(t, q.Archive(p.ID)) // as the agent's side does once it read the answer
	}

	// A narrower path under the credential's prefix is no widening.
	p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindEgress, Host: "api.github.com", Paths: []string{"/repos/acme/app/"}, Justification: "need the API for this task"}, time.Now())
	assert.NilError(t, err)
	e, err := op.Approve(t.Context(), p.ID, "")
	assert.NilError(t, err)
	assert.Assert(t, e.WidenedAuth == nil)

	// The explicit choice widens it, and the audit says so with the routes
	// (paths and auth) before and after.
	p, _, err = q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindEgress, Host: "api.github.com", Justification: "need the whole API now"}, time.Now())
	assert.NilError(t, err)
	e, err = op.ApproveWith(t.Context(), p.ID, ApproveOptions{WidenAuth: true, Notes: "ok"})
	assert.NilError(t, err)
	assert.Assert(t, e.WidenedAuth != nil)
	assert.DeepEqual(t, e.WidenedAuth.From, []string{"/repos/acme/", "/repos/acme/app/"})
	got := readRoutes(t, l, slug)
	assert.Equal(t, len(got[0].Paths), 0, "the whole host")
	assert.Equal(t, got[0].Auth.Scheme, "token", "the credential stays")
	audit, err := os.ReadFile(l.AuditLog())
	assert.NilError(t, err)
	last := strings.Split(strings.TrimSpace(string(audit)), "\n")
	line := last[len(last)-1]
	assert.Assert(t, is.Contains(line, `"widened_auth":{"host":"api.github.com","scheme":"token"`))
	assert.Assert(t, is.Contains(line, `"routes_before":[{"host":"api.github.com","paths":["/repos/acme/","/repos/acme/app/"],"auth":{"scheme":"token","token_env":"EGRESS_TOKEN_1"}}]`))
	assert.Assert(t, is.Contains(line, `"routes_after":[{"host":"api.github.com","auth":{"scheme":"token","token_env":"EGRESS_TOKEN_1"}}]`))
	assert.Assert(t, !strings.Contains(string(audit), "ghp_secretvalue"))
}

func TestAllowAndRevoke(t *testing.T) {
	l, slug := stagedBottle(t)
	app := &recordingApplier{}
	op := &Operator{Layout: l, Applier: app}
	a, err := ParseHostPath("Registry.NPMJS.org/@acme/")
	assert.NilError(t, err)
	assert.DeepEqual(t, a, Access{Host: "registry.npmjs.org", Paths: []string{"/@acme/"}})
	e, err := op.AllowAccess(t.Context(), slug, []Access{a}, "npm")
	assert.NilError(t, err)
	assert.DeepEqual(t, readRoutes(t, l, slug)[1], daemoncfg.Route{Host: "registry.npmjs.org", Paths: []string{"/@acme/"}})
	assert.Assert(t, slicesContains(e.After, "registry.npmjs.org"))
	assert.Equal(t, len(e.RoutesBefore)+1, len(e.RoutesAfter))

	_, err = op.Revoke(t.Context(), slug, Access{Host: "registry.npmjs.org", Paths: []string{"/other/"}}, "")
	assert.ErrorContains(t, err, "route registry.npmjs.org has no path prefix /other/ (it has /@acme/)")
	app.calls = nil
	e, err = op.Revoke(t.Context(), slug, Access{Host: "registry.npmjs.org", Paths: []string{"/@acme/"}}, "done")
	assert.NilError(t, err)
	assert.Equal(t, e.Kind, "deny")
	assert.Equal(t, len(readRoutes(t, l, slug)), 1, "the last path gone, the route goes")
	list, err := op.Allowlist(slug)
	assert.NilError(t, err)
	assert.Assert(t, !slicesContains(list, "registry.npmjs.org"))
	assert.DeepEqual(t, app.calls, []string{"reload-egress " + slug, "reload-pipelock " + slug}) // egress first

	_, err = op.Revoke(t.Context(), slug, Access{Host: "registry.npmjs.org"}, "")
	assert.ErrorContains(t, err, "nothing to deny")
	e, err = op.Revoke(t.Context(), slug, Access{Host: "api.github.com"}, "")
	assert.NilError(t, err)
	assert.Equal(t, len(readRoutes(t, l, slug)), 0)
	audit, err := os.ReadFile(l.AuditLog())
	assert.NilError(t, err)
	assert.Equal(t, strings.Count(string(audit), `"decision":"revoked"`), 2)
	_, err = ParseHostPath("api.github.com/../x")
	assert.ErrorContains(t, err, "without '..'")
	_, err = ParseHostPath("10.0.0.1/x")
	assert.Assert(t, errors.Is(err, ErrInvalidHost))
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestAllowAuditsWhatWasAppliedBeforeAFailure(t *testing.T) {
	l, slug := authBottle(t)
	op := &Operator{Layout: l, Applier: &recordingApplier{}}
	_, err := op.AllowAccess(t.Context(), slug, []Access{{Host: "a.example.com", KeepRoute: true}, {Host: "api.github.com", Paths: []string{"/user/"}}}, "two")
	assert.Assert(t, errors.Is(err, ErrWidensAuth), "%v", err)
	audit, err := os.ReadFile(l.AuditLog())
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(audit), `"after":["a.example.com"`), string(audit))
	assert.Assert(t, is.Contains(string(audit), "stopped at api.github.com"))
}

func TestAllowHostsConfirmsByHashAndRestoresOnFailure(t *testing.T) {
	l, slug := stagedBottle(t)
	file := filepath.Join(l.PipelockStateDir(slug), "pipelock.yaml")
	before, err := os.ReadFile(file)
	assert.NilError(t, err)
	app := &recordingApplier{}
	op := &Operator{Layout: l, Applier: app}

	_, err = op.AllowHosts(t.Context(), slug, []string{"one.example.com"}, "")
	assert.NilError(t, err)
	written, err := os.ReadFile(file)
	assert.NilError(t, err)
	sum := sha256.Sum256(written)
	assert.DeepEqual(t, app.sums, []string{hex.EncodeToString(sum[:])})

	// pipelock refuses (or never confirms): the file goes back to what
	// serves, and nothing is audited as applied.
	app.sums, app.reloadErr = nil, errors.New("pipelock refused the new configuration: boom")
	_, err = op.AllowHosts(t.Context(), slug, []string{"two.example.com"}, "")
	assert.ErrorContains(t, err, "pipelock.yaml restored: pipelock refused the new configuration: boom")
	after, err := os.ReadFile(file)
	assert.NilError(t, err)
	assert.Equal(t, string(after), string(written))
	assert.Assert(t, string(after) != string(before))
	assert.Equal(t, len(app.sums), 2, "the restored file is reloaded too")
	assert.Equal(t, app.sums[1], hex.EncodeToString(sum[:]))
	list, err := op.Allowlist(slug)
	assert.NilError(t, err)
	assert.Assert(t, !slicesContains(list, "two.example.com"))
}

func TestRejectAllAnswersPendingProposals(t *testing.T) {
	l, slug := stagedBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	now := time.Now()
	var ids []string
	for _, h := range []string{"a.example.com", "b.example.com"} {
		p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindPipelock, FailedURL: "https://" + h + "/", Host: h, Justification: "needed"}, now)
		assert.NilError(t, err)
		ids = append(ids, p.ID)
	}
	op := &Operator{Layout: l, Applier: &recordingApplier{}}
	n, err := op.RejectAll(slug, BottleStopped)
	assert.NilError(t, err)
	assert.Equal(t, n, 2)
	for _, id := range ids {
		r, ok, err := q.Response(id)
		assert.NilError(t, err)
		assert.Assert(t, ok)
		assert.Equal(t, r.Decision, approvals.Rejected)
		assert.Equal(t, r.Notes, BottleStopped)
	}
	left, err := q.Unanswered()
	assert.NilError(t, err)
	assert.Equal(t, len(left), 0)
	audit, err := os.ReadFile(l.AuditLog())
	assert.NilError(t, err)
	assert.Equal(t, strings.Count(string(audit), `"notes":"bottle stopped"`), 2)
	// A restarted supervise reads the same queue directory: nothing is lost
	// between runs (the queue lives on the host, not in the container).
	n, err = op.RejectAll(slug, BottleStopped)
	assert.NilError(t, err)
	assert.Equal(t, n, 0)
}
