package dlp

import (
	"strings"
	"unsafe"
)

// ROT13'd provider tokens. ROT13 is the transformation a script (or a
// model) writes without a key when it wants a token not to look like one:
// `tr A-Za-z N-ZA-Mn-za-m`, codecs.encode(s, "rot13"). It maps a token's
// fixed prefix to another fixed string (ghp_ to tuc_, AKIA to NXVN,
// sk-ant- to fx-nag-), so the prefix pass looks for those too: their
// first two bytes join the pair sets it already tests at every byte, and
// only where one stands is a window of the longest token undone and read
// by the provider rules. No reading of the text is added; a position
// costs what it did, and the ROT13'd prefixes add a few candidates (their
// three-byte filter passes about as often as the prefixes' own).

// maxRotWindow bounds the window undone: longer than any provider token
// the prefix rules match (their max plus the prefix), shorter than the
// stack buffer.
const maxRotWindow = 256

// rot13Byte is ROT13 of one byte (other bytes kept).
var rot13Byte = func() (t [256]byte) {
	for c := range 256 {
		b := byte(c)
		switch {
		case b >= 'a' && b <= 'z':
			b = 'a' + (b-'a'+13)%26
		case b >= 'A' && b <= 'Z':
			b = 'A' + (b-'A'+13)%26
		}
		t[c] = b
	}
	return t
}()

// addRot13 files every prefix rule whose prefix ROT13 changes under its
// ROT13'd first two bytes in rotIdx, and adds those bytes (and the next)
// to the pair sets of the forward pass.
func (t *prefixTable) addRot13(add func(idx *[1 << 16]uint8, a, b byte, rule int)) {
	for i, r := range prefixRules {
		p := r.prefix
		rp := make([]byte, len(p))
		for k := range p {
			rp[k] = rot13Byte[p[k]]
		}
		if string(rp) == p {
			continue // no letter: ROT13 leaves the token as it is
		}
		add(&t.rotIdx, rp[0], rp[1], i)
		t.fwdPairs.add(rp[0], rp[1])
		if len(rp) >= 3 {
			t.fwdNext.add(rp[1], rp[2])
			continue
		}
		for c := range 256 {
			if r.alphabet[c] {
				t.fwdNext.add(rp[1], rot13Byte[c])
			}
		}
	}
}

// rot13Token undoes ROT13 on the window at the start of s and reports
// the first of the rules (indexes into prefixRules) that matches a token
// there: a finding, and the length of the token (0: none).
func (r *ruleScan) rot13Token(s string, rules []int) int {
	// Most candidates are two bytes that begin a ROT13'd prefix and
	// nothing more (prose holds "xr", "tu", "f."): the prefix itself is
	// compared first, without a window.
	whole := false
	for _, k := range rules {
		if p := prefixRules[k].prefix; len(s) >= len(p) && rot13Is(s[:len(p)], p) {
			whole = true
			break
		}
	}
	if !whole {
		return 0
	}
	var buf [maxRotWindow]byte
	n := copy(buf[:], s)
	for k := range n {
		buf[k] = rot13Byte[buf[k]]
	}
	w := unsafe.String(&buf[0], n)
	for _, k := range rules {
		if m := matchPrefix(&prefixRules[k], w); m > 0 {
			r.hit(prefixRules[k].id)
			return m
		}
	}
	return 0
}

// rot13Is reports whether ROT13 of s is p (len(s) == len(p)).
func rot13Is(s, p string) bool {
	for i := 0; i < len(p); i++ {
		if rot13Byte[s[i]] != p[i] {
			return false
		}
	}
	return true
}

// maxRot13Keys bounds the ROT13'd key headers one reading has undone.
const maxRot13Keys = 8

// rot13KeyBlocks reads a private-key block written ROT13'd (-----ORTVA
// EFN CEVINGR XRL-----: the base64 body stays base64): the window around
// each of the first maxRot13Keys headers, undone, is read by
// privateKeyBlock, which looks 80 bytes before the header's PRIVATE KEY
// and 400 after it.
func (r *ruleScan) rot13KeyBlocks(text string) {
	for off, n := 0, 0; n < maxRot13Keys && !r.stop; n++ {
		i := -1
		for _, sep := range []string{" ", "+", "\t"} {
			if j := indexFrom(text, "CEVINGR"+sep+"XRL", off); j >= 0 && (i < 0 || j < i) {
				i = j
			}
		}
		if i < 0 {
			return
		}
		w := []byte(text[max(0, i-96):min(len(text), i+512)])
		for k := range w {
			w[k] = rot13Byte[w[k]]
		}
		r.privateKeyBlock(string(w))
		off = i + 11
	}
}

// indexFrom is strings.Index(s[from:], sub) as an index of s, or -1.
func indexFrom(s, sub string, from int) int {
	if from > len(s) {
		return -1
	}
	if i := strings.Index(s[from:], sub); i >= 0 {
		return from + i
	}
	return -1
}
