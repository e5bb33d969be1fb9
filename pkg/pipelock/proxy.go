// Package pipelock is the guard in the pipelock slot: the last check before
// the internet. It admits only egress (proxy credential), only allowlisted
// host names (exact or *.suffix, checked before any DNS lookup), intercepts
// TLS with its own CA except for passthrough domains, runs DLP on every part
// of every request, and connects only to addresses that are not private,
// loopback, link-local or reserved (checked after resolution).
package pipelock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/semaphore"

	"github.com/claude-bottle/claude-bottle/internal/inject"
	"github.com/claude-bottle/claude-bottle/internal/logsafe"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/dlp"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
)

// Options configure a Proxy.
type Options struct {
	Config  daemoncfg.Pipelock
	Scanner *dlp.Scanner
	// Signer is the interception CA's signer; nil when interception is off.
	Signer *mitm.Signer
	Guard  *Guard
	// Roots verify upstream certificates (system roots + extra CA file).
	Roots  *x509.CertPool
	Logger *slog.Logger
	// Limits bound memory and scan time; zero means the defaults.
	Limits Limits
}

// Proxy is the pipelock guard.
type Proxy struct {
	cfg         daemoncfg.Pipelock
	scan        *dlp.Scanner
	log         *slog.Logger
	guard       *Guard
	authSum     []byte
	exact       map[string]bool
	suffixes    []string
	passthrough map[string]bool
	passSuffix  []string
	creds       map[string][]allowedCred // host -> credentials egress injects there
	ic          *mitm.Interceptor
	rp          *httputil.ReverseProxy
	transport   *http.Transport
	lim         Limits
	mem         *semaphore.Weighted
	split       *splitWindow
	issued      *issuedURLs // URLs redirects handed out (issued.go)
	injection   string      // block | warn | off
	// cleanHosts holds the host names ScanHost found nothing in (at most
	// maxCleanHosts): every request of a tunnel checks its host again,
	// and the same name under the same scanner gives the same answer.
	cleanHosts sync.Map // string -> struct{}
	nClean     atomic.Int32
}

// maxCleanHosts bounds cleanHosts: a wildcard allowlist entry admits any
// number of names.
const maxCleanHosts = 4096

type ctxKey int

const keyTarget ctxKey = iota

type target struct {
	scheme, host string
}

func withTarget(ctx context.Context, t target) context.Context {
	return context.WithValue(ctx, keyTarget, t)
}

