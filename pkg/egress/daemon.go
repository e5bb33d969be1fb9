package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/sidecar"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// NewTransport returns the upstream transport: every request goes through
// the proxy at upstream (CONNECT for HTTPS), and upstream certificates are
// verified against roots (pipelock's CA plus the system roots). Connections
// to the proxy are kept alive and pooled.
func NewTransport(upstream *url.URL, roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyURL(upstream),
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     false,
	}
}

// Daemon is a configured egress: its files, its proxy and the reload logic.
type Daemon struct {
	dir    string
	env    func(string) (string, bool)
	log    *slog.Logger
	Proxy  *Proxy
	Routes string // path of routes.yaml

	// What stage checked and finish uses.
	signer      *mitm.Signer
	upURL       *url.URL
	upstreamPEM []byte
	table       *Table
	caPrint     string
}

// DaemonOptions configure NewDaemon.
type DaemonOptions struct {
	// ConfigDir holds routes.yaml, ca.pem, ca-key.pem and upstream-ca.pem.
	ConfigDir string
	// Env is the daemon's environment (os.LookupEnv): EGRESS_UPSTREAM_PROXY
	// and the EGRESS_TOKEN_<n> values.
	Env    func(string) (string, bool)
	Logger *slog.Logger
}

// NewDaemon loads the bottle CA (never generating one), the routes and the
// upstream settings. Every error names the file or variable at fault.
func NewDaemon(opts DaemonOptions) (*Daemon, error) {
	d, err := stageDaemon(opts)
	if err != nil {
		return nil, err
	}
	return d, d.finish()
}

// stageDaemon reads and checks every file and variable egress needs — the
// fast part of NewDaemon: whatever can fail on the configuration fails
// here, before egress opens its port.
func stageDaemon(opts DaemonOptions) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := opts.ConfigDir
	ca, err := tlsca.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("egress: bottle CA in %s (egress never creates a CA; the agent trusts only the staged one): %w", dir, err)
	}
	signer, err := mitm.NewSigner(ca, 0)
	if err != nil {
		return nil, err
	}
	up, ok := opts.Env(contract.EgressUpstreamEnv)
	if !ok || up == "" {
		return nil, fmt.Errorf("egress: %s is not set: egress sends everything through pipelock and has no other way out", contract.EgressUpstreamEnv)
	}
	upURL, err := url.Parse(up)
	if err != nil || upURL.Scheme != "http" || upURL.Host == "" {
		return nil, fmt.Errorf("egress: %s: want http://host:port of the pipelock proxy", contract.EgressUpstreamEnv)
	}
	authFile := filepath.Join(dir, contract.UpstreamAuth)
	if b, err := os.ReadFile(authFile); err == nil {
		user, pass, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
		if !ok || user == "" || pass == "" {
			return nil, fmt.Errorf("egress: %s: want user:password", authFile)
		}
		upURL.User = url.UserPassword(user, pass)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("egress: read %s: %w", authFile, err)
	}
	var upstreamPEM []byte
	upstreamCA := filepath.Join(dir, contract.UpstreamCA)
	if pem, err := os.ReadFile(upstreamCA); err == nil {
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("egress: %s holds no certificate", upstreamCA)
		}
		upstreamPEM = pem
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("egress: read %s: %w", upstreamCA, err)
	} else {
		log.Warn("no upstream CA; trusting the system roots only", "path", upstreamCA)
	}
	d := &Daemon{dir: dir, env: opts.Env, log: log, Routes: filepath.Join(dir, contract.RoutesFile),
		signer: signer, upURL: upURL, upstreamPEM: upstreamPEM, caPrint: ca.Fingerprint()[:16]}
	if d.table, err = d.loadTable(); err != nil {
		return nil, err
	}
	return d, nil
}

// finish loads the system roots (the slow part) and builds the proxy.
func (d *Daemon) finish() error {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if d.upstreamPEM != nil {
		roots.AppendCertsFromPEM(d.upstreamPEM)
	}
	if d.Proxy, err = New(Options{Table: d.table, Signer: d.signer, Transport: NewTransport(d.upURL, roots), Logger: d.log}); err != nil {
		return err
	}
	d.log.Info("egress ready", "ca", d.caPrint, "routes", len(d.table.Routes()), "upstream", d.upURL.Host)
	return nil
}

func (d *Daemon) loadTable() (*Table, error) {
	data, err := os.ReadFile(d.Routes)
	if err != nil {
		return nil, fmt.Errorf("egress: routes: %w", err)
	}
	f, err := daemoncfg.ParseRoutes(data)
	if err != nil {
		return nil, fmt.Errorf("egress: %s: %w", d.Routes, err)
	}
	t, err := NewTable(f, d.env)
	if err != nil {
		return nil, fmt.Errorf("egress: %s: %w", d.Routes, err)
	}
	return t, nil
}

// Reload re-reads routes.yaml and swaps the table atomically. On any error
// the previous table stays in force and the error says why.
func (d *Daemon) Reload() error {
	t, err := d.loadTable()
	if err != nil {
		d.log.Error("reload failed; keeping the previous routes", "err", err.Error())
		return err
	}
	d.Proxy.SetTable(t)
	d.log.Info("routes reloaded", "routes", len(t.Routes()))
	return nil
}

// Run is `claude-bottle-sidecar egress`: it serves until ctx is cancelled,
// reloading routes on SIGHUP.
func Run(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("egress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:"+fmt.Sprint(contract.Port(contract.Egress)), "address to listen on")
	dir := fs.String("config-dir", contract.ConfigDir(contract.Egress), "directory with routes.yaml, ca.pem, ca-key.pem, upstream-ca.pem")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("daemon", contract.Egress)
	d, err := stageDaemon(DaemonOptions{ConfigDir: *dir, Env: os.LookupEnv, Logger: log})
	if err != nil {
		return err
	}
	// The configuration is good: open the port now and load the system
	// roots (tens of milliseconds) while the first clients wait in the
	// backlog; nothing is served before the proxy is complete.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("egress: listen %s: %w", *listen, err)
	}
	if err := d.finish(); err != nil {
		_ = ln.Close()
		return err
	}
	defer func() { _ = d.Proxy.Close() }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer func() { signal.Stop(hup); close(hup) }()
	go func() {
		for range hup {
			_ = d.Reload() // a failed reload is logged and keeps the previous routes
		}
	}()
	log.Info("listening", "addr", ln.Addr().String())
	return sidecar.ServeHTTP(ctx, contract.Egress, ln, d.Proxy, log)
}
