package dlp

import (
	"crypto/sha256"
	_ "embed"
	"math/big"
	"slices"
	"strings"
	"sync"
)

// Financial and wallet data: payment card numbers (Luhn-valid, known
// issuer prefix), IBANs (ISO 13616 mod-97), BIP-39 seed phrases (12–24
// words of the English list with a valid checksum, seedPhrase) and Bitcoin WIF private keys
// (Base58Check). Each is a precise check, so none needs context.

//go:embed bip39_english.txt
var bip39Text string

// bip39List is the BIP-39 English word list (2,048 words, CRC-32
// c1dbd296 as the BIP publishes; taken from github.com/cosmos/go-bip39,
// MIT licence).
var bip39List = strings.Fields(bip39Text)

// bip39Prefix marks the first three letters of every list word: a word
// whose first three letters are not marked is not a list word, which
// spares the set lookup for most words of ordinary text.
var bip39Prefix = sync.OnceValue(func() *[26 * 26 * 26]bool {
	var t [26 * 26 * 26]bool
	for _, w := range bip39List {
		t[int(w[0]-'a')*676+int(w[1]-'a')*26+int(w[2]-'a')] = true
	}
	return &t
})

// bip39Tables are the word list as an open-addressing hash set of the
// words packed into a uint64 (at most eight letters each): a lookup is a
// multiply and a probe or two, where a map lookup hashes a string.
// bip39Slot holds, at the same slot, the word's index on the list.
var bip39Tables = sync.OnceValues(func() (*[4096]uint64, *[4096]uint16) {
	var t [4096]uint64
	var ix [4096]uint16
	for i, w := range bip39List {
		k := packWord([]byte(w))
		for h := bip39Hash(k); ; h = (h + 1) & 4095 {
			if t[h] == 0 {
				t[h] = k
				ix[h] = uint16(i) //nolint:gosec // G115: 2048 words
				break
			}
		}
	}
	return &t, &ix
})

func packWord(w []byte) uint64 {
	var k uint64
	for _, c := range w {
		k = k<<8 | uint64(c)
	}
	return k
}

func bip39Hash(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> 52 }

// bip39Has reports whether the lower-case word w (3–8 letters) is on the
// list.
func bip39Has(w []byte) bool { return bip39Index(w) >= 0 }

// bip39Index is the list index (0–2047) of the lower-case word w (3–8
// letters), or -1 when it is not on the list.
func bip39Index(w []byte) int { return bip39IndexPacked(packWord(w)) }

// bip39IndexPacked is bip39Index of a word packed by packWord.
func bip39IndexPacked(k uint64) int {
	for h := bip39Hash(k); ; h = (h + 1) & 4095 {
		switch bip39PackedTab[h] {
		case k:
			return int(bip39SlotTab[h])
		case 0:
			return -1
		}
	}
}

// The word list's tables, built once when the package loads (a few
// microseconds): the seed-phrase search looks words up at every probe, and
// a sync.Once load there cost a tenth of the lookup.
var (
	bip39PackedTab, bip39SlotTab = bip39Tables()
	bip39PrefixTab               = bip39Prefix()
)

// seedWords is how many consecutive list words a seed phrase has at the
// least: the shortest standard mnemonic.
const seedWords = 12

// seedLongRun: a run of this many list words or more, with nothing else
// between them, is words-as-data (a mnemonic list, data encoded as
// BIP-39 words) whatever its checksums say; ordinary prose does not
// string so many list words together (in 10 MiB of prose built from
// common English words the longest run is under 20).
const seedLongRun = 48

// seedNeighbourhood is how far around a candidate phrase (each side) its
// words are looked for again: a phrase most of whose words recur there is
// a stretch of the surrounding prose, not a mnemonic set into it.
const seedNeighbourhood = 4096

