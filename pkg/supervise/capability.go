package supervise

import (
	"errors"
	"fmt"
	"strings"
)

// AgentBaseArg is the build argument RebaseDockerfile puts in the FROM line:
// the engine sets it to the snapshot of the running agent.
const AgentBaseArg = "CLAUDE_BOTTLE_AGENT_BASE"

// ErrBadDockerfile is returned for a capability Dockerfile the bottle will
// not build.
var ErrBadDockerfile = errors.New("unusable Dockerfile")

// RebaseDockerfile returns df with its FROM pointing at the bottle's current
// agent (whatever image the agent named: it cannot pick another base) and
// the instructions after it unchanged. A second FROM (multi-stage builds
// could copy from any image) and a missing FROM are refused.
func RebaseDockerfile(df string) (string, error) {
	lines := strings.Split(strings.ReplaceAll(df, "\r\n", "\n"), "\n")
	var out []string
	from := -1
	for i, line := range lines {
		t := strings.TrimSpace(line)
		upper := strings.ToUpper(t)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			out = append(out, line)
		case strings.HasPrefix(upper, "FROM ") || upper == "FROM":
			if from >= 0 {
				return "", fmt.Errorf("%w: line %d: a second FROM; a capability Dockerfile adds to the current agent image in one stage", ErrBadDockerfile, i+1)
			}
			from = i
			out = append(out, "ARG "+AgentBaseArg, "FROM ${"+AgentBaseArg+"}")
		case from < 0 && strings.HasPrefix(upper, "ARG "):
			out = append(out, line)
		case from < 0:
			return "", fmt.Errorf("%w: line %d: the first instruction must be FROM (the bottle's current agent image)", ErrBadDockerfile, i+1)
		default:
			out = append(out, line)
		}
	}
	if from < 0 {
		return "", fmt.Errorf("%w: no FROM line", ErrBadDockerfile)
	}
	return strings.Join(out, "\n"), nil
}

// DockerfileDiff renders what a capability proposal adds to the current
// agent image, diff style: the base as context, every instruction as "+".
func DockerfileDiff(df string) []string {
	out := []string{"  FROM <the bottle's current agent, as it is now>"}
	seenFrom := false
	for _, line := range strings.Split(strings.TrimRight(strings.ReplaceAll(df, "\r\n", "\n"), "\n"), "\n") {
		t := strings.TrimSpace(line)
		if !seenFrom && (strings.HasPrefix(strings.ToUpper(t), "FROM") || strings.HasPrefix(strings.ToUpper(t), "ARG ") || t == "" || strings.HasPrefix(t, "#")) {
			seenFrom = seenFrom || strings.HasPrefix(strings.ToUpper(t), "FROM")
			continue
		}
		out = append(out, "+ "+line)
	}
	return out
}
