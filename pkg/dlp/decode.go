package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"html"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Encodings a finding can be reported under.
const (
	EncRaw      = "raw"
	EncURL      = "url-encoded"
	EncBase64   = "base64"
	EncHex      = "hex"
	EncReversed = "reversed"
)

const (
	// maxURLDecode bounds repeated percent-decoding (%2525… chains).
	maxURLDecode = 4
	// minRun is the shortest base64/hex run worth decoding: shorter runs
	// cannot hold a secret of minKnownLen bytes.
	minB64Run = 12
	minHexRun = 16
	// maxNest bounds nested decoding (base64 in hex in base64 …); only
	// text is decoded again, and every layer shrinks.
	maxNest = 3
)

// view is one reading of a text.
type view struct {
	enc  string
	text string
}

// viewBudget bounds the bytes of all readings of one text: the decoders
// shrink their input (base64 to 3/4, hex to 1/2) and run at most four
// base64 alignments, so ordinary text stays far below it; a text built to
// multiply its readings hits it, and the scan then fails closed
// (ErrScanBudget) rather than passing the rest unscanned.
func viewBudget(n int) int { return 16*n + 1<<20 }

// views calls emit with every reading of s: s itself, its repeated
// percent-decodings, its Unicode folding, quoted-printable, delimited hex
// and despaced readings, and the decoded base64 (standard and URL
// alphabets, padded or not, wrapped or not, at every alignment), hex and
// base32 runs inside each of those, nested up to maxNest levels. emit
// returning true stops the walk. It returns false when the readings went
// over viewBudget.
func views(s string, emit func(view) bool) bool { return readViews(s, true, emit) }

// readViews is views; exact false lets the decoders keep, of a long
// encoded run that decodes to mostly binary, only its ASCII stretches
// (windowedB64Fits, windowedHex): every textual secret, token and island is
// ASCII, so nothing the scan looks for is lost, and random data costs one
// cheap pass instead of four full decodings. exact is for known secrets
// that may hold any byte.
func readViews(s string, exact bool, emit func(view) bool) bool {
	budget := viewBudget(len(s))
	over := false
	out := func(v view) bool {
		budget -= len(v.text)
		if budget < 0 {
			over = true
			return true
		}
		return emit(v)
	}
	// Each reading is read as soon as it is made, and only the last one
	// the next is made from stays referenced: a text's readings are never
	// all held at once.
	read := func(v view) bool { return out(v) || decodedRuns(v.text, 0, exact, out) }
	if read(view{EncRaw, s}) {
		return !over
	}
	// ascii85 and uuencode blocks (marked.go) are read from the raw text:
	// their alphabets hold '%', '=' and '\\', which the escape readings
	// would undo inside them.
	if markedReadings(s, read) {
		return !over
	}
	// A long text with a few escapes decodes to itself but near them: the
	// percent- and quoted-printable readings of such a text hold only the
	// stretches around its escapes (escapeWindows), and the readings made
	// from the fully decoded text are then made from the raw text and from
	// those stretches.
	cur, windowed := s, false
	for range maxURLDecode {
		// '+' stays '+': as a space it would cut base64 apart; form
		// bodies and queries are also read field by field.
		if !strings.Contains(cur, "%") {
			break
		}
		next, w := escapeWindowsLead(cur, '%', percentEscapeAt, lenientUnescape)
		if next == cur {
			break
		}
		if read(view{EncURL, next}) {
			return !over
		}
		cur, windowed = next, windowed || w
	}
	bases := []string{cur}
	if windowed {
		bases = []string{s, cur}
	}
	for _, cur := range bases {
		// NFKC over binary (an upload, decoded gzip) is wasted work: fold text.
		if hasNonASCII(cur) && (len(cur) < 64<<10 || utf8.ValidString(cur)) {
			if f := foldUnicode(cur); f != cur {
				if read(view{EncUnicode, f}) {
					return !over
				}
				cur = f
			}
		}
		if q, ok := quotedPrintableWindows(cur); ok && q != cur && (read(view{EncQuotedPrintable, q}) ||
			escapeReadings(q, func(_, t string) bool { return read(view{EncQuotedPrintable, t}) })) {
			return !over // (percent-encoding under quoted-printable: escapeReadings)
		}
		if hasBackslashEscape(cur) {
			if u, _ := escapeWindowsLead(cur, '\\', backslashEscapeAt, backslashUnescape); u != cur && (read(view{EncEscaped, u}) ||
				escapeReadings(u, func(_, t string) bool { return read(view{EncEscaped, t}) })) {
				return !over
			}
		}
		if hasHTMLEntity(cur) {
			if u, _ := escapeWindowsLead(cur, '&', htmlEntityAt, html.UnescapeString); u != cur && (read(view{EncHTMLEntity, u}) ||
				escapeReadings(u, func(_, t string) bool { return read(view{EncHTMLEntity, t}) })) {
				return !over
			}
		}
		if h, ok := delimitedHex(cur); ok && read(view{EncHexDelimited, h}) {
			return !over
		}
		if d, ok := despace(cur); ok && read(view{EncDespaced, d}) {
			return !over
		}
		if pieceReadings(cur, read) {
			return !over
		}
	}
	return !over
}