// New builds a proxy from a validated config.
func New(opts Options) (*Proxy, error) {
	if opts.Scanner == nil || opts.Guard == nil {
		return nil, errors.New("pipelock: scanner and guard are required")
	}
	if opts.Config.TLSInterception.Enabled && opts.Signer == nil {
		return nil, errors.New("pipelock: TLS interception is enabled but no CA was loaded")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: opts.Config, scan: opts.Scanner, log: log, guard: opts.Guard,
		exact: map[string]bool{}, passthrough: map[string]bool{}, creds: map[string][]allowedCred{},
		lim: opts.Limits.withDefaults(), injection: opts.Config.ResponseScanning.Action, issued: newIssuedURLs()}
	if p.injection == "" {
		p.injection = "block"
	}
	if p.cfg.Mode == "audit" && p.injection == "block" {
		p.injection = "warn"
	}
	p.mem = newSem(p.lim.BufferBudget)
	sw, err := newSplitWindow(opts.Config.DLP.KnownSecrets)
	if err != nil {
		return nil, fmt.Errorf("pipelock: split-secret window: %w", err)
	}
	p.split = sw
	if a := opts.Config.ForwardProxy.ProxyAuthSHA256; a != "" {
		b, err := hex.DecodeString(a)
		if err != nil {
			return nil, fmt.Errorf("pipelock: forward_proxy.proxy_auth_sha256: %w", err)
		}
		p.authSum = b
	}
	for _, h := range opts.Config.APIAllowlist {
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			p.suffixes = append(p.suffixes, "."+rest)
		} else {
			p.exact[h] = true
		}
	}
	for _, h := range opts.Config.TLSInterception.PassthroughDomains {
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			p.passSuffix = append(p.passSuffix, "."+rest)
		} else {
			p.passthrough[h] = true
		}
	}
	sums := map[string]string{}
	for _, k := range opts.Config.DLP.KnownSecrets {
		sums[k.Name] = k.SHA256
	}
	for _, c := range opts.Config.DLP.AllowedCredentials {
		h := mitm.NormalizeHost(c.Host)
		hdr := "Authorization"
		if c.Header != "" {
			hdr = textproto.CanonicalMIMEHeaderKey(c.Header)
		}
		p.creds[h] = append(p.creds[h], allowedCred{header: hdr, sum: sums[c.Secret]})
	}
	roots := opts.Roots
	if roots == nil {
		roots = x509.NewCertPool()
	}
	transport := &http.Transport{
		Proxy:                 nil, // never an environment proxy: pipelock is the last hop
		DialContext:           opts.Guard.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	p.transport = transport
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t, _ := pr.In.Context().Value(keyTarget).(target)
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = t.scheme, t.host, t.host
			pr.Out.Header.Del("Proxy-Authorization")
		},
		Transport: transport,
		// As egress': streams (server-sent events, unknown length) are
		// flushed as they come, a response of known length in one write.
		FlushInterval:  0,
		BufferPool:     &mitm.BufferPool{},
		ModifyResponse: p.scanResponse,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			t, _ := r.Context().Value(keyTarget).(target)
			if errors.Is(err, ErrForbiddenAddress) {
				p.block(w, r, t.host, "ssrf", err.Error())
				return
			}
			p.log.Warn("upstream", "host", logsafe.Host(t.host), "err", logsafe.Err(err))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "pipelock: upstream request to %s failed: %v\n", t.host, err)
		},
	}
	if p.injection != "off" {
		inject.Prepare() // once per process: the rules compile on first use
	}
	if opts.Signer != nil {
		p.ic = mitm.NewInterceptor(opts.Signer, http.HandlerFunc(p.serveIntercepted), log)
	}
	return p, nil
}

// Close stops the interceptor.
func (p *Proxy) Close() error {
	if p.ic != nil {
		return p.ic.Close()
	}
	return nil
}

// allowed reports whether host is on the allowlist (exact or *.suffix).
func (p *Proxy) allowed(host string) bool {
	if p.exact[host] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

func (p *Proxy) isPassthrough(host string) bool {
	if p.passthrough[host] {
		return true
	}
	for _, s := range p.passSuffix {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// authorized checks the proxy credential only egress holds.
func (p *Proxy) authorized(r *http.Request) bool {
	if p.authSum == nil {
		return true
	}
	v := r.Header.Get("Proxy-Authorization")
	scheme, enc, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return false
	}
	sum := sha256.Sum256(raw)
	return subtle.ConstantTimeCompare(sum[:], p.authSum) == 1
}

// checkHost applies the host rules that need no DNS: IP literals, the
// allowlist and DLP on the name. It returns the reason to block, or "".
func (p *Proxy) checkHost(host string) (reason, msg string) {
	if mitm.IsIPLike(host) {
		return "ip-literal", fmt.Sprintf("%s is an IP address; only allowlisted host names are reachable", host)
	}
	if !p.allowed(host) {
		return "host-not-allowed", fmt.Sprintf("host %s is not on the pipelock allowlist", host)
	}
	if n, suffix := p.chosenLabels(host); n > maxChosenLabels {
		return "dlp", fmt.Sprintf("host %s: %d labels chosen under the wildcard entry *%s carry data (at most %d); name the host on the allowlist", host, n, suffix, maxChosenLabels)
	}
	if fs := p.scanHost(host); len(fs) > 0 {
		return "dlp", fmt.Sprintf("%s (host %s)", fs[0], host)
	}
	return "", ""
}

// maxChosenLabels bounds the labels a wildcard allowlist entry lets the
// agent choose in one name. Names a service hands out have a few
// ("bucket.s3.dualstack.us-east-1" under *.amazonaws.com is four); data
// written one short label after another ("ab.cd.ef.gh.ij.kl.…", each
// too short for the per-label checks) needs many.
const maxChosenLabels = 6

// chosenLabels is the number of labels before the suffix of the wildcard
// entry that admits host, and that suffix (0 for a name listed exactly).
func (p *Proxy) chosenLabels(host string) (int, string) {
	suffix, ok := strings.CutPrefix(p.windowKey(host), "*")
	if !ok {
		return 0, ""
	}
	labels := strings.TrimSuffix(strings.TrimSuffix(host, suffix), ".")
	if labels == "" {
		return 0, suffix
	}
	return strings.Count(labels, ".") + 1, suffix
}

// windowKey is the split-secret window a request to host is judged in:
// the allowlist entry that admits it. Every name under a wildcard entry
// shares one window (any of them may reach the same party, so pieces of a
// secret sent to different names must meet); a name on the list exactly
// has its own.
func (p *Proxy) windowKey(host string) string {
	if p.exact[host] {
		return host
	}
	best := ""
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) && len(s) > len(best) {
			best = s
		}
	}
	if best == "" {
		return host
	}
	return "*" + best
}

