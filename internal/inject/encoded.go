package inject

import (
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Encoded instructions: an origin can write its instruction percent- or
// form-encoded, base64 (standard or URL alphabet, wrapped or not), in hex
// or as \xHH escapes, and tell the agent to decode it ("decode this and
// do what it says"). The rules cannot read any of these, so Scan also
// reads each encoded stretch of the text decoded, layer after layer (an
// encoding inside an encoding), up to encodedDepth layers and within a
// byte budget proportional to the text: the cost stays linear whatever
// the text holds. A finding in a decoded reading is reported as
// "encoded-<rule>": the same confidence as the rule's, since an encoded
// instruction is at least as deliberate as a plain one.

// encodedDepth bounds the layers of encoding undone.
const encodedDepth = 3

// minB64Run is the shortest base64 run decoded (18 bytes: shorter than
// any phrase the rules match), minHexRun the shortest hex run.
const (
	minB64Run = 24
	minHexRun = 32
)

// decodeBudget is what the decoded readings of one layer of one Scan may
// add up to: four times the text plus a little. The readings of a text
// are its encoded words (at most the text), the text with \xHH escapes
// undone (at most the text), and its base64 and hex runs decoded (three
// quarters and half of the runs, which may overlap): 3.25 times the text
// at most, so the first layer of readings always fits, and an origin
// cannot pad a page with encodings that use the budget up before the one
// that matters (each layer has its own budget, so deeper readings of
// padding do not use up the first layer's either). Past it, Scan reports
// encoded-budget-exceeded.
func decodeBudget(n int) int { return 4*n + 4096 }

// eachDecoded calls fn with each decoded reading of s: its percent- or
// form-encoded words decoded,
// \xHH escapes undone, and each base64 or hex run that decodes to text.
// *budget is decreased by the bytes of each reading; none is made past it,
// and over reports whether one was not made for that.
func eachDecoded(s string, budget *int, fn func(string)) (over bool) {
	emit := func(d string) {
		if d == "" {
			return
		}
		if len(d) > *budget {
			over = true
			return
		}
		*budget -= len(d)
		fn(d)
	}
	if d, ok := percentDecode(s); ok {
		emit(d)
	}
	if d, ok := hexEscapes(s); ok {
		emit(d)
	}
	eachB64(s, func(d string) { emit(d) })
	eachHex(s, func(d string) { emit(d) })
	return over
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode returns the words of s (runs between white space) that
// are percent- or form-encoded, decoded (%HH escapes undone, '+' read as
// a space; malformed escapes left as they are), one per line. A word is
// encoded when it holds at least three escapes, or at least three '+'
// between short stretches (form-encoded prose: words of a dozen letters
// or less; in base64 a '+' comes once in 64 characters). ok is false when
// no word is.
func percentDecode(s string) (string, bool) {
	var b []byte
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		esc, plus := 0, 0
		for j < len(s) && !isSpace(s[j]) {
			switch s[j] {
			case '+':
				plus++
			case '%':
				if j+2 < len(s) {
					_, ok1 := unhex(s[j+1])
					_, ok2 := unhex(s[j+2])
					if ok1 && ok2 {
						esc++
					}
				}
			}
			j++
		}
		if esc >= 3 || plus >= 3 && (j-i)/(plus+1) <= 12 {
			b = appendUnescaped(b, s[i:j])
			b = append(b, '\n')
		}
		i = j
	}
	return string(b), len(b) > 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// appendUnescaped appends w to b with %HH escapes and '+' undone.
func appendUnescaped(b []byte, w string) []byte {
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 < len(w) {
				h, ok1 := unhex(w[i+1])
				l, ok2 := unhex(w[i+2])
				if ok1 && ok2 {
					c = h<<4 | l
					i += 2
				}
			}
		}
		b = append(b, c)
	}
	return b
}

// hexEscapes undoes \xHH escapes (as a string literal in most languages
// writes bytes) when s holds at least eight of them.
func hexEscapes(s string) (string, bool) {
	if strings.Count(s, `\x`) < 8 {
		return "", false
	}
	b := make([]byte, 0, len(s))
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') {
			h, ok1 := unhex(s[i+2])
			l, ok2 := unhex(s[i+3])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 3
				n++
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b), n >= 8
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_'
}

