package egress

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

func testRoutes() []daemoncfg.Route {
	return []daemoncfg.Route{
		{Host: "api.github.com", Paths: []string{"/repos/acme/"}, Auth: &daemoncfg.Auth{Scheme: "token", TokenEnv: "EGRESS_TOKEN_1"}},
		{Host: "raw.githubusercontent.com"},
		{Host: "plain.example.com"},
		{Host: "down.example.com"},
	}
}

func TestAllowedHTTPS(t *testing.T) {
	h := newHarness(t, testRoutes())
	r := h.get("https://raw.githubusercontent.com/acme/app/main/README.md?x=1")
	assert.Equal(t, r.Status, 200, r.Body)
	assert.Equal(t, r.Body, "hello from raw.githubusercontent.com/acme/app/main/README.md")
	assert.Equal(t, r.Header.Get("X-Backend"), "yes")
	reqs := h.rec.all()
	assert.Equal(t, len(reqs), 1)
	assert.Equal(t, reqs[0].Host, "raw.githubusercontent.com")
	assert.Equal(t, reqs[0].RawQuery, "x=1")
	assert.Assert(t, reqs[0].TLS, "upstream leg must be TLS, verified against the upstream CA")
	assert.Assert(t, is.Contains(h.rec.dump(), "CONNECT raw.githubusercontent.com:443"))
	assert.Assert(t, is.Contains(h.logs.String(), `"decision":"allow"`))
}

func TestStreamingAndPlainHTTP(t *testing.T) {
	h := newHarness(t, testRoutes())
	r := h.get("https://raw.githubusercontent.com/stream")
	assert.Equal(t, r.Body, "data: 0\n\ndata: 1\n\ndata: 2\n\n")
	r = h.get("http://plain.example.com/hello")
	assert.Equal(t, r.Status, 200, r.Body)
	assert.Equal(t, r.Body, "hello from plain.example.com/hello")
	r = h.get("http://evil.example.com/hello")
	assert.Equal(t, r.Status, 403)
	assert.Assert(t, strings.HasPrefix(r.Body, "egress: host evil.example.com is not on this bottle's allowlist"), r.Body)
}

func TestDeniedHost(t *testing.T) {
	h := newHarness(t, testRoutes())
	for _, u := range []string{"https://evil.example.com/", "https://github.com/", "https://api.github.com.evil.example.com/repos/acme/x", "https://sub.raw.githubusercontent.com/"} {
		r := h.get(u)
		assert.Equal(t, r.Status, http.StatusForbidden, u)
		assert.Assert(t, strings.HasPrefix(r.Body, "egress: host "), r.Body)
		assert.Assert(t, is.Contains(r.Body, "egress-block"), "the body says how to ask")
		assert.Equal(t, r.Header.Get(contract.BlockHeader), "egress; reason=host-not-allowed; tool=egress-block")
	}
	assert.Equal(t, len(h.rec.all()), 0, "nothing may reach upstream: %s", h.rec.dump())
	assert.Assert(t, !strings.Contains(h.rec.dump(), "evil"), h.rec.dump())
}

func TestHostCaseAndTrailingDot(t *testing.T) {
	h := newHarness(t, testRoutes())
	for _, u := range []string{"https://RAW.GitHubUserContent.com/a", "https://raw.githubusercontent.com./a"} {
		r := h.get(u)
		assert.Equal(t, r.Status, 200, "%s: %s", u, r.Body)
	}
}

func TestPathRules(t *testing.T) {
	h := newHarness(t, testRoutes())
	for _, tc := range []struct {
		path  string
		allow bool
	}{
		{"/repos/acme/app", true},
		{"/repos/acme/", true},
		{"/repos/acme/app/git/refs/heads/feature%2Fx", true},
		{"/repos/acme", false},
		{"/repos/other/app", false},
		{"/repos/acme-evil/app", false},
		{"/REPOS/acme/app", false},
		{"/repos/acme/../../evil", false},
		{"/repos/acme/%2e%2e/%2e%2e/evil", false},
		{"/repos/acme/%2E%2E/%2E%2E/evil", false},
		{"/repos/acme/%252e%252e/%252e%252e/evil", false},
		{"/repos/acme/..%2f..%2fevil", false},
		{"/repos/acme/..%5c..%5cevil", false},
		{"/repos/acme/..\\..\\evil", false},
		{"//repos/acme/app", false},
		{"/x/../repos/acme/app", false},
		{"/repos/acme/app/./x", true},
		{"/repos/acme/%00", false},
		{"/repos/acme/%zz", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			out := h.raw("api.github.com:443", "api.github.com", "GET "+tc.path+" HTTP/1.1\r\nHost: api.github.com\r\nConnection: close\r\n\r\n")
			if tc.allow {
				assert.Assert(t, strings.HasPrefix(out, "HTTP/1.1 200"), out)
				return
			}
			assert.Assert(t, strings.HasPrefix(out, "HTTP/1.1 403") || strings.HasPrefix(out, "HTTP/1.1 400"), out)
			if strings.HasPrefix(out, "HTTP/1.1 403") {
				assert.Assert(t, is.Contains(out, "\r\n\r\negress: "), out)
			}
		})
	}
	for _, s := range h.rec.all() {
		assert.Assert(t, strings.HasPrefix(s.Path, "/repos/acme/") || strings.HasPrefix(s.Path, "//repos/acme/"), "upstream saw %s", s.Path)
		assert.Assert(t, !strings.Contains(s.Path, "evil"), "upstream saw %s", s.Path)
	}
}

