package secretfp

import (
	"encoding/ascii85"
	"encoding/base32"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// TestFormsAreInsideEncodings: each alignment form of a value is a
// substring of what the encoder writes for a file holding the value after
// a prefix of that alignment, and Of carries the forms.
func TestFormsAreInsideEncodings(t *testing.T) {
	v := "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"
	fp, err := Of("T", v)
	assert.NilError(t, err)
	kinds := map[string]Form{}
	for _, f := range fp.Forms {
		kinds[f.Kind] = f
		assert.Assert(t, f.Token || f.Graph, "%s: a form of a token value is token or graph", f.Kind)
		_, _, err := f.Anchors()
		assert.NilError(t, err)
	}
	has := func(kind, text string) {
		t.Helper()
		f, ok := kinds[kind]
		assert.Assert(t, ok, "no form %s", kind)
		found := false
		for i := 0; i+f.Length <= len(text); i++ {
			if w := text[i : i+f.Length]; Roll(w) == mustRoll(t, f.Roll) {
				found = true
			}
		}
		assert.Assert(t, found, "%s not in %q", kind, text)
	}
	for p := range 5 {
		file := strings.Repeat("#", p) + "VALUE=" + v + "\n"
		pre := (p + 6) % 4
		a85 := make([]byte, ascii85.MaxEncodedLen(len(file)))
		a85 = a85[:ascii85.Encode(a85, []byte(file))]
		has("ascii85/"+string(rune('0'+(4-pre)%4)), string(a85))
		b32 := base32.HexEncoding.EncodeToString([]byte(file))
		has("base32hex/"+string(rune('0'+(5-(p+6)%5)%5)), b32)
	}
	// Python's codecs.encode(v, "rot13"), base58.b58encode(v).
	has("rot13", "x gbx_9sD2iYk8Ex3zMcJ7oG4aLp6fUq1tWr5hNn0 y")
	has("base58", "2K2MoSgf8SdsNeiPUpBQU9j2G1KgBkc3oofXwgJyXoTndTEj2hdAd5")
}

func mustRoll(t *testing.T, s string) uint64 {
	var h uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			h = h<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			h = h<<4 | uint64(c-'a'+10)
		default:
			t.Fatalf("roll %q", s)
		}
	}
	return h
}

// TestFormsOfShortValues: forms shorter than MinLen are left out (they
// would match ordinary text).
func TestFormsOfShortValues(t *testing.T) {
	for _, f := range Forms("abcdefgh") {
		assert.Assert(t, f.Length >= MinLen, "%s", f.Kind)
	}
}
