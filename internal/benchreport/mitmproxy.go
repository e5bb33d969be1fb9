package benchreport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MitmdumpEnv names the mitmdump binary the bench runs beside our chain
// (`mage bench` sets it after scripts/mitmproxy.sh made Debian's mitmproxy
// available); MitmdumpErrEnv says why there is none, for the report.
const (
	MitmdumpEnv    = "CLAUDE_BOTTLE_BENCH_MITMDUMP"
	MitmdumpErrEnv = "CLAUDE_BOTTLE_BENCH_MITMDUMP_ERROR"
)

// MitmproxyInfo says which mitmproxy the comparison ran against, or why it
// did not run.
type MitmproxyInfo struct {
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

// MitmdumpOptions configure one mitmdump: a plain forward proxy that
// intercepts TLS (the seed system's egress), trusting UpstreamCA for the
// origin and sending Routes' names to fixed addresses (the stand-in
// internet's names are not in the host's resolver).
type MitmdumpOptions struct {
	Binary     string
	ListenHost string
	UpstreamCA string            // PEM file: the roots mitmdump trusts upstream
	Routes     map[string]string // host name -> IP address to connect to
}

// Mitmdump is a running mitmdump.
type Mitmdump struct {
	Addr    string // host:port it listens on
	CACert  string // PEM of the CA it signs intercepted certificates with
	Version string
	cmd     *exec.Cmd
	dir     string
	done    chan struct{}
	mu      sync.Mutex
	log     bytes.Buffer
}

// routeAddon is a mitmproxy (≥ 7) addon that connects to a fixed address
// for the names in ROUTES; the TLS SNI and Host stay the requested name, so
// mitmdump still verifies the origin's certificate for that name.
const routeAddon = `# Written by claude-bottle's bench: route the stand-in internet's names.
ROUTES = %s


def server_connect(data):
    host, port = data.server.address
    ip = ROUTES.get(host)
    if ip is not None:
        data.server.address = (ip, port)
`

// StartMitmdump runs mitmdump with a fresh configuration directory (its CA
// is generated there on first start) and waits until it accepts
// connections. Stop it with Close.
func StartMitmdump(ctx context.Context, o MitmdumpOptions) (*Mitmdump, error) {
	if o.Binary == "" {
		return nil, errors.New("no mitmdump binary")
	}
	out, err := exec.CommandContext(ctx, o.Binary, "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %v: %s", o.Binary, err, bytes.TrimSpace(out))
	}
	m := &Mitmdump{Version: mitmVersion(string(out)), done: make(chan struct{})}
	if m.dir, err = os.MkdirTemp("", "cb-mitmdump-"); err != nil {
		return nil, err
	}
	var routes []string
	for host, ip := range o.Routes {
		routes = append(routes, fmt.Sprintf("%q: %q", host, ip))
	}
	sort.Strings(routes)
	addon := filepath.Join(m.dir, "routes.py")
	if err := os.WriteFile(addon, []byte(fmt.Sprintf(routeAddon, "{"+strings.Join(routes, ", ")+"}")), 0o644); err != nil {
		m.Close()
		return nil, err
	}
	port, err := freePort(o.ListenHost)
	if err != nil {
		m.Close()
		return nil, err
	}
	listen := o.ListenHost
	if listen == "" {
		listen = "127.0.0.1"
	}
	m.Addr = net.JoinHostPort(listen, strconv.Itoa(port))
	args := []string{"--quiet", "--listen-host", listen, "--listen-port", strconv.Itoa(port),
		"--set", "confdir=" + m.dir, "--set", "termlog_verbosity=error", "--set", "flow_detail=0", "-s", addon}
	if o.UpstreamCA != "" {
		args = append(args, "--set", "ssl_verify_upstream_trusted_ca="+o.UpstreamCA)
	}
	m.cmd = exec.Command(o.Binary, args...)
	m.cmd.Stdout, m.cmd.Stderr = &lockedWriter{m}, &lockedWriter{m}
	if err := m.cmd.Start(); err != nil {
		m.Close()
		return nil, err
	}
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	m.CACert = filepath.Join(m.dir, "mitmproxy-ca-cert.pem")
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-m.done:
			err := fmt.Errorf("mitmdump exited at start: %s", m.Log())
			m.Close()
			return nil, err
		default:
		}
		if _, err := os.Stat(m.CACert); err == nil {
			if c, err := net.DialTimeout("tcp", m.Addr, 100*time.Millisecond); err == nil {
				_ = c.Close()
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("mitmdump did not listen on %s within 30s: %s", m.Addr, m.Log())
			m.Close()
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is what mitmdump printed (errors only).
func (m *Mitmdump) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.TrimSpace(m.log.String())
}

// Pid is mitmdump's process id (0 before it started).
func (m *Mitmdump) Pid() int {
	if m.cmd == nil || m.cmd.Process == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Close stops mitmdump and removes its configuration directory.
func (m *Mitmdump) Close() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	if m.dir != "" {
		_ = os.RemoveAll(m.dir)
	}
}

type lockedWriter struct{ m *Mitmdump }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.m.log.Len() < 64<<10 {
		w.m.log.Write(p)
	}
	return len(p), nil
}

func mitmVersion(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Mitmproxy" {
			return strings.TrimSpace(v)
		}
	}
	return strings.TrimSpace(out)
}

func freePort(host string) (int, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
