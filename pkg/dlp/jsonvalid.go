package dlp

import "unsafe"

// jsonMaxDepth is encoding/json's nesting limit: a document nested deeper
// is not valid JSON to it (nor, so, to validJSON).
const jsonMaxDepth = 10000

// validJSON reports whether s is valid JSON exactly as encoding/json's
// Valid decides it (the same grammar, the same nesting limit, any byte
// from 0x20 up inside strings, UTF-8 or not), TestValidJSONMatchesStdlib
// and FuzzValidJSONMatchesStdlib holding it to that. Valid steps a state
// machine through a function call per byte; here a string's plain bytes
// are passed over eight at a time, so a body that is mostly string (a
// data: URL, source code in a field) is checked at a fraction of the cost.
// ValidJSON is validJSON of b, read in place: json.Valid's answer, for
// callers outside the scanner (pipelock decides with it whether a body's
// JSON view holds all of it).
func ValidJSON(b []byte) bool { return validJSON(unsafe.String(unsafe.SliceData(b), len(b))) }

func validJSON(s string) bool {
	var kinds jsonKinds
	end, ok := jsonValueEnd(s, 0, &kinds)
	return ok && jsonSpace(s, end) == len(s)
}

// JSONSeqPrefix is jsonSeqPrefix of b, read in place (pipelock reads the
// raw text of a body of JSON lines only from near where its values end).
func JSONSeqPrefix(b []byte) int { return jsonSeqPrefix(unsafe.String(unsafe.SliceData(b), len(b))) }

// jsonSeqPrefix is how much of s is a sequence of valid JSON values (JSON
// lines, concatenated JSON): the end of the last value of the longest run
// of them from the start, len(s) when s is such a sequence whole (white
// space after the last value included), 0 when s does not start with a
// valid value. A body of JSON lines cut short holds them up to there.
func jsonSeqPrefix(s string) int {
	var kinds jsonKinds
	last := 0
	for i := 0; ; {
		if j := jsonSpace(s, i); j == len(s) {
			if last == 0 {
				return 0 // no value at all
			}
			return len(s)
		}
		end, ok := jsonValueEnd(s, i, &kinds)
		if !ok {
			return last
		}
		last, i = end, end
	}
}

// jsonKinds holds one bit per open container: 1 an object, 0 an array
// (a bit is set or cleared as its container opens, never read before).
type jsonKinds [jsonMaxDepth/64 + 1]uint64

// jsonValueEnd reads one JSON value from s[i] (white space first) as
// encoding/json's grammar has it, and returns where it ends.
func jsonValueEnd(s string, i int, kinds *jsonKinds) (int, bool) {
	depth := 0
	for {
		// A value starts at s[i] (after white space).
		i = jsonSpace(s, i)
		if i >= len(s) {
			return i, false
		}
		ok := true
		switch c := s[i]; {
		case c == '{':
			if depth++; depth > jsonMaxDepth {
				return i, false
			}
			kinds[(depth-1)>>6] |= 1 << ((depth - 1) & 63)
			i = jsonSpace(s, i+1)
			if i < len(s) && s[i] == '}' {
				depth--
				i++
				break
			}
			if i, ok = jsonKey(s, i); !ok {
				return i, false
			}
			continue
		case c == '[':
			if depth++; depth > jsonMaxDepth {
				return i, false
			}
			kinds[(depth-1)>>6] &^= 1 << ((depth - 1) & 63)
			i = jsonSpace(s, i+1)
			if i < len(s) && s[i] == ']' {
				depth--
				i++
				break
			}
			continue
		case c == '"':
			i, ok = jsonString(s, i+1)
		case c == '-' || c >= '0' && c <= '9':
			i, ok = jsonNumber(s, i)
		case c == 't':
			i, ok = jsonLiteral(s, i, "true")
		case c == 'f':
			i, ok = jsonLiteral(s, i, "false")
		case c == 'n':
			i, ok = jsonLiteral(s, i, "null")
		default:
			return i, false
		}
		if !ok {
			return i, false
		}
		// A value has ended: what follows closes containers, or a comma
		// leads the next value (after a key, in an object).
	next:
		for {
			if depth == 0 {
				return i, true
			}
			i = jsonSpace(s, i)
			if i >= len(s) {
				return i, false
			}
			object := kinds[(depth-1)>>6]&(1<<((depth-1)&63)) != 0
			switch c := s[i]; {
			case c == ',':
				i++
				if object {
					if i, ok = jsonKey(s, jsonSpace(s, i)); !ok {
						return i, false
					}
				}
				break next
			case object && c == '}' || !object && c == ']':
				depth--
				i++
			default:
				return i, false
			}
		}
	}
}

// jsonSpace skips JSON white space from s[i].
func jsonSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	return i
}

// jsonKey reads an object's key and its colon from s[i]; it returns where
// the value may start.
func jsonKey(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return i, false
	}
	i, ok := jsonString(s, i+1)
	if !ok {
		return i, false
	}
	i = jsonSpace(s, i)
	if i >= len(s) || s[i] != ':' {
		return i, false
	}
	return i + 1, true
}

// jsonStrStop marks the bytes that end a string's plain stretch: the
// quote, the backslash and the control bytes (not allowed there).
var jsonStrStop = func() (t [256]uint8) {
	for c := range 256 {
		if c < 0x20 || c == '"' || c == '\\' {
			t[c] = 1
		}
	}
	return t
}()

// jsonString reads a string's body from s[i] (after its opening quote);
// it returns the index after the closing quote.
func jsonString(s string, i int) (int, bool) {
	for {
		for i+8 <= len(s) {
			w := (*[8]byte)(unsafe.Pointer(unsafe.StringData(s[i:])))
			if jsonStrStop[w[0]]|jsonStrStop[w[1]]|jsonStrStop[w[2]]|jsonStrStop[w[3]]|
				jsonStrStop[w[4]]|jsonStrStop[w[5]]|jsonStrStop[w[6]]|jsonStrStop[w[7]] != 0 {
				break
			}
			i += 8
		}
		for i < len(s) && jsonStrStop[s[i]] == 0 {
			i++
		}
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(s) {
				return i, false
			}
			switch s[i+1] {
			case 'b', 'f', 'n', 'r', 't', '\\', '/', '"':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex[s[i+2]] || !isHex[s[i+3]] || !isHex[s[i+4]] || !isHex[s[i+5]] {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default:
			return i, false // a control byte
		}
	}
}

// jsonNumber reads a number from s[i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(s string, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = jsonDigits(s, i+1)
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		j := jsonDigits(s, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := jsonDigits(s, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func jsonDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// jsonLiteral reads true, false or null (lit) from s[i].
func jsonLiteral(s string, i int, lit string) (int, bool) {
	if len(s)-i < len(lit) || s[i:i+len(lit)] != lit {
		return i, false
	}
	return i + len(lit), true
}
