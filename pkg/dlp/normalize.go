package dlp

import (
	"encoding/base32"
	"html"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// Further readings of a text: Unicode folded, quoted-printable decoded,
// delimited hex decoded, and letters spaced out joined back. Each costs one
// linear pass and is emitted only when the text has the shape it undoes.

// Encodings of these readings.
const (
	EncUnicode         = "unicode-folded"
	EncQuotedPrintable = "quoted-printable"
	EncHexDelimited    = "hex-delimited"
	EncDespaced        = "despaced"
	EncBase32          = "base32"
)

// hasNonASCII reports whether s has a byte ≥ 0x80.
func hasNonASCII(s string) bool {
	// Eight bytes at a time: any top bit set in the word.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if load64(s, i)&0x8080808080808080 != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// confusables maps letters that look like ASCII letters (Cyrillic, Greek,
// Latin small capitals and IPA, Cherokee-free subset of Unicode's
// confusables list) to the ASCII letter they imitate; NFKC already folds
// fullwidth forms, mathematical alphanumerics and ligatures.
var confusables = map[rune]rune{
	'а': 'a', 'в': 'B', 'е': 'e', 'к': 'k', 'м': 'M', 'н': 'H', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 'T', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ӏ': 'l', 'ո': 'n', 'ս': 'u',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'У': 'Y', 'Х': 'X', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'Ԁ': 'D', 'Ԛ': 'Q', 'Ԝ': 'W', 'Һ': 'H', 'Ӏ': 'I',
	'α': 'a', 'ο': 'o', 'ν': 'v', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'κ': 'k', 'ι': 'i', 'χ': 'x', 'γ': 'y', 'ϲ': 'c', 'ϳ': 'j',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X', 'Ϲ': 'C',
	'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ɪ': 'I', 'ʏ': 'Y', 'ᴀ': 'A', 'ʙ': 'B', 'ᴄ': 'C', 'ᴅ': 'D', 'ᴇ': 'E', 'ɢ': 'G', 'ʜ': 'H', 'ᴊ': 'J', 'ᴋ': 'K', 'ʟ': 'L', 'ᴍ': 'M', 'ɴ': 'N', 'ᴏ': 'O', 'ᴘ': 'P', 'ʀ': 'R', 'ꜱ': 'S', 'ᴛ': 'T', 'ᴜ': 'U', 'ᴠ': 'V', 'ᴡ': 'W', 'ᴢ': 'Z',
	'‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '―': '-', '−': '-', '⁃': '-', '＿': '_', 'ı': 'i', 'ȷ': 'j', 'ℓ': 'l', '∕': '/', '⁄': '/',
}

// invisible reports runes that render as nothing: format characters
// (zero-width space/joiners, word joiner, BOM, bidi controls, soft hyphen),
// variation selectors and the tag block.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || r >= 0xFE00 && r <= 0xFE0F || r >= 0xE0100 && r <= 0xE01EF || r == 0x034F || r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0
}

// foldUnicode returns s with invisible characters removed, NFKC applied
// (fullwidth, mathematical and compatibility forms to ASCII) and
// confusable letters mapped to the ASCII letters they imitate.
//
// Text that is not valid UTF-8 (a binary upload, decoded gzip) is folded
// a valid stretch at a time: NFKC treats a byte that starts no valid
// sequence as a boundary (nothing composes, decomposes or reorders across
// it), and the rune loop reads it as U+FFFD, so each valid stretch folds
// as it would in place and each such byte becomes U+FFFD; a stretch of
// ASCII folds to itself. NFKC's slow path then runs only where there is
// Unicode text, not over every byte of noise (FuzzFoldUnicodeMatchesOld).
func foldUnicode(s string) string {
	if utf8.ValidString(s) {
		return foldValid(s)
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	start, ascii := 0, true // the valid stretch s[start:i], all ASCII so far
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		// A continuation byte, C0, C1 or F5–FF starts no sequence; any
		// other lead byte is decoded.
		if c >= 0xc2 && c <= 0xf4 {
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size > 1 {
				ascii = false
				i += size
				continue
			}
		}
		foldStretch(&b, s[start:i], ascii)
		b.WriteString("\uFFFD")
		i++
		start, ascii = i, true
	}
	foldStretch(&b, s[start:], ascii)
	return b.String()
}

// foldStretch writes the fold of a valid stretch (itself when ASCII).
func foldStretch(b *strings.Builder, s string, ascii bool) {
	if ascii {
		b.WriteString(s)
		return
	}
	if !norm.NFKC.IsNormalString(s) { // (when it is, NFKC leaves it as it is)
		s = norm.NFKC.String(s)
	}
	appendFolded(b, s)
}

// foldValid is foldUnicode of valid UTF-8.
func foldValid(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	appendFolded(&b, s)
	return b.String()
}

// appendFolded writes s (NFKC already applied) without its invisible
// characters and with confusable letters mapped. ASCII is written as it
// is: no ASCII character is invisible (Cf) or a confusable
// (TestFoldTablesHaveNoASCII).
func appendFolded(b *strings.Builder, s string) {
	from := 0
	for i, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		inv := invisible(r)
		c, ok := confusables[r]
		if !inv && !ok {
			continue
		}
		b.WriteString(s[from:i])
		from = i + utf8.RuneLen(r)
		if !inv {
			b.WriteRune(c)
		}
	}
	b.WriteString(s[from:])
}

