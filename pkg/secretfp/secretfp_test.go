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