func TestIPLiteralsRefused(t *testing.T) {
	h := newHarness(t, testRoutes())
	for _, target := range []string{"10.0.0.1:443", "127.0.0.1:443", "[::1]:443", "[fe80::1%25eth0]:443", "2130706433:443", "0x7f000001:443", "0177.0.0.1:443", "127.1:443", "0x7f.1:443", "169.254.169.254:443"} {
		out := h.raw(target, "", "")
		assert.Assert(t, strings.HasPrefix(out, "CONNECT 403\negress: "), "%s: %s", target, out)
		assert.Assert(t, is.Contains(out, "is an IP address"), out)
	}
	for _, u := range []string{"http://127.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://2130706433/", "http://[::1]/"} {
		r := h.get(u)
		assert.Equal(t, r.Status, 403, u)
		assert.Assert(t, strings.HasPrefix(r.Body, "egress: "), r.Body)
	}
	assert.Equal(t, len(h.rec.all()), 0, h.rec.dump())
}

func TestPortsRefused(t *testing.T) {
	h := newHarness(t, testRoutes())
	out := h.raw("raw.githubusercontent.com:8443", "", "")
	assert.Assert(t, strings.HasPrefix(out, "CONNECT 403\negress: port 8443 is not allowed"), out)
	r := h.get("http://plain.example.com:8080/")
	assert.Equal(t, r.Status, 403)
	assert.Assert(t, is.Contains(r.Body, "port 8080 is not allowed"))
}

func TestSpoofingRefused(t *testing.T) {
	h := newHarness(t, testRoutes())
	// SNI names another host than the CONNECT target.
	out := h.raw("raw.githubusercontent.com:443", "evil.example.com", "GET / HTTP/1.1\r\nHost: raw.githubusercontent.com\r\nConnection: close\r\n\r\n")
	assert.Assert(t, strings.HasPrefix(out, "HTTP/1.1 403"), out)
	assert.Assert(t, is.Contains(out, `egress: TLS server name "evil.example.com" does not match the CONNECT target "raw.githubusercontent.com"`))
	// Host header names another host than the tunnel (domain fronting).
	out = h.raw("raw.githubusercontent.com:443", "raw.githubusercontent.com", "GET / HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n")
	assert.Assert(t, is.Contains(out, `egress: Host header "evil.example.com" does not match the CONNECT target`), out)
	// Denied target fronted by an allowed SNI.
	out = h.raw("evil.example.com:443", "raw.githubusercontent.com", "GET / HTTP/1.1\r\nHost: raw.githubusercontent.com\r\nConnection: close\r\n\r\n")
	assert.Assert(t, strings.HasPrefix(out, "HTTP/1.1 403"), out)
	// Plain HTTP: a Host header beside an absolute URL is ignored (RFC 9112
	// §3.2.2): the request goes to the allowed target with its own Host.
	c, err := net.Dial("tcp", h.egressURL.Host)
	assert.NilError(t, err)
	fmt.Fprint(c, "GET http://plain.example.com/x HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	c.Close()
	assert.Assert(t, strings.HasPrefix(string(b), "HTTP/1.1 200"), string(b))
	for _, s := range h.rec.all() {
		assert.Equal(t, s.Host, "plain.example.com")
	}
	assert.Assert(t, !strings.Contains(h.rec.dump(), "evil"), h.rec.dump())
	h.rec = &recorder{}
	// A request sent to the proxy itself, not through it.
	resp, err := http.Get("http://" + h.egressURL.Host + "/repos/acme/x")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, resp.StatusCode, 403)
}

