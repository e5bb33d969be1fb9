package entropy

import (
	"math"
	"math/rand/v2"
	"testing"

	"gotest.tools/v3/assert"
)

func TestShannon(t *testing.T) {
	for s, want := range map[string]float64{"": 0, "aaaa": 0, "ab": 1, "abcd": 2, "0123456789abcdef": 4} {
		assert.Assert(t, math.Abs(Shannon(s)-want) < 1e-9, "%q: %v", s, Shannon(s))
	}
	assert.Assert(t, Shannon("AKIAQ7R2XNPLW3JKD5VT") > 3.5)
}

// shannonAll is Shannon as a walk over all 256 counts: the reference the
// walk over the bytes present must equal to the bit.
func shannonAll(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	var h float64
	n := float64(len(s))
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}

func TestShannonMatchesAllCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		b := make([]byte, r.IntN(300))
		alpha := 1 + r.IntN(256)
		for i := range b {
			b[i] = byte(r.IntN(alpha)) + byte(r.IntN(2)*r.IntN(256))
		}
		s := string(b)
		assert.Equal(t, math.Float64bits(Shannon(s)), math.Float64bits(shannonAll(s)), "%q", s)
	}
}

func FuzzShannon(f *testing.F) {
	f.Add("AKIAQ7R2XNPLW3JKD5VT")
	f.Fuzz(func(t *testing.T, s string) {
		if math.Float64bits(Shannon(s)) != math.Float64bits(shannonAll(s)) {
			t.Fatalf("%q: %v != %v", s, Shannon(s), shannonAll(s))
		}
	})
}
