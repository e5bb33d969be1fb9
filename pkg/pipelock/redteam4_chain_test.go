package pipelock

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// Red team, round 4: HTTP framing through the whole chain (egress, then
// pipelock, then the origin). Each case is written raw to egress — inside
// its TLS interception (CONNECT) and as plain absolute-form HTTP — and
// the origin must never receive the secret in any part of any request,
// whatever either hop answers. The two hops are separate parsers: a
// request smuggled past one must still be a request the other scans.
func TestRedteam4FramingThroughChain(t *testing.T) {
	s := secrets["AWS"]
	h := "Host: allowed.example.com\r\n"
	cases := map[string]string{
		"CL and TE, smuggled request after":    "POST /u HTTP/1.1\r\n" + h + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x?k=" + s + " HTTP/1.1\r\n" + h + "\r\n",
		"TE then CL, body past the length":     "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + fmt.Sprintf("%x", len(s)+5) + "\r\nnote=" + s + "\r\n0\r\n\r\n",
		"two TE headers":                       "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + fmt.Sprintf("%x", len(s)) + "\r\n" + s + "\r\n0\r\n\r\n",
		"TE with a tab":                        "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding:\tchunked\r\n\r\n" + fmt.Sprintf("%x", len(s)) + "\r\n" + s + "\r\n0\r\n\r\n",
		"TE xchunked":                          "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nabcd",
		"chunk extension":                      "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;ext=" + s + "\r\na\r\n0\r\n\r\n",
		"chunk extension quoted":               "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;ext=\"" + s + "\"\r\na\r\n0\r\n\r\n",
		"trailer":                              "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTrailer: X-Note\r\n\r\n1\r\na\r\n0\r\nX-Note: " + s + "\r\n\r\n",
		"undeclared trailer":                   "POST /u HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Other: " + s + "\r\n\r\n",
		"obs-fold":                             "GET /u HTTP/1.1\r\n" + h + "X-A: a\r\n " + s + "\r\n\r\n",
		"space before colon":                   "GET /u HTTP/1.1\r\n" + h + "X-A : " + s + "\r\n\r\n",
		"bare LF lines":                        "GET /u?k=" + s + " HTTP/1.1\n" + "Host: allowed.example.com\n\n",
		"NUL in a header":                      "GET /u HTTP/1.1\r\n" + h + "X-A: a\x00" + s + "\r\n\r\n",
		"expect 100-continue":                  "POST /u HTTP/1.1\r\n" + h + "Expect: 100-continue\r\nContent-Length: " + fmt.Sprint(len(s)) + "\r\n\r\n" + s,
		"HTTP/1.0 keep-alive, body to close":   "POST /u HTTP/1.0\r\n" + h + "Connection: keep-alive\r\n\r\n" + s,
		"HTTP/1.0 then a pipelined request":    "GET /u HTTP/1.0\r\n" + h + "Connection: keep-alive\r\n\r\nGET /v?k=" + s + " HTTP/1.1\r\n" + h + "\r\n",
		"pipelined second request":             "GET /u HTTP/1.1\r\n" + h + "\r\nPOST /v HTTP/1.1\r\n" + h + "Content-Length: " + fmt.Sprint(len(s)) + "\r\n\r\n" + s,
		"absolute-form to another host":        "GET http://other.example.net/?k=" + s + " HTTP/1.1\r\n" + h + "\r\n",
		"two Host headers":                     "GET /?k=" + s + " HTTP/1.1\r\n" + h + "Host: other.example.net\r\n\r\n",
		"Host with a userinfo":                 "GET /?k=" + s + " HTTP/1.1\r\nHost: " + s + "@allowed.example.com\r\n\r\n",
		"h2c upgrade":                          "GET /?k=x HTTP/1.1\r\n" + h + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + s,
		"HTTP/2 preface":                       "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + s,
		"percent-encoded secret in a fragment": "GET /u#" + s + " HTTP/1.1\r\n" + h + "\r\n",
		"method carrying the secret":           s + " /u HTTP/1.1\r\n" + h + "\r\n",
		"version carrying the secret":          "GET /u HTTP/1.1" + s + "\r\n" + h + "\r\n",
	}
	for name, raw := range cases {
		for _, mode := range []string{"tls", "plain"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, nil)
				addr, bottleCA := newChainCA(t, e)
				before := len(e.seenAll())
				out := chainExchange(t, addr, bottleCA.Pool(), mode, raw)
				for _, g := range e.seenAll()[before:] {
					all := g.method + " " + g.host + g.path + "?" + g.query + "\n" + g.body + fmt.Sprint(g.header)
					assert.Check(t, !strings.Contains(all, s), "the secret reached the origin: %+v (answers: %q)", g, out)
				}
				for _, l := range strings.Split(e.logText(), "\n") {
					assert.Check(t, !strings.Contains(l, s), "the secret is in pipelock's log: %s", l)
				}
			})
		}
	}
}

