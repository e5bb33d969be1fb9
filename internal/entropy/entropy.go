// Package entropy measures how random a string looks: the DLP's entropy
// checks on host labels and path segments and the log redaction of
// data-like request parts both decide with it.
package entropy

import (
	"math"
	"math/bits"
	"sync"
)

// Shannon is the Shannon entropy of s in bits per byte (0 for "").
func Shannon(s string) float64 {
	if s == "" {
		return 0
	}
	// The bytes present are marked in a 256-bit set and their counts
	// summed in ascending byte order, as a walk over all 256 counts would
	// sum them (the same floating-point operations in the same order:
	// the same result to the bit), without visiting the absent ones — a
	// token of 20–200 bytes holds a few dozen distinct bytes at most.
	var counts [256]int
	var present [4]uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		counts[c]++
		present[c>>6] |= 1 << (c & 63)
	}
	var h float64
	n := float64(len(s))
	if len(s) <= termsMax {
		// The terms of a string this short are looked up, computed as
		// below once for all: the same operations, so the same values
		// where the compiler does not fuse the multiply and subtract
		// below (amd64 up to GOAMD64=v2, where this was measured; where
		// it does, the two differ by an ulp at most).
		t := terms()[len(s)*(len(s)+1)/2:]
		for w, set := range present {
			for set != 0 {
				h -= t[counts[w<<6|bits.TrailingZeros64(set)]]
				set &= set - 1
			}
		}
		return h
	}
	for w, set := range present {
		for set != 0 {
			c := counts[w<<6|bits.TrailingZeros64(set)]
			set &= set - 1
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// termsMax is the longest string whose terms are looked up: the tokens
// the DLP weighs are 20–200 bytes.
const termsMax = 256

// terms holds p·log2(p), p = c/n, for 1 ≤ c ≤ n ≤ termsMax at
// [n(n+1)/2 + c] (160 KiB, made on first use).
var terms = sync.OnceValue(func() []float64 {
	t := make([]float64, (termsMax+1)*(termsMax+2)/2)
	for k := 1; k <= termsMax; k++ {
		n := float64(k)
		for c := 1; c <= k; c++ {
			p := float64(c) / n
			t[k*(k+1)/2+c] = p * math.Log2(p)
		}
	}
	return t
})
