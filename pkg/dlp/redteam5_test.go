package dlp

import (
	"fmt"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Red team round 5: the bounds of the joined JSON siblings (jsonJoin).

const rt5Anthropic = "sk-ant-api03-Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2BgQw3Er4Ty5Ui6Op7As8Df9Gh0Jk1Lz2Xc3Vb4Nm5Qa6Ws7Ed8Rf9Tg0Yh1AA"

func TestRedteam5JSONJoinBounds(t *testing.T) {
	s := rtScanner(t)
	filler := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, mustJSON(fmt.Sprintf("id-%05d.", i)))
		}
		return strings.Join(parts, ",")
	}
	for _, sec := range []string{rtCanary, rtGitHub, rtPassword, rt5Anthropic} {
		// A piece over maxJoinValue beside short ones.
		long := func(k int) string {
			k = min(k, len(sec)-1)
			return `{"a":` + mustJSON(sec[:k]) + `,"b":` + mustJSON(sec[k:]) + `}`
		}
		longLast := func(k int) string {
			k = max(1, len(sec)-k)
			return `{"a":` + mustJSON(sec[:k]) + `,"b":` + mustJSON(sec[k:]) + `}`
		}
		thirds := `{"a":` + mustJSON(sec[:len(sec)/3]) + `,"b":` + mustJSON(sec[len(sec)/3:2*len(sec)/3]) + `,"c":` + mustJSON(sec[2*len(sec)/3:]) + `}`
		cases := []rtCase{
			{"first piece of 33 bytes", "application/json", long(33)},
			{"last piece of 33 bytes", "application/json", longLast(33)},
			{"thirds", "application/json", thirds},
			{"pieces astride the end of a 2048-byte run", "application/json",
				`{"v":[` + filler(2040/11) + `,` + strings.Join(rt5Quoted(chunk(sec, 6, "\x00")), ",") + `]}`},
			{"object then nested array", "application/json",
				`{"a":` + mustJSON(sec[:len(sec)/2]) + `,"b":[` + mustJSON(sec[len(sec)/2:]) + `]}`},
			{"key then value", "application/json",
				`{` + mustJSON(sec[:len(sec)/2]) + `:` + mustJSON(sec[len(sec)/2:]) + `}`},
		}
		for _, c := range cases {
			assert.Check(t, rt5Found(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
}

func rt5Quoted(nul string) []string {
	var out []string
	for _, p := range strings.Split(nul, "\x00") {
		out = append(out, mustJSON(p))
	}
	return out
}

func rt5Found(t *testing.T, s *Scanner, secret string, c rtCase) bool {
	t.Helper()
	if secret != rt5Anthropic {
		return rtFound(t, s, secret, c)
	}
	fs, err := s.ScanBody(c.contentType, []byte(c.body))
	assert.NilError(t, err)
	for _, f := range fs {
		if f.Rule == "anthropic-api-key" {
			return true
		}
	}
	return false
}

// A short value glued before the pieces of a token whose rule wants a
// boundary before its prefix ("x" + "ghp_…" joins to "xghp_…").
func TestRedteam5JoinedPrefixGlued(t *testing.T) {
	s := rtScanner(t)
	for _, body := range []string{
		`{"p":["x",` + mustJSON(rtGitHub[:16]) + `,` + mustJSON(rtGitHub[16:]) + `]}`,
		`{"id":"x","p":` + mustJSON([]string{rtGitHub[:10], rtGitHub[10:20], rtGitHub[20:30], rtGitHub[30:]}) + `}`,
		`{"a":"7","b":` + mustJSON(rtGitHub[:3]) + `,"c":` + mustJSON(rtGitHub[3:]) + `}`,
	} {
		assert.Check(t, rtFound(t, s, rtGitHub, rtCase{"glued", "application/json", body}), "%s", body)
	}
}
