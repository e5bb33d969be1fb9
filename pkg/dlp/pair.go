package dlp

// pairSet is a bitset of two-byte sequences (8 KiB, it stays in the L1
// cache): the first filter of every multi-needle search, so that a text
// costs one bit test per byte and only the positions where some needle's
// first two bytes occur reach the slower checks.
type pairSet [1 << 16 / 64]uint64

func (p *pairSet) add(a, b byte) {
	i := uint16(a)<<8 | uint16(b)
	p[i>>6] |= 1 << (i & 63)
}

func (p *pairSet) has(a, b byte) bool {
	i := uint16(a)<<8 | uint16(b)
	return p[i>>6]&(1<<(i&63)) != 0
}

// eachPair calls fn with every position i of text where text[i], text[i+1]
// is in p, until fn returns true. fold lower-cases ASCII first.
func (p *pairSet) eachPair(text string, fold bool, fn func(i int) bool) {
	if len(text) < 2 {
		return
	}
	if fold {
		prev := lowerASCII[text[0]]
		for i := 1; i < len(text); i++ {
			c := lowerASCII[text[i]]
			if p.has(prev, c) && fn(i-1) {
				return
			}
			prev = c
		}
		return
	}
	prev := text[0]
	for i := 1; i < len(text); i++ {
		c := text[i]
		if p.has(prev, c) && fn(i-1) {
			return
		}
		prev = c
	}
}

// eachTriple is eachPair where also text[i+1], text[i+2] is in q: a
// three-byte filter (every needle it serves is at least three bytes long).
func (p *pairSet) eachTriple(text string, q *pairSet, fn func(i int) bool) {
	for i := 0; i+2 < len(text); i++ {
		if p.has(text[i], text[i+1]) && q.has(text[i+1], text[i+2]) && fn(i) {
			return
		}
	}
}
