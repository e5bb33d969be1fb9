package pipelock

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// liveEnv is a Live pipelock serving a config file the test rewrites, in
// front of a recording stand-in internet.
type liveEnv struct {
	t      *testing.T
	live   *Live
	path   string
	cfg    daemoncfg.Pipelock
	client *http.Client // egress' side: one keep-alive transport
	gate   chan struct{}
	mu     sync.Mutex
	got    []string // host+path+query+body the internet received
}

func newLiveEnv(t *testing.T) *liveEnv {
	t.Helper()
	e := &liveEnv{t: t, gate: make(chan struct{})}
	netCA, err := tlsca.New("stand-in internet", tlsca.Options{})
	assert.NilError(t, err)
	netSigner, err := mitm.NewSigner(netCA, 0)
	assert.NilError(t, err)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got = append(e.got, r.Host+r.URL.Path+"?"+r.URL.RawQuery+" "+string(b))
		e.mu.Unlock()
		if r.URL.Path == "/slow" {
			<-e.gate
		}
		fmt.Fprintf(w, "internet: %s%s", r.Host, r.URL.Path)
	})
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return netSigner.Certificate(h.ServerName) }}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	pipeCA, err := tlsca.New("pipelock CA", tlsca.Options{})
	assert.NilError(t, err)
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(dir+"/ca.pem", pipeCA.CertPEM, 0o600))
	assert.NilError(t, os.WriteFile(dir+"/ca-key.pem", pipeCA.KeyPEM, 0o600))
	fp, err := secretfp.Of("AWS", secrets["AWS"])
	assert.NilError(t, err)
	e.cfg = daemoncfg.Pipelock{
		Mode:                "strict",
		APIAllowlist:        []string{"old.example.com"},
		ForwardProxy:        daemoncfg.ForwardProxy{Enabled: true, ProxyAuthSHA256: sha256hex("egress:pw")},
		DLP:                 daemoncfg.DLP{KnownSecrets: []secretfp.Fingerprint{fp}},
		TLSInterception:     daemoncfg.TLSInterception{Enabled: true, CACert: dir + "/ca.pem", CAKey: dir + "/ca-key.pem"},
		RequestBodyScanning: daemoncfg.RequestBodyScanning{Action: "block", ScanHeaders: true, HeaderMode: "all"},
		SSRF:                daemoncfg.SSRF{AllowCIDRs: []string{"127.0.0.0/8"}},
	}
	e.path = filepath.Join(dir, "pipelock.yaml")
	e.write(e.cfg)
	res := &stubResolver{addrs: map[string][]netip.Addr{}}
	e.live, err = LoadLive(LiveOptions{Path: e.path, Resolver: res, Logger: slog.New(slog.DiscardHandler), Prepare: func(p *Proxy) {
		p.guard.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}
		p.rp.Transport.(*http.Transport).TLSClientConfig.RootCAs = netCA.Pool()
	}})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = e.live.Close() })
	ps := httptest.NewServer(e.live)
	t.Cleanup(ps.Close)
	pu, _ := url.Parse(ps.URL)
	pu.User = url.UserPassword("egress", "pw")
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(pu),
		TLSClientConfig: &tls.Config{RootCAs: pipeCA.Pool()}, MaxIdleConnsPerHost: 64}}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

// write replaces the config file the way the host CLI does (temp + rename)
// and returns its SHA-256.
func (e *liveEnv) write(cfg daemoncfg.Pipelock) string {
	b, err := cfg.Marshal()
	assert.NilError(e.t, err)
	return e.writeRaw(b)
}

