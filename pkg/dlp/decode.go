package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode/utf8"
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
func views(s string, emit func(view) bool) bool {
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
	readings := []view{{EncRaw, s}}
	cur := s
	for range maxURLDecode {
		// '+' stays '+': as a space it would cut base64 apart; form
		// bodies and queries are also read field by field.
		if !strings.Contains(cur, "%") {
			break
		}
		next := lenientUnescape(cur)
		if next == cur {
			break
		}
		readings = append(readings, view{EncURL, next})
		cur = next
	}
	// NFKC over binary (an upload, decoded gzip) is wasted work: fold text.
	if hasNonASCII(cur) && (len(cur) < 64<<10 || utf8.ValidString(cur)) {
		if f := foldUnicode(cur); f != cur {
			readings = append(readings, view{EncUnicode, f})
			cur = f
		}
	}
	if q, ok := quotedPrintable(cur); ok && q != cur {
		readings = append(readings, view{EncQuotedPrintable, q})
	}
	if h, ok := delimitedHex(cur); ok {
		readings = append(readings, view{EncHexDelimited, h})
	}
	if d, ok := despace(cur); ok {
		readings = append(readings, view{EncDespaced, d})
	}
	for _, v := range readings {
		if out(v) || decodedRuns(v.text, 0, out) {
			return !over
		}
	}
	return !over
}

// lenientUnescape undoes every valid %XX and leaves invalid ones as they
// are (a single stray % must not stop the decoding of the rest).
func lenientUnescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex[s[i+1]] && isHex[s[i+2]] {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func decodedRuns(s string, depth int, emit func(view) bool) bool {
	if depth >= maxNest {
		return false
	}
	stop := false
	inner := func(enc, d string) bool {
		// Only text can hold another encoding layer; binary noise from
		// decoding an ordinary identifier is checked once, not recursed.
		if emit(view{enc, d}) || halfText(d) && decodedRuns(d, depth+1, emit) {
			stop = true
			return true
		}
		return false
	}
	eachB64Run(s, func(run string) bool {
		for _, d := range decodeB64(run) {
			if inner(EncBase64, d) {
				return true
			}
		}
		return false
	})
	if stop {
		return true
	}
	eachRun(s, isHex, minHexRun, func(run string) bool {
		for off := 0; off < 2 && off < len(run); off++ {
			r := run[off:]
			r = r[:len(r)/2*2]
			b, err := hex.DecodeString(r)
			if err != nil || len(b) < minKnownLen {
				continue
			}
			if inner(EncHex, string(b)) {
				return true
			}
		}
		return false
	})
	if stop {
		return true
	}
	return base32Runs(s, func(d string) bool { return inner(EncBase32, d) })
}

// eachB64Run calls fn with every base64 run of at least minB64Run bytes;
// the lines of a wrapped encoding (MIME and PEM wrap at 64 or 76) are
// joined into one run first: a line ending in a run of 40+ base64
// characters starts a join, whole base64 lines continue it, and a shorter
// whole line (the tail) ends it.
func eachB64Run(s string, fn func(string) bool) {
	if !strings.Contains(s, "\n") {
		eachRun(s, isB64, minB64Run, fn)
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
		shortWrapped(s, fn)
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

// eachRun calls fn with every maximal run of bytes in set, at least min long.
// The scan is branch-free per byte (a run counter reset by a multiply), so
// its cost does not depend on how the bytes look: random binary, where a
// branch per byte mispredicts half the time, goes as fast as text.
func eachRun(s string, set *byteSet, min int, fn func(string) bool) {
	eachRunAt(s, set, min, func(start, end int) bool { return fn(s[start:end]) })
}

// eachRunAt is eachRun giving the run's bounds in s.
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
	run = strings.TrimRight(run, "=")
	if strings.Contains(run, "=") { // '=' inside: several runs glued together
		var out []string
		for _, part := range strings.Split(run, "=") {
			if len(part) >= minB64Run {
				out = append(out, decodeB64(part)...)
			}
		}
		return out
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(run, "-_") {
		if strings.ContainsAny(run, "+/") {
			// Mixed alphabets: not base64, unless the odd ones are
			// delimiters around it (UTF-7 writes +base64-).
			if t := strings.Trim(run, "+-"); t != run && len(t) >= minB64Run {
				return decodeB64(t)
			}
			return nil
		}
		enc = base64.RawURLEncoding
	}
	var out []string
	for off := 0; off < 4 && off < len(run); off++ {
		r := run[off:]
		if len(r)%4 == 1 {
			r = r[:len(r)-1]
		}
		b, err := enc.DecodeString(r)
		if err != nil || len(b) < minKnownLen {
			continue
		}
		out = append(out, string(b))
	}
	return out
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
