package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
)

// restartsText is "pipelock=2 egress=1", or "0".
func restartsText(r map[string]int) string {
	if len(r) == 0 {
		return "0"
	}
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(r)) {
		parts = append(parts, fmt.Sprintf("%s=%d", d, r[d]))
	}
	return strings.Join(parts, ",")
}

// printProblems lists what is wrong with each bottle that is not ok, and
// the command that fixes it.
func printProblems(w io.Writer, bs []lifecycle.BottleInfo) {
	for _, b := range bs {
		if len(b.Problems) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s is %s:\n", b.Slug, b.Status)
		for _, p := range b.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		if b.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", b.Fix)
		}
	}
}
