package dlp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"gotest.tools/v3/assert"
)

// seqPrefixStdlib is jsonSeqPrefix by encoding/json: its Decoder reads
// values one after another; the prefix ends where the last one read
// whole ends (all of s when only white space follows it).
func seqPrefixStdlib(s string) int {
	dec := json.NewDecoder(strings.NewReader(s))
	last := 0
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		if !json.Valid(v) {
			break
		}
		last = int(dec.InputOffset())
	}
	if last > 0 && strings.TrimLeft(s[last:], " \t\r\n") == "" {
		return len(s)
	}
	return last
}

func checkSeqPrefix(t *testing.T, s string) {
	t.Helper()
	got, want := jsonSeqPrefix(s), seqPrefixStdlib(s)
	if got != want {
		t.Fatalf("jsonSeqPrefix(%q) = %d, encoding/json reads %d", s, got, want)
	}
}

// TestJSONSeqPrefixMatchesStdlib: the values jsonSeqPrefix counts are
// those encoding/json's Decoder reads, one after another.
func TestJSONSeqPrefixMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 7))
	for range 3000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(jsonishText(r, r.IntN(80)))
			b.WriteString([]string{"\n", " ", "", "\r\n", "\t"}[r.IntN(5)])
		}
		s := b.String()
		checkSeqPrefix(t, s)
		if len(s) > 0 {
			checkSeqPrefix(t, s[:r.IntN(len(s))]) // cut short
		}
	}
	for _, s := range []string{``, ` `, `1`, `1 2`, `12`, `{}{}`, `{}x`, `[1,2]` + "\n" + `[3`, `"a""b"`, `"a"b`, `true false`, `truefalse`,
		`nul`, `{"a":1}` + "\n" + `{"a":`, `-`, `1.`, `1e`, "{}\n\n\n", `[]]`} {
		checkSeqPrefix(t, s)
	}
	_, _, code, err := benchload.ClassBody("code", 1<<20)
	assert.NilError(t, err)
	checkSeqPrefix(t, string(code))
	assert.Assert(t, jsonSeqPrefix(string(code)) > len(code)-1024, "the code class is JSON lines cut short")
}

// FuzzJSONSeqPrefixMatchesStdlib: go test ./pkg/dlp -run '^$' -fuzz FuzzJSONSeqPrefixMatchesStdlib
func FuzzJSONSeqPrefixMatchesStdlib(f *testing.F) {
	for _, s := range []string{`{"a":1}` + "\n" + `{"b":[2]}`, `1 2 3`, `"x" {"y":"z"} [`, `{}{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<16 {
			return
		}
		checkSeqPrefix(t, s)
	})
}

// TestJSONLinesReadThroughTheirView: a body of JSON lines, whole or cut
// short, declared JSON or not, is read through its view (and its raw
// text from a little before where its values end), and a secret
// anywhere in it is found: in a value, a key, a line that is a bare
// number, astride where the values end, in the rest.
func TestJSONLinesReadThroughTheirView(t *testing.T) {
	s := scanner(t, Options{})
	var lines bytes.Buffer
	for i := range 400 {
		fmt.Fprintf(&lines, `{"path":"pkg/f%d.go","content":"package f\n\nfunc F() int { return %d }\n"}`+"\n", i, i)
	}
	clean := lines.Bytes()
	at := len(clean) / 2
	at += bytes.IndexByte(clean[at:], '\n') + 1 // a line's start
	insert := func(line string) []byte {
		return append(append(append([]byte{}, clean[:at]...), line+"\n"...), clean[at:]...)
	}
	key := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	cut := func(b []byte, tail string) []byte { return append(append([]byte{}, b...), tail...) }
	bodies := map[string][]byte{
		"in a value":          insert(`{"note":"` + key + `"}`),
		"in a key":            insert(`{"` + key + `":1}`),
		"a bare number line":  insert(`4111111111111111`),
		"a bare string line":  insert(`"` + key + `"`),
		"escaped in a value":  insert(`{"note":"aws_access_key_id = \u0041KIAZ7Q3MNBV4XK2LWPD"}`),
		"in the rest":         cut(clean, `{"note":"`+key),
		"raw after the lines": cut(clean, "garbage "+key+" more"),
		"astride the end":     cut(clean[:len(clean)-1], ` AKIAZ7Q3MNBV4XK2LWPD`),
	}
	for name, body := range bodies {
		for _, ct := range []string{"application/json", "application/x-ndjson", "text/plain"} {
			fs, err := s.ScanBody(ct, body)
			assert.NilError(t, err)
			assert.Assert(t, len(fs) > 0, "%s (%s): not found", name, ct)
		}
	}
	for _, ct := range []string{"application/json", "application/x-ndjson", "text/plain"} {
		for _, body := range [][]byte{clean, clean[:len(clean)-30]} {
			fs, err := s.ScanBody(ct, body)
			assert.NilError(t, err)
			assert.Assert(t, len(fs) == 0, "clean JSON lines (%s): %v", ct, fs)
		}
	}
}

// FuzzFlatViewHoldsEveryToken: a body read through its flat view alone
// (valid JSON, or JSON lines whole: ScanBody reads no raw text of it)
// has every key, string and number encoding/json reads in it in the
// view, as it is or as writeJSONLine escapes it.
func FuzzFlatViewHoldsEveryToken(f *testing.F) {
	for _, s := range []string{
		`{"a":"b","a":"c"}`, `["x\u0041y", 1e5, -0.5, true, null, {"k\"q":"\\\/"}]`, `"just a string"`, `12345678901234567890`,
		"{\"a\":1}\n{\"b\":\"c\"}\n", "{}\n4111111111111111\n\"s\"\n[2]", `1 2 3`, `{"a":"x"}{"b":"y"}`, `[1,[2,[3]]] 4`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<16 || !(validJSON(s) || jsonSeqPrefix(s) == len(s)) {
			return
		}
		var b strings.Builder
		flattenJSON(&b, s, false)
		view := b.String()
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			var want string
			switch v := tok.(type) {
			case string:
				want = v
			case json.Number:
				want = v.String()
			default:
				continue
			}
			if strings.ContainsRune(want, utf8.RuneError) {
				continue // encoding/json replaced invalid UTF-8: no reference
			}
			// The view drops backspace and form feed (a secret with them
			// written between its characters reads whole).
			want = strings.NewReplacer("\b", "", "\f", "").Replace(want)
			var esc strings.Builder
			writeJSONLine(&esc, "", want, true)
			e := strings.TrimSuffix(esc.String(), "\n")
			if !strings.Contains(view, want) && !strings.Contains(view, e[1:len(e)-1]) {
				t.Fatalf("%q: token %q is not in the view %q", s, want, view)
			}
		}
	})
}
