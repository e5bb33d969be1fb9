package operator

import (
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/capfile"
)

// DockerfileDiff renders what a capability proposal adds to the current
// agent image, diff style: the base as context, every line after the FROM
// as "+", except the lines of a refused instruction, shown as "!" and
// followed by the reason ("!   refused: ...").
func DockerfileDiff(df string) []string {
	lines := capfile.Lines(strings.TrimRight(df, "\r\n"))
	ins, _ := capfile.Split(lines)
	start := 0
	for _, in := range ins {
		if in.Keyword == "FROM" {
			start = in.Last + 1
			break
		}
	}
	refusedAt := map[int]string{} // first line → reason
	var rerr *capfile.RefusedError
	if _, err := capfile.Parse(df); errors.As(err, &rerr) {
		for _, r := range rerr.Refusals {
			if r.Line > 0 {
				refusedAt[r.Line-1] = r.Reason
			}
		}
	}
	lastOf := map[int]int{}
	for _, in := range ins {
		lastOf[in.First] = in.Last
	}
	out := []string{"  FROM <the bottle's current agent, as it is now>"}
	refusedUntil, reason := -1, ""
	for i, l := range lines[start:] {
		n := start + i
		if r, ok := refusedAt[n]; ok {
			refusedUntil, reason = lastOf[n], r
		}
		if t := strings.TrimSpace(l); t == "" && len(out) == 1 {
			continue
		}
		if n <= refusedUntil {
			out = append(out, "! "+l)
			if n == refusedUntil {
				out = append(out, "!   refused: "+reason)
			}
			continue
		}
		out = append(out, "+ "+l)
	}
	for n, r := range refusedAt { // before the FROM: not in the lines above
		if n < start {
			out = append(out, fmt.Sprintf("! line %d refused: %s", n+1, r))
		}
	}
	return out
}