// quotedPrintableWindows is quotedPrintable read by escapeWindows: a long
// text with a few escapes reads as the stretches around them.
func quotedPrintableWindows(s string) (string, bool) {
	if !qpEscaped(s) {
		return "", false
	}
	// Every escape starts with '=' (qpEscapeAt is 0 elsewhere): only
	// those bytes are looked at, not every byte through a call.
	d, _ := escapeWindowsLead(s, '=', qpEscapeAt, qpDecode)
	return d, true
}

// qpEscapeAt is the length of a quoted-printable escape (=XX) or soft line
// break (= before a line end) at s[i], or 0.
func qpEscapeAt(s string, i int) int {
	if s[i] != '=' || i+1 >= len(s) {
		return 0
	}
	if i+2 < len(s) && isHex[s[i+1]] && isHex[s[i+2]] {
		return 3
	}
	if s[i+1] == '\n' {
		return 2
	}
	if s[i+1] == '\r' {
		if i+2 < len(s) && s[i+2] == '\n' {
			return 3
		}
		return 2
	}
	return 0
}

// quotedPrintable decodes =XX escapes and soft line breaks; ok is false when
// s has fewer than two escapes.
func quotedPrintable(s string) (string, bool) {
	if !qpEscaped(s) {
		return "", false
	}
	return qpDecode(s), true
}

