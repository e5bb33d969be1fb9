package egress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync/atomic"

	"github.com/claude-bottle/claude-bottle/internal/logsafe"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
)

// Options configure a Proxy.
type Options struct {
	// Table is the initial route table.
	Table *Table
	// Signer mints the leaves the agent sees (bottle CA).
	Signer *mitm.Signer
	// Transport reaches upstream: through pipelock, verifying its CA.
	Transport http.RoundTripper
	// Logger receives the decision log; nil discards it.
	Logger *slog.Logger
}

// Proxy is the egress HTTP(S) proxy. ServeHTTP handles what the agent sends
// to the proxy port; intercepted TLS connections are served by an inner
// HTTP server that sees the decrypted requests.
type Proxy struct {
	opts  Options
	log   *slog.Logger
	table atomic.Pointer[Table]
	rp    *httputil.ReverseProxy
	ic    *mitm.Interceptor
}

type ctxKey int

const (
	keyScheme ctxKey = iota
	keyRoute
)

// New returns a proxy; call Close when done.
func New(opts Options) (*Proxy, error) {
	if opts.Table == nil || opts.Signer == nil || opts.Transport == nil {
		return nil, errors.New("egress: table, signer and transport are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{opts: opts, log: log}
	p.table.Store(opts.Table)
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: opts.Transport,
		// Zero: a response of known length goes out through the server's
		// buffer, headers and body in one write. Server-sent events (model
		// responses) and every response of unknown length are still
		// flushed as they come: ReverseProxy flushes those immediately
		// whatever this says. A negative value would also start a timer
		// per response whose goroutine races the copy to flush the headers
		// alone: an extra TLS record and write on every small response.
		FlushInterval: 0,
		BufferPool:    &mitm.BufferPool{},
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler:  p.upstreamError,
	}
	p.ic = mitm.NewInterceptor(opts.Signer, http.HandlerFunc(p.serveIntercepted), log)
	return p, nil
}

// SetTable swaps the route table atomically (SIGHUP reload).
func (p *Proxy) SetTable(t *Table) { p.table.Store(t) }

// Table returns the current route table.
func (p *Proxy) Table() *Table { return p.table.Load() }

// Close stops the inner server and its intercepted connections.
func (p *Proxy) Close() error { return p.ic.Close() }

// ServeHTTP handles requests to the proxy port: CONNECT (intercepted), plain
// HTTP in absolute form, and egress' own endpoints.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.handleConnect(w, r)
	case r.URL.IsAbs():
		if !strings.EqualFold(r.URL.Scheme, "http") {
			p.deny(w, r, r.URL.Host, "scheme", fmt.Sprintf("scheme %q is not proxied; use http:// or https:// (CONNECT)", r.URL.Scheme))
			return
		}
		// net/http sets r.Host from an absolute URL and ignores a Host
		// header beside it (RFC 9112 §3.2.2), and the upstream request
		// carries the route's host only: there is nothing to front.
		p.forward(w, r, "http", r.URL.Host)
	case mitm.NormalizeHost(r.Host) == contract.EgressControlHost:
		p.control(w, r)
	default:
		p.deny(w, r, r.Host, "not-proxy-request", "this is the bottle's egress proxy; send requests through it (HTTP_PROXY/HTTPS_PROXY), not to it")
	}
}

func (p *Proxy) handleConnect(w http.ResponseWriter, r *http.Request) {
	host, port := mitm.SplitHostPort(r.Host, "443")
	if mitm.IsIPLike(host) {
		p.deny(w, r, host, "ip-literal", fmt.Sprintf("%s is an IP address; bottles reach hosts by allowlisted name only", host))
		return
	}
	if port != "443" {
		p.deny(w, r, host, "port", fmt.Sprintf("port %s is not allowed; HTTPS goes to port 443", port))
		return
	}
	p.ic.Intercept(w, r, host)
}

// serveIntercepted handles one decrypted request of a CONNECT tunnel.
func (p *Proxy) serveIntercepted(w http.ResponseWriter, r *http.Request) {
	connectHost := mitm.ConnectHost(r)
	sni := ""
	if r.TLS != nil {
		sni = mitm.NormalizeHost(r.TLS.ServerName)
	}
	reqHost, reqPort := mitm.SplitHostPort(r.Host, "")
	switch {
	case sni != "" && sni != connectHost:
		p.deny(w, r, connectHost, "sni-mismatch", fmt.Sprintf("TLS server name %q does not match the CONNECT target %q", sni, connectHost))
		return
	case reqHost != connectHost:
		p.deny(w, r, connectHost, "host-mismatch", fmt.Sprintf("Host header %q does not match the CONNECT target %q", r.Host, connectHost))
		return
	case reqPort != "" && reqPort != "443":
		p.deny(w, r, connectHost, "port", fmt.Sprintf("Host header port %s does not match the tunnel's port 443", reqPort))
		return
	}
	p.forward(w, r, "https", connectHost)
}

