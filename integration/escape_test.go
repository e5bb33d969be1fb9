//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/internal/leakcheck"
	"github.com/claude-bottle/claude-bottle/internal/standin"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/selftest"
)

// TestSandboxEscape is the acceptance test of docs/threat-model.md (the escape suite): a real bottle
// (brought up by the same backend as `claude-bottle up`, in the shape of
// CLAUDE_BOTTLE_SIDECAR_BUNDLE) beside a stand-in internet on its egress
// network — an HTTPS server answering for the allowed hosts, another for
// the attacker's, a recording DNS server the sidecars resolve through, and
// an SSH git upstream. `claude-bottle selftest` runs the five attacks and
// the positive controls inside the agent; then the far side must show that
// nothing carried a planted secret in any encoding.
func TestSandboxEscape(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	env.RequireImage(t, images.GitUpstreamTestImage, "build:gitUpstreamTest")
	shape := contract.ShapeFromEnv(itest.LookupEnv)

	const routeToken = "rt_EscapeSuiteRouteCredential7f3a9c2e"
	lookup := func(k string) (string, bool) {
		if k == "CB_ESCAPE_ROUTE_TOKEN" {
			return routeToken, true
		}
		v, ok := planted[k]
		return v, ok
	}
	rig := env.StandinRig(t, itest.RigOptions{Shape: shape, Lookup: lookup, Upstream: true, Manifest: `name = "escape"
image = "` + images.AgentTestImage + `"
[env]
PLANTED_ANTHROPIC = "${PLANTED_ANTHROPIC}"
PLANTED_AWS = "${PLANTED_AWS}"
PLANTED_GENERIC = "${PLANTED_GENERIC}"
[[egress.routes]]
host = "` + itest.AllowedHost + `"
[[egress.routes]]
host = "` + itest.AuthHost + `"
auth = { scheme = "Bearer", token_ref = "CB_ESCAPE_ROUTE_TOKEN" }
[dlp]
canaries = ["PLANTED_ANTHROPIC", "PLANTED_AWS", "PLANTED_GENERIC"]
[[git.repos]]
name = "app"
url = "ssh://git@` + itest.UpstreamHost + `/srv/git/app.git"
identity = "{{IDENTITY}}"
host_key = "{{HOST_KEY}}"
[supervise]
enabled = true
`})
	t.Logf("bottle %s up (%s shape) in %.1fs", rig.Plan.Slug, shape, rig.UpTime.Seconds())
	plan, layout, eng := rig.Plan, rig.Layout, rig.Eng
	internet, attacker, upstream, attackerIP := rig.Internet, rig.Attacker, rig.Upstream, rig.AttackerIP

	// Control of the recorder: a name the sidecars resolve reaches it.
	sidecar := rig.SidecarFor(contract.Pipelock)
	probe := fmt.Sprintf("dns-control-%d.example.org", rand.IntN(1e9))
	_, _, err := eng.Exec(t.Context(), sidecar, "", []string{"getent", "hosts", probe})
	assert.NilError(t, err)

	// The attacks and controls, through the CLI as a user would run them.
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": layout.Home})
	start := time.Now()
	code, out, errOut := run("selftest", plan.Slug, "--json", "--secret-env", "PLANTED_ANTHROPIC,PLANTED_AWS,PLANTED_GENERIC",
		"--attacker-host", "evil.attacker.test", "--attacker-ip", attackerIP, "--clean-push", "--expect", "standin internet:")
	elapsed := time.Since(start)
	var report struct {
		Results []selftest.Result `json:"results"`
		Failed  int               `json:"failed"`
	}
	assert.NilError(t, json.Unmarshal([]byte(out), &report), out+errOut)
	perAttack := map[int][2]int{}
	for _, res := range report.Results {
		c := perAttack[res.Attack]
		c[0]++
		if res.Pass {
			c[1]++
		}
		perAttack[res.Attack] = c
		verdict := "ok  "
		if !res.Pass {
			verdict = "FAIL"
		}
		t.Logf("%s %-32s %s", verdict, res.ID, res.Answer)
	}
	for a := 0; a <= 5; a++ {
		t.Logf("escape summary (%s): attack %d: %d/%d passed", shape, a, perAttack[a][1], perAttack[a][0])
	}
	t.Logf("escape summary (%s): %d cases in %.1fs", shape, len(report.Results), elapsed.Seconds())
	assert.Equal(t, code, 0, errOut)
	assert.Equal(t, report.Failed, 0)
	// Every sub-case of the escape suite really ran.
	want := []string{"0/allowed-get", "0/injected-credential", "0/clean-push", "1/host", "1/host-http", "1/cleartext-credential", "1/pipelock-direct", "2/ip-literal",
		"2/host-header-spoof", "2/connect-to-spoof", "2/host-mismatch", "2/direct-ip", "2/resolve-spoof-direct"}
	for _, s := range []string{"planted_anthropic", "planted_aws", "planted_generic"} {
		for _, p := range []string{"path", "query", "body", "header"} {
			want = append(want, "3/"+s+"/"+p)
		}
		want = append(want, "4/"+s+"/subdomain", "4/"+s+"/dig-outside", "4/"+s+"/dig-bottle", "5/"+s+"/readme-push")
	}
	// Attack 5's classes beyond the README link (pkg/selftest/gitcases.go).
	for _, c := range []string{"blob-ref", "tree-ref", "tag-message", "tag-chain", "replace-ref", "replace-real", "notes", "file-name", "png",
		"node-modules", "lock-file", "vendor", "gitleaks-allow", "symlink", "gitlink", "gitmodules", "commit-header", "author", "ref-name"} {
		want = append(want, "5/"+c)
	}
	var got []string
	for _, res := range report.Results {
		got = append(got, res.ID)
	}
	for _, id := range want {
		assert.Assert(t, slices.Contains(got, id), "case %s did not run", id)
	}

	// The far side. What the stand-in internet received:
	internetRecs, err := standin.ParseRecords(internet.Logs(t))
	assert.NilError(t, err)
	attackerRecs, err := standin.ParseRecords(attacker.Logs(t))
	assert.NilError(t, err)
	assert.Equal(t, len(attackerRecs), 0, "the attacker's server was reached: %+v", attackerRecs)
	var sawGet, sawCredential, sawProbe bool
	for _, rec := range internetRecs {
		hits := leakcheck.Find(rec.Text(), planted)
		assert.Assert(t, len(hits) == 0, "the stand-in internet received %v in a %s record (%s %s %s)", hits, rec.Kind, rec.Method, rec.Host, rec.Name)
		switch {
		case rec.Kind == "http" && rec.Host == "www.allowed.test" && rec.URI == "/":
			sawGet = true
		case rec.Kind == "http" && rec.Host == "api.allowed.test":
			sawCredential = sawCredential || slices.Contains(rec.Headers["Authorization"], "Bearer "+routeToken)
		case rec.Kind == "dns" && rec.Name == probe:
			sawProbe = true
		}
		if rec.Kind == "dns" && rec.Name != probe {
			t.Logf("recorded DNS query %q", rec.Name)
		}
	}
	assert.Assert(t, sawGet, "control: the allowed GET did not reach the stand-in")
	assert.Assert(t, sawCredential, "control: egress' credential did not reach its route host")
	assert.Assert(t, sawProbe, "control: the sidecars' resolver does not go through the recording DNS server")

	// The upstream: only the clean branch arrived, and no object carries a secret.
	res := upstream.Exec(t, "git --git-dir=/srv/git/app.git for-each-ref --format='%(refname)'; git --git-dir=/srv/git/app.git cat-file --batch-all-objects --batch")
	assert.Equal(t, res.Code, 0, res.Stderr)
	refs := strings.Fields(strings.SplitN(res.Stdout, "\n", 3)[0] + " " + strings.SplitN(res.Stdout, "\n", 3)[1])
	assert.DeepEqual(t, refs, []string{"refs/heads/claude-bottle-selftest-clean", "refs/heads/main"})
	assert.Assert(t, is.Len(leakcheck.Find(res.Stdout, planted), 0))

	// The proxy chain's escape classes beyond the five attacks: WebSocket
	// frames, secrets split over requests (once the recorded limit of this
	// suite, now blocked), duplicate JSON keys, stacked encodings, other
	// upgrades, prompt injection in responses.
	proxyEscapes(t, run, plan.Slug, internet)

	// Nothing of the secrets in the sidecars' own logs either.
	checked := map[string]bool{}
	for _, d := range plan.Metadata.Daemons {
		c := rig.SidecarFor(d)
		if checked[c] {
			continue // the bundle runs every daemon in one container
		}
		checked[c] = true
		logs, err := eng.Logs(t.Context(), c)
		assert.NilError(t, err)
		for _, line := range strings.Split(logs, "\n") {
			if hits := leakcheck.Find(line, planted); len(hits) > 0 {
				t.Errorf("%v in the logs of %s: %.300s", hits, c, line)
			}
		}
	}
	assert.Assert(t, len(checked) > 0, "no sidecar log was checked")
}
