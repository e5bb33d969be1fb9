package selftest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

const routeTable = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t010013AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000013AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"

func TestJudges(t *testing.T) {
	cases := []struct {
		name  string
		judge func(string) (bool, string)
		out   string
		pass  bool
		want  string
	}{
		{"egress 403 body", judgeHTTPBlock, "HTTP 403\nEXIT 0\n< HTTP/1.1 403 Forbidden\nBODY\negress: host x is not on this bottle's allowlist\n", true, "403 egress: host x"},
		{"pipelock 403 body", judgeHTTPBlock, "HTTP 403\nEXIT 0\nBODY\nblocked: known-secret A in query\n", true, "403 blocked: known-secret"},
		{"403 at CONNECT with the header", judgeHTTPBlock, "HTTP 000\nEXIT 56\n< HTTP/1.1 403 Forbidden\r\n< X-Claude-Bottle-Blocked: egress; reason=ip-literal; tool=egress-block\r\ncurl: (56) CONNECT tunnel failed, response 403\nBODY\n", true, "egress; reason=ip-literal"},
		{"403 at CONNECT from someone else", judgeHTTPBlock, "HTTP 000\nEXIT 56\n< HTTP/1.1 403 Forbidden\ncurl: (56) CONNECT tunnel failed, response 403\nBODY\n", false, "without the bottle's block header"},
		{"a site's own 403 is not the bottle's", judgeHTTPBlock, "HTTP 403\nEXIT 0\nBODY\nForbidden\n", false, "not blocked: HTTP 403"},
		{"200 leaks", judgeHTTPBlock, "HTTP 200\nEXIT 0\nBODY\nok\n", false, "not blocked: HTTP 200"},
		{"timeout is a failure", judgeHTTPBlock, "HTTP 000\nEXIT 28\ncurl: (28) Operation timed out after 20001 milliseconds\nBODY\n", false, "no permissions answer: curl: (28)"},
		{"no path: unresolved gateway", judgeNoPath, "curl: (7) Failed\nEXIT 7\nROUTES\n" + routeTable + "\nARP\nIP address HW type Flags HW address Mask Device\n172.19.0.1 0x1 0x0 00:00:00:00:00:00 * eth0\n", true, "gateway 172.19.0.1 does not exist"},
		{"a reachable gateway is a path", judgeNoPath, "EXIT 7\nROUTES\n" + routeTable + "\nARP\nIP address HW type Flags HW address Mask Device\n172.19.0.1 0x1 0x2 02:42:ac:13:00:01 * eth0\n", false, "a path exists"},
		{"a success is not blocked", judgeNoPath, "EXIT 0\nROUTES\n" + routeTable + "\nARP\n", false, "succeeded"},
		{"reached", judgeReached("standin"), "HTTP 200\nEXIT 0\nBODY\nstandin internet: GET /\n", true, "HTTP 200"},
		{"reached but blocked", judgeReached(""), "HTTP 403\nEXIT 0\nBODY\nblocked: host\n", false, "blocked by the bottle"},
		{"dns refused", judgeNoDNSAnswer, ";; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 1\nEXIT 0\n", true, "REFUSED"},
		{"dns answered", judgeNoDNSAnswer, ";; ANSWER SECTION:\nx. 1 IN A 1.2.3.4\nEXIT 0\n", false, "resolved"},
		{"gitleaks", judgeGitleaks("ssh://git@up.test/a.git"), "\nPUSH\nremote: git-gate: gitleaks rejected push to refs/heads/x: aws-access-token in README.md\nerror: failed to push some refs to 'ssh://git@up.test/a.git'\nEXIT 1\n", true, "gitleaks rejected"},
		{"gitleaks naming the upstream", judgeGitleaks("ssh://x"), "\nPUSH\nremote: git-gate: gitleaks rejected push; upstream unreachable\nEXIT 1\n", false, "upstream phase"},
		{"a push that went through", judgeGitleaks("ssh://x"), "\nPUSH\nremote: git-gate: scanned and forwarded\nEXIT 0\n", false, "succeeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, answer := c.judge(c.out)
			assert.Equal(t, ok, c.pass, answer)
			assert.Assert(t, is.Contains(answer, c.want))
		})
	}
}

func TestCasesCoverTheDesign(t *testing.T) {
	tg := Target{AllowedURL: "https://www.allowed.test", AuthURL: "https://api.allowed.test", AttackerHost: "evil.test", AttackerIP: "203.0.113.7",
		OutsideResolver: "8.8.8.8", Secrets: []Secret{{Name: "aws", Env: "PLANTED_AWS"}, {Name: "x", Value: "it's"}}, RepoURL: "ssh://git@up.test/a.git", CleanPush: true, Branch: "st"}
	perAttack := map[int]int{}
	for _, c := range Cases(tg) {
		perAttack[c.Attack]++
		assert.Assert(t, !strings.Contains(c.Script, "PLANTED_AWS=") && !strings.Contains(c.Script, "it's"), "secret values never appear unquoted: %s", c.Script)
	}
	assert.DeepEqual(t, perAttack, map[int]int{0: 3, 1: 4, 2: 7, 3: 8, 4: 6, 5: 2 + len(gitClasses())})
}

