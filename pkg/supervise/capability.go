package supervise

import (
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/names"
)

// AgentBaseArg is the build argument RebaseDockerfile puts in the FROM line:
// the engine sets it to the snapshot of the running agent.
const AgentBaseArg = names.AgentBaseArg

// ErrBadDockerfile is returned for a capability Dockerfile the bottle will
// not build.
var ErrBadDockerfile = errors.New("unusable Dockerfile")

// instruction is one logical Dockerfile instruction: physical lines joined
// at the escape character, comment lines inside a continuation dropped, the
// way the builder reads them.
type instruction struct {
	keyword     string // upper case
	first, last int    // 0-based physical lines
}

// parseInstructions splits df into instructions, honouring a leading
// "# escape=" parser directive (\ or `).
func parseInstructions(lines []string) []instruction {
	escape := byte('\\')
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "#") {
			break
		}
		k, v, ok := strings.Cut(strings.TrimSpace(t[1:]), "=")
		if !ok {
			break
		}
		if strings.EqualFold(strings.TrimSpace(k), "escape") {
			if v = strings.TrimSpace(v); v == "`" {
				escape = '`'
			}
		}
	}
	var out []instruction
	var cur *instruction
	var text strings.Builder
	flush := func() {
		if cur != nil {
			if f := strings.Fields(text.String()); len(f) > 0 {
				cur.keyword = strings.ToUpper(f[0])
				out = append(out, *cur)
			}
		}
		cur = nil
		text.Reset()
	}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if cur == nil && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if cur != nil && strings.HasPrefix(t, "#") {
			cur.last = i // a comment inside a continuation is skipped
			continue
		}
		if cur == nil {
			cur = &instruction{first: i}
		}
		cur.last = i
		if t != "" && t[len(t)-1] == escape {
			text.WriteString(t[:len(t)-1])
			continue
		}
		text.WriteString(t)
		flush()
	}
	flush()
	return out
}

// RebaseDockerfile returns df with its FROM pointing at the bottle's current
// agent (whatever image the agent named: it cannot pick another base) and
// the instructions after it unchanged. Instructions are read the way the
// builder reads them (continuations joined, any case, tabs), so a second
// FROM (multi-stage builds could copy from any image) cannot hide; it is
// refused, and so is a missing FROM, anything but ARG before it, or a FROM
// split over several lines.
func RebaseDockerfile(df string) (string, error) {
	lines := strings.Split(strings.ReplaceAll(df, "\r\n", "\n"), "\n")
	from := -1
	for _, in := range parseInstructions(lines) {
		switch {
		case in.keyword == "FROM" && from >= 0:
			return "", fmt.Errorf("%w: line %d: a second FROM; a capability Dockerfile adds to the current agent image in one stage", ErrBadDockerfile, in.first+1)
		case in.keyword == "FROM":
			if in.first != in.last {
				return "", fmt.Errorf("%w: line %d: write FROM on one line", ErrBadDockerfile, in.first+1)
			}
			from = in.first
		case from < 0 && in.keyword != "ARG":
			return "", fmt.Errorf("%w: line %d: the first instruction must be FROM (the bottle's current agent image)", ErrBadDockerfile, in.first+1)
		}
	}
	if from < 0 {
		return "", fmt.Errorf("%w: no FROM line", ErrBadDockerfile)
	}
	out := append([]string{}, lines[:from]...)
	out = append(out, "ARG "+AgentBaseArg, "FROM ${"+AgentBaseArg+"}")
	out = append(out, lines[from+1:]...)
	return strings.Join(out, "\n"), nil
}

// DockerfileDiff renders what a capability proposal adds to the current
// agent image, diff style: the base as context, every line after the FROM
// as "+".
func DockerfileDiff(df string) []string {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(df, "\r\n", "\n"), "\n"), "\n")
	start := 0
	for _, in := range parseInstructions(lines) {
		if in.keyword == "FROM" {
			start = in.last + 1
			break
		}
	}
	out := []string{"  FROM <the bottle's current agent, as it is now>"}
	for _, l := range lines[start:] {
		if t := strings.TrimSpace(l); t == "" && len(out) == 1 {
			continue
		}
		out = append(out, "+ "+l)
	}
	return out
}