// hostValues are the labels a wildcard entry lets the agent choose (those
// before its suffix) as split-window values: each label by its place from
// the left, and all of them joined without their dots.
func (p *Proxy) hostValues(host string) []slotValue {
	key := p.windowKey(host)
	suffix, ok := strings.CutPrefix(key, "*")
	if !ok {
		return nil
	}
	labels := strings.TrimSuffix(host, suffix)
	if labels == "" {
		return nil
	}
	out := []slotValue{{slot: "host", text: strings.ReplaceAll(labels, ".", "")}}
	for i, l := range strings.Split(labels, ".") {
		out = append(out, slotValue{slot: "host/" + strconv.Itoa(i), text: l})
	}
	return out
}

// scanHost is p.scan.ScanHost, remembering the names found clean.
func (p *Proxy) scanHost(host string) []dlp.Finding {
	if _, ok := p.cleanHosts.Load(host); ok {
		return nil
	}
	fs := p.scan.ScanHost(host)
	if len(fs) == 0 && p.nClean.Load() < maxCleanHosts {
		if _, dup := p.cleanHosts.LoadOrStore(host, struct{}{}); !dup {
			p.nClean.Add(1)
		}
	}
	return fs
}

// ServeHTTP handles egress' requests: CONNECT and absolute-form HTTP.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		p.log.Info("decision", "decision", "deny", "reason", "proxy-auth", "remote", r.RemoteAddr)
		w.Header().Set("Proxy-Authenticate", `Basic realm="claude-bottle pipelock"`)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set(contract.BlockHeader, "pipelock; reason=proxy-auth")
		w.WriteHeader(http.StatusProxyAuthRequired)
		fmt.Fprintln(w, "blocked: proxy authentication required: only the bottle's egress may use pipelock; send requests through HTTPS_PROXY (egress)")
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs() && strings.EqualFold(r.URL.Scheme, "http"):
		host, port := mitm.SplitHostPort(r.URL.Host, "80")
		if port != "80" {
			p.block(w, r, host, "port", fmt.Sprintf("port %s is not allowed; plain HTTP goes to port 80", port))
			return
		}
		p.request(w, r, "http", host)
	default:
		p.block(w, r, r.Host, "not-proxy-request", "pipelock is a forward proxy; requests must be CONNECT or absolute-form http://")
	}
}

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port := mitm.SplitHostPort(r.Host, "443")
	if port != "443" {
		p.block(w, r, host, "port", fmt.Sprintf("port %s is not allowed; HTTPS goes to port 443", port))
		return
	}
	reason, msg := p.checkHost(host)
	if reason == "ip-literal" || p.ic == nil || (reason == "" && p.isPassthrough(host)) {
		if reason != "" {
			p.block(w, r, host, reason, msg)
			return
		}
		p.splice(w, r, host)
		return
	}
	// Intercept even when the host is refused, so that the answer the agent
	// reads is a 403 with a "blocked:" body rather than a failed tunnel.
	p.ic.Intercept(w, r, host)
}

