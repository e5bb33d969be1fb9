package dlp

import "unsafe"

// eachLongRun is eachRunAt for runs of some length (min of a dozen bytes
// and more): it looks at one byte in min where no run is. A run of min
// bytes or more that starts at or after i covers byte i+min-1 when it
// starts no later than that byte; so when that byte is not in set, no
// such run starts before i+min and the scan moves there without looking
// at the bytes between. When it is in set, its run is measured both
// ways, and the scan goes on after the run's end. Every byte is looked
// at once at most (besides the probes), and the runs found, their bounds
// and their order are eachRunAt's.
func eachLongRun(s string, set *byteSet, min int, fn func(start, end int) bool) {
	if min < 2 {
		eachRunAt(s, set, min, fn)
		return
	}
	// i is 0 or s[i-1] is not in set: a run starts at i at the earliest.
	for i := 0; i+min <= len(s); {
		p := i + min - 1
		if !set[s[p]] {
			i = p + 1
			continue
		}
		a := p
		for a > i && set[s[a-1]] {
			a--
		}
		// A run reaching eight bytes or more back from p is likely a
		// long one (base64, hex): measured eight bytes at a time; a
		// short one (a word) byte by byte.
		e := p + 1
		if p-a >= 8 {
			e = runEnd(s, set, e)
		} else {
			for e < len(s) && set[s[e]] {
				e++
			}
		}
		if e-a >= min && fn(a, e) {
			return
		}
		i = e + 1 // s[e] is not in set (or e is the end)
	}
}

// runEnd is where the run of set bytes from s[e] ends: the index of the
// first byte at or after e not in set, or len(s). It tests eight bytes at
// a time (their table entries ANDed, one branch) while they all are in
// set: a base64 or hex run thousands of bytes long is measured at a few
// cycles per eight bytes instead of a branch per byte.
func runEnd(s string, set *byteSet, e int) int {
	// A bool is one byte, 0 or 1: the set read as bytes.
	t := (*[256]uint8)(unsafe.Pointer(set))
	for e+8 <= len(s) {
		w := s[e : e+8]
		if t[w[0]]&t[w[1]]&t[w[2]]&t[w[3]]&t[w[4]]&t[w[5]]&t[w[6]]&t[w[7]] == 0 {
			break
		}
		e += 8
	}
	for e < len(s) && set[s[e]] {
		e++
	}
	return e
}

// untilIn is the index of the first byte at or after i of s in set, or
// len(s): eight bytes at a time (their table entries ORed, one branch)
// while none of them is.
func untilIn(s string, set *byteSet, i int) int {
	t := (*[256]uint8)(unsafe.Pointer(set))
	for i+8 <= len(s) {
		w := s[i : i+8]
		if t[w[0]]|t[w[1]]|t[w[2]]|t[w[3]]|t[w[4]]|t[w[5]]|t[w[6]]|t[w[7]] != 0 {
			break
		}
		i += 8
	}
	for i < len(s) && !set[s[i]] {
		i++
	}
	return i
}
