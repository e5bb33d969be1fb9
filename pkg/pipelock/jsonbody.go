package pipelock

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// maxJSONDepth bounds nesting the view tracks; deeper containers are still
// walked (their strings are still written), only key context is lost.
const maxJSONDepth = 256

// jsonView walks a JSON document and writes every key and every scalar,
// one "key = value" line each, with JSON escapes undone. A map-based
// decoder keeps only the last of duplicate keys, so
// {"k":"<secret>","k":"x"} would hide the secret; this walk keeps them
// all. emit receives each string value with the key it sits under (for the
// split-secret window). ok is false when body does not start like JSON.
// The walk is a single linear pass that tolerates malformed input: it
// never fails, it writes what it could read.
func jsonView(body []byte, emit func(key, value string), join *dlp.JSONJoiner) (string, bool) {
	if !startsJSONView(body) {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(body) + len(body)/4)
	jsonViewTo(&b, body, emit, join)
	return b.String(), true
}

// viewWriter is where jsonViewTo writes: a strings.Builder, or a
// segmentWriter that scans the view as it is written.
type viewWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

// jsonViewTo is jsonView writing to b, for a body that starts like JSON.
// The strings it passes to emit may share memory with body (a string
// without escapes is not copied): emit must copy what it keeps.
// join, when set, reads the keys and values joined and is flushed at the
// end.
func jsonViewTo(b viewWriter, body []byte, emit func(key, value string), join *dlp.JSONJoiner) {
	w := jsonWalker{b: b, emit: emit, join: join}
	w.walk(body, true)
	if join != nil {
		join.Flush()
	}
}

// jsonWalker is jsonViewTo able to stop and resume: a body still
// arriving is walked as far as what has arrived lets it read a token
// whole, and the walk resumes there when more has arrived. Walked in
// pieces it writes and emits exactly what one walk of the whole body
// does (TestJSONWalkerInPiecesMatchesWhole).
type jsonWalker struct {
	b    viewWriter
	emit func(key, value string)
	// join, when set, reads the short keys and values joined (a token
	// split over sibling values).
	join      *dlp.JSONJoiner
	scratch   []byte
	stack     []bool // true: object
	expectKey bool
	key       string
	i         int // the next byte to read
	// seen is how far the token at i was searched for its end without
	// finding it (a walk of a piece resumes the search there, so a long
	// token arriving in many pieces is searched once).
	seen int
}

// walk reads body from where the last walk stopped. body is the whole
// body so far, in the same memory as on the last walk (the view's
// strings may point into it); final: nothing more will arrive. Without
// final, a string or bare value that may go on past the end of body is
// left for the next walk.
func (w *jsonWalker) walk(body []byte, final bool) {
	b, i := w.b, w.i
	defer func() { w.i = i }()
	inObject := func() bool { return len(w.stack) > 0 && w.stack[len(w.stack)-1] }
	for i < len(body) {
		c := body[i]
		switch c {
		case '{', '[':
			if len(w.stack) < maxJSONDepth {
				w.stack = append(w.stack, c == '{')
			}
			w.expectKey = c == '{'
			i++
		case '}', ']':
			if w.join != nil {
				w.join.Close()
			}
			if len(w.stack) > 0 {
				w.stack = w.stack[:len(w.stack)-1]
			}
			w.expectKey = false
			i++
		case ',':
			w.expectKey = inObject()
			i++
		case ':':
			w.expectKey = false
			i++
		case '"':
			if !final && !w.stringEnds(body, i) {
				return
			}
			w.seen = 0
			s, n := jsonString(body[i:])
			i += n
			if w.expectKey {
				w.key = s
				if w.join != nil {
					w.join.Key(s)
				}
				b.WriteString(s)
				b.WriteByte('\n')
				w.expectKey = false
				continue
			}
			b.WriteString(w.key)
			b.WriteString(" = ")
			writeQuoted(b, s, &w.scratch)
			b.WriteByte('\n')
			if w.emit != nil {
				w.emit(w.key, s)
			}
			if w.join != nil {
				w.join.Value(s)
			}
		case ' ', '\t', '\r', '\n':
			i++
		default:
			j := max(i, w.seen)
			for j < len(body) && !strings.ContainsRune(",]}: \t\r\n\"{[", rune(body[j])) {
				j++
			}
			if j == len(body) && !final {
				w.seen = j
				return
			}
			w.seen = 0
			if j == i {
				j++
			}
			b.WriteString(w.key)
			b.WriteString(" = ")
			b.Write(body[i:j])
			b.WriteByte('\n')
			if w.join != nil {
				w.join.Value(unsafe.String(unsafe.SliceData(body[i:j]), j-i))
			}
			i = j
		}
	}
}