// splice tunnels bytes to host:443 unread (passthrough domains, or
// interception disabled), after the host rules passed.
func (p *Proxy) splice(w http.ResponseWriter, r *http.Request, host string) {
	up, err := p.guard.DialContext(r.Context(), "tcp", net.JoinHostPort(host, "443"))
	if err != nil {
		if errors.Is(err, ErrForbiddenAddress) {
			p.block(w, r, host, "ssrf", err.Error())
			return
		}
		http.Error(w, "pipelock: "+err.Error(), http.StatusBadGateway)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	p.log.Info("decision", "decision", "allow", "host", logsafe.Host(host), "mode", "passthrough")
	_, _ = io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Peek(n)
		_, _ = up.Write(b)
	}
	go func() { _, _ = io.Copy(up, conn); _ = up.Close() }()
	_, _ = io.Copy(conn, up)
	_ = conn.Close()
}

func (p *Proxy) serveIntercepted(w http.ResponseWriter, r *http.Request) {
	host := mitm.ConnectHost(r)
	reqHost := mitm.NormalizeHost(r.Host)
	if reqHost != host || (r.TLS != nil && r.TLS.ServerName != "" && mitm.NormalizeHost(r.TLS.ServerName) != host) {
		p.block(w, r, host, "host-mismatch", fmt.Sprintf("Host %q or TLS server name disagrees with the CONNECT target %q", r.Host, host))
		return
	}
	p.request(w, r, "https", host)
}

// request applies every check to one request and forwards it. Nothing is
// forwarded before every byte of it has been scanned.
func (p *Proxy) request(w http.ResponseWriter, r *http.Request, scheme, host string) {
	if reason, msg := p.checkHost(host); reason != "" {
		p.block(w, r, host, reason, msg)
		return
	}
	if isUpgrade(r) {
		p.upgrade(w, r, scheme, host)
		return
	}
	ctx := r.Context()
	l := p.newLease()
	defer l.unref()
	body, rf := p.readBody(ctx, r, host, l)
	if rf != nil {
		p.refuse(w, r, host, rf)
		return
	}
	if len(body.decoded) > 0 {
		need, spare := body.scanNeed(r.Header.Get("Content-Type")), int64(0)
		if body.segmented {
			spare = partCopyNeed(r.Header.Get("Content-Type"), len(body.raw))
		}
		if err := l.growSpare(ctx, need, spare); err != nil {
			body.close()
			p.refuse(w, r, host, refuse(http.StatusServiceUnavailable, "busy", "%v; retry shortly", err))
			return
		}
	}
	scanned := len(body.decoded)
	if body.stream != nil {
		scanned = int(p.lim.MaxDecoded) // the time budget of the largest decoding
	}
	// The decoders of a streamed body are closed by the scan that reads
	// them, which may outlive this handler (an overrun scan).
	v, err := withinBudget(ctx, p.lim, scanned, l, func() verdict { defer body.close(); return p.inspect(r, host, body) })
	if err != nil {
		p.refuse(w, r, host, refuse(http.StatusForbidden, "scan-budget", "the scan of this request did not finish within its time budget (%v); nothing was forwarded. Send smaller requests", err))
		return
	}
	if v.refusal != nil {
		p.refuse(w, r, host, v.refusal)
		return
	}
	if v.dlp != nil {
		p.block(w, r, host, "dlp", v.dlp.String())
		return
	}
	if v.inject != nil {
		p.block(w, r, host, "injection", "the JSON-RPC body carries prompt injection: "+v.inject.String())
		return
	}
	if v.warn != "" {
		w.Header().Set(contract.InjectionHeader, v.warn)
	}
	p.log.Info("decision", "decision", "allow", "method", logsafe.Method(r.Method), "host", logsafe.Host(host), "path", logPath(r))
	r.Body = io.NopCloser(bytes.NewReader(body.raw))
	r.ContentLength = int64(len(body.raw))
	if len(body.raw) == 0 {
		r.Body = http.NoBody
	}
	if p.injection != "off" && !modelAPI[host] {
		w = &infoGuard{ResponseWriter: w, p: p, host: host}
	}
	p.rp.ServeHTTP(w, r.WithContext(withTarget(ctx, target{scheme: scheme, host: host})))
}