// escapeContext is how much text on each side of an escape a windowed
// reading keeps: more than any rule looks at around what it matches (a
// field name and its value, a token, a key block's header and body, the
// context words of the entropy rule).
const escapeContext = 1024

// windowSepText separates the stretches of a windowed reading: a line of
// its own holding one byte no rule, run or token takes in.
const windowSepText = "\n\xff\n"

// escapeWindows returns decode(s) when the escapes of s (escapeAt gives
// the length of the escape at i, or 0) and their context cover half of s
// or more; otherwise the decodings of the stretches of s within
// escapeContext of an escape, joined by windowSepText, and windowed true.
// Any secret the decoding makes (one that spans a decoded escape) lies in
// such a stretch; the rest of the decoding is the raw text, read already.
func escapeWindows(s string, escapeAt func(s string, i int) int, decode func(string) string) (string, bool) {
	return escapeWindowsLead(s, 0, escapeAt, decode)
}

// escapeWindowsLead is escapeWindows for escapes that all start with the
// byte lead (0: any): only those bytes are looked at.
func escapeWindowsLead(s string, lead byte, escapeAt func(s string, i int) int, decode func(string) string) (string, bool) {
	if len(s) < 8*escapeContext {
		return decode(s), false
	}
	type span struct{ lo, hi int }
	var spans []span
	covered := 0
	for i := 0; i < len(s); i++ {
		if lead != 0 {
			k := strings.IndexByte(s[i:], lead)
			if k < 0 {
				break
			}
			i += k
		}
		n := escapeAt(s, i)
		if n == 0 {
			continue
		}
		lo, hi := max(0, i-escapeContext), min(len(s), i+n+escapeContext)
		if k := len(spans) - 1; k >= 0 && lo <= spans[k].hi {
			covered += hi - spans[k].hi
			spans[k].hi = hi
		} else {
			spans = append(spans, span{lo, hi})
			covered += hi - lo
		}
		if covered*2 >= len(s) {
			return decode(s), false
		}
		i += n - 1
	}
	if len(spans) == 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(covered + len(spans)*len(windowSepText))
	for k, sp := range spans {
		if k > 0 {
			b.WriteString(windowSepText)
		}
		b.WriteString(decode(s[sp.lo:sp.hi]))
	}
	return b.String(), true
}

// percentEscapeAt is the length of a %XX escape at s[i], or 0.
func percentEscapeAt(s string, i int) int {
	if s[i] == '%' && i+2 < len(s) && isHex[s[i+1]] && isHex[s[i+2]] {
		return 3
	}
	return 0
}

