package dlp

import (
	"math/rand/v2"
	"testing"
)

// TestRunEndAndUntilIn: the eight-at-a-time walks stop where the byte at
// a time ones do, from every start, for every set they serve.
func TestRunEndAndUntilIn(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 41))
	sets := append(append([]*byteSet{}, runSets...), jsonLineEscTab, jsonStrStopTab, cardByteSet, numListSet, setWord, b58Set)
	for range 3000 {
		b := make([]byte, r.IntN(80))
		const all = "aZ9+/=_-. \"\\\n\r\x00\xff"
		alpha := all[:1+r.IntN(len(all))]
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		s := string(b)
		for _, set := range sets {
			for i := 0; i <= len(s); i++ {
				e := i
				for e < len(s) && set[s[e]] {
					e++
				}
				if got := runEnd(s, set, i); got != e {
					t.Fatalf("runEnd(%q, %d) = %d, want %d", s, i, got, e)
				}
				u := i
				for u < len(s) && !set[s[u]] {
					u++
				}
				if got := untilIn(s, set, i); got != u {
					t.Fatalf("untilIn(%q, %d) = %d, want %d", s, i, got, u)
				}
			}
		}
	}
}