// stringEnds reports whether the string starting at body[i] == '"' ends
// within body: its closing quote (the first '"' not escaped by a
// backslash, where jsonString stops) is there. A \u escape is read
// whole or not at all by jsonString and never takes a quote, so a
// backslash and the byte after it are skipped as a pair here.
func (w *jsonWalker) stringEnds(body []byte, i int) bool {
	j := max(i+1, w.seen)
	for j < len(body) {
		switch body[j] {
		case '"':
			return true
		case '\\':
			if j+1 >= len(body) {
				w.seen = j
				return false
			}
			j += 2
		default:
			j++
		}
	}
	w.seen = j
	return false
}

// writeQuoted writes strconv.Quote(s) without making it whole: a long
// value (a base64 file inside JSON) is quoted in pieces cut before a
// byte that starts a rune, which quote exactly as the whole does
// (strconv quotes rune by rune, an invalid byte on its own). A run of
// printable ASCII without quote or backslash is its own quoting and is
// written as it is. scratch is reused from call to call.
func writeQuoted(b viewWriter, s string, scratch *[]byte) {
	_ = b.WriteByte('"')
	for len(s) > 0 {
		plain := 0
		for plain < len(s) && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '"' && s[plain] != '\\' {
			plain++
		}
		if plain > 0 {
			_, _ = b.WriteString(s[:plain])
			s = s[plain:]
			continue
		}
		n := min(len(s), 1<<10)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n++
		}
		q := strconv.AppendQuote((*scratch)[:0], s[:n])
		_, _ = b.Write(q[1 : len(q)-1])
		*scratch = q
		s = s[n:]
	}
	_ = b.WriteByte('"')
}

// jsonString decodes the string starting at b[0] == '"' and returns it with
// the bytes consumed (to the closing quote, or the end of b).
func jsonString(b []byte) (string, int) {
	i := 1
	start := i
	for i < len(b) && b[i] != '"' && b[i] != '\\' {
		i++
	}
	if i < len(b) && b[i] == '"' {
		// In place: the body outlives every use of the view's strings.
		return unsafe.String(unsafe.SliceData(b[start:i]), i-start), i + 1
	}
	// The decoding is no longer than the escaped text up to the closing
	// quote: one allocation of that size, returned as the string.
	end := i
	for end < len(b) && b[end] != '"' {
		if b[end] == '\\' {
			end++
		}
		end++
	}
	out := make([]byte, 0, min(end, len(b))-start)
	out = append(out, b[start:i]...)
	str := func() string { return unsafe.String(unsafe.SliceData(out), len(out)) }
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return str(), i + 1
		case c == '\\' && i+1 < len(b):
			e := b[i+1]
			i += 2
			switch e {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n := hex4(b[i:])
				i += n
				if utf16.IsSurrogate(r) && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					r2, n2 := hex4(b[i+2:])
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 2 + n2
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				out = append(out, e)
			}
		default:
			out = append(out, c)
			i++
		}
	}
	return str(), i
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return utf8.RuneError, 0
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return utf8.RuneError, 0
	}
	return rune(n), 4
}