func TestCredentialInjection(t *testing.T) {
	h := newHarness(t, testRoutes())
	req, _ := http.NewRequest(http.MethodPost, "https://api.github.com/repos/acme/app/issues", strings.NewReader(`{"title":"x"}`))
	req.Header.Set("Authorization", "Bearer agent-made-this-up")
	req.Header.Set("Proxy-Authorization", "Basic c3B5OnNweQ==")
	req.Header.Set("X-Custom", "kept")
	r := h.do(req)
	assert.Equal(t, r.Status, 200, r.Body)
	reqs := h.rec.all()
	assert.Equal(t, len(reqs), 1)
	got := reqs[0]
	assert.DeepEqual(t, got.Header.Values("Authorization"), []string{"token " + testToken})
	assert.Equal(t, got.Header.Get("Proxy-Authorization"), "")
	assert.Equal(t, got.Header.Get("X-Custom"), "kept")
	assert.Equal(t, got.Body, `{"title":"x"}`)

	// Without auth on the route, the agent's own Authorization passes.
	req, _ = http.NewRequest(http.MethodGet, "https://raw.githubusercontent.com/x", nil)
	req.Header.Set("Authorization", "Bearer agent-own")
	r = h.do(req)
	assert.Equal(t, r.Status, 200)
	assert.Equal(t, h.rec.all()[1].Header.Get("Authorization"), "Bearer agent-own")

	// The token is injected on its route only.
	for _, s := range h.rec.all() {
		if s.Host != "api.github.com" {
			assert.Assert(t, !strings.Contains(fmt.Sprint(s.Header), testToken), "token sent to %s", s.Host)
		}
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	h := newHarness(t, testRoutes())
	var bodies []string
	for _, u := range []string{
		"https://api.github.com/repos/acme/x", "https://api.github.com/repos/other/x", "https://evil.example.com/",
		"https://down.example.com/", "http://_egress.local/allowlist",
	} {
		bodies = append(bodies, fmt.Sprint(h.get(u)))
	}
	out := h.raw("api.github.com:443", "api.github.com", "GET /%zz HTTP/1.1\r\nHost: api.github.com\r\nConnection: close\r\n\r\n")
	bodies = append(bodies, out)
	all := strings.Join(bodies, "\n") + h.logs.String()
	assert.Assert(t, !strings.Contains(all, testToken), "the token leaked into a response or a log")
	assert.Assert(t, !strings.Contains(all, testToken[4:20]), "part of the token leaked")
	assert.Assert(t, is.Contains(all, "egress: upstream request to down.example.com failed"), "the upstream-error path ran")
}

func TestAllowlistEndpoint(t *testing.T) {
	h := newHarness(t, testRoutes())
	r := h.get("http://_egress.local/allowlist")
	assert.Equal(t, r.Status, 200)
	var got struct{ Routes []daemoncfg.Route }
	assert.NilError(t, json.Unmarshal([]byte(r.Body), &got))
	assert.DeepEqual(t, got.Routes, testRoutes())
	assert.Assert(t, !strings.Contains(r.Body, testToken))
	r = h.get("http://_egress.local/other")
	assert.Equal(t, r.Status, 404)
}

func TestWebSocketUpgrade(t *testing.T) {
	h := newHarness(t, testRoutes())
	c, err := net.Dial("tcp", h.egressURL.Host)
	assert.NilError(t, err)
	defer c.Close()
	fmt.Fprint(c, "CONNECT raw.githubusercontent.com:443 HTTP/1.1\r\nHost: raw.githubusercontent.com:443\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, 200)
	tc := tls.Client(&bufConn{Conn: c, r: br}, &tls.Config{ServerName: "raw.githubusercontent.com", RootCAs: h.bottleCA.Pool()})
	fmt.Fprint(tc, "GET /ws HTTP/1.1\r\nHost: raw.githubusercontent.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	tr := bufio.NewReader(tc)
	resp, err = http.ReadResponse(tr, nil)
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, http.StatusSwitchingProtocols)
	fmt.Fprint(tc, "ping\n")
	line, err := tr.ReadString('\n')
	assert.NilError(t, err)
	assert.Equal(t, line, "echo:ping\n")
}

func TestSetTableReload(t *testing.T) {
	h := newHarness(t, testRoutes())
	assert.Equal(t, h.get("https://new.example.com/").Status, 403)
	table, err := NewTable(daemoncfg.Routes{Routes: []daemoncfg.Route{{Host: "new.example.com"}}}, func(string) (string, bool) { return "", false })
	assert.NilError(t, err)
	h.proxy.SetTable(table)
	assert.Equal(t, h.get("https://new.example.com/").Status, 200)
	assert.Equal(t, h.get("https://raw.githubusercontent.com/").Status, 403)
}

func TestNewTableErrors(t *testing.T) {
	_, err := NewTable(daemoncfg.Routes{Routes: []daemoncfg.Route{
		{Host: "a.example.com", Auth: &daemoncfg.Auth{Scheme: "token", TokenEnv: "EGRESS_TOKEN_7"}},
		{Host: "10.1.2.3"},
	}}, func(string) (string, bool) { return "", false })
	assert.ErrorContains(t, err, "credential variable EGRESS_TOKEN_7 is not set in egress' environment")
	assert.ErrorContains(t, err, `"10.1.2.3" is an IP address`)
}
