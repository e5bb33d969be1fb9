// Package entropy measures how random a string looks: the DLP's entropy
// checks on host labels and path segments and the log redaction of
// data-like request parts both decide with it.
package entropy

import (
	"math"
	"math/bits"
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
