package pipelock

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
	"gotest.tools/v3/assert"
)

// A valid JSON body is read through its view only (inspect): everything
// the body holds — every key, every string and every number — must be in
// the view (keys as they are, values Go-quoted). Compared with
// encoding/json's tokens.
func FuzzJSONViewHoldsEveryToken(f *testing.F) {
	for _, s := range []string{
		`{"a":"b","a":"c"}`, `["x\u0041y", 1e5, -0.5, true, null, {"k\"q":"\\\/"}]`,
		`{"deep":` + strings.Repeat(`[`, 300) + `"s"` + strings.Repeat(`]`, 300) + `}`,
		`"just a string"`, `12345678901234567890`, `{"":""}`, "{\"t\":\"\\ud83d\\ude00 \\u00e9\"}",
		// JSON lines (read through the view alone too, rawFrom).
		"{\"a\":1}\n{\"b\":\"c\"}\n", "{}\n4111111111111111\n\"s\"\n[2]", `1 2 3`, `{"a":"x"}{"b":"y"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		body := []byte(s)
		if !(json.Valid(body) || dlp.JSONSeqPrefix(body) == len(body)) || !startsJSONView(body) {
			return
		}
		view, ok := jsonView(body, nil, nil)
		if !ok {
			t.Fatalf("valid JSON without a view: %q", s)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
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
			// Keys are written as they are; values Go-quoted (quote,
			// backslash and unprintable runes escaped, as JSON escapes
			// them): one of the two is in the view.
			if strings.ContainsRune(want, utf8.RuneError) {
				continue // encoding/json replaced invalid UTF-8: no reference
			}
			q := strconv.Quote(want)
			if !strings.Contains(view, want) && !strings.Contains(view, q[1:len(q)-1]) {
				t.Fatalf("%q: token %q is not in the view %q", s, want, view)
			}
		}
	})
}

// A large body that starts like JSON is read through its view alone only
// when it is valid JSON: a secret in a value or an escaped key of valid
// JSON is found, and one outside any string of a body that only looks
// like JSON is found too — both while the body arrives (Content-Length
// declared) and read whole (chunked). (The tolerant view already reads
// these invalid bodies' secrets; the raw segments scanned after the last
// byte are the second reading FuzzJSONViewHoldsEveryToken cannot vouch
// for on invalid JSON.)
func TestJSONLookingBodiesReadRawUnlessValid(t *testing.T) {
	s := secrets["GENERIC"]
	pad := strings.Repeat(`"lorem ipsum dolor sit amet",`, (3<<20)/30)
	bodies := map[string]string{
		"valid, secret in a value":     `{"notes":[` + pad + `"` + s + `"]}`,
		"not valid, secret raw":        `{"notes":[` + pad + `"x"]} ` + s + ` trailing`,
		"not valid, secret in a key":   `{"notes":[` + pad + `"x"], ` + s + `: 1}`,
		"valid, secret escaped in key": `{"notes":[` + pad + `"x"],"` + strings.ReplaceAll(s, s[:1], `\u00`+strconv.FormatInt(int64(s[0]), 16)) + `":1}`,
	}
	for name, body := range bodies {
		for _, chunked := range []bool{false, true} {
			e := newEnv(t, nil)
			req, err := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", strings.NewReader(body))
			assert.NilError(t, err)
			req.Header.Set("Content-Type", "application/json")
			if chunked {
				req.ContentLength = -1
			}
			r := e.do(req, e.proxyURL)
			assert.Check(t, r.status == 403, "%s (chunked %v): %d", name, chunked, r.status)
			assert.Check(t, len(e.seenAll()) == 0, "%s (chunked %v): forwarded", name, chunked)
		}
	}
}