// qpEscaped reports whether s has two quoted-printable escapes or more:
// =XX, or a soft line break (= at a line end), which alone can cut a
// secret into lines that no other reading joins.
func qpEscaped(s string) bool {
	n := 0
	for i := strings.IndexByte(s, '='); i >= 0; {
		if qpEscapeAt(s, i) > 0 {
			n++
			if n >= 2 {
				return true
			}
		}
		k := strings.IndexByte(s[i+1:], '=')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// qpDecode undoes =XX escapes and soft line breaks.
func qpDecode(s string) string {
	// As lenientUnescape: the stretches between '=' are copied whole.
	i := strings.IndexByte(s, '=')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	from := 0
	for {
		next := i + 1
		switch {
		case i+2 < len(s) && isHex[s[i+1]] && isHex[s[i+2]]:
			b = append(b, s[from:i]...)
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			from, next = i+3, i+3
		case i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == '\r'):
			b = append(b, s[from:i]...)
			next = i + 2
			if s[i+1] == '\r' && i+2 < len(s) && s[i+2] == '\n' {
				next = i + 3
			}
			from = next
		}
		k := strings.IndexByte(s[next:], '=')
		if k < 0 {
			break
		}
		i = next + k
	}
	b = append(b, s[from:]...)
	return unsafe.String(unsafe.SliceData(b), len(b)) //nolint:gosec // G103: b is not written after this
}

// hexPairAt: s[j:j+2] is a hex byte standing alone, where j is i or,
// after a 0x / \x prefix at i, i+2 (a prefixed byte may be followed
// straight by the next prefix: "0x730x6b").
func hexPairAt(s string, i, j int) bool {
	if j+1 >= len(s) || !isHex[s[j]] || !isHex[s[j+1]] {
		return false
	}
	if j == i {
		return (i == 0 || !isHex[s[i-1]]) && (j+2 == len(s) || !isHex[s[j+2]])
	}
	return j+2 == len(s) || !isHex[s[j+2]] || j+3 < len(s) && s[j+2] == '0' && (s[j+3] == 'x' || s[j+3] == 'X')
}

// hexDelimMax bounds a hex delimiter: up to four non-hex bytes other
// than whitespace, and spaces, tabs and at most two line breaks around
// them (a C array's ",\n    ").
const hexDelimMax = 24

// hexDelimEnd returns where the delimiter after a hex byte ending at i
// ends (i when there is none).
func hexDelimEnd(s string, i int) int {
	k, other, nl := i, 0, 0
	for ; k < len(s) && k-i < hexDelimMax; k++ {
		c := s[k]
		if isHex[c] || c == '\\' {
			break
		}
		if c == '\n' {
			if nl++; nl > 2 {
				break
			}
		} else if c != ' ' && c != '\t' && c != '\r' {
			if other++; other > 4 {
				break
			}
		}
	}
	return k
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// delimitedHex decodes runs of two-digit hex bytes separated by short
// delimiters ("73:6b:2d", "73 6b 2d", "\x73\x6b", "0x73, 0x6b", "0x730x6b",
// "73 ;; 6b", one byte a line, "0x73,\n    0x6b" as xxd -i writes;
// "%73%6b" is percent-encoding and handled there). Runs of at least
// minKnownLen bytes are joined with a newline between runs.
func delimitedHex(s string) (string, bool) {
	var out []byte
	var cur []byte
	flush := func() {
		if len(cur) >= minKnownLen {
			out = append(out, cur...)
			out = append(out, '\n')
		}
		cur = cur[:0]
	}
	i := 0
	for i < len(s) {
		if len(cur) == 0 && i > 0 && i+2 < len(s) {
			// Cheap test first, in a tight loop without a branch per
			// byte: a pair of hex digits standing alone (s[i-1] not hex,
			// s[i] and s[i+1] hex, s[i+2] not), or a 0x / \x prefix.
			// The classes of the four bytes in view slide along, one
			// table load per byte.
			a, b, c := hexClass[s[i-1]], hexClass[s[i]], hexClass[s[i+1]]
			for {
				d := hexClass[s[i+2]]
				if (b&c&((a&d)>>1)|(b>>2)&(c>>3))&1 != 0 {
					break
				}
				if i++; i+2 >= len(s) {
					break
				}
				a, b, c = b, c, d
			}
		}
		// Skip an optional 0x / \x prefix.
		j := i
		if j+1 < len(s) && (s[j] == '0' || s[j] == '\\') && (s[j+1] == 'x' || s[j+1] == 'X') {
			j += 2
		}
		if hexPairAt(s, i, j) {
			cur = append(cur, unhex(s[j])<<4|unhex(s[j+1]))
			i = j + 2
			// A delimiter (or none before a \x or 0x).
			k := i
			if i+1 < len(s) && !isHex[s[i]] && s[i] != '\\' && (isHex[s[i+1]] || s[i+1] == '\\') {
				k = i + 1 // a one-byte delimiter, the common case
			} else {
				k = hexDelimEnd(s, i)
			}
			if k == i && !(k+1 < len(s) && (s[k] == '\\' || s[k] == '0') && (s[k+1] == 'x' || s[k+1] == 'X')) {
				flush()
				continue
			}
			i = k
			continue
		}
		flush()
		i++
	}
	flush()
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

// despaceSepTab: what may space a text's characters out — any printable
// ASCII byte, a filler letter or digit included ("Cxaxnxaxrxyx…").
var despaceSepTab = countTable(func(c byte) bool { return c >= 0x20 && c < 0x7f })

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// despace joins characters spaced out by a single separator ("s k - a n t",
// "A.K.I.A…", "t_o_k_e_n", a filler letter "sxkx-xaxnxtx"): runs of at
// least 16 single characters each followed by the same separator are
// emitted without it.
func despace(s string) (string, bool) {
	var out []byte
	for i := 0; i+3 < len(s); {
		sep := s[i+1]
		// Cheap test first, without a branch: s[i+1] and s[i+3] are the
		// same separator.
		if despaceSepTab[sep]&b2u8(sep == s[i+3]) == 0 || s[i] == sep || s[i] == ' ' || s[i+2] == sep || s[i+2] == ' ' {
			i++
			continue
		}
		// Count first, copy only runs long enough.
		j, n := i, 0
		for j+1 < len(s) && s[j+1] == sep && s[j] != sep && s[j] != ' ' {
			n++
			j += 2
		}
		last := j < len(s) && s[j] != sep && s[j] != ' '
		if last {
			n++
		}
		if n >= 16 {
			for k := i; k < j; k += 2 {
				out = append(out, s[k])
			}
			if last {
				out = append(out, s[j])
			}
			out = append(out, '\n')
		}
		i = j + 1
	}
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

// base32Runs decodes runs of the base32 alphabet (either case, unpadded)
// of at least 24 characters that mix letters and digits 2–7 (a DNS label
// carrying data).
//
// cut: s may start inside a longer run (a segment of a large body, a
// stretch of a text): the run it starts with is decoded at every
// alignment, not only from its first character (a run is read from its
// start; base64 and hex runs are read at all their alignments anyway).
func base32Runs(s string, cut bool, emit func(string) bool) bool {
	stop := false
	// Encoders write base32 in one case; a run of one case and 2–7 is
	// rare inside base64 or prose, so this pass stays cheap there.
	for _, set := range []*byteSet{isB32Upper, isB32Lower} {
		eachLongRun(s, set, 24, func(start, end int) bool {
			run := s[start:end]
			digits := 0
			for i := 0; i < len(run); i++ {
				if run[i] >= '2' && run[i] <= '7' {
					digits++
				}
			}
			if digits == 0 || digits == len(run) {
				return false
			}
			offs := 1
			if cut && start == 0 {
				offs = 8
			}
			for off := range offs {
				up := strings.ToUpper(run[off:])
				up = up[:len(up)/8*8+b32Keep(len(up)%8)]
				d, err := b32.DecodeString(up)
				if err != nil || len(d) < minKnownLen {
					continue
				}
				if emit(string(d)) {
					stop = true
					return true
				}
			}
			return false
		})
		if stop {
			return true
		}
	}
	return false
}

// b32Keep is how many trailing characters of a partial base32 block decode
// without padding.
func b32Keep(r int) int {
	switch r {
	case 2, 4, 5, 7:
		return r
	case 3:
		return 2
	case 6:
		return 5
	}
	return 0
}

// hexClass is the class of a byte for delimitedHex's cheap test: bit 0
// a hex digit, bit 1 not one, bit 2 a prefix start (0 or \\), bit 3 x or X.
var hexClass = func() (t [256]uint8) {
	for c := range 256 {
		t[c] = b2u8(isHex[c]) | b2u8(!isHex[c])<<1 | b2u8(c == '0' || c == '\\')<<2 | b2u8(c == 'x' || c == 'X')<<3
	}
	return t
}()

var (
	isB32Upper = makeSet(func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '2' && c <= '7' })
	isB32Lower = makeSet(func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '2' && c <= '7' })
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncEscaped is the reading of a text with its backslash escapes undone
// (\uXXXX, \u{X…}, \xXX, octal \NNN, \n and the like): JSON and
// JavaScript strings written outside a body read as JSON, or inside one
// whose quotes are out of step with its escapes.
const EncEscaped = "backslash-escaped"

// backslashEscapeAt is the length of a backslash escape at s[i] that
// backslashUnescape undoes, or 0.
func backslashEscapeAt(s string, i int) int {
	if s[i] != '\\' || i+1 >= len(s) {
		return 0
	}
	switch c := s[i+1]; {
	case c == 'u':
		if i+6 <= len(s) && isHex[s[i+2]] && isHex[s[i+3]] && isHex[s[i+4]] && isHex[s[i+5]] {
			return 6
		}
		if i+2 < len(s) && s[i+2] == '{' {
			j := i + 3
			for j < len(s) && j-i < 10 && isHex[s[j]] {
				j++
			}
			if j > i+3 && j < len(s) && s[j] == '}' {
				return j + 1 - i
			}
		}
	case c == 'U':
		// Python's and C's \U00000041: eight hex digits.
		if i+10 <= len(s) && hexRun(s[i+2:i+10]) {
			return 10
		}
	case c == 'x' || c == 'X':
		if i+4 <= len(s) && isHex[s[i+2]] && isHex[s[i+3]] {
			return 4
		}
		if c == 'x' && i+2 < len(s) && s[i+2] == '{' {
			// Perl's \x{41}, as \u{41}.
			j := i + 3
			for j < len(s) && j-i < 10 && isHex[s[j]] {
				j++
			}
			if j > i+3 && j < len(s) && s[j] == '}' {
				return j + 1 - i
			}
		}
	case c >= '0' && c <= '3':
		if i+4 <= len(s) && s[i+2] >= '0' && s[i+2] <= '7' && s[i+3] >= '0' && s[i+3] <= '7' {
			return 4
		}
	}
	return 0
}

// backslashUnescape undoes the escapes backslashEscapeAt finds (code
// points written as UTF-8) and leaves everything else as it is.
func backslashUnescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		n := 0
		if s[i] == '\\' {
			n = backslashEscapeAt(s, i)
		}
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		e := s[i : i+n]
		var r rune
		switch {
		case (e[1] == 'u' || e[1] == 'x') && e[2] == '{':
			for _, c := range []byte(e[3 : n-1]) {
				r = r<<4 | rune(unhex(c))
			}
		case e[1] == 'U':
			for _, c := range []byte(e[2:10]) {
				r = r<<4 | rune(unhex(c))
			}
			if r < 0 {
				r = utf8.RuneError
			}
		case e[1] == 'u':
			r, _ = hex4(e[2:6])
			if utf16.IsSurrogate(r) && i+12 <= len(s) && backslashEscapeAt(s, i+6) == 6 && s[i+7] == 'u' {
				if r2, ok := hex4(s[i+8 : i+12]); ok {
					r = utf16.DecodeRune(r, r2)
					n = 12
				}
			}
		case e[1] == 'x' || e[1] == 'X':
			b.WriteByte(unhex(e[2])<<4 | unhex(e[3]))
			i += n
			continue
		default: // octal
			b.WriteByte((e[1]-'0')<<6 | (e[2]-'0')<<3 | (e[3] - '0'))
			i += n
			continue
		}
		if r > unicode.MaxRune {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// hasBackslashEscape reports whether s holds an escape backslashUnescape
// undoes.
func hasBackslashEscape(s string) bool {
	for i := strings.IndexByte(s, '\\'); i >= 0 && i < len(s); {
		if backslashEscapeAt(s, i) > 0 {
			return true
		}
		k := strings.IndexByte(s[i+1:], '\\')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// EncHTMLEntity is the reading of a text with its HTML character
// references undone (&#103; &#x67; &amp; and the other named ones).
const EncHTMLEntity = "html-entity"

// htmlEntityAt is the length of an HTML character reference at s[i]:
// decimal (&#103;) or hexadecimal (&#x67;), the semicolon optional as
// browsers have it, or named (&amp;); 0 if there is none.
func htmlEntityAt(s string, i int) int {
	if s[i] != '&' || i+3 >= len(s) {
		return 0
	}
	j := i + 1
	if s[j] == '#' {
		j++
		digits, maxDigits := isDigit, 7
		if s[j] == 'x' || s[j] == 'X' {
			j++
			digits = func(c byte) bool { return isHex[c] }
			maxDigits = 6
		}
		k := j
		for k < len(s) && k-j < maxDigits && digits(s[k]) {
			k++
		}
		if k == j {
			return 0
		}
		if k < len(s) && s[k] == ';' {
			k++
		}
		return k - i
	}
	k := j
	for k < len(s) && k-j < 32 && isAlnum(s[k]) {
		k++
	}
	if k-j < 2 || k >= len(s) || s[k] != ';' || isDigit(s[j]) {
		return 0
	}
	return k + 1 - i
}

// hasHTMLEntity reports whether s holds a character reference
// htmlEntityAt finds: one byte search for '&' and a look at each.
func hasHTMLEntity(s string) bool {
	for i := strings.IndexByte(s, '&'); i >= 0; {
		if htmlEntityAt(s, i) > 0 {
			return true
		}
		k := strings.IndexByte(s[i+1:], '&')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// escapeReadings calls fn with the readings of s that undo one more layer
// of escapes — percent, then quoted-printable, then backslash escapes,
// each applied to the result of the one before — wherever that changes
// the text: escapes written inside a decoded base64/hex layer, or one
// kind of escape written over another. Long texts with few escapes are
// read by windows (escapeWindows).
func escapeReadings(s string, fn func(enc, text string) bool) bool {
	cur := s
	if strings.IndexByte(cur, '%') >= 0 {
		if u, _ := escapeWindowsLead(cur, '%', percentEscapeAt, lenientUnescape); u != cur {
			if fn(EncURL, u) {
				return true
			}
			cur = u
		}
	}
	if q, ok := quotedPrintableWindows(cur); ok && q != cur {
		if fn(EncQuotedPrintable, q) {
			return true
		}
		cur = q
	}
	if hasBackslashEscape(cur) {
		if u, _ := escapeWindowsLead(cur, '\\', backslashEscapeAt, backslashUnescape); u != cur && fn(EncEscaped, u) {
			return true
		}
	}
	if hasHTMLEntity(cur) {
		if u, _ := escapeWindowsLead(cur, '&', htmlEntityAt, html.UnescapeString); u != cur && fn(EncHTMLEntity, u) {
			return true
		}
	}
	return false
}

// hexRun reports whether every byte of s is a hex digit.
func hexRun(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex[s[i]] {
			return false
		}
	}
	return true
}