// lenientUnescape undoes every valid %XX and leaves invalid ones as they
// are (a single stray % must not stop the decoding of the rest).
func lenientUnescape(s string) string {
	// The stretches between escapes are copied whole; only the '%'
	// bytes are looked at (IndexByte, a vector search).
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	from := 0
	for {
		next := i + 1
		if i+2 < len(s) && isHex[s[i+1]] && isHex[s[i+2]] {
			b = append(b, s[from:i]...)
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			from, next = i+3, i+3
		}
		k := strings.IndexByte(s[next:], '%')
		if k < 0 {
			break
		}
		i = next + k
	}
	b = append(b, s[from:]...)
	return unsafe.String(unsafe.SliceData(b), len(b)) //nolint:gosec // G103: b is not written after this
}

func decodedRuns(s string, depth int, exact bool, emit func(view) bool) bool {
	if depth >= maxNest {
		return false
	}
	stop := false
	inner := func(enc, d string) bool {
		// Only text can hold another encoding layer; binary noise from
		// decoding an ordinary identifier is checked once, not recursed.
		if emit(view{enc, d}) || halfText(d) && decodedRuns(d, depth+1, exact, emit) {
			stop = true
			return true
		}
		// A mostly binary decoding (a short run decoded whole, or any
		// run when exact) can still carry another layer in its text, as
		// a windowed decoding would: its islands are read again.
		if !halfText(d) && holdsText(d) {
			if isl := islands(d, minDecodedIsland); isl != "" && decodedRuns(isl, depth+1, exact, emit) {
				stop = true
				return true
			}
		}
		// Escapes written inside the decoded layer (base64 of a
		// percent-encoded or \u-escaped secret) are undone too.
		if halfText(d) && escapeReadings(d, func(_, e string) bool {
			return emit(view{enc, e}) || halfText(e) && decodedRuns(e, depth+1, exact, emit)
		}) {
			stop = true
			return true
		}
		return false
	}
	// Hex and base32 runs lie inside runs of the base64 alphabet (a
	// superset of both): only those are searched again, in the same walk,
	// wrapped lines joined as for base64 (xxd -p wraps hex at 60).
	eachB64Run(s, func(b64 string) bool {
		if (exact || b64RunMayHoldASCII(b64)) && eachB64Decoding(b64, exact, func(d string) bool { return inner(EncBase64, d) }) {
			return true
		}
		if len(b64) < minHexRun {
			return false
		}
		eachRun(b64, isHex, minHexRun, func(run string) bool {
			if !exact && len(run) >= minWindowed {
				for off := 0; off < 2; off++ {
					if d := windowedHex(run[off:]); d != "" && inner(EncHex, d) {
						return true
					}
				}
				return false
			}
			for off := 0; off < 2 && off < len(run); off++ {
				r := run[off:]
				r = r[:len(r)/2*2]
				if !exact && !hexMayHoldASCII(r) {
					continue // no eight ASCII bytes in a row: nothing to find
				}
				b, err := hex.DecodeString(r)
				if err != nil || len(b) < minKnownLen || !exact && !holdsText(b) {
					continue
				}
				if inner(EncHex, string(b)) {
					return true
				}
			}
			return false
		})
		if !stop && len(b64) >= 24 {
			// The run that starts the text may start inside a longer one
			// (a segment of a large body): read at every alignment. (b64
			// is a copy when its wrapped lines were joined: it starts the
			// text when it starts as the text does.)
			cut := strings.HasPrefix(s, b64[:min(len(b64), 8)])
			stop = base32Runs(b64, cut, func(d string) bool { return (exact || holdsText(d)) && inner(EncBase32, d) })
		}
		return stop
	})
	return stop
}

