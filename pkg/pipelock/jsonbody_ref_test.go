package pipelock

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

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
		gv, gok := jsonView(body, func(k, v string) { got = append(got, k+"="+v) })
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
		gv, gok := jsonView(body, func(k, v string) { got = append(got, k+"="+v) })
		wv, wok := jsonViewRef(body, func(k, v string) { want = append(want, k+"="+v) })
		if gok != wok || gv != wv || strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("%q: view %q, want %q", body, gv, wv)
		}
	})
}