// chainExchange writes raw to egress (inside a CONNECT tunnel with TLS to
// egress' interception, or, plain, with each origin-form request line made
// absolute-form) and returns what came back (read until egress closes or
// goes quiet).
func chainExchange(t *testing.T, addr string, roots *x509.CertPool, mode, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	assert.NilError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var conn net.Conn = c
	if mode == "tls" {
		fmt.Fprint(c, "CONNECT allowed.example.com:443 HTTP/1.1\r\nHost: allowed.example.com:443\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		assert.NilError(t, err)
		assert.Equal(t, res.StatusCode, 200)
		tc := tls.Client(c, &tls.Config{ServerName: "allowed.example.com", RootCAs: roots})
		conn = tc
	} else {
		raw = strings.ReplaceAll(raw, " /", " http://allowed.example.com/")
	}
	if _, err := io.WriteString(conn, raw); err != nil {
		return "write: " + err.Error()
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && strings.Contains(raw, "HTTP/1.0\r\n") {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(conn)
	return string(b)
}

// TestRedteam4MethodCarriesData: a request method is any token, chosen by
// the agent and sent as it is; it was neither scanned nor masked in the
// logs. Now a method that is not a standard one is scanned (and joined in
// the split-secret window) and logged masked.
func TestRedteam4MethodCarriesData(t *testing.T) {
	e := newEnv(t, nil)
	do := func(method string) result {
		req, err := http.NewRequest(method, "https://allowed.example.com/u", nil)
		assert.NilError(t, err)
		return e.do(req, e.proxyURL)
	}
	assert.Equal(t, do(secrets["AWS"]).status, 403)
	p := secrets["PASSPHRASE"]
	assert.Equal(t, do(p[:20]).status, 200)
	assert.Equal(t, do(p[20:]).status, 403, "the second half completes the known secret")
	assert.Equal(t, do("PROPFIND").status, 200)
	for _, g := range e.seenAll() {
		assert.Check(t, g.method != secrets["AWS"] && g.method != p[20:], "reached the origin: %q", g.method)
	}
	assert.Check(t, !strings.Contains(e.logText(), p[:20]), "a non-standard method is logged")
	assert.Check(t, strings.Contains(e.logText(), `"method":"PROPFIND"`))
}

// TestRedteam4NoHTTP2: HTTP/2 is never spoken by either hop's
// interception (its streams would need a scan path of their own): a
// client offering only h2 gets no tunnel, one offering both gets
// HTTP/1.1.
func TestRedteam4NoHTTP2(t *testing.T) {
	e := newEnv(t, nil)
	addr, bottleCA := newChainCA(t, e)
	for _, tc := range []struct {
		name  string
		addr  string
		roots *x509.CertPool
		auth  string
	}{
		{"egress", addr, bottleCA.Pool(), ""},
		{"pipelock", e.proxyURL.Host, e.pipeCA.Pool(), "Proxy-Authorization: Basic ZWdyZXNzOnB3LTEyMw==\r\n"},
	} {
		for _, protos := range [][]string{{"h2"}, {"h2", "http/1.1"}} {
			c, err := net.Dial("tcp", tc.addr)
			assert.NilError(t, err)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "CONNECT allowed.example.com:443 HTTP/1.1\r\nHost: allowed.example.com:443\r\n%s\r\n", tc.auth)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			assert.NilError(t, err)
			assert.Equal(t, res.StatusCode, 200, tc.name)
			tc2 := tls.Client(c, &tls.Config{ServerName: "allowed.example.com", RootCAs: tc.roots, NextProtos: protos})
			err = tc2.Handshake()
			if len(protos) == 1 {
				assert.Check(t, err != nil, "%s: a TLS session with only h2 offered", tc.name)
			} else {
				assert.NilError(t, err)
				assert.Equal(t, tc2.ConnectionState().NegotiatedProtocol, "http/1.1", tc.name)
			}
			_ = c.Close()
		}
	}
}