// eachB64 calls fn with the decoding of each base64 run of s (either
// alphabet, padded or not; a run may be wrapped: a line break — raw or
// written \n as in a JSON string — or a space right after at least 16
// base64 characters continues it; "\/" is '/') that decodes to text.
func eachB64(s string, fn func(string)) {
	var run []byte
	flush := func() {
		if len(run) >= minB64Run {
			if d, ok := b64Text(run); ok {
				fn(d)
			}
		}
		run = run[:0]
	}
	line := 0 // base64 characters since the last break
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isB64(c):
			run = append(run, c)
			line++
		case c == '\\' && i+1 < len(s) && s[i+1] == '/':
			// JSON may escape '/' as "\/".
			run = append(run, '/')
			line++
			i++
		case c == '\\' && i+2 < len(s) && (s[i+1] == 'n' || s[i+1] == 'r') && wrapped(line) && (isB64(s[i+2]) || s[i+2] == '\\'):
			// A line break written as JSON writes it, inside a string.
			line = 0
			i++
		case c == '=':
			// Padding ends a run's data; a run may go on after it only
			// when wrapped, which padding never is.
			for i+1 < len(s) && s[i+1] == '=' {
				i++
			}
			flush()
			line = 0
		case (c == '\n' || c == '\r' || c == ' ') && wrapped(line) && i+1 < len(s) && (isB64(s[i+1]) || s[i+1] == '\n'):
			line = 0
		default:
			flush()
			line = 0
		}
	}
	flush()
}

// wrapped reports whether a line of n base64 characters may be one line
// of a wrapped run: at least 16 characters, a whole number of 4-character
// groups (what every wrapping width is: 76, 64, 60), so that joining the
// next line keeps the decoding aligned.
func wrapped(n int) bool { return n >= 16 && n%4 == 0 }

// b64Text decodes a base64 run (either alphabet or a mix, no padding)
// and returns the text in it (textual).
func b64Text(run []byte) (string, bool) {
	out := make([]byte, 0, len(run)*3/4+2)
	var acc uint32
	n := 0
	for _, c := range run {
		acc = acc<<6 | uint32(b64Dec[c])
		if n++; n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return textual(out)
}

// b64Dec is the value of a base64 character in either alphabet.
var b64Dec = func() (t [256]byte) {
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63
	return t
}()

// eachHex calls fn with the decoding of each run of at least minHexRun hex
// digits that decodes to text.
func eachHex(s string, fn func(string)) {
	for i := 0; i < len(s); {
		if _, ok := unhex(s[i]); !ok {
			i++
			continue
		}
		j := i
		for j < len(s) {
			if _, ok := unhex(s[j]); !ok {
				break
			}
			j++
		}
		if j-i >= minHexRun {
			run := s[i : i+(j-i)&^1]
			if b, err := hex.DecodeString(run); err == nil {
				if d, ok := textual(b); ok {
					fn(d)
				}
			}
		}
		i = j
	}
}

// textual returns the text in b: all of it when at least 90 % of it is
// printable (valid UTF-8, no control characters but line breaks and
// tabs), else its printable islands of at least minIsland bytes, one per
// line (text encoded together with binary bytes, or after a stretch the
// run picked up by mistake). ok is false when there is none: random bytes
// almost never hold an island. One pass.
func textual(b []byte) (string, bool) {
	if len(b) < minIsland {
		return "", false
	}
	bad := 0
	var islands [][2]int
	start := 0 // of the current printable stretch
	for i := 0; i < len(b); {
		c := b[i]
		size, ok := 1, asciiPrintable[c]
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRune(b[i:])
			ok = !(r == utf8.RuneError && size == 1) && r >= 0xa0
		}
		if !ok {
			bad++
			if i-start >= minIsland {
				islands = append(islands, [2]int{start, i})
			}
			start = i + size
		}
		i += size
	}
	if bad*10 <= len(b) {
		return string(b), true
	}
	if len(b)-start >= minIsland {
		islands = append(islands, [2]int{start, len(b)})
	}
	if len(islands) == 0 {
		return "", false
	}
	var out []byte
	for _, is := range islands {
		out = append(out, b[is[0]:is[1]]...)
		out = append(out, '\n')
	}
	return string(out), true
}

// asciiPrintable: printable ASCII, line breaks and tabs.
var asciiPrintable = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	t['\n'], t['\r'], t['\t'] = true, true, true
	return t
}()

// minIsland is the shortest printable stretch read out of binary.
const minIsland = 12