// eachB64Run calls fn with every base64 run of at least minB64Run bytes;
// the lines of a wrapped encoding (MIME and PEM wrap at 64 or 76) are
// joined into one run first: a line ending in a run of 40+ base64
// characters starts a join, whole base64 lines continue it, and a shorter
// whole line (the tail) ends it.
func eachB64Run(s string, fn func(string) bool) {
	if !strings.Contains(s, "\n") {
		stop := false
		eachRun(s, isB64, minB64Run, func(r string) bool { stop = fn(r); return stop })
		if !stop {
			spacedB64(s, fn)
		}
		return
	}
	var joined []byte
	stop := false
	flush := func() {
		if len(joined) >= minB64Run && !stop {
			stop = fn(string(joined))
		}
		joined = joined[:0]
	}
	for lineStart := 0; lineStart < len(s) && !stop; {
		end := strings.IndexByte(s[lineStart:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += lineStart
		}
		line := strings.TrimRight(s[lineStart:end], "\r")
		lineStart = end + 1
		// The trailing base64 run of the line.
		k := len(line)
		for k > 0 && isB64[line[k-1]] {
			k--
		}
		tail := line[k:]
		switch {
		case k == 0 && len(joined) > 0 && len(tail) > 0:
			joined = append(joined, tail...)
			if len(tail) < 40 {
				flush()
			}
			continue
		case len(joined) > 0 && k > 0 && isB64[line[0]]:
			// The tail line of a wrapped run, followed by other text.
			h := 0
			for h < len(line) && isB64[line[h]] {
				h++
			}
			joined = append(joined, line[:h]...)
			flush()
		case len(tail) >= 40:
			flush()
			if k > 0 {
				eachRun(line[:k], isB64, minB64Run, func(r string) bool { stop = fn(r); return stop })
			}
			joined = append(joined, tail...)
			continue
		}
		flush()
		if !stop {
			eachRun(line, isB64, minB64Run, func(r string) bool { stop = fn(r); return stop })
		}
	}
	flush()
	if !stop {
		stop = shortWrapped(s, fn)
	}
	if !stop {
		spacedB64(s, fn)
	}
}

// byteSet is a lookup table: the hot loops index it instead of calling a
// predicate per byte.
type byteSet [256]bool

func makeSet(pred func(byte) bool) *byteSet {
	var s byteSet
	for c := 0; c < 256; c++ {
		s[c] = pred(byte(c))
	}
	return &s
}

var (
	isB64 = makeSet(func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
	})
	isHex = makeSet(func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	})
)

// eachRun calls fn with every maximal run of bytes in set, at least min
// long. It walks s as eachLongRun does (where no run is, one byte in min is
// looked at; random binary skips as fast as text): the same runs in the
// same order as eachRunAt.
func eachRun(s string, set *byteSet, min int, fn func(string) bool) {
	eachLongRun(s, set, min, func(start, end int) bool { return fn(s[start:end]) })
}

// eachRunAt is eachRun giving the run's bounds in s. The scan is
// branch-free per byte (a run counter reset by a multiply), so its cost
// does not depend on how the bytes look.
func eachRunAt(s string, set *byteSet, min int, fn func(start, end int) bool) {
	if min < 1 {
		min = 1
	}
	run := 0
	for i := 0; i < len(s); i++ {
		run = (run + 1) * b2i(set[s[i]])
		if run == min {
			start := i + 1 - min
			j := i + 1
			for j < len(s) && set[s[j]] {
				j++
			}
			if fn(start, j) {
				return
			}
			i = j // s[j] is not in set (or the end)
			run = 0
		}
	}
}

// b2i is 1 for true; the compiler turns it into a zero-extension, not a
// branch.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// decodeB64 decodes a base64 run at each of the four alignments (a secret
// encoded after a prefix the attacker dropped), in whichever alphabet the
// run's characters allow, with or without padding.
func decodeB64(run string) []string {
	var out []string
	eachB64Decoding(run, true, func(d string) bool { out = append(out, d); return false })
	return out
}

// minWindowed is the shortest run decoded by windows when exact decoding
// is not asked for; shorter runs are decoded whole.
const minWindowed = 256

