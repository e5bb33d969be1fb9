package dlp

// The JSON flattening as it was before its bulk writes (jsonflat.go):
// the reference TestFlattenJSONMatchesOld and FuzzFlattenJSONMatchesOld
// hold the fast version to, byte for byte.

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// flattenJSON is flattenJSONText; onlyEscaped writes only the lines whose
// key or value had a JSON escape undone (for text whose raw form is read
// too, the other lines are that raw text again).
func oldFlattenJSON(b *strings.Builder, s string, onlyEscaped bool) {
	key := ""
	keyEsc := false
	write := func(key, val string, quoted, esc bool) {
		// A secret-named key is written with its value even when
		// nothing was unescaped: in the raw text they may stand apart
		// (spaces, line breaks around the colon) further than the
		// field rule looks.
		if !onlyEscaped || esc || keyEsc || key != "" && secretNameCores().any(key) {
			oldWriteJSONLine(b, key, val, quoted)
		}
	}
	var kb strings.Builder
	// prev is the last structural byte: a scalar follows : , or [, or
	// stands at the top level (a body that is one number, or a sequence
	// of values), where prev is ','.
	prev := byte(',')
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c == ':' || c == ',' || c == '[' || c == '{' || c == '}' || c == ']' {
			prev = c
			switch c {
			case '{', '[':
				depth++
			case '}', ']':
				depth = max(0, depth-1)
				if depth == 0 {
					prev = ','
				}
			}
		}
		switch {
		case c == '"':
			// A string without escapes is its own text (no copy); one
			// with escapes is decoded.
			var str string
			var j int
			esc := false
			if q := strings.IndexByte(s[i+1:], '"'); q >= 0 && strings.IndexByte(s[i+1:i+1+q], '\\') < 0 {
				str, j = s[i+1:i+1+q], i+2+q
			} else {
				kb.Reset()
				j = oldReadJSONString(&kb, s, i+1)
				str = kb.String()
				esc = strings.IndexByte(s[i+1:j], '\\') >= 0
			}
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
				k++
			}
			if k < len(s) && s[k] == ':' {
				key, keyEsc = str, esc
				i = k + 1
				prev = ':'
				// A key whose value is not a string or scalar still
				// appears on its own line.
				m := i
				for m < len(s) && (s[m] == ' ' || s[m] == '\t' || s[m] == '\n' || s[m] == '\r') {
					m++
				}
				if m < len(s) && (s[m] == '{' || s[m] == '[') {
					write(key, "", false, false)
				}
				continue
			}
			write(key, str, true, esc)
			i = j
			prev = 0
			if depth == 0 {
				prev = ',' // a value at the top level: another may follow
			}
		case (c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n') && (prev == ':' || prev == ',' || prev == '['):
			j := i
			for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\n' && s[j] != '\r' && s[j] != '\t' && s[j] != '"' {
				j++
			}
			write(key, s[i:j], false, false)
			i = j
			prev = 0
			if depth == 0 {
				prev = ',' // a value at the top level: another may follow
			}
			if i < len(s) && s[i] == '"' {
				continue
			}
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ':' && c != ',' && c != '[' && c != '{' && c != '}' && c != ']' {
				prev = 0
			}
			i++
		}
	}
}

func oldWriteJSONLine(b *strings.Builder, key, val string, quoted bool) {
	if key != "" {
		b.WriteString(key)
		if val == "" && !quoted {
			b.WriteByte('\n')
			return
		}
		b.WriteString(" = ")
	}
	if quoted {
		b.WriteByte('"')
		for i := 0; i < len(val); i++ {
			switch c := val[i]; c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	} else {
		b.WriteString(val)
	}
	b.WriteByte('\n')
}

// readJSONString decodes the string body starting at s[i] (after the
// opening quote) into b and returns the index after the closing quote.
// Newlines inside the value are kept as real newlines so multi-line
// secrets (PEM blocks) read as they would in a file.
func oldReadJSONString(b *strings.Builder, s string, i int) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1
		case c == '\\' && i+1 < len(s):
			e := s[i+1]
			i += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b', 'f':
			case 'u':
				if i+4 <= len(s) {
					r, ok := hex4(s[i : i+4])
					if ok {
						i += 4
						if utf16.IsSurrogate(r) && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
							if r2, ok2 := hex4(s[i+2 : i+6]); ok2 {
								r = utf16.DecodeRune(r, r2)
								i += 6
							}
						}
						var buf [4]byte
						b.Write(buf[:utf8.EncodeRune(buf[:], r)])
						continue
					}
				}
				b.WriteString(`\u`)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return i
}
