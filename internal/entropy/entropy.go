// Package entropy measures how random a string looks: the DLP's entropy
// checks on host labels and path segments and the log redaction of
// data-like request parts both decide with it.
package entropy

import "math"

// Shannon is the Shannon entropy of s in bits per byte (0 for "").
func Shannon(s string) float64 {
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