// eachB64Decoding calls fn with each decoding of decodeB64 until it
// returns true. Unless exact, a run of minWindowed characters or more is
// decoded by windows (windowedB64Fits).
func eachB64Decoding(run string, exact bool, fn func(string) bool) bool {
	run = strings.TrimRight(run, "=")
	if strings.IndexByte(run, '=') >= 0 { // '=' inside: several runs glued together
		for part := range strings.SplitSeq(run, "=") {
			if len(part) >= minB64Run && eachB64Decoding(part, exact, fn) {
				return true
			}
		}
		// … or one run with '=' written into it as filler (every few
		// characters, so that no piece is long enough to decode): the
		// run read without them.
		if joined := strings.ReplaceAll(run, "=", ""); len(joined) >= minB64Run {
			return eachB64Decoding(joined, exact, fn)
		}
		return false
	}
	enc, dec := base64.RawStdEncoding, &b64StdValue
	if hasEither(run, '-', '_') {
		if hasEither(run, '+', '/') {
			// Mixed alphabets: not base64, unless the odd ones are
			// delimiters around it (UTF-7 writes +base64-).
			if t := strings.Trim(run, "+-"); t != run && len(t) >= minB64Run {
				return eachB64Decoding(t, exact, fn)
			}
			// Otherwise an encoding in one alphabet glued to text using
			// the other's odd characters ("id_" then standard base64):
			// the pieces each alphabet allows are decoded.
			for _, cut := range []string{"-_", "+/"} {
				for piece := range strings.FieldsFuncSeq(run, func(r rune) bool { return strings.ContainsRune(cut, r) }) {
					if len(piece) >= minB64Run && eachB64Decoding(piece, exact, fn) {
						return true
					}
				}
			}
			return false
		}
		enc, dec = base64.RawURLEncoding, &b64URLValue
	}
	var fits []uint64 // groupFits(run), made for the first windowed alignment
	for off := 0; off < 4 && off < len(run); off++ {
		r := run[off:]
		if len(r)%4 == 1 {
			r = r[:len(r)-1]
		}
		if !exact && len(r) >= minWindowed {
			if fits == nil {
				fits = groupFits(run)
			}
			if d := windowedB64Fits(r, fits, off, enc); d != "" && fn(d) {
				return true
			}
			continue
		}
		if !exact && !b64MayHoldASCII(r, dec) {
			continue // no eight ASCII bytes in a row: nothing to find
		}
		b, err := enc.DecodeString(r)
		if err != nil || len(b) < minKnownLen || !exact && !holdsText(b) {
			continue
		}
		if fn(string(b)) {
			return true
		}
	}
	return false
}

// hasEither is strings.ContainsAny(s, string(a)+string(b)) for two ASCII
// bytes: two vectorised byte searches instead of a set test per byte
// (a run may be a whole upload).
func hasEither(s string, a, b byte) bool {
	return strings.IndexByte(s, a) >= 0 || strings.IndexByte(s, b) >= 0
}