func TestRunRedactsLiteralSecrets(t *testing.T) {
	s := Secret{Name: "aws", Value: "AKIAQ7R2XNPLW3JKD5VT"}
	cases := Cases(Target{AllowedURL: "https://a.test", AttackerHost: "e.test", AttackerIP: "203.0.113.7", OutsideResolver: "8.8.8.8", Secrets: []Secret{s}})
	res := Run(context.Background(), func(context.Context, string) (string, error) {
		return "HTTP 200\nEXIT 0\nBODY\necho AKIAQ7R2XNPLW3JKD5VT\n", nil
	}, cases, []Secret{s})
	for _, r := range res {
		assert.Assert(t, !strings.Contains(r.Answer, s.Value), r.Answer)
	}
}

func TestPreflight(t *testing.T) {
	assert.NilError(t, CheckPreflight("TOOLS-OK\n"))
	assert.ErrorContains(t, CheckPreflight("MISSING git dig\n"), "lacks git, dig")
	assert.ErrorContains(t, CheckPreflight("sh: not found"), "did not run")
}

func TestFromState(t *testing.T) {
	layout := statedir.Layout{Home: t.TempDir()}
	slug := "b-abcde"
	write := func(daemon, name, data string) {
		dir := layout.DaemonDir(slug, daemon)
		assert.NilError(t, os.MkdirAll(dir, 0o700))
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600))
	}
	_, err := FromState(layout, slug)
	assert.ErrorContains(t, err, "no bottle b-abcde")
	write(contract.Egress, contract.RoutesFile, "routes:\n- host: api.anthropic.com\n- host: api.github.com\n  paths: [/repos/acme/]\n  auth: {scheme: token, token_env: EGRESS_TOKEN_1}\n- host: pypi.org\n")
	m, err := manifest.Parse([]byte("name = \"b\"\n[pipelock]\ntls_passthrough = [\"api.anthropic.com\"]\n"), "b.toml")
	assert.NilError(t, err)
	pl, err := bottle.PipelockConfig(m).Marshal()
	assert.NilError(t, err)
	write(contract.Pipelock, contract.PipelockFile, string(pl))
	write(contract.GitGate, "repos.yaml", "repos:\n- name: app\n  url: ssh://git@h/app.git\n  identity: id-app\n")
	tg, err := FromState(layout, slug)
	assert.NilError(t, err)
	assert.Equal(t, tg.AllowedURL, "https://pypi.org")
	assert.Equal(t, tg.AuthURL, "https://api.github.com/repos/acme")
	assert.Equal(t, tg.RepoURL, "ssh://git@h/app.git")
}

// TestRunOrderAndConcurrency: results come back in the order of the cases;
// an attack's cases overlap (at most Parallel at once); no case of an attack
// starts before every case of the attack before it has finished.
func TestRunOrderAndConcurrency(t *testing.T) {
	var cases []Case
	for a := range 3 {
		for i := range 7 {
			cases = append(cases, Case{ID: fmt.Sprintf("%d/%d", a, i), Attack: a, Script: fmt.Sprint(a), judge: func(out string) (bool, string) { return true, out }})
		}
	}
	var mu sync.Mutex
	running, most := map[int]int{}, 0
	done := map[int]int{}
	res := Run(context.Background(), func(_ context.Context, script string) (string, error) {
		a, _ := strconv.Atoi(script)
		mu.Lock()
		for prev := range a {
			if done[prev] != 7 {
				mu.Unlock()
				return "", fmt.Errorf("attack %d started before attack %d finished", a, prev)
			}
		}
		running[a]++
		most = max(most, running[a])
		mu.Unlock()
		// The first attack's cases wait until Parallel of them run at
		// once: they must overlap.
		if a == 0 {
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := running[0] + done[0]
				mu.Unlock()
				if n >= Parallel {
					break
				}
				if time.Now().After(deadline) {
					return "", fmt.Errorf("only %d cases of attack 0 ran at once", n)
				}
				time.Sleep(time.Millisecond)
			}
		}
		mu.Lock()
		running[a]--
		done[a]++
		mu.Unlock()
		return script, nil
	}, cases, nil)
	assert.Equal(t, len(res), len(cases))
	for i, r := range res {
		assert.Equal(t, r.ID, cases[i].ID)
		assert.Assert(t, r.Pass, r.Answer)
	}
	assert.Assert(t, most == Parallel, "at most %d at once, got %d", Parallel, most)
}
