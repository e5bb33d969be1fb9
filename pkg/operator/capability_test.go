package operator

import (
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/capfile"
)

var admitted = map[string]bool{"RUN": true, "ENV": true, "ARG": true, "WORKDIR": true, "USER": true, "LABEL": true}

func TestRebaseDockerfile(t *testing.T) {
	got, err := approvals.RebaseDockerfile("# add jq\nARG V=1\nFROM python:3.12 AS evil\nRUN apt-get install -y jq\nENV X=1\n")
	assert.NilError(t, err)
	assert.Equal(t, got, "# add jq\nARG V=1\nARG CLAUDE_BOTTLE_AGENT_BASE\nFROM ${CLAUDE_BOTTLE_AGENT_BASE}\nRUN apt-get install -y jq\nENV X=1\n")
	got, err = approvals.RebaseDockerfile("from\tx\nRUN a \\\n  # a comment inside the continuation\n  b\n")
	assert.NilError(t, err)
	assert.Assert(t, strings.HasPrefix(got, "ARG CLAUDE_BOTTLE_AGENT_BASE\nFROM ${CLAUDE_BOTTLE_AGENT_BASE}\nRUN a"), got)
	for name, bad := range map[string]string{
		"instruction before FROM":          "RUN true\nFROM x",
		"second stage":                     "FROM a\nRUN x\nFROM b\nCOPY --from=0 / /",
		"second FROM with a tab":           "FROM a\nFROM\tb AS c",
		"second FROM in lower case":        "FROM a\n  from b",
		"FROM split by a continuation":     "FROM a\nRUN true\nFR\\\nOM evil AS x",
		"FROM split with a backtick":       "# escape=`\nFROM a\nRUN true\nFR`\nOM evil",
		"first FROM over two lines":        "FROM \\\n evil",
		"only comments":                    "# nothing",
		"empty":                            "",
		"continuation swallowing the FROM": "ARG A=\\\nFROM x",
		"ADD of a URL":                     "FROM a\nADD http://127.0.0.1:1/x /x",
		"COPY from an image":               "FROM a\ncopy --from=alpine / /",
		"ONBUILD":                          "FROM a\nONBUILD ADD http://x/ /",
		"RUN --network=host":               "FROM a\nRUN --network=host curl x",
		"RUN --security=insecure":          "FROM a\nrun\t--security=insecure true",
		"heredoc":                          "FROM a\nRUN <<EOF\nADD http://x /\nEOF",
	} {
		_, err := approvals.RebaseDockerfile(bad)
		assert.Assert(t, errors.Is(err, approvals.ErrBadDockerfile), "%s: %q: %v", name, bad, err)
	}
	// A FROM inside a RUN's continuation is an argument, not an instruction.
	got, err = approvals.RebaseDockerfile("FROM a\nRUN echo \\\n FROM b\n")
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(got, "RUN echo \\\n FROM b"))
}

func TestDockerfileDiff(t *testing.T) {
	d := DockerfileDiff("FROM claude-bottle-agent:latest\nRUN apt-get install -y jq\nUSER agent\n")
	assert.Equal(t, strings.Join(d, "\n"), "  FROM <the bottle's current agent, as it is now>\n+ RUN apt-get install -y jq\n+ USER agent")
	// Refused instructions are marked, every physical line of them, with
	// the reason after the last.
	d = DockerfileDiff("FROM x\nRUN true\nADD http://127.0.0.1:9/a \\\n  /a\nRUN ok\n")
	got := strings.Join(d, "\n")
	assert.Assert(t, is.Contains(got, "+ RUN true\n! ADD http://127.0.0.1:9/a \\\n!   /a\n!   refused: ADD: the engine itself fetches"), got)
	assert.Assert(t, is.Contains(got, "\n+ RUN ok"), got)
	d = DockerfileDiff("RUN early\nFROM x\nRUN ok\n")
	assert.Assert(t, is.Contains(strings.Join(d, "\n"), "! line 1 refused: the first instruction must be FROM"), d)
}

// FuzzRebaseDockerfile: whatever the agent sends, an accepted Dockerfile
// has exactly one FROM instruction as the builder reads it — ours — and
// only ARG instructions before it.
func FuzzRebaseDockerfile(f *testing.F) {
	for _, s := range []string{"FROM a\nRUN x\n", "ARG X\nFROM a\n", "FROM a\nFR\\\nOM b", "# escape=`\nFROM a\nR`\nUN x", "from\ta\nrun\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, df string) {
		out, err := approvals.RebaseDockerfile(df)
		if err != nil {
			return
		}
		lines := strings.Split(out, "\n")
		var froms int
		ins, _ := capfile.Split(lines)
		for _, in := range ins {
			if in.Keyword == "FROM" {
				froms++
				if strings.Join(lines[in.First:in.Last+1], "\n") != "FROM ${"+approvals.AgentBaseArg+"}" {
					t.Fatalf("FROM is not ours: %q", out)
				}
			} else if froms == 0 && in.Keyword != "ARG" {
				t.Fatalf("%s before FROM: %q", in.Keyword, out)
			} else if froms > 0 && !admitted[in.Keyword] {
				t.Fatalf("%s admitted: %q", in.Keyword, out)
			}
		}
		if froms != 1 {
			t.Fatalf("%d FROM instructions: %q", froms, out)
		}
	})
}
