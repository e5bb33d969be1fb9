package dlp

// A long text is walked with both pair tests of a keyword set in one
// table indexed by the raw byte pair (the folding to lower case built in):
// one load a byte for each test, instead of three case-folding lookups and
// two bit tests. The positions passed to at, and so the keywords found
// and their order, are each's (TestKeywordEachTabMatchesEach,
// FuzzKeywordEachTab).

// keywordTabFrom is the shortest text walked with the table: header
// values and field names are read as before, and a set only ever given
// those never builds its table.
const keywordTabFrom = 256

// pairTab is k's table: bit 0 of [a<<8|b] is set when k.pairs holds a, b
// folded to lower case, bit 1 when k.next does.
func (k *keywordSet) pairTab() *[1 << 16]uint8 {
	t := new([1 << 16]uint8)
	for a := range 256 {
		for b := range 256 {
			la, lb := lowerASCII[a], lowerASCII[b]
			var m uint8
			if k.pairs.has(la, lb) {
				m |= 1
			}
			if k.next.has(la, lb) {
				m |= 2
			}
			t[a<<8|b] = m
		}
	}
	return t
}

// eachTab is each for a text of two bytes or more.
func (k *keywordSet) eachTab(text string, fn func(pos int) bool) {
	t := k.tab()
	p := uint16(text[0])<<8 | uint16(text[1])
	for i := 2; i < len(text); i++ {
		q := p<<8 | uint16(text[i])
		if t[p]&(t[q]>>1)&1 != 0 && k.at(text, i-2) && fn(i-2) {
			return
		}
		p = q
	}
	// The last position, where two bytes are left: its pair alone.
	if i := len(text) - 2; t[p]&1 != 0 && k.at(text, i) {
		fn(i)
	}
}
