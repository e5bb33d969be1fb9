package dlp

import (
	"encoding/ascii85"
	"strings"
)

// Encodings with a marker: ascii85 between <~ and ~> (Adobe's, as
// Python's a85encode(adobe=True) and btoa write it) and uuencode's
// "begin <mode> <name>" block. Their alphabets are nearly every printable
// byte, so they cannot be looked for as runs the way base64 is (that
// would be a decoding of every text); their markers are found by two
// substring searches a reading, and only what follows one is decoded.
// Without its marker (a85encode's default) an ascii85 text is read for
// the known secrets only (their ascii85 forms, secretfp.Forms).

const (
	EncAscii85  = "ascii85"
	EncUuencode = "uuencode"
)

// maxMarked bounds the marked blocks one reading has decoded; a decoded
// block is shorter than its text (4/5, 3/4), so together they stay under
// the text's size.
const maxMarked = 64

// markedReadings calls read with the decoding of every marked block of s
// (up to maxMarked); true stops the walk.
func markedReadings(s string, read func(view) bool) bool {
	n := 0
	for off := 0; n < maxMarked; n++ {
		i := indexFrom(s, "<~", off)
		if i < 0 {
			break
		}
		body := s[i+2:]
		if j := strings.Index(body, "~>"); j >= 0 {
			body = body[:j]
		}
		off = i + 2 + len(body)
		if d := ascii85Lenient(body); len(d) >= minKnownLen && read(view{EncAscii85, d}) {
			return true
		}
		// Inside a JSON string (and the JSON reading, which writes
		// values quoted) '\' and '"' of the alphabet are escaped.
		if strings.Contains(body, `\`) {
			if d := ascii85Lenient(jsonQuoteUnescape.Replace(body)); len(d) >= minKnownLen && read(view{EncAscii85, d}) {
				return true
			}
		}
	}
	// A header starts a line: "\nbegin " is looked for (a newline is
	// rarer than a 'b' in text and JSON, and the search skips ahead by
	// its first byte).
	for off := 0; n < maxMarked; n++ {
		i := 0
		if off > 0 || !strings.HasPrefix(s, "begin ") {
			if i = indexFrom(s, "\nbegin ", off); i < 0 {
				return false
			}
			i++
		}
		off = i + 6
		if !uuHeader(s[i+6:]) {
			continue
		}
		d, end := uudecode(s[i:])
		off = i + end
		if len(d) >= minKnownLen && read(view{EncUuencode, d}) {
			return true
		}
	}
	return false
}

// jsonQuoteUnescape undoes the two escapes a JSON string writes for
// bytes of the ascii85 alphabet.
var jsonQuoteUnescape = strings.NewReplacer(`\\`, `\`, `\"`, `"`)

// ascii85Lenient decodes ascii85 up to its first byte outside the
// alphabet (whitespace skipped), a partial last group as the encoder cut
// it.
func ascii85Lenient(s string) string {
	end := 0
	for end < len(s) && (s[end] >= '!' && s[end] <= 'u' || s[end] == 'z' || s[end] == ' ' || s[end] == '\n' || s[end] == '\r' || s[end] == '\t') {
		end++
	}
	dst := make([]byte, 4*len(s[:end])/5+8)
	nd, _, err := ascii85.Decode(dst, []byte(s[:end]), true)
	if err != nil {
		// A corrupt group: what decoded before it.
		nd, _, _ = ascii85.Decode(dst, []byte(s[:end]), false)
	}
	return string(dst[:nd])
}

// uuHeader reports whether s starts as the rest of a uuencode header
// line does: a mode of three or four octal digits and a space.
func uuHeader(s string) bool {
	k := 0
	for k < len(s) && k < 5 && s[k] >= '0' && s[k] <= '7' {
		k++
	}
	return (k == 3 || k == 4) && k < len(s) && s[k] == ' '
}

// uudecode decodes the uuencode block that s starts with ("begin …"),
// to its "end" line or the first line that is not uuencode, and returns
// the bytes and where the block ended in s.
func uudecode(s string) (string, int) {
	nl := strings.IndexByte(s, '\n')
	if nl < 0 {
		return "", len(s)
	}
	var out []byte
	pos := nl + 1
	for pos < len(s) {
		line := s[pos:]
		if e := strings.IndexByte(line, '\n'); e >= 0 {
			line = line[:e]
		}
		pos += len(line) + 1
		line = strings.TrimRight(line, "\r")
		if line == "" || line == "end" {
			break
		}
		n := int(line[0]-' ') & 63
		if n == 0 {
			continue // the "`" line before "end"
		}
		body := line[1:]
		var got []byte
		for k := 0; k+4 <= len(body) && len(got) < n; k += 4 {
			var v uint32
			for _, c := range []byte(body[k : k+4]) {
				if c < ' ' || c > '`' {
					return string(out), pos
				}
				v = v<<6 | uint32(c-' ')&63
			}
			got = append(got, byte(v>>16), byte(v>>8), byte(v))
		}
		out = append(out, got[:min(n, len(got))]...)
	}
	return string(out), min(pos, len(s))
}
