package secretfp

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestOf(t *testing.T) {
	_, err := Of("short", "1234567")
	assert.ErrorContains(t, err, "shorter than 8 bytes")

	v := "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"
	fp, err := Of("T", v)
	assert.NilError(t, err)
	sum := sha256.Sum256([]byte(v))
	assert.Equal(t, fp.SHA256, hex.EncodeToString(sum[:]))
	assert.Equal(t, fp.Length, len(v))
	assert.Assert(t, fp.Token)
	assert.Assert(t, !strings.Contains(fp.Roll+fp.SHA256, v))

	spaced, err := Of("P", "pass word with spaces")
	assert.NilError(t, err)
	assert.Assert(t, !spaced.Token, "a value with spaces is not a token")
}

func TestRollIsRolling(t *testing.T) {
	// Removing the first byte and appending the next gives the hash of the
	// shifted window: what the scanner relies on.
	s := "abcdefghijkl"
	n := 8
	pow := uint64(1)
	for i := 1; i < n; i++ {
		pow *= RollBase
	}
	h := Roll(s[:n])
	for i := 0; i+n < len(s); i++ {
		h = (h-uint64(s[i])*pow)*RollBase + uint64(s[i+n])
		assert.Equal(t, h, Roll(s[i+1:i+1+n]))
	}
}

// TestAnchors: the head anchor is of the first eight bytes, the tail of
// the last eight read backwards (the first eight of the value reversed),
// and Anchors reads back what Of wrote.
func TestAnchors(t *testing.T) {
	v := "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"
	fp, err := Of("T", v)
	assert.NilError(t, err)
	rev := []byte(v)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	head, tail, ok, err := fp.Anchors()
	assert.NilError(t, err)
	assert.Assert(t, ok)
	assert.Equal(t, head, Anchor(Load(v)))
	assert.Equal(t, tail, Anchor(Load(string(rev))))
	assert.Equal(t, len(fp.Head), 4)
	assert.Equal(t, len(fp.Tail), 4)
	// Only the first eight bytes count.
	other, err := Of("U", v[:8]+"something else entirely")
	assert.NilError(t, err)
	assert.Equal(t, other.Head, fp.Head)
	assert.Assert(t, other.Tail != fp.Tail)

	_, _, ok, err = Fingerprint{}.Anchors()
	assert.Assert(t, !ok && err == nil)
	for _, bad := range []Fingerprint{{Head: fp.Head}, {Tail: fp.Tail}, {Head: "0x12", Tail: fp.Tail}, {Head: "12345", Tail: "1234"}, {Head: "-123", Tail: "1234"}} {
		_, _, _, err := bad.Anchors()
		assert.ErrorContains(t, err, "four hex digits")
	}
	assert.Equal(t, Load("\x01\x02\x03\x04\x05\x06\x07\x08tail"), uint64(0x0807060504030201))
}
