package pipelock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
)

// ControlSocketEnv names the control socket of a pipelock (an abstract
// unix socket, "@name", or a path). The default is DefaultControlSocket.
const ControlSocketEnv = "CLAUDE_BOTTLE_PIPELOCK_CONTROL"

// DefaultControlSocket is an abstract unix socket: it lives in the network
// namespace of pipelock's container (the bundle, or the legacy pipelock
// container), which the agent never shares, needs no writable file system,
// and is reached by `docker exec … claude-bottle-sidecar pipelock status`.
const DefaultControlSocket = "@claude-bottle-pipelock-control"

// Status is what the control socket reports: which configuration serves
// (the type is the host↔bottle contract's, contract.PipelockStatus).
type Status = contract.PipelockStatus

// generation is one loaded configuration and the proxy built from it.
type generation struct {
	proxy *Proxy
	gen   uint64
	sum   string
	at    time.Time
}

// Live serves requests with the current configuration and swaps it on
// Reload. A request picks the generation when it arrives and keeps it to
// the end, so requests in flight finish under the configuration they
// started with while new ones see the new one; requests inside an already
// intercepted CONNECT tunnel are dispatched to the current generation too,
// so a long-lived keep-alive tunnel from egress cannot keep an old
// allowlist alive.
type Live struct {
	path     string
	env      []string
	resolver Resolver
	log      *slog.Logger
	prepare  func(*Proxy)

	cur    atomic.Pointer[generation]
	ic     *mitm.Interceptor // shared by every generation
	caPEM  []byte            // the interception CA the shared interceptor signs with
	mu     sync.Mutex        // serialises reloads
	errMu  sync.Mutex
	lastE  string
	lastES string
}

var _ http.Handler = (*Live)(nil)

// readConfig reads and validates the file and returns its hash.
func readConfig(path string) (daemoncfg.Pipelock, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return daemoncfg.Pipelock{}, "", fmt.Errorf("pipelock: config: %w", err)
	}
	sum := sha256.Sum256(data)
	cfg, err := daemoncfg.ParsePipelock(data)
	if err != nil {
		return daemoncfg.Pipelock{}, hex.EncodeToString(sum[:]), fmt.Errorf("pipelock: %s: %w", path, err)
	}
	return cfg, hex.EncodeToString(sum[:]), nil
}

func caPEM(cfg daemoncfg.Pipelock) []byte {
	if !cfg.TLSInterception.Enabled {
		return nil
	}
	c, _ := os.ReadFile(cfg.TLSInterception.CACert)
	k, _ := os.ReadFile(cfg.TLSInterception.CAKey)
	return append(c, k...)
}

// build turns a staged configuration into a generation served by l.
func (l *Live) build(st *staged, sum string, gen uint64) (*generation, error) {
	p, err := st.proxy(l.resolver, l.log)
	if err != nil {
		return nil, err
	}
	// Every generation intercepts through the one shared interceptor,
	// whose inner handler asks for the current generation per request.
	if p.ic != nil {
		_ = p.ic.Close()
		p.ic = l.ic
	}
	if l.prepare != nil {
		l.prepare(p)
	}
	return &generation{proxy: p, gen: gen, sum: sum, at: time.Now().UTC()}, nil
}

// serveIntercepted dispatches a request decrypted from a tunnel to the
// generation current now, not the one that accepted the tunnel.
func (l *Live) serveIntercepted(w http.ResponseWriter, r *http.Request) {
	l.cur.Load().proxy.serveIntercepted(w, r)
}

// ServeHTTP serves one request with the current generation.
func (l *Live) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.cur.Load().proxy.ServeHTTP(w, r)
}

// Reload re-reads the config file and, if it is valid in everything it
// names, swaps it in atomically. On any error the running configuration
// stays in force, the error is logged and reported by Status.
func (l *Live) Reload() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.reload()
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if err != nil {
		l.log.Error("reload failed; keeping the previous configuration", "err", err.Error(), "generation", l.cur.Load().gen)
		var re *reloadError
		if errors.As(err, &re) {
			l.lastE, l.lastES = re.err.Error(), re.sum
		} else {
			l.lastE, l.lastES = err.Error(), ""
		}
		return err
	}
	l.lastE, l.lastES = "", ""
	g := l.cur.Load()
	l.log.Info("reloaded", "generation", g.gen, "config_sha256", g.sum, "allowlist", len(g.proxy.exact)+len(g.proxy.suffixes))
	return nil
}