// Base64 character values (0–63; 0xff for other bytes), per alphabet.
var b64StdValue, b64URLValue = b64Values("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
	b64Values("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

func b64Values(alphabet string) (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = uint8(i) //nolint:gosec // G115: i < 64
	}
	return t
}

// windowSep separates the stretches of a windowed decoding: not ASCII, not
// NUL, not a token byte, so no run, island or token spans two stretches.
const windowSep = 0xff

// minWindowBytes is the shortest ASCII stretch a windowed decoding keeps:
// a decoded island (minDecodedIsland) or a known secret (minKnownLen) is no
// shorter.
const minWindowBytes = 8

// groupFits returns, as a bit set (bit p of word p/64), the positions p
// of s where a base64 group starting there decodes to three ASCII bytes:
// s[p], s[p+1] and s[p+2] fit the group's first three places (b64OK).
// One pass serves the four alignments of windowedB64Fits.
func groupFits(s string) []uint64 {
	set := make([]uint64, (len(s)+63)/64)
	for p := 0; p+2 < len(s); p++ {
		t := uint64(b64OK[s[p]]&1) & uint64(b64OK[s[p+1]]>>1&1) & uint64(b64OK[s[p+2]]>>2&1)
		set[p>>6] |= t << (p & 63)
	}
	return set
}

// fitAt reports bit p of fits.
func fitAt(fits []uint64, p int) bool { return fits[p>>6]>>(p&63)&1 != 0 }

// windowedB64Fits decodes the base64 run r = run[off:] (aligned at its
// start, no padding, its last character possibly dropped; fits =
// groupFits(run)) as decodeB64 would, but keeps only the stretches of at
// least minWindowBytes ASCII bytes (below 0x80), joined by windowSep; ""
// when there is none. A decoded byte's top bit is a bit of one character
// (byte 0 of a group: bit 5 of character 0; byte 1: bit 3 of character 1;
// byte 2: bit 1 of character 2), so groups whose three bytes are all
// ASCII (fitting groups) are found from the characters without decoding;
// only the groups around two or more such groups in a row (which any
// eight ASCII bytes in a row contain) are decoded: the group before the
// run (if any) through the group after it (or the end). When all of r
// decodes to ASCII the result is exactly the whole decoding. Pairs of
// fitting groups four characters apart are found a word of positions at
// a time (fits & fits>>4, this alignment's positions only); the first
// pair after a group that does not fit starts a run. (It gives what the
// group-by-group windowedB64 of the tests gives.)
func windowedB64Fits(r string, fits []uint64, off int, enc *base64.Encoding) string {
	groups := len(r) / 4
	var out, buf []byte
	flush := func(g0, g1 int) { // decode groups [g0, g1), and the tail when g1 is the last
		lo, hi := g0*4, g1*4
		if g1 >= groups {
			hi = len(r)
		}
		buf = slices.Grow(buf[:0], enc.DecodedLen(hi-lo))[:enc.DecodedLen(hi-lo)]
		if k, err := enc.Decode(buf, []byte(r[lo:hi])); err == nil {
			out = appendASCII(out, buf[:k])
		}
	}
	mask := uint64(0x1111111111111111) << off
	g := 0 // the next group to look at; group g-1 (if any) does not fit, or was read
	for g+1 < groups {
		// The next pair of fitting groups a, a+1 with a >= g.
		p := off + 4*g
		a := -1
		for w := p >> 6; w < len(fits); w++ {
			pair := fits[w] & mask
			if w+1 < len(fits) {
				pair &= fits[w]>>4 | fits[w+1]<<60
			} else {
				pair &= fits[w] >> 4
			}
			if w == p>>6 {
				pair &= ^uint64(0) << (p & 63)
			}
			if pair != 0 {
				a = (w<<6 + bits.TrailingZeros64(pair) - off) / 4
				break
			}
		}
		if a < 0 || a+1 >= groups {
			break
		}
		// The run's end: the first group after it that does not fit.
		b := a + 2
		for b < groups && fitAt(fits, off+4*b) {
			b++
		}
		if b >= groups {
			flush(max(0, a-1), groups)
			break
		}
		flush(max(0, a-1), b+1)
		g = b + 1
	}
	return finishWindows(out)
}

// b64MayHoldASCII reports whether the decoding of r (aligned at its start)
// can hold eight ASCII bytes in a row: it must hold two whole groups of
// ASCII bytes in a row (see windowedB64Fits).
func b64MayHoldASCII(r string, val *[256]uint8) bool {
	full := 0
	for g := 0; g+4 <= len(r); g += 4 {
		ok := b2i(val[r[g]]&0x20 == 0) & b2i(val[r[g+1]]&0x08 == 0) & b2i(val[r[g+2]]&0x02 == 0)
		full = (full + 1) * ok
		if full == 2 {
			return true
		}
	}
	return false
}

// b64OK marks, for each byte, the positions of a base64 group at which it
// decodes without setting a top bit (see windowedB64Fits): bit 0 as the
// group's first character, bit 1 as its second, bit 2 as its third. The
// two alphabets give the same marks: their letters and digits have the
// same values, and the four characters they differ in (+ / - _, values 62
// and 63 where they count) and every other byte set all three bits.
var b64OK = func() (t [256]uint8) {
	for c := range 256 {
		v := b64StdValue[c]
		t[c] = b2u8(v&0x20 == 0) | b2u8(v&0x08 == 0)<<1 | b2u8(v&0x02 == 0)<<2
	}
	return t
}()

// b64RunMayHoldASCII reports whether eachB64Decoding(run, false, fn) can
// call fn at all. Every string it decodes at the bottom of its recursion
// (the run's pieces between '=', the run with its '=' removed, the pieces
// between the other alphabet's characters, each at four alignments) is a
// substring of the run with its '=' removed; and it calls fn with a
// decoding only when that decoding holds two whole groups in a row of
// ASCII bytes (b64MayHoldASCII, windowedB64Fits). So when the run with its
// '=' removed has no two such groups in a row at any alignment, nothing
// is called: one pass over the run instead of the splits and four.
func b64RunMayHoldASCII(run string) bool {
	// m1, m2: the marks of the last two characters ('=' skipped); tri:
	// bit k set when a group's first three characters fit, starting k
	// characters before the last one's group start.
	var m1, m2 uint8
	var tri uint32
	pending := false
	for i := 0; i < len(run); i++ {
		c := run[i]
		if c == '=' {
			continue
		}
		if pending {
			return true // the second group is whole
		}
		m := b64OK[c]
		t := uint32(m2&1) & uint32(m1>>1&1) & uint32(m>>2&1)
		tri = tri<<1 | t
		// A fitting triple starting here (two back) and one starting four
		// characters before it: two groups in a row, once the second has
		// its fourth character.
		pending = tri&0x11 == 0x11
		m2, m1 = m1, m
	}
	return false
}

// windowedHex is windowedB64Fits for a hex run (aligned at its start): a
// decoded byte is ASCII when its first digit is below 8.
func windowedHex(r string) string {
	r = r[:len(r)/2*2]
	var out, buf []byte
	pairs := len(r) / 2
	run := 0
	for p := 0; p < pairs; p++ {
		run = (run + 1) * int(hexASCIITab[r[2*p]])
		if run == minWindowBytes {
			q := p + 1
			for q < pairs && hexASCIITab[r[2*q]] == 1 {
				q++
			}
			lo, hi := (p+1-minWindowBytes)*2, q*2
			buf = slices.Grow(buf[:0], (hi-lo)/2)[:(hi-lo)/2]
			if _, err := hex.Decode(buf, []byte(r[lo:hi])); err == nil && holdsText(buf) {
				out = append(out, buf...)
				out = append(out, windowSep)
			}
			p, run = q, 0
		}
	}
	return finishWindows(out)
}

// hexASCIITab marks the hex digits below 8: a byte starting with one is
// ASCII.
var hexASCIITab = countTable(func(c byte) bool { return c >= '0' && c <= '7' })

// hexMayHoldASCII reports whether the decoding of the hex run r (aligned
// at its start) holds eight ASCII bytes in a row.
func hexMayHoldASCII(r string) bool {
	run := 0
	for p := 0; p+1 < len(r); p += 2 {
		run = (run + 1) * int(hexASCIITab[r[p]])
		if run == minWindowBytes {
			return true
		}
	}
	return false
}

// appendASCII appends to out the stretches of at least minWindowBytes
// ASCII bytes of b, each followed by windowSep.
func appendASCII(out, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] >= 0x80 {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] < 0x80 {
			j++
		}
		if j-i >= minWindowBytes && holdsText(b[i:j]) {
			out = append(out, b[i:j]...)
			out = append(out, windowSep)
		}
		i = j
	}
	return out
}

// holdsText reports whether b holds what a scan of a decoded reading can
// find anything in: a run of printable bytes (NULs in between allowed, as
// in UTF-16) with at least eight that are not NUL. Every rule, token,
// known secret (when exact is not asked for), island and nested encoding
// needs one; a decoding without is binary noise and is not read.
func holdsText[T ~string | ~[]byte](b T) bool {
	run, text := 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		in := int(printTab[c]) | b2i(c == 0)
		run = (run + 1) * in
		text = (text + int(printTab[c])) * in
		if text >= minWindowBytes {
			return true
		}
	}
	return false
}

// finishWindows drops the last separator; a windowed decoding that is a
// single stretch is then byte for byte the whole decoding.
func finishWindows(out []byte) string {
	if len(out) > 0 && out[len(out)-1] == windowSep {
		out = out[:len(out)-1]
	}
	return string(out)
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// halfText reports whether at least half of s is printable ASCII: enough to
// be worth decoding again (a misaligned prefix decodes to a few bytes of
// noise in front of the text).
func halfText(s string) bool {
	return countIn(s, &asciiGraphTab)*2 >= len(s)
}
