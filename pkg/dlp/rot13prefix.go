package dlp

import "strings"

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

// xPrefix is a prefix rule under a transformation of its prefix.
type xPrefix struct {
	rule  int
	upper bool   // upper-cased; else ROT13'd
	p     string // the prefix transformed
}

// addTransformed files every prefix rule whose prefix ROT13 changes under
// its ROT13'd first two bytes, and every rule whose prefix of four bytes
// or more holds a lower-case letter under its upper-cased first two
// (GHP_, SK-ANT-, GLPAT-: a token upper-cased, whose case a guesser
// recovers against its checksum; shorter prefixes upper-cased are
// ordinary words), in xIdx, and adds those bytes (and the next) to the
// pair sets of the forward pass.
func (t *prefixTable) addTransformed() {
	add := func(p string, x xPrefix) {
		if p == prefixRules[x.rule].prefix {
			return // unchanged: the prefix itself is looked for already
		}
		k := uint16(p[0])<<8 | uint16(p[1])
		if t.xIdx[k] == 0 {
			t.xLists = append(t.xLists, nil)
			t.xIdx[k] = uint8(len(t.xLists)) //nolint:gosec // G115: under 256 lists (checked by the caller)
		}
		t.xLists[t.xIdx[k]-1] = append(t.xLists[t.xIdx[k]-1], x)
		t.fwdPairs.add(p[0], p[1])
		if len(p) >= 3 {
			t.fwdNext.add(p[1], p[2])
			return
		}
		for c := range 256 {
			if prefixRules[x.rule].alphabet[c] {
				t.fwdNext.add(p[1], rot13Byte[c])
			}
		}
	}
	for i, r := range prefixRules {
		rp := make([]byte, len(r.prefix))
		for k := range r.prefix {
			rp[k] = rot13Byte[r.prefix[k]]
		}
		add(string(rp), xPrefix{rule: i, p: string(rp)})
		if len(r.prefix) >= 4 {
			up := strings.ToUpper(r.prefix)
			add(up, xPrefix{rule: i, upper: true, p: up})
		}
	}
}

// transformedToken undoes the transformation on the window at the start
// of s and reports the first of the rules that matches a token there: a
// finding, and the length of the token (0: none). An upper-cased token
// is read with its body as it is and lower-cased (a rule of lower-case
// hex).
func (r *ruleScan) transformedToken(s string, rules []xPrefix) int {
	// Most candidates are two bytes that begin a transformed prefix and
	// nothing more (prose holds "xr", "tu", "f."): the prefix itself is
	// compared first, without a window.
	for _, x := range rules {
		pr := &prefixRules[x.rule]
		if !strings.HasPrefix(s, x.p) {
			continue
		}
		var buf [maxRotWindow]byte
		n := copy(buf[:], s)
		if x.upper {
			copy(buf[:], pr.prefix)
		} else {
			for k := range n {
				buf[k] = rot13Byte[buf[k]]
			}
		}
		w := string(buf[:n])
		m := matchPrefix(pr, w)
		if m == 0 && x.upper {
			m = matchPrefix(pr, strings.ToLower(w))
		}
		if m > 0 {
			r.hit(pr.id)
			return m
		}
	}
	return 0
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
