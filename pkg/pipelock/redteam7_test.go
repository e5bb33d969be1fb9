package pipelock

import (
	"encoding/ascii85"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/wsframe"
)

// Red team, round 7, through the proxy: a secret transformed without a
// key (ROT13, ascii85, base58, cut into its even and odd characters) in
// every part of a request, over several requests and in a WebSocket
// message.

func rt7Rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

func rt7Ascii85(b []byte) string {
	out := make([]byte, ascii85.MaxEncodedLen(len(b)))
	return string(out[:ascii85.Encode(out, b)])
}

func rt7Base58(b []byte) string {
	const a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int).SetBytes(b)
	var out []byte
	m := new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, big.NewInt(58), m)
		out = append([]byte{a[m.Int64()]}, out...)
	}
	return string(out)
}

// TestRedteam7TransformedKnownSecrets: a known secret ROT13'd, ascii85'd
// (Python's a85encode: no <~ ~>) inside a file, base58'd, or cut into its
// even and odd characters, in the path, the query, a header, a cookie or
// a body, is refused (its forms, secretfp.Forms).
func TestRedteam7TransformedKnownSecrets(t *testing.T) {
	v := secrets["PASSPHRASE"]
	var even, odd strings.Builder
	for i := 0; i < len(v); i++ {
		if i%2 == 0 {
			even.WriteByte(v[i])
		} else {
			odd.WriteByte(v[i])
		}
	}
	r13 := rt7Rot13(v)
	env := []byte("# .env\nDB_PASSPHRASE=" + v + "\nLOG=info\n")
	for name, req := range map[string]func(t *testing.T) *http.Request{
		"rot13 path": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/notes/"+r13, nil)
		},
		"rot13 query": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x?q="+url.QueryEscape(r13), nil)
		},
		"rot13 cookie": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "Cookie", "pref="+r13)
		},
		"rot13 reversed header": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-Note", reverse(r13))
		},
		"ascii85 of a file, body": func(t *testing.T) *http.Request {
			return rt6Req(t, "POST", "https://allowed.example.com/x", []byte(rt7Ascii85(env)), "Content-Type", "text/plain")
		},
		"ascii85 of a file, JSON": func(t *testing.T) *http.Request {
			a := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(rt7Ascii85(env))
			return rt6Req(t, "POST", "https://allowed.example.com/x", []byte(`{"blob":"`+a+`"}`), "Content-Type", "application/json")
		},
		"base58 query": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x?id="+rt7Base58([]byte(v)), nil)
		},
		"rot13 cut over two headers": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-A", r13[:18], "X-B", r13[18:])
		},
		"upper-cased in a header": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-Note", strings.ToUpper(v))
		},
		"even and odd in two headers": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-A", even.String(), "X-B", odd.String())
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.do(req(t), e.proxyURL)
			assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)
		})
	}
}

// TestRedteam7Rot13SplitOverRequests: a known secret ROT13'd and sent in
// two pieces, one request each, to one host: the split window reads the
// pieces joined with the forms too.
func TestRedteam7Rot13SplitOverRequests(t *testing.T) {
	e := newEnv(t, nil)
	r13 := rt7Rot13(secrets["PASSPHRASE"])
	first := e.get("https://allowed.example.com/a/" + r13[:20])
	assert.Equal(t, first.status, http.StatusOK, first.body)
	second := e.get("https://allowed.example.com/a/" + r13[20:])
	assert.Equal(t, second.status, http.StatusForbidden, second.body)
}

// TestRedteam7Rot13Tokens: a provider token pipelock was not told about,
// ROT13'd in a header, a JSON body and a WebSocket message, or
// upper-cased in the query, is refused (rot13prefix.go).
func TestRedteam7Rot13Tokens(t *testing.T) {
	tok := "ghp_" + "Wq7LmZ2xK9pR4tV8nB3cD6fG1hJ5kS0aQ2eY"
	aws := "AKIAZ7Q3MNBV4XK2LWPD"
	e := newEnv(t, nil)
	r := e.do(rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-Debug", rt7Rot13(tok)), e.proxyURL)
	assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)
	r = e.post([]byte(`{"k":"`+rt7Rot13(aws)+`"}`), "Content-Type", "application/json")
	assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)

	r = e.do(rt6Req(t, "GET", "https://allowed.example.com/x?t="+strings.ToUpper(tok), nil), e.proxyURL)
	assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)

	e, _ = newWSEnv(t, "")
	c := e.wsDial(t, "allowed.example.com", "/ws", wsUpgrade...)
	c.send(wsframe.Frame(true, wsframe.OpText, false, true, []byte("note "+rt7Rot13(tok))))
	code, reason := c.closed()
	assert.Equal(t, code, uint16(wsframe.ClosePolicyViolation), reason)
}

// TestRedteam7TransformsClean: ROT13'd and ascii85 prose passes.
func TestRedteam7TransformsClean(t *testing.T) {
	e := newEnv(t, nil)
	p := "The quick brown fox jumps over the lazy dog; the structure returns. "
	r := e.post([]byte(rt7Rot13(strings.Repeat(p, 50))), "Content-Type", "text/plain")
	assert.Equal(t, r.status, http.StatusOK, r.body)
	r = e.post([]byte("<~"+rt7Ascii85([]byte(strings.Repeat(p, 50)))+"~>"), "Content-Type", "text/plain")
	assert.Equal(t, r.status, http.StatusOK, r.body)
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// TestRedteam7OpenThroughProxy: what still gets out (pkg/dlp
// TestRedteam7Open): a known secret under a Caesar shift other than 13,
// a seed phrase ROT13'd (the word list is looked up as written), a
// secret-named field ROT13'd (its name is no longer one).
func TestRedteam7OpenThroughProxy(t *testing.T) {
	if os.Getenv("CLAUDE_BOTTLE_REDTEAM_OPEN") != "1" {
		t.Skip("open: keyless ciphers other than ROT13 and ROT13 of words (CLAUDE_BOTTLE_REDTEAM_OPEN=1 runs it)")
	}
	caesar3 := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			switch {
			case c >= 'a' && c <= 'z':
				b[i] = 'a' + (c-'a'+3)%26
			case c >= 'A' && c <= 'Z':
				b[i] = 'A' + (c-'A'+3)%26
			}
		}
		return string(b)
	}
	seed := "abandon ability able about above absent absorb abstract absurd abuse access accident"
	for name, req := range map[string]func(t *testing.T) *http.Request{
		"caesar 3 header": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-Note", caesar3(secrets["PASSPHRASE"]))
		},
		"rot13 seed phrase": func(t *testing.T) *http.Request {
			return rt6Req(t, "POST", "https://allowed.example.com/x", []byte(rt7Rot13(seed)), "Content-Type", "text/plain")
		},
		"rot13 password field": func(t *testing.T) *http.Request {
			return rt6Req(t, "POST", "https://allowed.example.com/x", []byte(rt7Rot13("DB_PASSWORD=Wq7rZ2pLm9vXhunter")), "Content-Type", "text/plain")
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.do(req(t), e.proxyURL)
			assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)
		})
	}
}
