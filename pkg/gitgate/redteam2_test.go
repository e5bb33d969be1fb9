package gitgate

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// TestRedTeamNoLeak_Round2: shapes of a low-entropy known secret (a
// password from the agent's environment: only its fingerprint finds it)
// that got past pkg/dlp's readings, pushed as a file (see
// pkg/dlp/redteam2_test.go for where each was fixed).
func TestRedTeamNoLeak_Round2(t *testing.T) {
	const pw = "correct-horse-battery-staple"
	rev := func(s string) string {
		b := []byte(s)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	}
	var pct strings.Builder
	for i := 0; i < len(pw); i++ {
		fmt.Fprintf(&pct, "%%%02X", pw[i])
	}
	xxd := hex.EncodeToString([]byte("DATABASE_URL=postgres://app:" + pw + "@db/app\n"))
	var wrapped strings.Builder
	for len(xxd) > 60 {
		wrapped.WriteString(xxd[:60] + "\n")
		xxd = xxd[60:]
	}
	wrapped.WriteString(xxd + "\n")
	files := map[string]string{
		"rev.txt":  base64.StdEncoding.EncodeToString([]byte(rev(pw))) + "\n",
		"pct.txt":  base64.StdEncoding.EncodeToString([]byte(pct.String())) + "\n",
		"dump.hex": wrapped.String(),
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			r := newGateRigKnowing(t, nil, map[string]string{"DB_PASSWORD": pw})
			dir := r.clone(t)
			addCommit(t, dir, "data", map[string]string{name: content})
			out, ok := pushedAndHolds(t, r, dir, "r2")
			assert.Assert(t, !ok, "push went through: %s", out)
		})
	}
}
