//go:build integration

package integration

import (
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
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/operator"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// TestEgressPipelockChain runs egress and pipelock from the sidecars image
// with a state directory staged by bottle.Prepare, in the shape selected by
// CLAUDE_BOTTLE_SIDECAR_BUNDLE (bundle: one container under initd; legacy:
// one container per daemon, as the renderer lays them out), and drives the
// chain with curl from the agent image:
//   - a secret in the query of an allowed route passes egress and is
//     stopped by pipelock, which the agent reads as a 403 "blocked:" body
//     relayed through egress (egress trusts pipelock's CA, pipelock trusts
//     egress' proxy credential);
//   - bundle: nothing answers on the pipelock port from the agent's side;
//     legacy (pipelock put on the agent's network here on purpose, which a
//     bottle never does): pointing a proxy straight at pipelock gets 407;
//   - a host off the routes is stopped by egress itself.
func TestEgressPipelockChain(t *testing.T) {
	env := itest.Require(t)
	img := sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	shape := contract.ShapeFromEnv(itest.LookupEnv)

	plan, layout := stageBottle(t, "name = \"chain\"\n[[egress.routes]]\nhost = \"allowed.example.com\"\n", shape, nil)

	internal := env.InternalNetwork(t, "chain-int")
	bind := func(d string) string { return layout.DaemonDir(plan.Slug, d) + ":" + contract.ConfigDir(d) + ":ro" }
	var sidecars []*itest.Container
	if shape == contract.Bundle {
		sidecars = append(sidecars, env.Run(t, itest.RunSpec{
			Name: "chain-bundle", Image: img, Network: internal.Name, User: compose.OperatorUser(),
			Aliases: []string{"egress", contract.SidecarContainer("egress", plan.Slug)},
			Env:     []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock", "EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888"},
			Binds:   []string{bind("egress"), bind("pipelock")},
			Labels:  map[string]string{contract.LabelSlug: plan.Slug, contract.LabelRole: "sidecars"},
		}))
	} else {
		for _, d := range []string{"pipelock", "egress"} {
			e := []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS=" + d}
			if d == "egress" {
				e = append(e, "EGRESS_UPSTREAM_PROXY=http://pipelock:8888")
			}
			sidecars = append(sidecars, env.Run(t, itest.RunSpec{
				Name: "chain-" + d, Image: img, Network: internal.Name, User: compose.OperatorUser(),
				Aliases: []string{d, contract.SidecarContainer(d, plan.Slug)}, Env: e, Binds: []string{bind(d)},
				Entrypoint: []string{contract.SidecarBinary}, Cmd: contract.Argv(d),
				Labels: map[string]string{contract.LabelSlug: plan.Slug, contract.LabelRole: d},
			}))
		}
	}
	for _, sc := range sidecars {
		sc.WaitHealthy(t, 30*time.Second)
	}

	agent := env.Run(t, itest.RunSpec{Name: "chain-agent", Image: images.AgentTestImage, Network: internal.Name,
		Binds: []string{layout.AgentCADir(plan.Slug) + ":/etc/claude-bottle/ca:ro"}})
	curl := func(proxy, u string) string {
		res := agent.Exec(t, "curl -sS --max-time 15 -x "+proxy+" --cacert /etc/claude-bottle/ca/ca.pem -w '\\nHTTP %{http_code}\\n' '"+u+"' 2>&1")
		return res.Stdout
	}
	const aws = "AKIAQ7R2XNPLW3JKD5VT"
	out := curl("http://egress:9099", "https://allowed.example.com/p?k="+aws)
	assert.Assert(t, is.Contains(out, "blocked: "), out)
	assert.Assert(t, is.Contains(out, "in query"), out)
	assert.Assert(t, is.Contains(out, "HTTP 403"), out)
	assert.Assert(t, !strings.Contains(out, "egress: upstream"), "egress must relay pipelock's answer: %s", out)

	if shape == contract.Bundle {
		// pipelock listens on the bundle's loopback only: from the agent's
		// network there is nothing at egress:8888, and no pipelock name.
		out = curl("http://egress:8888", "http://allowed.example.com/")
		assert.Assert(t, is.Contains(out, "Failed to connect to egress port 8888"), out)
		assert.Assert(t, is.Contains(out, "HTTP 000"), out)
	} else {
		// This hand-built legacy chain puts pipelock on the agent's network
		// on purpose (a bottle never does: pipelock sits on the hop network)
		// to prove its own gate: without egress' proxy credential, 407.
		out = curl("http://pipelock:8888", "http://allowed.example.com/")
		assert.Assert(t, is.Contains(out, "HTTP 407"), out)
		assert.Assert(t, is.Contains(out, "blocked: proxy authentication required"), out)
	}

	out = curl("http://egress:9099", "https://elsewhere.example.com/")
	assert.Assert(t, is.Contains(out, "egress: host elsewhere.example.com is not on this bottle's allowlist"), out)

	for _, sc := range sidecars {
		assert.Assert(t, !strings.Contains(sc.Logs(t), aws), "the secret reached a sidecar log")
	}

	// Reload: drop the host from pipelock's allowlist, written atomically
	// into the directory pipelock has mounted, then signal pipelock the
	// way each shape does (bundle: SIGUSR1 to initd, which passes SIGHUP
	// on; legacy: SIGHUP to the pipelock container). It reloads in place:
	// the request that reached pipelock's DLP before is now refused by its
	// allowlist, and pipelock kept its process.
	dir := layout.PipelockStateDir(plan.Slug)
	data, err := os.ReadFile(filepath.Join(dir, contract.PipelockFile))
	assert.NilError(t, err)
	cfg, err := daemoncfg.ParsePipelock(data)
	assert.NilError(t, err)
	out2, err := cfg.WithAllowlist([]string{"api.anthropic.com"}).Marshal()
	assert.NilError(t, err)
	assert.NilError(t, statedir.WriteFileAtomic(dir, contract.PipelockFile, out2, statedir.PublicPerm))
	if shape == contract.Bundle {
		sidecars[0].Signal(t, "SIGUSR1")
	} else {
		sidecars[0].Signal(t, "SIGHUP")
	}
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		o := curl("http://egress:9099", "https://allowed.example.com/p")
		if strings.Contains(o, "blocked: host allowed.example.com is not on the pipelock allowlist") {
			return poll.Success()
		}
		return poll.Continue("pipelock not reloaded: %s", o)
	}, poll.WithTimeout(30*time.Second))
	if shape == contract.Bundle {
		assert.Assert(t, is.Contains(sidecars[0].Logs(t), "SIGUSR1: pipelock reloads its configuration"))
		assert.Equal(t, strings.Count(sidecars[0].Logs(t), "started pipelock (pid"), 1, "pipelock was restarted, not reloaded")
	}
	assert.Assert(t, is.Contains(sidecars[0].Logs(t), `"msg":"reloaded","daemon":"pipelock","generation":2`))

	eng, err := lifecycle.Connect(t.Context())
	assert.NilError(t, err)
	defer func() { _ = eng.Close() }()
	// A bad file is refused with its reason; the running allowlist stays.
	bad := []byte("mode: strict\nsurprise: 1\n")
	assert.NilError(t, statedir.WriteFileAtomic(dir, contract.PipelockFile, bad, statedir.PublicPerm))
	err = eng.ReloadPipelock(t.Context(), plan.Slug, sha256Hex(bad))
	assert.Assert(t, errors.Is(err, lifecycle.ErrReloadRefused), "%v", err)
	assert.ErrorContains(t, err, "surprise")
	assert.Assert(t, is.Contains(curl("http://egress:9099", "https://allowed.example.com/p"), "blocked: host allowed.example.com is not on the pipelock allowlist"))
	assert.NilError(t, statedir.WriteFileAtomic(dir, contract.PipelockFile, out2, statedir.PublicPerm))

	// The operator approves the agent's pipelock-block through the real
	// engine (apply_allowlist_change): the host is back in the allowlist
	// of the directory pipelock has mounted, and the approval returns only
	// once pipelock confirmed that this file serves — so the very next
	// request is judged by it, without polling.
	q := approvals.Queue{Dir: layout.QueueDir(plan.Slug)}
	p, _, err := q.Submit(approvals.Proposal{Slug: plan.Slug, Kind: approvals.KindPipelock, FailedURL: "https://allowed.example.com/p",
		Host: "allowed.example.com", Justification: "the task reads this site"}, time.Now())
	assert.NilError(t, err)
	op := &operator.Operator{Layout: layout, Applier: eng}
	_, err = op.Approve(t.Context(), p.ID, "ok")
	assert.NilError(t, err)
	o := curl("http://egress:9099", "https://allowed.example.com/p?k="+aws)
	assert.Assert(t, strings.Contains(o, "blocked: ") && strings.Contains(o, "in query"), "approval confirmed but not serving: %s", o)
	resp, ok, err := q.Response(p.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && resp.Decision == approvals.Approved)
	audit, err := os.ReadFile(layout.AuditLog())
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(audit), p.ID))

	// apply_allowlist_change directly (claude-bottle allow): the live file
	// keeps the old hosts and tls_interception; an invalid host and a
	// stopped sidecar raise typed errors and change nothing.
	file := filepath.Join(layout.PipelockStateDir(plan.Slug), contract.PipelockFile)
	before, err := os.ReadFile(file)
	assert.NilError(t, err)
	_, err = op.AllowHosts(t.Context(), plan.Slug, []string{"not a host"}, "")
	assert.Assert(t, errors.Is(err, operator.ErrInvalidHost), "%v", err)
	entry, err := op.AllowHosts(t.Context(), plan.Slug, []string{"pypi.org"}, "by hand")
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(entry.After, "pypi.org"))
	assert.Assert(t, is.Contains(entry.After, "allowed.example.com"))
	liveData, err := os.ReadFile(file)
	assert.NilError(t, err)
	live, err := daemoncfg.ParsePipelock(liveData)
	assert.NilError(t, err)
	old, err := daemoncfg.ParsePipelock(before)
	assert.NilError(t, err)
	assert.DeepEqual(t, live.TLSInterception, old.TLSInterception)
	list, err := op.Allowlist(plan.Slug)
	assert.NilError(t, err)
	assert.DeepEqual(t, list, live.APIAllowlist)
	for _, sc := range sidecars {
		sc.Stop(t, 2)
	}
	before, err = os.ReadFile(file)
	assert.NilError(t, err)
	_, err = op.AllowHosts(t.Context(), plan.Slug, []string{"npmjs.org"}, "")
	assert.Assert(t, errors.Is(err, operator.ErrNotRunning), "%v", err)
	after, err := os.ReadFile(file)
	assert.NilError(t, err)
	assert.Equal(t, string(after), string(before))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
