package egress

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// The harness stands in for everything around egress: a TLS "internet"
// answering for any host name with certificates from an upstream CA (what
// pipelock's interception CA is in a bottle), a plain-HTTP one, and a fake
// upstream proxy in front of them that records every CONNECT and request.
// Everything records what it receives so tests can prove what did or did not
// get out.

const testToken = "ghp_EgressTestToken0123456789abcdefABCDEF"

type seen struct {
	Method, Host, Path, RawQuery string
	Header                       http.Header
	Body                         string
	TLS                          bool
}

type recorder struct {
	mu   sync.Mutex
	reqs []seen
	conn []string // CONNECT targets and proxy auth seen by the fake proxy
}

func (r *recorder) add(s seen) { r.mu.Lock(); r.reqs = append(r.reqs, s); r.mu.Unlock() }
func (r *recorder) addConnect(s string) {
	r.mu.Lock()
	r.conn = append(r.conn, s)
	r.mu.Unlock()
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, s := range r.reqs {
		fmt.Fprintf(&b, "%s %s %s?%s %v %q\n", s.Method, s.Host, s.Path, s.RawQuery, s.Header, s.Body)
	}
	b.WriteString(strings.Join(r.conn, "\n"))
	return b.String()
}

type harness struct {
	t         testing.TB
	rec       *recorder
	bottleCA  *tlsca.CA
	proxy     *Proxy
	egressURL *url.URL
	logs      *syncBuffer

	upCA         *tlsca.CA
	backendAddr  string
	fakeProxyURL *url.URL
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func backendHandler(rec *recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.add(seen{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body), TLS: r.TLS != nil})
		if r.URL.Path == "/ws" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_ = rw.Flush()
			line, _ := rw.ReadString('\n')
			_, _ = rw.WriteString("echo:" + line)
			_ = rw.Flush()
			return
		}
		if r.URL.Path == "/stream" {
			for i := range 3 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				http.NewResponseController(w).Flush()
			}
			return
		}
		w.Header().Set("X-Backend", "yes")
		fmt.Fprintf(w, "hello from %s%s", r.Host, r.URL.Path)
	})
}

// newHarness starts the stand-in internet, the fake upstream proxy and an
// egress proxy with the given routes.
func newHarness(t testing.TB, rs []daemoncfg.Route) *harness {
	t.Helper()
	rec := &recorder{}
	upCA, err := tlsca.New("test upstream CA", tlsca.Options{})
	assert.NilError(t, err)
	upSigner, err := mitm.NewSigner(upCA, 0)
	assert.NilError(t, err)

	tlsBackend := httptest.NewUnstartedServer(backendHandler(rec))
	tlsBackend.TLS = &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if h.ServerName == "down.example.com" {
			return nil, fmt.Errorf("refusing")
		}
		return upSigner.Certificate(h.ServerName)
	}}
	tlsBackend.StartTLS()
	t.Cleanup(tlsBackend.Close)
	plainBackend := httptest.NewServer(backendHandler(rec))
	t.Cleanup(plainBackend.Close)

	// Fake upstream proxy: CONNECT to any name reaches tlsBackend; absolute
	// http:// requests reach plainBackend.
	plainURL, _ := url.Parse(plainBackend.URL)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme, pr.Out.URL.Host = "http", plainURL.Host
		pr.Out.Host = pr.In.URL.Host
	}}
	fakeProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.addConnect(fmt.Sprintf("%s %s proxy-auth=%q", r.Method, r.Host, r.Header.Get("Proxy-Authorization")))
		if r.Method != http.MethodConnect {
			rp.ServeHTTP(w, r)
			return
		}
		up, err := net.Dial("tcp", tlsBackend.Listener.Addr().String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\n\r\n")
		go func() { _, _ = io.Copy(up, conn); up.Close() }()
		_, _ = io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(fakeProxy.Close)
	fakeProxyURL, _ := url.Parse(fakeProxy.URL)

	bottleCA, err := tlsca.New("test bottle CA", tlsca.Options{})
	assert.NilError(t, err)
	signer, err := mitm.NewSigner(bottleCA, 0)
	assert.NilError(t, err)
	table, err := NewTable(daemoncfg.Routes{Routes: rs}, func(k string) (string, bool) {
		if k == "EGRESS_TOKEN_1" {
			return testToken, true
		}
		return "", false
	})
	assert.NilError(t, err)
	logs := &syncBuffer{}
	p, err := New(Options{Table: table, Signer: signer, Transport: NewTransport(fakeProxyURL, upCA.Pool()),
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &harness{t: t, rec: rec, bottleCA: bottleCA, proxy: p, egressURL: u, logs: logs,
		upCA: upCA, backendAddr: tlsBackend.Listener.Addr().String(), fakeProxyURL: fakeProxyURL}
}

// client is what the agent uses: proxies via egress, trusts the bottle CA.
func (h *harness) client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(h.egressURL),
		TLSClientConfig: &tls.Config{RootCAs: h.bottleCA.Pool()},
	}, Timeout: 10 * time.Second}
}

type result struct {
	Status int
	Header http.Header
	Body   string
}

func (h *harness) do(req *http.Request) result {
	h.t.Helper()
	resp, err := h.client().Do(req)
	assert.NilError(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (h *harness) get(u string) result {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	assert.NilError(h.t, err)
	return h.do(req)
}

// raw opens a CONNECT tunnel to connectTarget through egress, does a TLS
// handshake with sni (verifying against the bottle CA for verifyName), writes
// the raw request and returns the raw response (or the CONNECT response when
// the tunnel is refused).
func (h *harness) raw(connectTarget, sni, request string) string {
	h.t.Helper()
	c, err := net.Dial("tcp", h.egressURL.Host)
	assert.NilError(h.t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", connectTarget, connectTarget)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	assert.NilError(h.t, err)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("CONNECT %d\n%s", resp.StatusCode, b)
	}
	tc := tls.Client(&bufConn{Conn: c, r: br}, &tls.Config{ServerName: sni, RootCAs: h.bottleCA.Pool(), InsecureSkipVerify: sni == ""})
	if err := tc.Handshake(); err != nil {
		return "TLS " + err.Error()
	}
	_, _ = io.WriteString(tc, request)
	out, _ := io.ReadAll(tc)
	return string(out)
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
