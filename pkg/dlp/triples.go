package dlp

import (
	"sync"
	"unsafe"
)

// One pass for the three-byte filters of a reading. Three searches of
// the rule pass start where a two-byte pair and the next pair both stand
// in their sets: the provider prefixes (prefixPass), the structure
// strings (structureNeedles) and the secret-name cores (fieldPass, folded
// to lower case). Each used to walk the whole reading; tripleTables answer
// all three with two table loads a byte, and the positions where one of
// them passes (two or three in a hundred in prose and code) are kept in a
// list each search then walks instead of the text. Every search sees the
// same positions in the same order as its own walk would give
// (TestTripleListMatchesOwnWalks, FuzzTripleList), so the findings and
// their order are unchanged.

// The searches of the filter, as bits of its tables.
const (
	triPrefix    = 1 << iota // prefixTables' fwdPairs, fwdNext
	triStructure             // structurePairs, structureNext
	triNames                 // secretNameCores, folded
	triReversed              // prefixTables' revNext, revPairs: a reversed prefix ending a run
)

// tripleTables: first[a<<8|b] has the bit of every search whose first
// pair test passes on bytes a, b; second[b<<8|c] that of every search
// whose next pair test passes on b, c.
type tripleTables struct {
	first, second [1 << 16]uint8
}

// tripleTabs are the tables, built on first use.
var tripleTabs = sync.OnceValue(func() *tripleTables {
	t := &tripleTables{}
	p := prefixTables()
	names := secretNameCores()
	for a := range 256 {
		for b := range 256 {
			x, y := byte(a), byte(b)
			lx, ly := lowerASCII[x], lowerASCII[y]
			var f, s uint8
			if p.fwdPairs.has(x, y) {
				f |= triPrefix
			}
			if p.fwdNext.has(x, y) {
				s |= triPrefix
			}
			if structurePairs.has(x, y) {
				f |= triStructure
			}
			if structureNext.has(x, y) {
				s |= triStructure
			}
			if names.pairs.has(lx, ly) {
				f |= triNames
			}
			if names.next.has(lx, ly) {
				s |= triNames
			}
			if p.revNext.has(x, y) {
				f |= triReversed
			}
			if p.revPairs.has(x, y) {
				s |= triReversed
			}
			t.first[a<<8|b], t.second[a<<8|b] = f, s
		}
	}
	return t
})

// Lists are made for readings of tripleFrom bytes or more (shorter ones,
// headers and URLs, are read by each search on its own, without a list
// to fill), under 1<<28 bytes (a position and its bits fill 32 bits).
// A reading where more than one position in tripleDensity passes is
// read by each search on its own too (it would cost more memory than
// it saves time): the pass stops as soon as the positions so far are
// more than tripleSlack over that share of the bytes so far, so a dense
// reading costs the walk of its first stretch only.
const (
	tripleFrom    = tokRunsFrom
	tripleMaxText = 1 << 28
	tripleDensity = 16
	tripleSlack   = 1024
)

// tripleList is the positions of one reading where some search's filter
// passes: position<<4 | the searches' bits, ascending.
type tripleList struct {
	text string
	ents []uint32
}

var tripleLists = sync.Pool{New: func() any { return new(tripleList) }}

// maxPooledTriples bounds the list kept for reuse (4 MiB).
const maxPooledTriples = 1 << 20

// listFor returns the list of text, or nil when text is read by
// each search on its own (too short, too long, or too dense). A list
// returned goes back with release.
func (t *tripleTables) listFor(text string) *tripleList {
	if len(text) < tripleFrom || len(text) >= tripleMaxText {
		return nil
	}
	l := tripleLists.Get().(*tripleList)
	ents, ok := t.scan(text, l.ents[:0], tripleDensity)
	if !ok {
		l.ents = ents[:0]
		l.release()
		return nil
	}
	l.text, l.ents = text, ents
	return l
}

func (l *tripleList) release() {
	if l == nil {
		return
	}
	l.text = ""
	if cap(l.ents) > maxPooledTriples {
		l.ents = nil
	}
	tripleLists.Put(l)
}

// of returns the list's entries when it is the list of text, else nil.
func (l *tripleList) of(text string) ([]uint32, bool) {
	if l == nil || len(l.text) != len(text) || unsafe.StringData(l.text) != unsafe.StringData(text) {
		return nil, false
	}
	return l.ents, true
}

// scan appends to out the positions i (i+2 < len(text)) where some
// search's first test passes on text[i], text[i+1] and its next test on
// text[i+1], text[i+2]; ok is false (and the pass stops) when the
// positions up to some i would be more than i/density + tripleSlack.
func (t *tripleTables) scan(text string, out []uint32, density int) ([]uint32, bool) {
	if len(text) < 3 {
		return out, true
	}
	base := len(out)
	k := uint16(text[0])<<8 | uint16(text[1])
	for i := 2; i < len(text); i++ {
		k2 := k<<8 | uint16(text[i])
		if m := t.first[k] & t.second[k2]; m != 0 {
			if len(out)-base >= (i-2)/density+tripleSlack {
				return out, false
			}
			out = append(out, uint32(i-2)<<4|uint32(m)) //nolint:gosec // G115: i < tripleMaxText
		}
		k = k2
	}
	return out, true
}

// eachTriple is p.eachTriple(text, q, fn) where the list of text has the
// positions (of the search bit, whose tables are p and q).
func (r *ruleScan) eachTriple(text string, bit uint32, p, q *pairSet, fn func(i int) bool) {
	ents, ok := r.tri.of(text)
	if !ok {
		p.eachTriple(text, q, fn)
		return
	}
	for _, e := range ents {
		if e&bit != 0 && fn(int(e>>4)) {
			return
		}
	}
}

// eachListed is k.each(text, fn) with the positions of the list l (of the
// search bit, whose tables hold k's) when it is the list of text.
func (k *keywordSet) eachListed(l *tripleList, bit uint32, text string, fn func(pos int) bool) {
	ents, ok := l.of(text)
	if !ok {
		k.each(text, fn)
		return
	}
	if len(text) < 2 {
		return
	}
	for _, e := range ents {
		if e&bit != 0 {
			if i := int(e >> 4); k.at(text, i) && fn(i) {
				return
			}
		}
	}
	// The last position, where two bytes are left: its pair alone (as
	// each tests it).
	if i := len(text) - 2; k.pairs.has(lowerASCII[text[i]], lowerASCII[text[i+1]]) && k.at(text, i) {
		fn(i)
	}
}

// at reports whether one of k's keywords starts at text[i] (its first two
// bytes, folded, are those of one).
func (k *keywordSet) at(text string, i int) bool {
	g := k.first[uint16(lowerASCII[text[i]])<<8|uint16(lowerASCII[text[i+1]])]
	for _, kw := range k.groups[g-1] {
		if hasPrefixFold(text[i:], kw) {
			return true
		}
	}
	return false
}
