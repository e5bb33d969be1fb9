package gitgate

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/selftest"
)

// The escape suite's git cases (attack 5, run inside the agent by
// `claude-bottle selftest`) against a real gate and upstream, without
// Docker: every case must be judged a pass, and the upstream must be
// untouched.
func TestSelftestGitCases(t *testing.T) {
	// As in the escape suite, the planted secrets are known to the gate
	// (canaries): gitleaks' Anthropic rule wants a delimiter after the key
	// that a Markdown link does not give.
	secrets := selftest.Synthetic()
	known := map[string]string{}
	for _, s := range secrets {
		known[strings.ToUpper(s.Name)] = s.Value
	}
	r := newGateRigKnowing(t, nil, known)
	home := t.TempDir()
	n := 0
	for _, c := range selftest.Cases(selftest.Target{AllowedURL: "https://www.allowed.test", RepoURL: r.url(), Secrets: secrets, Branch: "cb-selftest"}) {
		if c.Attack != 5 {
			continue
		}
		n++
		t.Run(c.ID, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", c.Script)
			cmd.Dir = home
			cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_GLOBAL=/dev/null")
			out, _ := cmd.CombinedOutput()
			pass, answer := c.Judge(string(out))
			assert.Assert(t, pass, "%s\n%s", answer, out)
			t.Logf("%s", answer)
		})
	}
	assert.Assert(t, n >= 20, "only %d git cases", n)
	assert.DeepEqual(t, r.upstreamRefs(t), []string{"refs/heads/main"})
	r.assertNoLeak(t)
	for _, s := range secrets {
		assert.Assert(t, !strings.Contains(run(t, r.upstream, "cat-file", "--batch-all-objects", "--batch"), s.Value), "the upstream holds the %s secret", s.Name)
	}
}