// forward applies the route table to one request and proxies it upstream.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, scheme, hostport string) {
	host, port := mitm.SplitHostPort(hostport, "")
	if host == contract.EgressControlHost {
		p.control(w, r)
		return
	}
	if mitm.IsIPLike(host) {
		p.deny(w, r, host, "ip-literal", fmt.Sprintf("%s is an IP address; bottles reach hosts by allowlisted name only", host))
		return
	}
	if scheme == "http" && port != "" && port != "80" {
		p.deny(w, r, host, "port", fmt.Sprintf("port %s is not allowed; plain HTTP goes to port 80", port))
		return
	}
	route := p.table.Load().Lookup(host)
	if route == nil {
		p.deny(w, r, host, "host-not-allowed", fmt.Sprintf("host %s is not on this bottle's allowlist", host))
		return
	}
	if scheme == "http" && route.HasAuth() {
		// Credentials travel only inside TLS: injected into cleartext they
		// would cross every network between here and the host in the open.
		// Nothing is injected and nothing is sent upstream.
		p.deny(w, r, host, "cleartext-credential", fmt.Sprintf("route %s carries a credential; use https", route.Host))
		return
	}
	ok, err := route.Allows(r.URL.EscapedPath())
	if err != nil {
		p.deny(w, r, host, "bad-path", fmt.Sprintf("path of the request to %s is malformed: %v", host, err))
		return
	}
	if !ok {
		p.deny(w, r, host, "path-not-allowed", fmt.Sprintf("path %s is not allowed on %s (allowed prefixes: %s)", logPath(r), host, strings.Join(route.Prefixes, ", ")))
		return
	}
	p.log.Info("decision", "decision", "allow", "method", logsafe.Method(r.Method), "host", logsafe.Host(host), "path", logPath(r), "route", route.Host, "auth", route.HasAuth())
	ctx := context.WithValue(r.Context(), keyScheme, scheme)
	ctx = context.WithValue(ctx, keyRoute, route)
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// rewrite builds the upstream request: same method, path, query and body;
// the target named by host only; hop-by-hop headers (Proxy-Authorization
// among them) already dropped by ReverseProxy; the agent's Authorization
// replaced by the route's credential when it has one.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	scheme, _ := pr.In.Context().Value(keyScheme).(string)
	route, _ := pr.In.Context().Value(keyRoute).(*Route)
	pr.Out.URL.Scheme = scheme
	pr.Out.URL.Host = route.Host
	pr.Out.Host = route.Host
	pr.Out.Header.Del("Proxy-Authorization")
	switch {
	case route.Header != "":
		// The agent's value of the header (its placeholder) never leaves.
		pr.Out.Header.Del(route.Header)
		pr.Out.Header.Set(route.Header, route.token)
	case route.Scheme != "":
		pr.Out.Header.Del("Authorization")
		pr.Out.Header.Set("Authorization", route.Scheme+" "+route.token)
	}
}

func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	host := mitm.NormalizeHost(r.Host)
	// Transport errors name the URL and the proxy, never request headers, so
	// no credential can reach the message.
	p.log.Warn("upstream", "host", logsafe.Host(host), "path", logPath(r), "err", logsafe.Err(err))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusBadGateway)
	if op := (*net.OpError)(nil); errors.As(err, &op) && op.Op == "proxyconnect" {
		// pipelock is down (restarting after a crash, or given up on):
		// egress has no other way out, so nothing was sent.
		fmt.Fprintf(w, "egress: upstream request to %s failed: pipelock (the bottle's DLP proxy) is not answering, so nothing was sent; it is restarted automatically, try again in a moment (%v)\n", host, err)
		return
	}
	fmt.Fprintf(w, "egress: upstream request to %s failed: %v\n", host, err)
}

func (p *Proxy) control(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != contract.EgressAllowlistPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.Error(w, "egress: unknown endpoint; GET "+contract.EgressAllowlistURL+" lists the routes", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	rs := p.table.Load().Routes()
	if rs == nil {
		rs = []daemoncfg.Route{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"routes": rs})
}

// deny answers 403 with a body starting "egress: " that says what was refused
// and how to ask for access, and logs the decision.
func (p *Proxy) deny(w http.ResponseWriter, r *http.Request, host, reason, msg string) {
	host = mitm.NormalizeHost(host)
	p.log.Info("decision", "decision", "deny", "method", logsafe.Method(r.Method), "host", logsafe.Host(host), "path", logPath(r), "reason", reason)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set(contract.BlockHeader, "egress; reason="+reason+"; tool="+contract.ToolEgressBlock)
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "egress: %s\nTo ask for access, call the supervise MCP tool %s with the host (%s), the paths you need and a justification.\n", msg, contract.ToolEgressBlock, host)
}

// logPath is the request path for logs and messages: no query string (it may
// carry anything), bounded in length.
func logPath(r *http.Request) string {
	if r.Method == http.MethodConnect {
		return ""
	}
	return logsafe.Path(r.URL.EscapedPath())
}