// infoGuard reads an informational response's headers (103 Early Hints)
// for injection before they go on: the reverse proxy passes a 1xx on as
// it comes (its headers in the writer's map at WriteHeader), before
// ModifyResponse sees anything. One with a finding pipelock blocks is
// dropped (it only ever hints).
type infoGuard struct {
	http.ResponseWriter
	p    *Proxy
	host string
}

func (g *infoGuard) WriteHeader(code int) {
	if code > 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if f, _ := g.p.judgeInjection(inject.Scan(headerText(g.Header()))); f != nil {
			g.p.log.Info("decision", "decision", "deny", "host", logsafe.Host(g.host), "reason", "injection", "detail", f.String()+fmt.Sprintf(" (in a %d response's headers; dropped)", code))
			return
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// upgrades).
func (g *infoGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// refuse answers a refusal with its status and a "blocked:" body.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, host string, rf *refusal) {
	p.answer(w, r, host, rf.status, rf.reason, rf.msg)
}

// formFieldsText is a form's (or a query's) fields as the scanner reads a
// form body's: each name and value on a line of its own, unescaped
// (dlp.FormFields).
func formFieldsText(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	dlp.FormFields(q, func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	})
	return b.String()
}

// sensitiveHeader is the "sensitive" header_mode's selection.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "cookie", "key", "token", "secret", "session", "signature", "password"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// verdict is what inspect decided about one request.
type verdict struct {
	dlp    *dlp.Finding    // a secret: block
	inject *inject.Finding // injection in a JSON-RPC body: block
	warn   string          // injection findings to report in contract.InjectionHeader
	// refusal: the body could not be read to its end (a streamed
	// decoding past its limit or broken): refused, nothing forwarded.
	refusal *refusal
}

// inspect runs DLP on host, path, query, headers, trailers and the body —
// the raw text always, and beside it every parsed view (each JSON key and
// value including duplicate keys, form fields, multipart parts) — then
// joins the request's values to what recently went to the same host
// (split secrets), and looks for prompt injection in JSON-RPC bodies.
func (p *Proxy) inspect(r *http.Request, host string, body requestBody) verdict {
	// A URL a redirect handed out carries what its server wrote, not the
	// agent: its path and query are not read (issued.go).
	issued := p.issued.issued(r.Method, host, r.URL)
	var parts []dlp.Part
	if !issued {
		parts = append(parts, dlp.Part{Name: "path", Text: r.URL.EscapedPath()})
	} else {
		p.log.Info("url handed out by a redirect: path and query not scanned", "host", logsafe.Host(host))
	}
	if !logsafe.StandardMethod(r.Method) {
		// A method is any token the agent chooses: it is sent too.
		parts = append(parts, dlp.Part{Name: "method", Text: r.Method})
	}
	if r.URL.RawQuery != "" && !issued {
		parts = append(parts, dlp.Part{Name: "query", Text: r.URL.RawQuery})
		if strings.IndexByte(r.URL.RawQuery, '+') >= 0 {
			// A query string is a form: its '+' is a space, which the
			// percent reading leaves a '+' (base64 holds '+' too). Its
			// fields are read as a form body's are, so a card, an IBAN
			// or a key's armour written with '+' for its spaces is read
			// as the server reads it.
			parts = append(parts, dlp.Part{Name: "query (form)", Text: formFieldsText(r.URL.RawQuery)})
		}
	}
	var vals []slotValue
	if !issued {
		vals = urlValues(r.URL)
	}
	vals = append(vals, p.hostValues(host)...)
	if !logsafe.StandardMethod(r.Method) {
		vals = append(vals, slotValue{slot: "method", text: r.Method})
	}
	bs := p.cfg.RequestBodyScanning
	addHeaders := func(kind string, h http.Header) {
		// In name order, not the map's: the same request files the same
		// values in the same order every time (the split window's slot of
		// everything a request carried is then the same text, and the
		// finding reported first is always the same one).
		for _, name := range slices.Sorted(maps.Keys(h)) {
			vs := h[name]
			if name == "Proxy-Authorization" || name == "Sec-Websocket-Key" || !bs.ScanHeaders && name != "Authorization" && kind == "header" {
				continue
			}
			if bs.HeaderMode == "sensitive" && !sensitiveHeader(name) {
				continue
			}
			if lower := strings.ToLower(name); lower != name {
				// The server wrote the name in canonical case
				// (X-Zebra-Quartz-…); the agent's name, a secret of
				// lower-case words, say, is read back by lower-casing it.
				parts = append(parts, dlp.Part{Name: kind + " name", Text: lower})
			}
			for _, v := range vs {
				// Only a request header can carry an injected credential,
				// never a trailer.
				if kind == "header" && p.isAllowedCredential(host, name, v) {
					continue
				}
				parts = append(parts, dlp.Part{Name: kind + " " + name, Text: name + ": " + v})
				vals = append(vals, slotValue{slot: kind + "/" + name, text: v})
			}
		}
	}
	addHeaders("header", r.Header)
	addHeaders("trailer", r.Trailer)
	findings := p.scan.ScanParts(parts)
	var jsonText string
	isJSON := false
	if body.stream != nil {
		return p.inspectSegments(r, host, body, findings, vals)
	}
	if body.segmented {
		join := p.split.joinFor(host)
		if body.live != nil {
			join = body.live.join
		}
		for _, v := range vals {
			join.add(v.slot, v.text)
		}
		if body.live != nil {
			findings = append(findings, body.live.result(join)...)
		} else {
			findings = append(findings, p.scanSegmented(r.Header.Get("Content-Type"), body.decoded, join, body.lease)...)
		}
		return p.judgeFindings(host, findings, join)
	}
	if len(body.decoded) > 0 {
		// The raw text, always; then the structured views.
		var joined, all strings.Builder
		jsonText, isJSON = jsonView(body.decoded, func(k, v string) {
			vals = append(vals, slotValue{slot: "json/" + k, text: v})
		}, dlp.NewJSONJoiner(&joined, &all))
		var fs []dlp.Finding
		var err error
		// Read in place: nothing below keeps the text (the split window
		// copies the tails it keeps), and a copy would double the memory
		// a large upload holds.
		bodyText := unsafe.String(unsafe.SliceData(body.decoded), len(body.decoded))
		ct := r.Header.Get("Content-Type")
		mt, _, _ := mime.ParseMediaType(ct)
		if isJSON {
			structured := mt == "application/x-www-form-urlencoded" || strings.HasPrefix(mt, "multipart/")
			if from := rawFrom(body.decoded, structured); from < len(body.decoded) {
				// Valid JSON holds nothing outside its keys and scalars,
				// all in the view with escapes undone (dlp.ScanBody reads
				// it so): only a body that is not valid JSON is read raw
				// too. The model API's requests (a conversation of
				// hundreds of KiB each turn) cost one scan, not two.
				fs = p.scan.Scan("body", bodyText[from:])
			}
			fs = append(fs, p.scan.Scan("body (json)", jsonText)...)
			// Short values joined (a token split over siblings).
			fs = append(fs, p.scan.ScanJoined(joined.String())...)
			fs = append(fs, p.scan.ScanJoined(all.String())...)
			// A form or multipart body that starts like JSON ('{' the
			// name of its first field) is read by its type too: the
			// server reads it so.
			switch {
			case mt == "application/x-www-form-urlencoded":
				fs = append(fs, p.scan.Scan("body (form)", formFieldsText(bodyText))...)
			case strings.HasPrefix(mt, "multipart/"):
				more, err := p.scan.ScanBody(ct, body.decoded)
				if err != nil {
					return verdict{dlp: &dlp.Finding{Rule: err.Error(), Part: "body"}}
				}
				fs = append(fs, more...)
			}
		} else {
			fs, err = p.scan.ScanBody(ct, body.decoded)
			if err != nil {
				return verdict{dlp: &dlp.Finding{Rule: err.Error(), Part: "body"}}
			}
		}
		if mt == "application/x-www-form-urlencoded" {
			// The fields the scanner read (a ';' or a bad escape
			// made url.ParseQuery drop them all).
			dlp.FormFields(bodyText, func(k, v string) {
				vals = append(vals, slotValue{slot: "form/" + k, text: v})
			})
		}
		findings = append(findings, fs...)
		vals = append(vals, slotValue{slot: "body", text: bodyText})
	}
	if len(findings) == 0 && p.split != nil {
		if f, ok := p.split.check(p.windowKey(host), p.split.joinAll(vals)); ok {
			findings = append(findings, f)
		}
	}
	var v verdict
	if len(findings) > 0 {
		if p.cfg.Mode == "audit" || bs.Action == "warn" {
			for _, f := range findings {
				p.log.Warn("dlp finding (not blocking: audit/warn)", "host", logsafe.Host(host), "finding", f.String())
			}
		} else {
			v.dlp = &findings[0]
			return v
		}
	}
	if isJSON && p.injection != "off" && isJSONRPC(body.decoded) {
		v.inject, v.warn = p.judgeInjection(inject.Scan(jsonText))
	}
	return v
}

// inspectSegments is inspect's body part for a compressed body that
// decodes to more than segmentBytes: the decoding is read and scanned a
// segment at a time, each segment after the first led by the last
// segmentOverlap bytes of the one before (a secret or a field across the
// boundary is read whole). A segment is read as the raw text and, for its
// declared type, as much of the structure as it holds (a JSON or multipart
// body cut in pieces is read as text, with JSON escapes undone on the
// lines that have them). A JSON-RPC body is searched for prompt injection
// segment by segment. The split-secret window sees the last segment.
func (p *Proxy) inspectSegments(r *http.Request, host string, body requestBody, findings []dlp.Finding, vals []slotValue) verdict {
	ct := r.Header.Get("Content-Type")
	seg := body.decoded
	rpc := isJSONRPC(seg)
	// The head of the body, for the split-secret window (the buffer is
	// reused for the segments after the first).
	head := string(seg[:min(len(seg), headKeep)])
	buf := reuseSegment(body.decoded)
	total := int64(len(seg))
	// A JSON body's segment after the first may start inside a string:
	// read from where that string ends, its structure is read right (a
	// token split over sibling values is joined). inStr, esc: the state
	// at the start of seg.
	isJSON := startsJSONView(seg)
	inStr, esc := false, false
	var v verdict
	for {
		from := 0
		if isJSON && inStr {
			from = jsonStringEnd(seg, esc)
		}
		fs, err := p.scan.ScanBody(ct, seg[from:])
		if err != nil {
			return verdict{dlp: &dlp.Finding{Rule: err.Error(), Part: "body"}}
		}
		if from > 0 {
			fs = append(fs, p.scan.Scan("body", string(seg[:from]))...)
		}
		if len(fs) > 0 && p.cfg.Mode != "audit" && p.cfg.RequestBodyScanning.Action != "warn" {
			return verdict{dlp: &fs[0]}
		}
		findings = append(findings, fs...)
		if rpc && p.injection != "off" {
			if in, warn := p.judgeInjection(inject.Scan(string(seg))); in != nil {
				return verdict{inject: in}
			} else if warn != "" {
				v.warn = warn
			}
		}
		if body.stream == nil {
			break
		}
		if isJSON {
			inStr, esc = jsonQuoteState(seg[:max(0, len(seg)-segmentOverlap)], inStr, esc)
		}
		keep := copy(buf, seg[max(0, len(seg)-segmentOverlap):])
		n, err := io.ReadFull(body.stream, buf[keep:])
		total += int64(n)
		if total > p.lim.MaxDecoded {
			return verdict{refusal: decodedTooLarge(body.codings, p.lim.MaxDecoded)}
		}
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			body.stream = nil // the last segment
		case err != nil:
			return verdict{refusal: refuse(http.StatusUnsupportedMediaType, "content-encoding", "the body does not decode as Content-Encoding %s: %v", body.codings, err)}
		}
		if n == 0 {
			break
		}
		seg = buf[:keep+n]
	}
	// The window joins a body's head to the last tail and keeps its
	// tail: the first segment's head and the last one's tail.
	text := string(seg)
	if total > int64(len(seg)) {
		text = head + string(seg[max(0, len(seg)-headKeep):])
	}
	vals = append(vals, slotValue{slot: "body", text: text})
	if len(findings) == 0 && p.split != nil {
		if f, ok := p.split.check(p.windowKey(host), p.split.joinAll(vals)); ok {
			findings = append(findings, f)
		}
	}
	if len(findings) > 0 {
		if p.cfg.Mode != "audit" && p.cfg.RequestBodyScanning.Action != "warn" {
			return verdict{dlp: &findings[0]}
		}
		for _, f := range findings {
			p.log.Warn("dlp finding (not blocking: audit/warn)", "host", logsafe.Host(host), "finding", f.String())
		}
	}
	return v
}

