package entropy

import (
	"math"
	"testing"

	"gotest.tools/v3/assert"
)

func TestShannon(t *testing.T) {
	for s, want := range map[string]float64{"": 0, "aaaa": 0, "ab": 1, "abcd": 2, "0123456789abcdef": 4} {
		assert.Assert(t, math.Abs(Shannon(s)-want) < 1e-9, "%q: %v", s, Shannon(s))
	}
	assert.Assert(t, Shannon("AKIAQ7R2XNPLW3JKD5VT") > 3.5)
}
