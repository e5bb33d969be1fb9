package pipelock

import (
	"bytes"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// A response is scanned for injection as its reader will read it: a view
// turns a window of the decoded body (starting off bytes into it) into
// the text to scan. Text in a charset that is not UTF-8 is decoded from
// it (UTF-16 and UTF-32 by their byte order mark or label, aligned to
// their code unit; any other charset by its IANA name), and a body not
// labelled as text is read for the text in it (runs of printable
// characters, one or two bytes each) — an agent's tools show any body as
// text.
type textView func(window []byte, off int64) string

func rawView(w []byte, _ int64) string { return string(w) }

// media reports whether a response of this Content-Type is media an
// agent's tools decode as such (an image, a sound, a video, a font)
// rather than show as text.
func media(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	for _, p := range []string{"image/", "audio/", "video/", "font/"} {
		if strings.HasPrefix(mt, p) && mt != "image/svg+xml" {
			return true
		}
	}
	return false
}

// responseView picks the view of a response from its Content-Type and
// the first bytes of its decoded body.
func responseView(ct string, head []byte, isText bool) textView {
	v := pickView(ct, head, isText)
	if v.unit {
		// Also the bytes as they are: a reader that drops zero bytes (a
		// terminal) reads ASCII in UTF-16 at either alignment.
		return bothOrders(v.view, rawView)
	}
	return v.view
}

type picked struct {
	view textView
	unit bool // UTF-16 or UTF-32
}

func pickView(ct string, head []byte, isText bool) picked {
	if bom := unitBOM(head); bom != nil {
		return picked{bom, true}
	}
	if !isText {
		return picked{view: downloadView}
	}
	_, params, _ := mime.ParseMediaType(ct)
	cs := strings.ToLower(strings.TrimSpace(params["charset"]))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return picked{view: rawView}
	case "utf-16le", "utf-16be", "utf-16", "ucs-2", "iso-10646-ucs-2", "unicode":
		return unitPick(2, cs)
	case "utf-32le", "utf-32be", "utf-32", "ucs-4", "iso-10646-ucs-4":
		return unitPick(4, cs)
	}
	if cs == "utf-7" || cs == "unicode-1-1-utf-7" || cs == "csunicode11utf7" {
		// No decoder in x/text, but readers (Python's codecs) have one.
		return picked{view: func(w []byte, _ int64) string { return utf7(w) + "\n" + string(w) }}
	}
	enc, err := ianaindex.IANA.Encoding(cs)
	if err != nil || enc == nil {
		enc, err = ianaindex.MIME.Encoding(cs)
	}
	if err != nil || enc == nil || enc == encoding.Nop {
		// A charset no decoder is known for: its bytes as they are, and
		// the text in them.
		return picked{view: bothOrders(rawView, stringsView)}
	}
	return picked{view: func(w []byte, _ int64) string {
		out, err := enc.NewDecoder().Bytes(w)
		if err != nil {
			return string(w) + "\n" + stringsView(w, 0)
		}
		return string(out)
	}}
}

// bothOrders reads a window through two views.
func bothOrders(a, b textView) textView {
	return func(w []byte, off int64) string { return a(w, off) + "\n" + b(w, off) }
}

// unitBOM is the view a byte order mark at the start of the body calls
// for, or nil.
func unitBOM(head []byte) textView {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE, 0, 0}):
		return unitView(4, false)
	case bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}):
		return unitView(4, true)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return unitView(2, false)
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return unitView(2, true)
	}
	return nil
}

// unitView decodes UTF-16 (size 2) or UTF-32 (size 4) in the given byte
// order, from the first code unit boundary of the window.
func unitView(size int, big bool) textView {
	return func(w []byte, off int64) string {
		if r := int(off % int64(size)); r != 0 {
			w = w[min(len(w), size-r):]
		}
		var b strings.Builder
		b.Grow(len(w) / size)
		if size == 4 {
			for i := 0; i+4 <= len(w); i += 4 {
				var r rune
				if big {
					r = rune(w[i])<<24 | rune(w[i+1])<<16 | rune(w[i+2])<<8 | rune(w[i+3])
				} else {
					r = rune(w[i+3])<<24 | rune(w[i+2])<<16 | rune(w[i+1])<<8 | rune(w[i])
				}
				b.WriteRune(r) // invalid runes are written as U+FFFD
			}
			return b.String()
		}
		units := make([]uint16, 0, len(w)/2)
		for i := 0; i+2 <= len(w); i += 2 {
			if big {
				units = append(units, uint16(w[i])<<8|uint16(w[i+1]))
			} else {
				units = append(units, uint16(w[i+1])<<8|uint16(w[i]))
			}
		}
		for _, r := range utf16.Decode(units) {
			b.WriteRune(r)
		}
		return b.String()
	}
}

// minRun is the shortest run of printable characters stringsView keeps.
const minRun = 6

// asciiText marks the ASCII bytes printable reads as text.
var asciiText = func() (t [256]bool) {
	for c := range 0x80 {
		t[c] = printable(rune(c))
	}
	return t
}()