// isJSONRPC reports whether a JSON body is a JSON-RPC 2.0 message or batch
// (MCP, agent-to-agent protocols).
func isJSONRPC(b []byte) bool {
	i := bytes.Index(b, []byte(`"jsonrpc"`))
	return i >= 0 && bytes.Contains(b[i:min(len(b), i+32)], []byte(`"2.0"`))
}

// judgeInjection splits findings into the one to block (high confidence,
// action block) and the ones to report in contract.InjectionHeader.
func (p *Proxy) judgeInjection(fs []inject.Finding) (*inject.Finding, string) {
	var warn []string
	for i, f := range fs {
		if f.Confidence == inject.High && p.injection == "block" {
			return &fs[i], ""
		}
		warn = append(warn, f.String())
	}
	return nil, strings.Join(warn, "; ")
}

// allowedCred is one credential egress injects for a host: the header it
// travels in and the SHA-256 (hex) of the value.
type allowedCred struct {
	header string
	sum    string
}

// isAllowedCredential reports whether header name carries exactly the token
// egress injects for host in that header: "<scheme> <token>" in
// Authorization, the bare token in any other header. The same value in any
// other header, to any other host, or inside a longer value is not admitted.
func (p *Proxy) isAllowedCredential(host, name, v string) bool {
	allowed := p.creds[host]
	if len(allowed) == 0 {
		return false
	}
	token := v
	if name == "Authorization" {
		fields := strings.Fields(v)
		if len(fields) != 2 {
			return false
		}
		token = fields[1]
	}
	sum := sha256.Sum256([]byte(token))
	got := hex.EncodeToString(sum[:])
	for _, a := range allowed {
		if a.header == name && subtle.ConstantTimeCompare([]byte(got), []byte(a.sum)) == 1 {
			return true
		}
	}
	return false
}

