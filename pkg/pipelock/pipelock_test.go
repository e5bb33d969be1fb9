package pipelock

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// Planted secrets shaped like real credentials (none is live).
var secrets = map[string]string{
	"ANTHROPIC": "sk-ant-api03-" + strings.Repeat("Xq9vT2mLw8ZpK4rB", 6)[:93] + "AA",
	"AWS":       "AKIAQ7R2XNPLW3JKD5VT",
	"GENERIC":   "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0",
	// A known secret whose pieces do not look like credentials on their
	// own (lower-case words): the split-secret tests see the window, not
	// the credential-shape rules that would refuse a piece of GENERIC.
	"PASSPHRASE": "zebra-quartz-violin-meadow-copper-lantern",
}

const ghToken = "ghp_R2d4e6f8h0j2k4m6n8p0q2s4u6w8y0A2c4E6"

// stubResolver answers every name with addrs[name] (default 127.0.0.1) and
// records each lookup, so tests can prove what was (not) resolved.
type stubResolver struct {
	mu      sync.Mutex
	addrs   map[string][]netip.Addr
	lookups []string
}

func (s *stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups = append(s.lookups, host)
	if a, ok := s.addrs[host]; ok {
		return a, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

func (s *stubResolver) looked() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lookups, ",")
}

type seen struct {
	host, path, query, body string
	method                  string
	header                  http.Header
}

type env struct {
	t        testing.TB
	res      *stubResolver
	mu       sync.Mutex
	got      []seen
	proxyURL *url.URL // with egress' credential
	bareURL  *url.URL // without
	pipeCA   *tlsca.CA
	netCA    *tlsca.CA
	logs     *bytes.Buffer
	logsMu   *sync.Mutex
	p        *Proxy
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *env) seenAll() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.got...)
}

func (e *env) logText() string { e.logsMu.Lock(); defer e.logsMu.Unlock(); return e.logs.String() }

func newEnv(t testing.TB, mutate func(*daemoncfg.Pipelock)) *env {
	t.Helper()
	return newEnvWith(t, nil, mutate)
}

