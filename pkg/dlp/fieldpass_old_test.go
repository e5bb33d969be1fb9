package dlp

import (
	"math/rand/v2"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// oldFieldPass is fieldPass as it was before the end of a name's
// identifier run was measured with runEnd (a byte at a time): the
// reference fieldPass is held to.
func (r *ruleScan) oldFieldPass(text string) {
	runEnd, next := -1, 0
	secretNameCores().eachListed(r.tri, triNames, text, func(p int) bool {
		if p >= runEnd {
			runEnd = p
			for runEnd < len(text) && isIdentByte(text[runEnd]) {
				runEnd++
			}
		}
		end := runEnd + 5
		if g := runEnd; g < len(text) {
			if text[g] == '"' || text[g] == '\'' {
				g++
			}
			for h := g; g < len(text) && g-h < fieldGap && (text[g] == ' ' || text[g] == '\t'); g++ {
			}
			end = max(end, g)
		}
		for i := max(runEnd, next); i < len(text) && i <= end && !r.stop; i++ {
			if c := text[i]; c == '=' || c == ':' || c == ' ' && (i+1 == len(text) || text[i+1] != ' ') || fieldMarkupSep(text, i) {
				r.fieldAt(text, i)
			}
		}
		next = max(next, end+1)
		return r.stop
	})
}

func TestIdentSetIsIdentByte(t *testing.T) {
	for c := range 256 {
		assert.Equal(t, identSet[c], isIdentByte(byte(c)), "byte %#x", c)
	}
}

// checkFieldPass compares fieldPass with oldFieldPass on text, with and
// without the three-byte list.
func checkFieldPass(t *testing.T, s *Scanner, text string) {
	t.Helper()
	got := findings(s, func(r *ruleScan) { r.fieldPass(text) })
	want := findings(s, func(r *ruleScan) { r.oldFieldPass(text) })
	assert.Equal(t, strings.Join(got, ","), strings.Join(want, ","), "%q", text)
	tri := tripleTabs().listFor(text)
	defer tri.release()
	got = findings(s, func(r *ruleScan) { r.tri = tri; r.fieldPass(text) })
	want = findings(s, func(r *ruleScan) { r.tri = tri; r.oldFieldPass(text) })
	assert.Equal(t, strings.Join(got, ","), strings.Join(want, ","), "listed: %q", text)
}

// TestFieldPassMatchesOld: secret-named fields whose names run into long
// identifier runs (base64url uploads), end at every distance from eight
// bytes, and stand at the text's end.
func TestFieldPassMatchesOld(t *testing.T) {
	s := scanner(t, Options{NoGitleaks: true})
	r := rand.New(rand.NewPCG(3, 4))
	ident := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
	runOf := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = ident[r.IntN(len(ident))]
		}
		return string(b)
	}
	hits := 0
	for n := range 400 {
		name := []string{"password", "api_key", "DB_PASSWORD", "secret", "token", "x-auth-token"}[n%6]
		value := runOf(20 + r.IntN(20))
		for _, text := range []string{
			runOf(n%17) + name + runOf(n%9) + " = " + value,
			name + "=" + value,
			runOf(n*7) + name + ": \"" + value + "\"",
			runOf(n%11) + name + runOf(n%13),
			name + runOf(n%8) + "\t\t= " + value + "\n" + runOf(3*n) + name,
		} {
			checkFieldPass(t, s, text)
			hits += len(findings(s, func(r *ruleScan) { r.fieldPass(text) }))
		}
	}
	assert.Assert(t, hits > 100, "only %d findings: the comparison means little", hits)
}

// FuzzFieldPassMatchesOld: go test ./pkg/dlp -run '^$' -fuzz FuzzFieldPassMatchesOld
func FuzzFieldPassMatchesOld(f *testing.F) {
	f.Add("password=hunter2hunter2hunter2")
	f.Add("xxapi_keyzz-zz.zz = \"Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5\"")
	f.Add("token")
	f.Add("DB_PASSWORD\t\t\t: abcdefghijklmnop0123")
	s, err := New(Options{NoGitleaks: true})
	assert.NilError(f, err)
	f.Fuzz(func(t *testing.T, text string) {
		checkFieldPass(t, s, text)
	})
}
