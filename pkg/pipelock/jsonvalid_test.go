package pipelock

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
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
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		body := []byte(s)
		if !json.Valid(body) || !startsJSONView(body) {
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