func (e *liveEnv) writeRaw(b []byte) string {
	tmp := e.path + ".tmp"
	assert.NilError(e.t, os.WriteFile(tmp, b, 0o644))
	assert.NilError(e.t, os.Rename(tmp, e.path))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (e *liveEnv) get(u string) (int, string) {
	resp, err := e.client.Get(u)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *liveEnv) received() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

func TestReloadSwapsAllowlistOnLiveTunnels(t *testing.T) {
	e := newLiveEnv(t)
	st := e.live.Status()
	assert.Equal(t, st.Generation, uint64(1))

	code, _ := e.get("https://old.example.com/a")
	assert.Equal(t, code, 200)
	code, body := e.get("https://new.example.com/a")
	assert.Equal(t, code, 403)
	assert.Assert(t, strings.HasPrefix(body, "blocked: host new.example.com"), body)

	// Swap: new admitted, old removed. The keep-alive tunnel to
	// old.example.com that egress holds must not keep the old allowlist.
	sum := e.write(e.cfg.WithAllowlist([]string{"new.example.com"}))
	assert.NilError(t, e.live.Reload())
	st = e.live.Status()
	assert.Equal(t, st.Generation, uint64(2))
	assert.Equal(t, st.ConfigSHA256, sum)
	assert.Equal(t, st.LastError, "")
	code, body = e.get("https://old.example.com/b")
	assert.Equal(t, code, 403, "an old tunnel serves the new allowlist: %s", body)
	code, _ = e.get("https://new.example.com/b")
	assert.Equal(t, code, 200)
	for _, r := range e.received() {
		assert.Assert(t, !strings.HasPrefix(r, "old.example.com/b"), "forwarded under the old allowlist: %s", r)
	}
}

func TestReloadKeepsInFlightRequestsOnTheirConfig(t *testing.T) {
	e := newLiveEnv(t)
	done := make(chan int, 1)
	go func() {
		code, _ := e.get("https://old.example.com/slow")
		done <- code
	}()
	// Wait until the slow request reached the internet, then take the host
	// away; the request in flight finishes, the next one is refused.
	deadline := time.Now().Add(5 * time.Second)
	for len(e.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.Equal(t, len(e.received()), 1)
	e.write(e.cfg.WithAllowlist([]string{"new.example.com"}))
	assert.NilError(t, e.live.Reload())
	close(e.gate)
	assert.Equal(t, <-done, 200, "the request in flight failed")
	code, _ := e.get("https://old.example.com/slow")
	assert.Equal(t, code, 403)
}

func TestReloadRefusesABadFileAndKeepsServing(t *testing.T) {
	e := newLiveEnv(t)
	before := e.live.Status()
	for name, content := range map[string][]byte{
		"not yaml":         []byte("mode: [\n"),
		"unknown key":      []byte("mode: strict\nsurprise: true\n"),
		"empty allowlist ": []byte(""),
	} {
		t.Run(name, func(t *testing.T) {
			sum := e.writeRaw(content)
			err := e.live.Reload()
			assert.Assert(t, err != nil)
			st := e.live.Status()
			assert.Equal(t, st.Generation, before.Generation)
			assert.Equal(t, st.ConfigSHA256, before.ConfigSHA256)
			assert.Equal(t, st.LastErrorSHA256, sum)
			assert.Assert(t, st.LastError != "")
			code, _ := e.get("https://old.example.com/still")
			assert.Equal(t, code, 200)
		})
	}
	// A missing file too.
	assert.NilError(t, os.Remove(e.path))
	assert.ErrorContains(t, e.live.Reload(), "no such file")
	// Changing the interception CA needs a restart: refused, old config kept.
	bad := e.cfg
	bad.TLSInterception.CAKey = e.cfg.TLSInterception.CACert
	e.write(bad)
	assert.Assert(t, e.live.Reload() != nil)
	assert.Equal(t, e.live.Status().Generation, before.Generation)
	// A good file afterwards clears the error.
	e.write(e.cfg.WithAllowlist([]string{"old.example.com", "x.example.com"}))
	assert.NilError(t, e.live.Reload())
	st := e.live.Status()
	assert.Equal(t, st.Generation, before.Generation+1)
	assert.Equal(t, st.LastError, "")
}

// TestReloadUnderLoadDropsNothing: allowed requests never fail and blocked
// ones (a secret in the query, a host never allowed) never reach the
// internet while the allowlist flips many times.
func TestReloadUnderLoadDropsNothing(t *testing.T) {
	e := newLiveEnv(t)
	var failed, admitted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if code, body := e.get(fmt.Sprintf("https://old.example.com/ok/%d/%d", i, n)); code != 200 {
					failed.Add(1)
					t.Logf("allowed request failed: %d %s", code, body)
				}
				if code, _ := e.get("https://old.example.com/leak?k=" + secrets["AWS"]); code != 403 {
					admitted.Add(1)
				}
				if code, _ := e.get("https://never.example.com/x"); code != 403 {
					admitted.Add(1)
				}
			}
		}()
	}
	for i := range 20 {
		hosts := []string{"old.example.com", fmt.Sprintf("h%d.example.com", i)}
		sum := e.write(e.cfg.WithAllowlist(hosts))
		assert.NilError(t, e.live.Reload())
		assert.Equal(t, e.live.Status().ConfigSHA256, sum)
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	assert.Equal(t, failed.Load(), int64(0))
	assert.Equal(t, admitted.Load(), int64(0))
	for _, r := range e.received() {
		assert.Assert(t, !strings.Contains(r, secrets["AWS"]) && !strings.HasPrefix(r, "never."), "leaked: %s", r)
	}
}

func TestControlSocketReportsStatus(t *testing.T) {
	e := newLiveEnv(t)
	addr := "@claude-bottle-test-" + fmt.Sprint(time.Now().UnixNano())
	ln, err := net.Listen("unix", addr)
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go e.live.ServeControl(ctx, ln)
	st, err := QueryStatus(t.Context(), addr)
	assert.NilError(t, err)
	assert.DeepEqual(t, st.ConfigSHA256, e.live.Status().ConfigSHA256)
	assert.Equal(t, st.Generation, uint64(1))
	_, err = QueryStatus(t.Context(), "@claude-bottle-test-nobody-listens")
	assert.ErrorContains(t, err, "pipelock control")
}
