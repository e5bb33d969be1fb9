package dlp

import "sync"

// keywordSet answers "does this text contain any rule keyword?" (ASCII
// case-insensitive) — the prefilter deciding which readings reach gitleaks.
// A table indexed by the first two bytes of every keyword (256 KiB) replaces
// an Aho-Corasick trie of the same keywords that held 2.6 MB.
type keywordSet struct {
	pairs  pairSet         // the lowercase first two bytes of every keyword
	next   pairSet         // their second and third bytes (any third for a two-byte keyword)
	first  [1 << 16]uint16 // 1 + index into groups; 0 = no keyword starts so
	groups [][]string      // lowercase keywords sharing their first two bytes
	// tab holds both pair tests per raw byte pair (keywords_fast.go),
	// built on first use.
	tab func() *[1 << 16]uint8
}

var lowerASCII = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

func newKeywordSet(kws []string) *keywordSet {
	k := &keywordSet{}
	for _, kw := range kws {
		b := []byte(kw)
		for i := range b {
			b[i] = lowerASCII[b[i]]
		}
		if len(b) < 2 {
			// A one-byte keyword would match nearly everything: treat it
			// as matching everything rather than miss it.
			b = append(b, 0)
		}
		if len(b) >= 3 {
			k.next.add(b[1], b[2])
		} else {
			for c := range 256 {
				k.next.add(b[1], byte(c))
			}
		}
		idx := uint16(b[0])<<8 | uint16(b[1])
		if k.first[idx] == 0 {
			k.groups = append(k.groups, nil)
			k.first[idx] = uint16(len(k.groups)) //nolint:gosec // G115: at most 65535 groups (two-byte prefixes; 0 and 0 is never a keyword's start)
			k.pairs.add(b[0], b[1])
		}
		k.groups[k.first[idx]-1] = append(k.groups[k.first[idx]-1], string(b))
	}
	k.tab = sync.OnceValue(k.pairTab)
	return k
}

// any reports whether text contains one of the keywords.
func (k *keywordSet) any(text string) bool {
	found := false
	k.each(text, func(int) bool { found = true; return true })
	return found
}

func hasPrefixFold(s, lowerPrefix string) bool {
	if len(s) < len(lowerPrefix) {
		return false
	}
	for j := 0; j < len(lowerPrefix); j++ {
		if lowerASCII[s[j]] != lowerPrefix[j] {
			return false
		}
	}
	return true
}

// each calls fn with the position of every keyword occurrence (at most one
// per position) until fn returns true. A keyword starts only where its
// first two bytes stand and, unless it is two bytes long, its second and
// third: both pairs are tested (folded to lower case), and the last
// position, where two bytes are left, is tested on its pair alone.
func (k *keywordSet) each(text string, fn func(pos int) bool) {
	if len(text) >= keywordTabFrom {
		k.eachTab(text, fn)
		return
	}
	if len(text) < 2 {
		return
	}
	at := func(i int) bool {
		g := k.first[uint16(lowerASCII[text[i]])<<8|uint16(lowerASCII[text[i+1]])]
		for _, kw := range k.groups[g-1] {
			if hasPrefixFold(text[i:], kw) {
				return true
			}
		}
		return false
	}
	a, b := lowerASCII[text[0]], lowerASCII[text[1]]
	for i := 0; i+2 < len(text); i++ {
		c := lowerASCII[text[i+2]]
		if k.pairs.has(a, b) && k.next.has(b, c) && at(i) && fn(i) {
			return
		}
		a, b = b, c
	}
	if i := len(text) - 2; k.pairs.has(a, b) && at(i) {
		fn(i)
	}
}