// newEnvWith is newEnv with a stand-in internet that answers with next
// (after recording the request) instead of the default echo.
func newEnvWith(t testing.TB, next http.Handler, mutate func(*daemoncfg.Pipelock)) *env {
	t.Helper()
	e := &env{t: t, res: &stubResolver{addrs: map[string][]netip.Addr{}}, logs: &bytes.Buffer{}, logsMu: &sync.Mutex{}}
	var err error
	e.netCA, err = tlsca.New("stand-in internet", tlsca.Options{})
	assert.NilError(t, err)
	netSigner, err := mitm.NewSigner(e.netCA, 0)
	assert.NilError(t, err)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Bench-Discard") != "" {
			// Benchmarks: count nothing, hold nothing.
			_, _ = io.Copy(io.Discard, r.Body)
			return
		}
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got = append(e.got, seen{host: r.Host, path: r.URL.EscapedPath(), query: r.URL.RawQuery, body: string(b), header: r.Header.Clone(), method: r.Method})
		e.mu.Unlock()
		if next != nil {
			next.ServeHTTP(w, r)
			return
		}
		fmt.Fprintf(w, "internet: %s%s", r.Host, r.URL.Path)
	})
	tlsSrv := httptest.NewUnstartedServer(handler)
	tlsSrv.TLS = &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return netSigner.Certificate(h.ServerName) }}
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(handler)
	t.Cleanup(plainSrv.Close)

	e.pipeCA, err = tlsca.New("pipelock CA", tlsca.Options{})
	assert.NilError(t, err)
	caDir := t.TempDir()
	assert.NilError(t, writeFile(caDir+"/ca.pem", e.pipeCA.CertPEM))
	assert.NilError(t, writeFile(caDir+"/ca-key.pem", e.pipeCA.KeyPEM))

	cfg := daemoncfg.Pipelock{
		Mode:         "strict",
		APIAllowlist: []string{"api.github.com", "allowed.example.com", "*.wild.example.com", "pass.example.com", "internal.example.com", "meta.example.com"},
		ForwardProxy: daemoncfg.ForwardProxy{Enabled: true, ProxyAuthSHA256: sha256hex("egress:pw-123")},
		DLP:          daemoncfg.DLP{IncludeDefaults: true},
		TLSInterception: daemoncfg.TLSInterception{Enabled: true, CACert: caDir + "/ca.pem", CAKey: caDir + "/ca-key.pem",
			PassthroughDomains: []string{"pass.example.com"}},
		RequestBodyScanning: daemoncfg.RequestBodyScanning{Action: "block", ScanHeaders: true, HeaderMode: "all"},
		SSRF:                daemoncfg.SSRF{AllowCIDRs: []string{"127.0.0.0/8"}},
	}
	for name, v := range secrets {
		fp, err := secretfp.Of(name, v)
		assert.NilError(t, err)
		cfg.DLP.KnownSecrets = append(cfg.DLP.KnownSecrets, fp)
	}
	fp, err := secretfp.Of("GH_PAT", ghToken)
	assert.NilError(t, err)
	cfg.DLP.KnownSecrets = append(cfg.DLP.KnownSecrets, fp)
	cfg.DLP.AllowedCredentials = []daemoncfg.Credential{{Host: "api.github.com", Secret: "GH_PAT"}}
	if mutate != nil {
		mutate(&cfg)
	}
	assert.NilError(t, cfg.Validate())
	log := slog.New(slog.NewJSONHandler(lockedWriter{e.logsMu, e.logs}, nil))
	p, err := Build(cfg, e.res, nil, log)
	assert.NilError(t, err)
	e.p = p
	// The stand-in internet: port 443 of any checked address reaches the
	// TLS server, port 80 the plain one.
	p.guard.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		target := tlsSrv.Listener.Addr().String()
		if port == "80" {
			target = plainSrv.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}
	p.rp.Transport.(*http.Transport).TLSClientConfig.RootCAs = e.netCA.Pool()
	t.Cleanup(func() { _ = p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	e.bareURL, _ = url.Parse(srv.URL)
	e.proxyURL, _ = url.Parse(srv.URL)
	e.proxyURL.User = url.UserPassword("egress", "pw-123")
	return e
}

func writeFile(path string, b []byte) error {
	f, err := createFile(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errJoin(err, f.Close())
}

func sha256hex(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

type result struct {
	status int
	header http.Header
	body   string
}

// do sends req as egress would: through pipelock with its credential,
// trusting pipelock's CA (and the stand-in's, for passthrough).
func (e *env) do(req *http.Request, proxy *url.URL) result {
	e.t.Helper()
	roots := e.pipeCA.Pool()
	roots.AddCert(e.netCA.Cert)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return result{status: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (e *env) get(u string) result {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	assert.NilError(e.t, err)
	return e.do(req, e.proxyURL)
}

func TestProxyAuthRequired(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest(http.MethodGet, "http://allowed.example.com/", nil)
	r := e.do(req, e.bareURL)
	assert.Equal(t, r.status, http.StatusProxyAuthRequired)
	assert.Assert(t, strings.HasPrefix(r.body, "blocked: proxy authentication required"), r.body)
	wrong := *e.proxyURL
	wrong.User = url.UserPassword("egress", "guess")
	req, _ = http.NewRequest(http.MethodGet, "http://allowed.example.com/", nil)
	assert.Equal(t, e.do(req, &wrong).status, http.StatusProxyAuthRequired)
	// HTTPS without the credential: the CONNECT itself is refused.
	req, _ = http.NewRequest(http.MethodGet, "https://allowed.example.com/", nil)
	r = e.do(req, e.bareURL)
	assert.Assert(t, r.status == -1 && strings.Contains(r.body, "Proxy Authentication Required"), "%+v", r)
	assert.Equal(t, len(e.seenAll()), 0)
	assert.Equal(t, e.res.looked(), "", "no lookup for an unauthenticated request")
	// With it, plain and TLS both pass.
	assert.Equal(t, e.get("http://allowed.example.com/x").status, 200)
	assert.Equal(t, e.get("https://allowed.example.com/x").body, "internet: allowed.example.com/x")
}

func TestAllowlistBeforeDNS(t *testing.T) {
	e := newEnv(t, nil)
	for _, u := range []string{"https://evil.example.com/", "http://evil.example.com/", "https://github.com/", "https://wild.example.com/", "https://allowed.example.com.evil.net/"} {
		r := e.get(u)
		assert.Equal(t, r.status, 403, u)
		assert.Assert(t, strings.HasPrefix(r.body, "blocked: host "), r.body)
		assert.Assert(t, is.Contains(r.body, "pipelock-block"))
		assert.Assert(t, strings.HasPrefix(r.header.Get(contract.BlockHeader), "pipelock; reason=host-not-allowed"))
	}
	assert.Equal(t, e.res.looked(), "", "a refused host must never be resolved")
	assert.Equal(t, len(e.seenAll()), 0)
	assert.Equal(t, e.get("https://deep.sub.wild.example.com/").status, 200, "*.suffix admits subdomains")
	assert.Equal(t, e.res.looked(), "deep.sub.wild.example.com")
}

func TestIPLiteralsAndSSRF(t *testing.T) {
	e := newEnv(t, func(c *daemoncfg.Pipelock) { c.SSRF.AllowCIDRs = nil })
	for _, u := range []string{"http://127.0.0.1/", "http://2130706433/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/"} {
		r := e.get(u)
		assert.Equal(t, r.status, 403, u)
		assert.Assert(t, strings.HasPrefix(r.body, "blocked: "), r.body)
	}
	// No certificate can be minted for an address, so an IP-literal CONNECT
	// is refused before any tunnel (egress refuses it even earlier).
	for _, u := range []string{"https://10.0.0.1/", "https://[::1]/", "https://0x7f000001/"} {
		r := e.get(u)
		assert.Assert(t, r.status == -1 && strings.Contains(r.body, "Forbidden"), "%s: %+v", u, r)
	}
	e.res.addrs["internal.example.com"] = []netip.Addr{netip.MustParseAddr("10.1.2.3")}
	e.res.addrs["meta.example.com"] = []netip.Addr{netip.MustParseAddr("169.254.169.254")}
	e.res.addrs["allowed.example.com"] = []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.1")}
	for _, u := range []string{"https://internal.example.com/", "http://meta.example.com/", "https://allowed.example.com/"} {
		r := e.get(u)
		assert.Equal(t, r.status, 403, u)
		assert.Assert(t, is.Contains(r.body, "destination address refused"), r.body)
	}
	assert.Equal(t, len(e.seenAll()), 0)
}

func TestDLPEveryPart(t *testing.T) {
	e := newEnv(t, nil)
	for name, v := range secrets {
		b64 := base64.StdEncoding.EncodeToString([]byte(v))
		cases := map[string]func() *http.Request{
			"path": func() *http.Request {
				r, _ := http.NewRequest("GET", "https://allowed.example.com/p/"+url.PathEscape(v), nil)
				return r
			},
			"query": func() *http.Request {
				r, _ := http.NewRequest("GET", "https://allowed.example.com/p?d="+url.QueryEscape(b64), nil)
				return r
			},
			"header": func() *http.Request {
				r, _ := http.NewRequest("GET", "https://allowed.example.com/p", nil)
				r.Header.Set("X-Trace", hex.EncodeToString([]byte(v)))
				return r
			},
			"body": func() *http.Request {
				r, _ := http.NewRequest("POST", "https://allowed.example.com/p", strings.NewReader(`{"note":"`+v+`"}`))
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			"plain-http-body": func() *http.Request {
				r, _ := http.NewRequest("POST", "http://allowed.example.com/p", strings.NewReader("x="+url.QueryEscape(v)))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			},
		}
		for part, mk := range cases {
			r := e.do(mk(), e.proxyURL)
			assert.Equal(t, r.status, 403, "%s in %s: %s", name, part, r.body)
			assert.Assert(t, strings.HasPrefix(r.body, "blocked: "), r.body)
			assert.Assert(t, !strings.Contains(r.body, v), "the block message repeats the secret")
		}
	}
	assert.Equal(t, len(e.seenAll()), 0, "nothing may reach the internet")
	assert.Equal(t, e.res.looked(), "", "blocked requests are never resolved")
	for _, v := range secrets {
		assert.Assert(t, !strings.Contains(e.logText(), v), "a secret reached the log")
	}
}

func TestSecretInSubdomainBlockedWithoutLookup(t *testing.T) {
	e := newEnv(t, nil)
	// Hex of the secret, split across two labels (each ≤ 63 characters).
	h := hex.EncodeToString([]byte(secrets["GENERIC"]))
	r := e.get("https://" + h[:len(h)/2] + "." + h[len(h)/2:] + ".wild.example.com/")
	assert.Equal(t, r.status, 403, r.body)
	assert.Equal(t, e.res.looked(), "")
}

// TestHostScanRemembersOnlyCleanNames: pipelock remembers the host names
// it found clean, never one that carried a secret: that name is refused on
// every request, and a clean name seen first changes nothing for it.
func TestHostScanRemembersOnlyCleanNames(t *testing.T) {
	e := newEnv(t, nil)
	h := hex.EncodeToString([]byte(secrets["GENERIC"]))
	bad := h[:len(h)/2] + "." + h[len(h)/2:] + ".wild.example.com"
	for range 3 {
		assert.Equal(t, e.get("https://ok.wild.example.com/").status, 200)
		r := e.get("https://" + bad + "/")
		assert.Equal(t, r.status, 403, r.body)
		assert.Equal(t, r.header.Get(contract.BlockHeader), "pipelock; reason=dlp; tool="+contract.ToolPipelockBlock)
	}
	_, remembered := e.p.cleanHosts.Load(bad)
	assert.Assert(t, !remembered)
	_, remembered = e.p.cleanHosts.Load("ok.wild.example.com")
	assert.Assert(t, remembered)
	for _, s := range e.seenAll() {
		assert.Equal(t, s.host, "ok.wild.example.com")
	}
}

func TestCredentialOnlyToItsHost(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest("GET", "https://api.github.com/repos/acme/app", nil)
	req.Header.Set("Authorization", "token "+ghToken)
	r := e.do(req, e.proxyURL)
	assert.Equal(t, r.status, 200, r.body)
	assert.Equal(t, e.seenAll()[0].header.Get("Authorization"), "token "+ghToken)
	assert.Equal(t, e.seenAll()[0].header.Get("Proxy-Authorization"), "", "the proxy credential never goes upstream")

	req, _ = http.NewRequest("GET", "https://allowed.example.com/", nil)
	req.Header.Set("Authorization", "token "+ghToken)
	r = e.do(req, e.proxyURL)
	assert.Equal(t, r.status, 403)
	assert.Assert(t, is.Contains(r.body, "GH_PAT in header Authorization"), r.body)

	// The token smuggled elsewhere in a request to its own host is blocked.
	req, _ = http.NewRequest("GET", "https://api.github.com/repos/acme/app?t="+ghToken, nil)
	req.Header.Set("Authorization", "token "+ghToken)
	assert.Equal(t, e.do(req, e.proxyURL).status, 403)
	assert.Equal(t, len(e.seenAll()), 1)
}

func TestContentEncodings(t *testing.T) {
	e := newEnv(t, nil)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("note=" + secrets["AWS"]))
	_ = zw.Close()
	req, _ := http.NewRequest("POST", "https://allowed.example.com/u", bytes.NewReader(gz.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	r := e.do(req, e.proxyURL)
	assert.Equal(t, r.status, 403, r.body)

	req, _ = http.NewRequest("POST", "https://allowed.example.com/u", strings.NewReader("whatever"))
	req.Header.Set("Content-Encoding", "compress")
	r = e.do(req, e.proxyURL)
	assert.Equal(t, r.status, http.StatusUnsupportedMediaType)
	assert.Assert(t, is.Contains(r.body, `blocked: Content-Encoding "compress" cannot be inspected`))

	req, _ = http.NewRequest("POST", "https://allowed.example.com/u", strings.NewReader("not brotli at all"))
	req.Header.Set("Content-Encoding", "br")
	r = e.do(req, e.proxyURL)
	assert.Equal(t, r.status, http.StatusUnsupportedMediaType)
	assert.Assert(t, is.Contains(r.body, `blocked: the body does not decode as Content-Encoding br`), r.body)

	// A clean gzip body passes unchanged.
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("hello"))
	_ = zw.Close()
	req, _ = http.NewRequest("POST", "https://allowed.example.com/u", bytes.NewReader(gz.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	assert.Equal(t, e.do(req, e.proxyURL).status, 200)
	assert.Equal(t, e.seenAll()[0].body, gz.String())
}

func TestPassthrough(t *testing.T) {
	e := newEnv(t, nil)
	// Not intercepted: the client sees the stand-in's own certificate.
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(e.proxyURL), TLSClientConfig: &tls.Config{RootCAs: e.netCA.Pool()}}}
	resp, err := c.Get("https://pass.example.com/x?" + secrets["GENERIC"])
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, resp.StatusCode, 200, "passthrough content is not inspected (documented)")
	assert.Equal(t, resp.TLS.PeerCertificates[0].Issuer.CommonName, "stand-in internet")
}

func TestAuditModeDoesNotBlock(t *testing.T) {
	e := newEnv(t, func(c *daemoncfg.Pipelock) { c.Mode = "audit" })
	r := e.get("https://allowed.example.com/?k=" + secrets["AWS"])
	assert.Equal(t, r.status, 200)
	assert.Assert(t, is.Contains(e.logText(), "not blocking: audit/warn"))
	assert.Assert(t, !strings.Contains(e.logText(), secrets["AWS"]))
}

func TestHostMismatchInsideTunnel(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest("GET", "https://allowed.example.com/", nil)
	req.Host = "evil.example.com"
	r := e.do(req, e.proxyURL)
	assert.Equal(t, r.status, 403)
	assert.Assert(t, is.Contains(r.body, "disagrees with the CONNECT target"), r.body)
}

func TestBuildErrors(t *testing.T) {
	cfg := daemoncfg.Pipelock{Mode: "strict", TLSInterception: daemoncfg.TLSInterception{Enabled: true, CACert: "/nonexistent/ca.pem", CAKey: "/nonexistent/ca-key.pem"},
		RequestBodyScanning: daemoncfg.RequestBodyScanning{Action: "block", HeaderMode: "all"}}
	_, err := Build(cfg, &stubResolver{}, nil, nil)
	assert.ErrorContains(t, err, "interception CA (pipelock never creates one)")
	assert.ErrorContains(t, err, "/nonexistent/ca.pem")
	cfg.TLSInterception = daemoncfg.TLSInterception{}
	cfg.DLP.Patterns = []daemoncfg.Pattern{{Name: "bad", Regex: "("}}
	_, err = Build(cfg, &stubResolver{}, nil, nil)
	assert.ErrorContains(t, err, "pattern 0 (bad)")
	_, err = Load("/nonexistent/pipelock.yaml", &stubResolver{}, nil, nil)
	assert.ErrorContains(t, err, "pipelock: config: open /nonexistent/pipelock.yaml")
}

func TestRunArgs(t *testing.T) {
	err := Run(t.Context(), nil, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "usage: pipelock run")
	assert.Equal(t, DefaultListen, "127.0.0.1:8888")
}

func createFile(path string) (*os.File, error) { return os.Create(path) }

func errJoin(a, b error) error { return errors.Join(a, b) }