func (r *ruleScan) financialPass(text string) {
	d := r.s.disabled
	if !d[ClassCard] {
		r.cards(text)
	}
	// IBANs are looked for by prefixPass, at their country codes.
	if !d[ClassSeed] && !r.stop {
		r.seedPhrase(text)
	}
	if !d[ClassCryptoKey] && !r.stop {
		r.wif(text)
	}
}

// cards finds 13–19 digit numbers that pass Luhn and start with a card
// issuer's prefix: bare, grouped by single spaces or dashes (any
// grouping), or grouped 4-4-4-4 or 4-6-5 (Amex) by one separator kind
// from " -./_" repeated once or twice, the same throughout ("4111.1111.
// 1111.1111", "4111  1111  1111  1111").
func (r *ruleScan) cards(text string) {
	// A card number is 13 digits or more with only separators between
	// them: it lies inside a run of at least 13 digits and separators,
	// and the scan of one start never leaves the run it starts in (it
	// stops at the first other byte). So only such runs are read, each
	// as the whole text would be read there.
	eachLongRun(text, cardByteSet, 13, func(start, end int) bool {
		r.cardsIn(text, start, end)
		return r.stop
	})
}

// cardByteSet: the digits and isCardSep.
var cardByteSet = makeSet(func(c byte) bool { return isDigit(c) || isCardSep[c] })

// cardsIn is cards for the numbers starting in text[lo:hi].
func (r *ruleScan) cardsIn(text string, lo, hi int) {
	var digits [19]byte
	var groups [6]int
	for i := lo; i < hi && !r.stop; i++ {
		prev := byte(' ')
		if i > 0 {
			prev = text[i-1]
		}
		// A digit not preceded by a letter, digit or dot: table lookups
		// and no branch per byte.
		if digitTab[text[i]]&notAlnumDotTab[prev] == 0 {
			continue
		}
		n, j, seps, ng := 0, i, 0, 0
		// sepc, sepk: the separator byte and run length seen first;
		// loose: every separator so far is a single space or dash.
		var sepc byte
		sepk, loose := 0, true
		groups[0] = 0
		for j < len(text) && n < 19 {
			c := text[j]
			if isDigit(c) {
				digits[n] = c
				n++
				j++
				groups[ng]++
				continue
			}
			if !isCardSep[c] || j == i || ng == len(groups)-1 {
				break
			}
			k := 1
			if j+1 < len(text) && text[j+1] == c {
				k = 2
			}
			if j+k >= len(text) || !isDigit(text[j+k]) {
				break
			}
			single := k == 1 && (c == ' ' || c == '-')
			if seps == 0 {
				sepc, sepk = c, k
			} else if !(loose && single) && (c != sepc || k != sepk) {
				break // separators must be of one kind
			}
			loose = loose && single
			seps++
			ng++
			groups[ng] = 0
			j += k
		}
		if j < len(text) && (isDigit(text[j]) || isAlnum(text[j]) || text[j] == '.' && j+1 < len(text) && isDigit(text[j+1])) {
			i = j
			continue // part of a longer number or identifier
		}
		if n < 13 {
			continue
		}
		switch {
		case seps == 0:
			if n != 15 && n != 16 {
				continue // bare numbers of other lengths are ids and timestamps
			}
		case loose:
			if seps > 4 {
				continue
			}
		default:
			// Other separators only in the printed groupings: a version
			// string, date or address is not 4-4-4-4.
			if !(seps == 3 && groups[0] == 4 && groups[1] == 4 && groups[2] == 4 && groups[3] == 4 ||
				seps == 2 && groups[0] == 4 && groups[1] == 6 && groups[2] == 5) {
				continue
			}
		}
		num := string(digits[:n])
		if cardIssuer(num) && luhn(num) {
			r.hit("payment-card")
		}
		i = j
	}
}

