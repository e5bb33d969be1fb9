package pipelock

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/claude-bottle/claude-bottle/internal/sidecar"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/dlp"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// DefaultListen is loopback: a pipelock meant for other containers must be
// told --listen 0.0.0.0:8888 (the renderer and initd do).
const DefaultListen = "127.0.0.1:8888"

// Load reads a config file and builds the proxy it describes. env is the
// daemon's environment, used only when dlp.scan_env is on.
func Load(path string, resolver Resolver, env []string, log *slog.Logger) (*Proxy, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	return Build(cfg, resolver, env, log)
}

// loadConfig reads and validates pipelock.yaml.
func loadConfig(path string) (daemoncfg.Pipelock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return daemoncfg.Pipelock{}, fmt.Errorf("pipelock: config: %w", err)
	}
	cfg, err := daemoncfg.ParsePipelock(data)
	if err != nil {
		return daemoncfg.Pipelock{}, fmt.Errorf("pipelock: %s: %w", path, err)
	}
	return cfg, nil
}

// Build makes the proxy of a validated config.
func Build(cfg daemoncfg.Pipelock, resolver Resolver, env []string, log *slog.Logger) (*Proxy, error) {
	s, err := stage(cfg, env)
	if err != nil {
		return nil, err
	}
	return s.proxy(resolver, log)
}

// staged is a configuration checked in everything it names — interception
// CA, extra roots, CIDRs, DLP patterns and fingerprints — before pipelock
// opens its port: a port that accepts is a pipelock that will serve.
type staged struct {
	cfg      daemoncfg.Pipelock
	dlp      dlp.Options
	signer   *mitm.Signer
	extraPEM []byte
	allow    []netip.Prefix
}

// stage does the fast part of Build: whatever can fail on the
// configuration fails here.
func stage(cfg daemoncfg.Pipelock, env []string) (*staged, error) {
	s := &staged{cfg: cfg, dlp: dlp.Options{Known: cfg.DLP.KnownSecrets, NoGitleaks: !cfg.DLP.IncludeDefaults, Disable: cfg.DLP.DisableClasses}}
	for _, pt := range cfg.DLP.Patterns {
		s.dlp.Patterns = append(s.dlp.Patterns, dlp.Pattern{Name: pt.Name, Regex: pt.Regex})
	}
	if cfg.DLP.ScanEnv {
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			if len(v) >= 16 && !strings.ContainsAny(v, " /:") {
				if fp, err := secretfp.Of("env "+k, v); err == nil {
					s.dlp.Known = append(s.dlp.Known, fp)
				}
			}
		}
	}
	// Patterns and fingerprints are checked without gitleaks' built-in
	// rules, which are compiled into the binary and load after listening.
	check := s.dlp
	check.NoGitleaks = true
	if _, err := dlp.New(check); err != nil {
		return nil, fmt.Errorf("pipelock: %w", err)
	}
	if cfg.TLSInterception.Enabled {
		ca, err := tlsca.Load(cfg.TLSInterception.CACert, cfg.TLSInterception.CAKey)
		if err != nil {
			return nil, fmt.Errorf("pipelock: interception CA (pipelock never creates one): %w", err)
		}
		if s.signer, err = mitm.NewSigner(ca, 0); err != nil {
			return nil, err
		}
	}
	if f := cfg.TLSInterception.ExtraCAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("pipelock: tls_interception.extra_ca_file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("pipelock: tls_interception.extra_ca_file %s holds no certificate", f)
		}
		s.extraPEM = pem
	}
	for _, c := range cfg.SSRF.AllowCIDRs {
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("pipelock: ssrf.allow_cidrs: %w", err)
		}
		s.allow = append(s.allow, pfx)
	}
	return s, nil
}

// proxy does the slow part: gitleaks' rules and the system roots.
func (s *staged) proxy(resolver Resolver, log *slog.Logger) (*Proxy, error) {
	scanner, err := dlp.New(s.dlp)
	if err != nil {
		return nil, fmt.Errorf("pipelock: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if s.extraPEM != nil {
		roots.AppendCertsFromPEM(s.extraPEM)
	}
	guard := &Guard{Resolver: resolver, Allow: s.allow}
	return New(Options{Config: s.cfg, Scanner: scanner, Signer: s.signer, Guard: guard, Roots: roots, Logger: log})
}

// Run is `claude-bottle-sidecar pipelock run --listen ADDR --config FILE`
// (the daemon) or `claude-bottle-sidecar pipelock status` (print the
// running pipelock's Status as JSON, for the host CLI through docker exec).
// The daemon reloads its configuration in place on SIGHUP (initd forwards
// its SIGUSR1 as SIGHUP in the bundle; the legacy container gets SIGHUP).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "status" {
		st, err := QueryStatus(ctx, ControlAddr(os.LookupEnv))
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(st)
	}
	if len(args) == 0 || args[0] != "run" {
		return errors.New("pipelock: usage: pipelock run [--listen ADDR] --config FILE | pipelock status")
	}
	fs := flag.NewFlagSet("pipelock run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", DefaultListen, "address to listen on (0.0.0.0:8888 to serve other containers)")
	config := fs.String("config", contract.ConfigDir(contract.Pipelock)+"/pipelock.yaml", "pipelock.yaml")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("daemon", contract.Pipelock)
	setMemoryLimit(os.LookupEnv)
	cfg, sum, err := readConfig(*config)
	if err != nil {
		return err
	}
	st, err := stage(cfg, os.Environ())
	if err != nil {
		return err
	}
	// The configuration is good: open the port now, and load gitleaks'
	// rules and the system roots (tens of milliseconds) while the first
	// clients wait in the backlog; nothing is served before they are in.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("pipelock: listen %s: %w", *listen, err)
	}
	live, err := NewLive(LiveOptions{Path: *config, Env: os.Environ(), Resolver: net.DefaultResolver, Logger: log}, cfg, st, sum)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer func() { _ = live.Close() }()
	dropStartupGarbage()
	followBudget(os.LookupEnv)
	if cl, err := net.Listen("unix", ControlAddr(os.LookupEnv)); err != nil {
		// Serving matters more than reporting: the host CLI then says it
		// cannot confirm a reload.
		log.Warn("no control socket; reloads cannot be confirmed", "err", err.Error())
	} else {
		go live.ServeControl(ctx, cl)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = live.Reload() // a failed reload is logged, reported by status, and keeps the previous configuration
			}
		}
	}()
	s := live.Status()
	log.Info("listening", "addr", ln.Addr().String(), "allowlist", s.Allowlist, "generation", s.Generation, "config_sha256", s.ConfigSHA256)
	return sidecar.ServeHTTP(ctx, contract.Pipelock, ln, live, log)
}