// block answers 403 with a body starting "blocked: " and logs the decision.
func (p *Proxy) block(w http.ResponseWriter, r *http.Request, host, reason, msg string) {
	p.answer(w, r, host, http.StatusForbidden, reason, msg)
}

// answer writes a "blocked:" answer with the given status.
func (p *Proxy) answer(w http.ResponseWriter, r *http.Request, host string, status int, reason, msg string) {
	host = mitm.NormalizeHost(host)
	path := logPath(r)
	if reason == "dlp" {
		path = "(redacted: it may carry the secret)"
	}
	p.log.Info("decision", "decision", "deny", "method", logsafe.Method(r.Method), "host", logsafe.Host(host), "path", path, "reason", reason, "detail", strings.ReplaceAll(msg, host, logsafe.Host(host)))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set(contract.BlockHeader, "pipelock; reason="+reason+"; tool="+contract.ToolPipelockBlock)
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	fmt.Fprintf(w, "blocked: %s\nIf this request is needed, call the supervise MCP tool %s with the URL (failed_url) and a justification.\n", msg, contract.ToolPipelockBlock)
}

func logPath(r *http.Request) string {
	if r.Method == http.MethodConnect {
		return ""
	}
	return logsafe.Path(r.URL.EscapedPath())
}

// headKeep is more than the split-secret window keeps of a value's ends.
const headKeep = 4 << 10

// jsonQuoteState walks b from a state (inStr: inside a JSON string; esc:
// after a backslash in one) and returns the state at its end.
func jsonQuoteState(b []byte, inStr, esc bool) (bool, bool) {
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		}
	}
	return inStr, esc
}

// jsonStringEnd is where the string b starts inside ends (after its
// closing quote), or len(b).
func jsonStringEnd(b []byte, esc bool) int {
	for i, c := range b {
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			return i + 1
		}
	}
	return len(b)
}