// isCardSep: the bytes that may group a card number's digits.
// '+' is a space as a form or query writes it, in a text not read as one.
var isCardSep = makeSet(func(c byte) bool { return c == ' ' || c == '-' || c == '.' || c == '/' || c == '_' || c == '+' })

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func luhn(num string) bool {
	sum := 0
	double := false
	for i := len(num) - 1; i >= 0; i-- {
		d := int(num[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// cardIssuer: Visa 4; Mastercard 51–55, 2221–2720; Amex 34, 37; Discover
// 6011, 65, 644–649; JCB 3528–3589; Diners 36, 38, 300–305; UnionPay 62;
// Maestro 50, 56–58, 67.
func cardIssuer(n string) bool {
	p2 := int(n[0]-'0')*10 + int(n[1]-'0')
	p4 := p2*100 + int(n[2]-'0')*10 + int(n[3]-'0')
	switch {
	case n[0] == '4':
		return len(n) == 13 || len(n) == 16 || len(n) == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return len(n) == 16
	case p2 == 34 || p2 == 37:
		return len(n) == 15
	case p4 == 6011, p2 == 65, p4/10 >= 644 && p4/10 <= 649, p2 == 62:
		return len(n) >= 16
	case p4 >= 3528 && p4 <= 3589:
		return len(n) >= 16
	case p2 == 36 || p2 == 38 || p4/10 >= 300 && p4/10 <= 305:
		return len(n) >= 14
	case p2 == 50, p2 >= 56 && p2 <= 58, p2 == 67:
		return len(n) >= 16
	}
	return false
}

// ibanLen is the IBAN length per country (ISO 13616 registry, common
// countries).
var ibanLen = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
	"DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
	"GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29,
	"PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}

// ibanAt checks for an IBAN, compact or in groups of four separated by
// spaces (ibanSep), starting at text[i] (prefixPass calls it where a country code's
// two letters stand); it returns where a valid one ends, or 0.
func (r *ruleScan) ibanAt(text string, i int) int {
	if i+15 > len(text) {
		return 0
	}
	prev := byte(' ')
	if i > 0 {
		prev = text[i-1]
	}
	// Two capitals, two digits, not inside a word.
	if upperTab[text[i]]&upperTab[text[i+1]]&digitTab[text[i+2]]&digitTab[text[i+3]]&notAlnumTab[prev] == 0 {
		return 0
	}
	want := ibanLen[text[i:i+2]]
	if want == 0 {
		return 0
	}
	var b [34]byte
	n, j := 0, i
	for j < len(text) && n < want {
		c := text[j]
		if ibanSep[c] && n%4 == 0 && n > 0 && j+1 < len(text) && isAlnum(text[j+1]) {
			j++
			continue
		}
		if !isDigit(c) && (c < 'A' || c > 'Z') {
			break
		}
		b[n] = c
		n++
		j++
	}
	if n != want || j < len(text) && isAlnum(text[j]) {
		return 0
	}
	if ibanValid(string(b[:n])) {
		r.hit("iban")
		return j
	}
	return 0
}

// ibanSep: what may stand between an IBAN's groups of four: a space, or
// '+' (a space as a form or query writes it), '-', '.', '_'.
var ibanSep = makeSet(func(c byte) bool { return c == ' ' || c == '+' || c == '-' || c == '.' || c == '_' })

// ibanValid: move the first four characters to the end, letters to
// numbers (A=10 … Z=35), the whole number mod 97 must be 1.
func ibanValid(s string) bool {
	s = s[4:] + s[:4]
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			sb.WriteByte(c)
		} else {
			v := int(c-'A') + 10
			sb.WriteByte(byte('0' + v/10))
			sb.WriteByte(byte('0' + v%10))
		}
	}
	rem := 0
	for _, c := range sb.String() {
		rem = (rem*10 + int(c-'0')) % 97
	}
	return rem == 1
}

// seedPhrase finds BIP-39 mnemonics: runs of twelve or more list words
// (any case, separated by whitespace, commas, quotes or list numbering
// such as "1." or "2)") that stand as a phrase, not as a stretch of
// ordinary prose: at most half of the words recur within
// seedNeighbourhood bytes around it — of the whole run, or of a window of
// 12, 15, 18, 21 or 24 of its words whose BIP-39 checksum is valid (a
// mnemonic set into a run of other list words). Ordinary English strings
// a dozen list words together now and then ("about", "again", "because",
// "they" are on the list), and they are the text's common words, which
// recur around them; a mnemonic's words are drawn at random from 2,048.
// A run of seedLongRun list words or more is a finding as it stands.
func (r *ruleScan) seedPhrase(text string) {
	// Every byte of a mnemonic's run — its words and what stands between
	// them — is a letter of a list word or a separator (seedSepTab); any
	// other byte (seedBreaks) ends the run. Twelve words of three letters
	// or more with a byte between each two span seedSpan bytes at the
	// least, so a run that holds a phrase covers seedSpan bytes without a
	// break. The text is probed at the last byte of the shortest such
	// stretch after the last known break: a break there (most bytes of
	// ordinary text are: a word off the list, punctuation, a short word)
	// rules out every phrase starting before it, without a look at the
	// bytes between; otherwise the bytes back to the last known break
	// (or to what an earlier probe already found clean) are checked,
	// and a stretch clean all along is read word by word (seedFrom) as
	// the whole text would be read there, up to its next break.
	lo, clean := 0, 0 // lo: after a break (or 0); text[lo:clean] holds none
	for !r.stop && lo+seedSpan <= len(text) {
		p := lo + seedSpan - 1
		brk, top := -1, clean
		for x := p; x >= clean; {
			a, b, bad := seedUnit(text, x)
			if bad {
				brk = b
				break
			}
			if x == p {
				top = b
			}
			x = a - 1
		}
		if brk < 0 {
			lo = r.seedFrom(text, lo)
			clean = lo
			continue
		}
		lo = brk
		clean = max(lo, top)
	}
}

// seedSpan is the fewest bytes seedWords list words span.
const seedSpan = seedWords*3 + seedWords - 1

// seedUnit returns the unit of text holding text[x] — the letter run
// around it, or the byte alone — and whether it breaks a run of list
// words (seedBreaks). A letter run is measured no further than shows it
// is longer than a list word; then [a, b) is only a part of it, every
// byte of which breaks.
func seedUnit(text string, x int) (a, b int, bad bool) {
	c := text[x]
	if !letterSet[c] {
		return x, x + 1, seedSepTab[c] == 0
	}
	if seedEscape(text, x) {
		return x, x + 1, false
	}
	a = x
	for a > 0 && letterSet[text[a-1]] && !seedWordStart(text, a) && x-a < 9 {
		a--
	}
	b = x + 1
	for b < len(text) && letterSet[text[b]] && !seedWordStart(text, b) && b-a <= 9 {
		b++
	}
	return a, b, seedWordIndex(text, a, b) < 0
}

// seedEscape reports whether the letter text[k] is the letter of a
// written escape ("\n", "\t", "\r": a phrase joined by escaped line
// breaks, as a JSON or shell string writes it outside a JSON reading): it
// separates words like the byte it stands for.
func seedEscape(text string, k int) bool {
	c := text[k]
	return k > 0 && text[k-1] == '\\' && (c == 'n' || c == 't' || c == 'r')
}

// seedWordStart reports whether a list word starts at the letter text[k]
// that follows another letter: a capital after a small letter (words
// written CamelCase, "AbandonAbility…"), or the first letter after a
// written escape.
func seedWordStart(text string, k int) bool {
	p := text[k-1]
	return p >= 'a' && p <= 'z' && text[k] >= 'A' && text[k] <= 'Z' || seedEscape(text, k-1)
}

// seedWordIndex is the list index of the letter run text[a:b], or -1
// (a run of under 3 or over 8 letters is no list word).
func seedWordIndex(text string, a, b int) int {
	if b-a < 3 || b-a > 8 {
		return -1
	}
	x, y, z := lowerASCII[text[a]]-'a', lowerASCII[text[a+1]]-'a', lowerASCII[text[a+2]]-'a'
	if !bip39PrefixTab[int(x)*676+int(y)*26+int(z)] {
		return -1
	}
	// Lower-cased and packed as packWord packs it, in one loop.
	var k uint64
	for _, c := range []byte(text[a:b]) {
		k = k<<8 | uint64(lowerASCII[c])
	}
	return bip39IndexPacked(k)
}

// seedFrom reads the run of list words starting at text[lo] (lo is 0 or
// follows a break) up to its first break, and returns where the text
// after that break starts.
func (r *ruleScan) seedFrom(text string, lo int) int {
	var idx [seedLongRun]uint16   // list indexes of the current run
	var pos [seedLongRun][2]int32 // word bounds of the current run
	run := 0
	glued := false // two words of the run touch (CamelCase)
	flush := func() {
		if run >= seedWords && run < seedLongRun && (!glued || seedVaried(idx[:run])) && r.seedInRun(text, idx[:run], pos[:run]) {
			r.hit("seed-phrase")
		}
	}
	i := lo
	for i < len(text) {
		c := text[i]
		if !letterSet[c] {
			i++
			if seedSepTab[c] == 0 {
				break
			}
			continue
		}
		if seedEscape(text, i) {
			i++
			continue
		}
		start := i
		i++
		for i < len(text) && letterSet[text[i]] && !seedWordStart(text, i) {
			i++
		}
		k := seedWordIndex(text, start, i)
		if k < 0 {
			break
		}
		glued = glued || run > 0 && int(pos[min(run, seedLongRun)-1][1]) == start
		if run < seedLongRun {
			idx[run] = uint16(k)                        //nolint:gosec // G115: k < 2048
			pos[run] = [2]int32{int32(start), int32(i)} //nolint:gosec // G115: texts are far under 2 GiB
		}
		run++
		if run == seedLongRun && (!glued || seedVaried(idx[:])) {
			r.hit("seed-phrase")
		}
		if r.stop {
			return len(text)
		}
	}
	flush()
	return i
}

// seedVaried reports whether at least half of a run's words are
// distinct. A run whose words touch (CamelCase) is held to it: values
// joined without a separator ("UpgradeUpgrade…", "Keep-AliveKeep-Alive…"
// from repeated headers) repeat a few list words, a mnemonic's are drawn
// at random.
func seedVaried(idx []uint16) bool {
	distinct := 0
	for i, v := range idx {
		if !slices.Contains(idx[:i], v) {
			distinct++
		}
	}
	return distinct*2 >= len(idx)
}

// seedInRun reports whether a run of list words holds a mnemonic: a
// window of a standard length with a valid checksum whose words are not
// the surrounding text's own.
func (r *ruleScan) seedInRun(text string, idx []uint16, pos [][2]int32) bool {
	// The run as a whole: a mnemonic written out without a checksum
	// check (a made-up or mistyped one) still stands out from the text
	// around it.
	if !recurAround(text, pos) {
		return true
	}
	for _, n := range [...]int{12, 15, 18, 21, 24} {
		for i := 0; i+n <= len(idx); i++ {
			if bip39Checksum(idx[i:i+n]) && !recurAround(text, pos[i:i+n]) {
				return true
			}
		}
	}
	return false
}

// bip39Checksum verifies the BIP-39 checksum of a mnemonic given as word
// indexes (11 bits each: the entropy, then its SHA-256's first len/3 bits).
func bip39Checksum(idx []uint16) bool {
	bits := len(idx) * 11
	cs := bits / 33 // checksum bits
	ent := bits - cs
	var buf [33]byte
	for i, v := range idx {
		for b := range 11 {
			if v&(1<<(10-b)) != 0 {
				at := i*11 + b
				buf[at/8] |= 0x80 >> (at % 8)
			}
		}
	}
	h := sha256.Sum256(buf[:ent/8])
	got := buf[ent/8] >> (8 - cs)
	return h[0]>>(8-cs) == got
}

// recurAround reports whether more than half of the phrase's distinct
// words occur again, as whole words, within seedNeighbourhood bytes of it.
func recurAround(text string, pos [][2]int32) bool {
	lo, hi := int(pos[0][0]), int(pos[len(pos)-1][1])
	before := text[max(0, lo-seedNeighbourhood):lo]
	after := text[hi:min(len(text), hi+seedNeighbourhood)]
	distinct, recur := 0, 0
	for i, p := range pos {
		w := text[p[0]:p[1]]
		dup := false
		for _, q := range pos[:i] {
			if strings.EqualFold(text[q[0]:q[1]], w) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		distinct++
		if hasWordFold(before, w) || hasWordFold(after, w) {
			recur++
		}
	}
	return recur*2 > distinct
}

// hasWordFold reports whether s holds w (ASCII case-insensitive) as a
// whole word (not inside a longer run of letters).
func hasWordFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if lowerASCII[s[i]] != lowerASCII[w[0]] || !hasPrefixFold(s[i:], strings.ToLower(w)) {
			continue
		}
		if (i == 0 || !letterSet[s[i-1]]) && (i+len(w) == len(s) || !letterSet[s[i+len(w)]]) {
			return true
		}
	}
	return false
}

var (
	letterSet = makeSet(func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' })
	// seedSepTab: what may stand between the words of a seed phrase:
	// whitespace, commas, dashes, quotes, list numbering ("1." "2)"),
	// and the other punctuation that joins a list ("|", ";", "/", a
	// written escape's backslash).
	seedSepTab = countTable(func(c byte) bool {
		return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '-' || c == '"' || c == '\'' || c == '+' || c == '_' ||
			isDigit(c) || c == '.' || c == ')' || c == ':' || c == '|' || c == ';' || c == '/' || c == '\\'
	})
)

// wif finds Bitcoin WIF private keys: 51–52 Base58 characters starting 5,
// K, L (mainnet) or 9, c (testnet) with a valid Base58Check checksum.
func (r *ruleScan) wif(text string) {
	r.eachTokRun(text, b58Set, 51, func(start, end int) bool {
		if n := end - start; (n == 51 || n == 52) && strings.IndexByte("5KL9c", text[start]) >= 0 && (start == 0 || !isAlnum(text[start-1])) {
			if base58Check(text[start:end]) {
				r.hit("bitcoin-wif")
			}
		}
		return r.stop
	})
}

// Byte classes as 0/1 tables, ANDed without a branch per byte.
var (
	digitTab       = countTable(isDigit)
	upperTab       = countTable(func(c byte) bool { return c >= 'A' && c <= 'Z' })
	notAlnumTab    = countTable(func(c byte) bool { return !isAlnum(c) })
	notAlnumDotTab = countTable(func(c byte) bool { return !isAlnum(c) && c != '.' })
)

const b58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var b58Set = makeSet(func(c byte) bool { return strings.IndexByte(b58Alphabet, c) >= 0 })

// base58Check decodes s and verifies its four-byte double-SHA-256
// checksum.
func base58Check(s string) bool {
	if len(s) > 120 {
		return false
	}
	n := new(big.Int)
	radix := big.NewInt(58)
	for i := 0; i < len(s); i++ {
		k := strings.IndexByte(b58Alphabet, s[i])
		if k < 0 {
			return false
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(k)))
	}
	b := n.Bytes()
	for i := 0; i < len(s) && s[i] == '1'; i++ {
		b = append([]byte{0}, b...)
	}
	if len(b) < 5 {
		return false
	}
	payload, sum := b[:len(b)-4], b[len(b)-4:]
	h := sha256.Sum256(payload)
	h = sha256.Sum256(h[:])
	return string(h[:4]) == string(sum)
}
