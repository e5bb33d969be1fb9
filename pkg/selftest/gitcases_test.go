package selftest

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestJudgeGateRefusal(t *testing.T) {
	j := judgeGateRefusal("ssh://git@up.test/a.git", "points at a blob")
	for _, c := range []struct {
		name, out string
		pass      bool
		want      string
	}{
		{"refused", "\nPUSH\nremote: git-gate: rejected push to refs/tags/x: it points at a blob; a branch or tag must point at a commit\nEXIT 1\n", true, "points at a blob"},
		{"other refusal", "\nPUSH\nremote: git-gate: rejected push to refs/tags/x: over the per-push limit\nEXIT 1\n", false, "no git-gate refusal"},
		{"went through", "\nPUSH\nremote: git-gate: scanned and forwarded refs/tags/x\nEXIT 0\n", false, "succeeded"},
		{"upstream phase", "\nPUSH\nremote: git-gate: rejected push: it points at a blob; upstream unreachable\nEXIT 1\n", false, "upstream phase"},
		{"not prepared", "fatal: could not clone\n", false, "not prepared"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, answer := j(c.out)
			assert.Equal(t, ok, c.pass, answer)
			assert.Assert(t, is.Contains(answer, c.want))
		})
	}
}

// Every class pushes with the secret only through the agent's variable,
// never as a literal in the script.
func TestGitCasesQuoteTheSecret(t *testing.T) {
	cs := gitCases(Target{RepoURL: "ssh://git@up.test/a.git", Branch: "st", Secrets: []Secret{{Name: "generic", Value: "it's a secret"}, {Name: "aws", Env: "PLANTED_AWS"}}})
	assert.Equal(t, len(cs), len(gitClasses()))
	for _, c := range cs {
		assert.Assert(t, is.Contains(c.Script, `S="$PLANTED_AWS"`), c.ID)
		assert.Assert(t, is.Contains(c.Title, "aws secret"), c.ID)
	}
}
