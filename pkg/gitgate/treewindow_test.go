package gitgate

import (
	"fmt"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// TestTreeScannedInWindows: a tree whose readings span several scan
// windows still has a secret in an entry name found, wherever it sits:
// first, at the first window boundary, last.
func TestTreeScannedInWindows(t *testing.T) {
	const tok = "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg"
	dir := newRepo(t)
	blob := gitIn(t, dir, "x\n", "hash-object", "-w", "--stdin")
	pad := strings.Repeat("~", 240)
	const n = 12000 // about 3 MB of paths: four windows
	for _, at := range []int{0, scanChunk / (len(pad) + 8), n - 1} {
		var in strings.Builder
		for i := range n {
			// The number first: git sorts a tree's entries by name.
			name := fmt.Sprintf("%07d%s", i, pad)
			if i == at {
				name = fmt.Sprintf("%07d-%s-%s", i, tok, pad[:190])
			}
			fmt.Fprintf(&in, "100644 blob %s\t%s\n", blob, name)
		}
		tree := gitIn(t, dir, in.String(), "mktree")
		sc := &ObjectScan{Dir: dir, Env: gateEnv(), Scanner: scanner(t), Refs: "refs/heads/x"}
		err := sc.Scan(t.Context(), []string{tree})
		assert.Assert(t, err != nil, "secret in entry %d of %d passed", at, n)
		assert.Check(t, findingRE("github-token").MatchString(err.Error()), err.Error())
	}
}