type reloadError struct {
	sum string
	err error
}

func (e *reloadError) Error() string { return e.err.Error() }
func (e *reloadError) Unwrap() error { return e.err }

func (l *Live) reload() error {
	cfg, sum, err := readConfig(l.path)
	if err != nil {
		return &reloadError{sum: sum, err: err}
	}
	st, err := stage(cfg, l.env)
	if err != nil {
		return &reloadError{sum: sum, err: err}
	}
	if (l.ic == nil) != (st.signer == nil) || !bytes.Equal(caPEM(cfg), l.caPEM) {
		return &reloadError{sum: sum, err: errors.New("pipelock: the tls_interception CA (or turning interception on or off) changes only on a restart of pipelock; the running configuration stays")}
	}
	old := l.cur.Load()
	g, err := l.build(st, sum, old.gen+1)
	if err != nil {
		return &reloadError{sum: sum, err: err}
	}
	l.cur.Store(g)
	// Idle upstream connections of the old generation are no longer
	// needed; the ones in use finish with their requests.
	if t, ok := old.proxy.rp.Transport.(*http.Transport); ok {
		time.AfterFunc(time.Minute, t.CloseIdleConnections)
	}
	return nil
}

// Status reports the serving generation and the latest reload error.
func (l *Live) Status() Status {
	g := l.cur.Load()
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return Status{Generation: g.gen, ConfigSHA256: g.sum, LoadedAt: g.at,
		Allowlist: len(g.proxy.exact) + len(g.proxy.suffixes), LastError: l.lastE, LastErrorSHA256: l.lastES}
}

// Close stops the shared interceptor.
func (l *Live) Close() error {
	if l.ic != nil {
		return l.ic.Close()
	}
	return nil
}

// ServeControl answers every connection to ln with the Status as one JSON
// line, until ctx ends. It accepts nothing from the client.
func (l *Live) ServeControl(ctx context.Context, ln net.Listener) {
	go func() { <-ctx.Done(); _ = ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_ = json.NewEncoder(c).Encode(l.Status())
		_ = c.Close()
	}
}

// ControlAddr is the control socket of this process' environment.
func ControlAddr(lookup func(string) (string, bool)) string {
	if v, ok := lookup(ControlSocketEnv); ok && v != "" {
		return v
	}
	return DefaultControlSocket
}

// QueryStatus asks the pipelock listening on the control socket addr.
func QueryStatus(ctx context.Context, addr string) (Status, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "unix", addr)
	if err != nil {
		return Status{}, fmt.Errorf("pipelock control %s: %w", addr, err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var st Status
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("pipelock control %s: %w", addr, err)
	}
	return st, nil
}

// LiveOptions configure NewLive.
type LiveOptions struct {
	// Path is the config file Reload re-reads.
	Path string
	// Env is the daemon's environment (dlp.scan_env).
	Env      []string
	Resolver Resolver
	Logger   *slog.Logger
	// Prepare, when set, adjusts every generation before it serves (tests
	// point its dialer and roots at a stand-in internet).
	Prepare func(*Proxy)
}

// NewLive serves the staged first configuration (read from opts.Path, whose
// SHA-256 is sum) as generation 1.
func NewLive(opts LiveOptions, cfg daemoncfg.Pipelock, st *staged, sum string) (*Live, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Live{path: opts.Path, env: opts.Env, resolver: opts.Resolver, log: log, prepare: opts.Prepare}
	if st.signer != nil {
		l.ic = mitm.NewInterceptor(st.signer, http.HandlerFunc(l.serveIntercepted), log)
		l.caPEM = caPEM(cfg)
	}
	g, err := l.build(st, sum, 1)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	l.cur.Store(g)
	return l, nil
}

// LoadLive reads, stages and serves the config file at opts.Path.
func LoadLive(opts LiveOptions) (*Live, error) {
	cfg, sum, err := readConfig(opts.Path)
	if err != nil {
		return nil, err
	}
	st, err := stage(cfg, opts.Env)
	if err != nil {
		return nil, err
	}
	return NewLive(opts, cfg, st, sum)
}
