package supervise

import (
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestRebaseDockerfile(t *testing.T) {
	got, err := RebaseDockerfile("# add jq\nARG V=1\nFROM python:3.12 AS evil\nRUN apt-get install -y jq\nENV X=1\n")
	assert.NilError(t, err)
	assert.Equal(t, got, "# add jq\nARG V=1\nARG CLAUDE_BOTTLE_AGENT_BASE\nFROM ${CLAUDE_BOTTLE_AGENT_BASE}\nRUN apt-get install -y jq\nENV X=1\n")
	for _, bad := range []string{"RUN true\nFROM x", "FROM a\nRUN x\nFROM b\nCOPY --from=0 / /", "# nothing", ""} {
		_, err := RebaseDockerfile(bad)
		assert.Assert(t, errors.Is(err, ErrBadDockerfile), "%q: %v", bad, err)
	}
}

func TestDockerfileDiff(t *testing.T) {
	d := DockerfileDiff("FROM claude-bottle-agent:latest\nRUN apt-get install -y jq\nUSER agent\n")
	assert.Equal(t, strings.Join(d, "\n"), "  FROM <the bottle's current agent, as it is now>\n+ RUN apt-get install -y jq\n+ USER agent")
}
