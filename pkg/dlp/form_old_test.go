package dlp

// The form and decoding paths as they were before their fast versions:
// the reference the fast versions must agree with exactly
// (TestFormTextMatchesOld, TestDecodedRunsMatchOld, FuzzFormDecodeMatchesOld).

import (
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
)

// oldFormText is formText through FormFields, a string per field.
func oldFormText(body string) string {
	var b strings.Builder
	b.Grow(len(body) + 16)
	FormFields(body, func(name, value string) {
		b.WriteString(name)
		b.WriteByte('\n')
		b.WriteString(value)
		b.WriteByte('\n')
	})
	return b.String()
}

// oldDecodedRuns is decodedRuns without the b64RunMayHoldASCII filter.
func oldDecodedRuns(s string, depth int, exact bool, emit func(view) bool) bool {
	if depth >= maxNest {
		return false
	}
	stop := false
	inner := func(enc, d string) bool {
		if emit(view{enc, d}) || halfText(d) && oldDecodedRuns(d, depth+1, exact, emit) {
			stop = true
			return true
		}
		if !halfText(d) && holdsText(d) {
			if isl := islands(d, minDecodedIsland); isl != "" && oldDecodedRuns(isl, depth+1, exact, emit) {
				stop = true
				return true
			}
		}
		if halfText(d) && escapeReadings(d, func(_, e string) bool {
			return emit(view{enc, e}) || halfText(e) && oldDecodedRuns(e, depth+1, exact, emit)
		}) {
			stop = true
			return true
		}
		return false
	}
	eachB64Run(s, func(b64 string) bool {
		if eachB64Decoding(b64, exact, func(d string) bool { return inner(EncBase64, d) }) {
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
					continue
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
			cut := strings.HasPrefix(s, b64[:min(len(b64), 8)])
			stop = base32Runs(b64, cut, func(d string) bool { return (exact || holdsText(d)) && inner(EncBase32, d) })
		}
		return stop
	})
	return stop
}

// windowedB64 is the reference for windowedB64Fits, as it was: it decodes the base64 run r (aligned at its start, no padding)
// as decodeB64 would, but keeps only the stretches of at least
// minWindowBytes ASCII bytes (below 0x80), joined by windowSep; "" when
// there is none. A decoded byte's top bit is a bit of one character
// (byte 0 of a group: bit 5 of character 0; byte 1: bit 3 of character 1;
// byte 2: bit 1 of character 2), so groups whose three bytes are all ASCII
// are found from the characters without decoding; only the groups around
// two or more such groups in a row (which any eight ASCII bytes in a row
// contain) are decoded. When all of r decodes to ASCII the result is
// exactly the whole decoding.
func windowedB64(r string, enc *base64.Encoding, val *[256]uint8) string {
	groups := len(r) / 4
	var out, buf []byte
	full, start := 0, -1
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
	for g := 0; g < groups; g++ {
		c := r[g*4 : g*4+4]
		ok := b2i(val[c[0]]&0x20 == 0) & b2i(val[c[1]]&0x08 == 0) & b2i(val[c[2]]&0x02 == 0)
		full = (full + 1) * ok
		if full == 2 && start < 0 {
			// Eight ASCII bytes in a row hold two whole groups; the
			// stretch may begin in the group before them.
			start = max(0, g-2)
		}
		if ok == 0 && start >= 0 {
			flush(start, g+1) // and may end in this group
			start = -1
		}
	}
	if start >= 0 {
		flush(start, groups)
	}
	// Otherwise at most one whole group precedes the tail (under four
	// characters): with the bytes around it, fewer than eight.
	return finishWindows(out)
}

// oldFieldValue is fieldValue as it was, its end found by comparisons.
func oldFieldValue(s string) string {
	i := 0
	for i < len(s) && i < fieldGap && (s[i] == ' ' || s[i] == '\t' || s[i] == '"' || s[i] == '\'') {
		i++
	}
	s = s[i:]
	for _, scheme := range []string{"Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "} {
		if strings.HasPrefix(s, scheme) {
			s = s[len(scheme):]
			break
		}
	}
	end := 0
	for end < len(s) && end < 512 {
		c := s[end]
		if c <= ' ' || c == '"' || c == '\'' || c == '&' || c == ';' || c == ',' || c == '}' || c == ']' || c == ')' || c == '<' || c == '>' || c == '`' {
			break
		}
		end++
	}
	return s[:end]
}

// oldLenientUnescape is lenientUnescape as it was, a byte at a time.
func oldLenientUnescape(s string) string {
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

// oldQPDecode is qpDecode as it was, a byte at a time.
func oldQPDecode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' && i+2 < len(s) && isHex[s[i+1]] && isHex[s[i+2]] {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		if c == '=' && i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == '\r') {
			i++
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// oldRepeatedJoined is repeatedJoined as it was, its names told apart
// by a map of the names.
func oldRepeatedJoined(query string) string {
	if strings.IndexByte(query, '&') < 0 {
		return ""
	}
	seen := map[string]bool{}
	repeats := false
	for field := range strings.SplitSeq(query, "&") {
		if field == "" {
			continue
		}
		name, _, _ := strings.Cut(field, "=")
		name = formUnescape(name)
		if seen[name] {
			repeats = true
			break
		}
		seen[name] = true
	}
	if !repeats {
		return ""
	}
	type field struct {
		vals []string
		n    int
	}
	var order []string
	byName := map[string]*field{}
	FormFields(query, func(name, value string) {
		if len(byName) >= 256 {
			return
		}
		f := byName[name]
		if f == nil {
			f = &field{}
			byName[name] = f
			order = append(order, name)
		}
		if f.n++; f.n <= 64 && len(value) <= 256 {
			f.vals = append(f.vals, value)
		}
	})
	var b strings.Builder
	for _, name := range order {
		if f := byName[name]; len(f.vals) >= 2 {
			for _, v := range f.vals {
				b.WriteString(v)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}
