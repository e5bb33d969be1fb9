package pipelock

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/wsframe"
)

// Red-team round 2, through the real proxy: shapes of the known secret
// PASSPHRASE (low entropy: only its fingerprint finds it) that got past
// pkg/dlp's readings before the fixes in its redteam2_test.go.

func rtEach(v string, f func(b byte) string) string {
	var s strings.Builder
	for i := 0; i < len(v); i++ {
		s.WriteString(f(v[i]))
	}
	return s.String()
}

func rtReverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func rtShapes(v string) map[string]string {
	b64 := base64.StdEncoding.EncodeToString
	wrap := func(s string, w int, nl string) string {
		var b strings.Builder
		for len(s) > w {
			b.WriteString(s[:w] + nl)
			s = s[w:]
		}
		return b.String() + s
	}
	pct := rtEach(v, func(c byte) string { return fmt.Sprintf("%%%02X", c) })
	return map[string]string{
		"base64 of the reversed value":  b64([]byte(rtReverse(v))),
		"base64 of percent-encoding":    b64([]byte(pct)),
		"quoted-printable of percent":   rtEach(pct, func(c byte) string { return fmt.Sprintf("=%02X", c) }),
		"\\u escapes outside JSON":      rtEach(v, func(c byte) string { return fmt.Sprintf(`\u%04x`, c) }),
		"soft line breaks only":         wrap(v, 6, "=\r\n"),
		"xxd -p":                        wrap(hex.EncodeToString([]byte("dump of the env file: "+v+"\n")), 60, "\n"),
		"base64 glued to id_":           "id_" + b64([]byte("???"+v)),
		"nested base64 in short binary": b64([]byte("\x00\x01\x02\x03\xfe\xff\x80\x81" + strings.Repeat("\x90\xa0\xb0\xc0", 12) + b64([]byte(v)) + strings.Repeat("\xd0\xe0\xf0", 16))),
	}
}

func TestRedteam2Bodies(t *testing.T) {
	e := newEnv(t, nil)
	v := secrets["PASSPHRASE"]
	for name, shape := range rtShapes(v) {
		t.Run(name, func(t *testing.T) {
			before := len(e.seenAll())
			r := e.post([]byte("note: "+shape+"\n"), "Content-Type", "text/plain")
			assert.Equal(t, r.status, http.StatusForbidden, r.body)
			assert.Assert(t, is.Contains(r.body, "blocked: "))
			assert.Assert(t, !strings.Contains(r.body, v))
			assert.Equal(t, len(e.seenAll()), before, "a refused body reached upstream")
		})
	}
	t.Run("invalid JSON, stray quote, \\u escapes", func(t *testing.T) {
		body := `x" {"note":"` + rtEach(v, func(c byte) string { return fmt.Sprintf(`\u%04x`, c) }) + `"}`
		r := e.post([]byte(body), "Content-Type", "application/json")
		assert.Equal(t, r.status, http.StatusForbidden, r.body)
	})
}

func TestRedteam2QueryAndHeader(t *testing.T) {
	e := newEnv(t, nil)
	v := secrets["PASSPHRASE"]
	shape := base64.RawURLEncoding.EncodeToString([]byte(rtReverse(v)))
	before := len(e.seenAll())
	r := e.get("https://allowed.example.com/search?q=" + url.QueryEscape(shape))
	assert.Equal(t, r.status, http.StatusForbidden, r.body)
	req, err := http.NewRequest(http.MethodGet, "https://allowed.example.com/x", nil)
	assert.NilError(t, err)
	req.Header.Set("X-Note", rtEach(v, func(c byte) string { return fmt.Sprintf(`\u%04x`, c) }))
	r = e.do(req, e.proxyURL)
	assert.Equal(t, r.status, http.StatusForbidden, r.body)
	assert.Equal(t, len(e.seenAll()), before, "a refused request reached upstream")
}

func TestRedteam2WebSocket(t *testing.T) {
	v := secrets["PASSPHRASE"]
	for name, shape := range rtShapes(v) {
		t.Run(name, func(t *testing.T) {
			e, ws := newWSEnv(t, "")
			c := e.wsDial(t, "allowed.example.com", "/ws", wsUpgrade...)
			assert.Equal(t, c.status, http.StatusSwitchingProtocols, c.body)
			c.send(wsframe.Frame(true, wsframe.OpText, false, true, []byte("note: "+shape+"\n")))
			code, reason := c.closed()
			assert.Equal(t, code, uint16(wsframe.ClosePolicyViolation), reason)
			assert.Assert(t, !strings.Contains(reason, v))
			_, msgs, _ := ws.got()
			for _, m := range msgs {
				assert.Assert(t, !strings.Contains(m, shape), "message reached upstream: %.40q", m)
			}
		})
	}
}