// stringsView is the text in a body not labelled as text: the runs of at
// least minRun printable characters, as UTF-8 and as UTF-16 in either
// byte order (ASCII with a zero byte beside each), one run a line.
func stringsView(w []byte, _ int64) string {
	var b strings.Builder
	// UTF-8: printable ASCII, or a valid sequence of a printable rune.
	start, n := -1, 0
	for i := 0; i < len(w); {
		c, size, ok := w[i], 1, false
		switch {
		case c < utf8.RuneSelf:
			ok = asciiText[c]
		case c >= 0xC2 && c <= 0xF4: // a lead byte: only these start a valid sequence
			var r rune
			r, size = utf8.DecodeRune(w[i:])
			ok = size > 1 && printable(r)
		}
		if ok {
			if start < 0 {
				start, n = i, 0
			}
			n++
		} else {
			if start >= 0 && n >= minRun {
				b.Write(w[start:i])
				b.WriteByte('\n')
			}
			start = -1
		}
		i += size
	}
	if start >= 0 && n >= minRun {
		b.Write(w[start:])
		b.WriteByte('\n')
	}
	// UTF-16: a printable byte with a zero byte after it (little endian)
	// or before it (big endian), at either alignment. Every such pair
	// holds a zero byte, so the pass jumps from zero byte to zero byte.
	for _, big := range []bool{false, true} {
		for align := 0; align < 2; align++ {
			pair := func(i int) bool { // the pair at i is a character
				if i < 0 || i+2 > len(w) {
					return false
				}
				c, z := w[i], w[i+1]
				if big {
					c, z = z, c
				}
				return z == 0 && asciiText[c]
			}
			for j := 0; j < len(w); {
				k := bytes.IndexByte(w[j:], 0)
				if k < 0 {
					break
				}
				z := j + k
				i := z - 1 // the pair this zero ends (little endian) …
				if big {
					i = z // … or starts (big endian)
				}
				if i < 0 || (i-align)%2 != 0 || !pair(i) {
					j = z + 1
					continue
				}
				end := i
				for pair(end) {
					end += 2
				}
				if (end-i)/2 >= minRun {
					for p := i; p < end; p += 2 {
						if big {
							b.WriteByte(w[p+1])
						} else {
							b.WriteByte(w[p])
						}
					}
					b.WriteByte('\n')
				}
				j = max(z+1, end)
			}
		}
	}
	return b.String()
}

// downloadView is the text in a body not labelled as text: stringsView
// of its bytes, and of what its compressed streams inflate to (a zip's
// deflated members, a gzip or zlib stream): an archive's README is read
// as the agent that unpacks it will read it. A stream that starts in a
// window is inflated as far as the window holds it.
func downloadView(w []byte, off int64) string {
	v := stringsView(w, off)
	if t := dlp.InflatedText(w); t != "" {
		v += "\n" + stringsView([]byte(t), 0)
	}
	return v
}

// printable: a character a reader shows (letters, marks, digits,
// punctuation, symbols, spaces and tabs; line ends too).
func printable(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0x20 && r < 0x7f || r == '\t' || r == '\n' || r == '\r'
	}
	return r != utf8.RuneError && r >= 0xa0
}

// headerText is a response's headers (or trailers) as a reader sees them:
// "Name: value" lines, in name order.
func headerText(h http.Header) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// utf7 decodes UTF-7 (RFC 2152): "+" starts modified base64 of UTF-16BE,
// ended by "-" (dropped) or any byte outside the base64 alphabet; "+-" is
// "+". A window cut inside a run is read from the cut on as it is.
func utf7(w []byte) string {
	var b strings.Builder
	b.Grow(len(w))
	for i := 0; i < len(w); i++ {
		if w[i] != '+' {
			b.WriteByte(w[i])
			continue
		}
		j := i + 1
		if j < len(w) && w[j] == '-' {
			b.WriteByte('+')
			i = j
			continue
		}
		var bits uint32
		nbits := 0
		var units []uint16
		for ; j < len(w); j++ {
			v := b64Value(w[j])
			if v < 0 {
				break
			}
			bits = bits<<6 | uint32(v)
			nbits += 6
			if nbits >= 16 {
				nbits -= 16
				units = append(units, uint16(bits>>nbits))
				bits &= 1<<nbits - 1
			}
		}
		for _, r := range utf16.Decode(units) {
			b.WriteRune(r)
		}
		if j < len(w) && w[j] == '-' {
			j++
		}
		i = j - 1
	}
	return b.String()
}

func b64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// unitPick is the view of a charset of n-byte code units: the byte order
// its name says, or both when it says none.
func unitPick(n int, cs string) picked {
	switch {
	case strings.HasSuffix(cs, "le"):
		return picked{unitView(n, false), true}
	case strings.HasSuffix(cs, "be"):
		return picked{unitView(n, true), true}
	}
	return picked{bothOrders(unitView(n, true), unitView(n, false)), true}
}
