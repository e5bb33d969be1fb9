package pipelock

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"gotest.tools/v3/assert"
)

// jsonViewRef is jsonView as it was before it wrote to a viewWriter and
// quoted long values in pieces: the reference the view must equal.
func jsonViewRef(body []byte, emit func(key, value string)) (string, bool) {
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n') {
		i++
	}
	if i == len(body) || body[i] != '{' && body[i] != '[' {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(body) + len(body)/4)
	var stack []bool // true: object
	expectKey := false
	key := ""
	inObject := func() bool { return len(stack) > 0 && stack[len(stack)-1] }
	for i < len(body) {
		c := body[i]
		switch c {
		case '{', '[':
			if len(stack) < maxJSONDepth {
				stack = append(stack, c == '{')
			}
			expectKey = c == '{'
			i++
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectKey = false
			i++
		case ',':
			expectKey = inObject()
			i++
		case ':':
			expectKey = false
			i++
		case '"':
			s, n := jsonString(body[i:])
			i += n
			if expectKey {
				key = s
				b.WriteString(s)
				b.WriteByte('\n')
				expectKey = false
				continue
			}
			b.WriteString(key)
			b.WriteString(" = ")
			b.WriteString(strconv.Quote(s))
			b.WriteByte('\n')
			if emit != nil {
				emit(key, s)
			}
		case ' ', '\t', '\r', '\n':
			i++
		default:
			j := i
			for j < len(body) && !strings.ContainsRune(",]}: \t\r\n\"{[", rune(body[j])) {
				j++
			}
			if j == i {
				j++
			}
			b.WriteString(key)
			b.WriteString(" = ")
			b.Write(body[i:j])
			b.WriteByte('\n')
			i = j
		}
	}
	return b.String(), true
}

func TestJSONViewMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	atoms := []string{"{", "}", "[", "]", ",", ":", " ", "\n", `"`, `\\`, `\"`, `\n`, `\u00e9`, `\ud83d\ude00`, `\u12`, "é", "\xff", "\xe2\x82", "\x01", "true", "-12.5e3", "key", "AKIA", strings.Repeat("x", 1500), strings.Repeat("é", 700), strings.Repeat("\x80", 1100)}
	for range 3000 {
		var b strings.Builder
		b.WriteString([]string{"{", "[", " {", "\n["}[r.IntN(4)])
		for range r.IntN(40) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		body := []byte(b.String())
		var got, want []string
		gv, gok := jsonView(body, func(k, v string) { got = append(got, k+"="+v) }, nil)
		wv, wok := jsonViewRef(body, func(k, v string) { want = append(want, k+"="+v) })
		assert.Equal(t, gok, wok)
		assert.Equal(t, gv, wv, "%q", body)
		assert.DeepEqual(t, got, want)
	}
	_ = strconv.Quote
}

// FuzzJSONViewMatchesReference: go test ./pkg/pipelock -run '^$' -fuzz FuzzJSONViewMatchesReference -fuzztime 1m
func FuzzJSONViewMatchesReference(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `[1,"\u00e9\ud83d\ude00",{"k":"v\"\\"}]`, "{\"x\":\"\xff\xe2\x82\"}", `{"k":"` + strings.Repeat("é", 600) + `"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got, want []string
		gv, gok := jsonView(body, func(k, v string) { got = append(got, k+"="+v) }, nil)
		wv, wok := jsonViewRef(body, func(k, v string) { want = append(want, k+"="+v) })
		if gok != wok || gv != wv || strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("%q: view %q, want %q", body, gv, wv)
		}
	})
}

// jsonViewInPieces is the JSON view of body walked as it would arrive in
// pieces of the given sizes (cycled), in one buffer.
func jsonViewInPieces(body []byte, sizes []int, emit func(k, v string)) string {
	var b strings.Builder
	w := jsonWalker{b: &b, emit: emit}
	n := 0
	for k := 0; n < len(body); k++ {
		n = min(len(body), n+max(1, sizes[k%len(sizes)]))
		w.walk(body[:n], false)
	}
	w.walk(body, true)
	return b.String()
}

// The JSON view walked as the body arrives, in pieces cut anywhere (in a
// string, in an escape, between a surrogate pair's halves, in a bare
// value), writes and emits what one walk of the whole body does.
func TestJSONWalkerInPiecesMatchesWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	atoms := []string{"{", "}", "[", "]", ",", ":", " ", "\n", `"`, `\\`, `\"`, `\n`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\u12`, `\`, "é", "\xff", "true", "-12.5e3", "key", strings.Repeat("x", 1500), strings.Repeat(`\"`, 300)}
	for range 3000 {
		var b strings.Builder
		b.WriteString([]string{"{", "[", " {", "\n["}[r.IntN(4)])
		for range r.IntN(40) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		body := []byte(b.String())
		sizes := []int{1 + r.IntN(8), 1 + r.IntN(300), 1 + r.IntN(3)}
		var got, want []string
		gv := jsonViewInPieces(body, sizes, func(k, v string) { got = append(got, k+"="+v) })
		wv, _ := jsonViewRef(body, func(k, v string) { want = append(want, k+"="+v) })
		assert.Equal(t, gv, wv, "%q in pieces %v", body, sizes)
		assert.DeepEqual(t, got, want)
	}
}

// FuzzJSONWalkerInPieces: go test ./pkg/pipelock -run '^$' -fuzz FuzzJSONWalkerInPieces -fuzztime 1m
func FuzzJSONWalkerInPieces(f *testing.F) {
	f.Add([]byte(`{"a":"b\"c","d":[1,2e5,"\ud83d\ude00"]}`), uint8(1), uint8(3))
	f.Add([]byte(`["\u00e9\\",tru`), uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, a, b uint8) {
		if !startsJSONView(body) {
			return
		}
		var got, want []string
		gv := jsonViewInPieces(body, []int{int(a), int(b)}, func(k, v string) { got = append(got, k+"="+v) })
		wv, _ := jsonViewRef(body, func(k, v string) { want = append(want, k+"="+v) })
		if gv != wv || strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("%q in pieces %d,%d: view %q, want %q", body, a, b, gv, wv)
		}
	})
}

// jsonStringRef is jsonString as it was before it sized its decoding:
// it decodes the string starting at b[0] == '"' and returns it with
// the bytes consumed (to the closing quote, or the end of b).
func jsonStringRef(b []byte) (string, int) {
	i := 1
	start := i
	for i < len(b) && b[i] != '"' && b[i] != '\\' {
		i++
	}
	if i < len(b) && b[i] == '"' {
		// In place: the body outlives every use of the view's strings.
		return unsafe.String(unsafe.SliceData(b[start:i]), i-start), i + 1
	}
	var out []byte
	out = append(out, b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return string(out), i + 1
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
	return string(out), i
}

// FuzzJSONStringMatchesReference: go test ./pkg/pipelock -run '^$' -fuzz FuzzJSONStringMatchesReference -fuzztime 1m
func FuzzJSONStringMatchesReference(f *testing.F) {
	for _, s := range []string{`"a\"b"`, `"\u00e9\ud83d\ude00x"`, `"\u12"`, `"\uzzzz\u\u\u"`, "\"\\", `"abc`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = append([]byte{'"'}, b...)
		s, n := jsonString(b)
		rs, rn := jsonStringRef(b)
		if s != rs || n != rn {
			t.Fatalf("%q: %q %d, want %q %d", b, s, n, rs, rn)
		}
	})
}
