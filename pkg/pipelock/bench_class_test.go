package pipelock

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// sidecarPipelock is the real sidecar binary's pipelock in a process of
// its own (TLS interception, gitleaks' rules, a known secret, as a bottle
// runs it), in front of a TLS stand-in origin on loopback that discards
// what it receives. Its memory and CPU are read from /proc: the client
// and origin of the benchmark are not counted.
type sidecarPipelock struct {
	pid    string
	client *http.Client
	url    string
}

func startSidecarPipelock(b *testing.B) *sidecarPipelock {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "claude-bottle-sidecar")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/claude-bottle-sidecar")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	netCA, err := tlsca.New("bench stand-in internet", tlsca.Options{})
	if err != nil {
		b.Fatal(err)
	}
	netSigner, err := mitm.NewSigner(netCA, 0)
	if err != nil {
		b.Fatal(err)
	}
	origin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	// pipelock sends HTTPS to port 443 only, and localhost is 127.0.0.1.
	ol, err := net.Listen("tcp", "127.0.0.1:443")
	if err != nil {
		b.Skipf("the stand-in origin needs 127.0.0.1:443: %v", err)
	}
	origin.Listener = ol
	origin.TLS = &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return netSigner.Certificate("localhost") }}
	origin.StartTLS()
	b.Cleanup(origin.Close)
	ca, err := tlsca.New("bench pipelock CA", tlsca.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for name, data := range map[string][]byte{"ca.pem": ca.CertPEM, "ca-key.pem": ca.KeyPEM, "net.pem": netCA.CertPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	fp, err := secretfp.Of("CANARY", secrets["GENERIC"])
	if err != nil {
		b.Fatal(err)
	}
	cfg := daemoncfg.Pipelock{Mode: "strict", APIAllowlist: []string{"localhost"}, ForwardProxy: daemoncfg.ForwardProxy{Enabled: true},
		DLP:                 daemoncfg.DLP{IncludeDefaults: true, Patterns: []daemoncfg.Pattern{}, KnownSecrets: []secretfp.Fingerprint{fp}},
		TLSInterception:     daemoncfg.TLSInterception{Enabled: true, CACert: dir + "/ca.pem", CAKey: dir + "/ca-key.pem", ExtraCAFile: dir + "/net.pem"},
		RequestBodyScanning: daemoncfg.RequestBodyScanning{Action: "block", ScanHeaders: true, HeaderMode: "all"},
		SSRF:                daemoncfg.SSRF{AllowCIDRs: []string{"127.0.0.0/8", "::1/128"}}}
	y, err := cfg.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dir+"/pipelock.yaml", y, 0o600); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(bin, "pipelock", "run", "--listen", addr, "--config", dir+"/pipelock.yaml")
	cmd.Env = append(os.Environ(), ControlSocketEnv+"="+dir+"/control.sock")
	if v := os.Getenv("BENCH_PIPELOCK_GODEBUG"); v != "" {
		// e.g. gctrace=1: the collector's trace on stderr.
		cmd.Env = append(cmd.Env, "GODEBUG="+v)
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	proxy, _ := url.Parse("http://" + addr)
	s := &sidecarPipelock{pid: strconv.Itoa(cmd.Process.Pid), url: "https://localhost/upload",
		client: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, MaxIdleConnsPerHost: 8}, Timeout: 5 * time.Minute}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := s.send("text/plain", "", []byte("hello")); err == nil {
			break
		} else if time.Now().After(deadline) {
			b.Fatalf("pipelock does not serve: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *sidecarPipelock) send(ct, ce string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, msg)
	}
	return nil
}

// cpu is the process's user+system CPU time so far.
func (s *sidecarPipelock) cpu(b *testing.B) time.Duration {
	data, err := os.ReadFile("/proc/" + s.pid + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}

// BenchmarkSidecarUploadClass sends 10 MiB uploads of every body class
// (internal/benchload) through the sidecar binary's pipelock, one at a
// time, then four at once, and reports pipelock's peak RSS (VmHWM, the
// bench's "pipelock peak RSS" figure), its CPU time per upload as a rate
// (cpuMiB/s: uploaded MiB per CPU second of pipelock) and the wall rate.
// Budgets: ≤ 64 MB for one upload, ≤ 128 MB for four.
// Run: go test ./pkg/pipelock -run '^$' -bench SidecarUploadClass -benchtime 3x
func BenchmarkSidecarUploadClass(b *testing.B) {
	s := startSidecarPipelock(b)
	for _, class := range benchload.BodyClasses {
		for _, n := range []int{1, 4} {
			if n == 4 && class != "json" && class != "text" && class != "code" && class != "form" {
				continue
			}
			b.Run(fmt.Sprintf("%s/x%d", class, n), func(b *testing.B) {
				ct, ce, body, err := benchload.ClassBody(class, 10<<20)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.send(ct, ce, body); err != nil { // warm up
					b.Fatal(err)
				}
				var peak float64
				var cpu, wall time.Duration
				for b.Loop() {
					time.Sleep(300 * time.Millisecond) // let the previous upload's memory go back
					_ = os.WriteFile("/proc/"+s.pid+"/clear_refs", []byte("5"), 0o600)
					c0, t0 := s.cpu(b), time.Now()
					var wg sync.WaitGroup
					errs := make(chan error, n)
					for range n {
						wg.Go(func() { errs <- s.send(ct, ce, body) })
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						if err != nil {
							b.Fatal(err)
						}
					}
					wall += time.Since(t0)
					cpu += s.cpu(b) - c0
					peak = max(peak, procKiB(b, s.pid, "status", "VmHWM")/1024)
				}
				mib := float64(b.N*n*len(body)) / (1 << 20)
				b.ReportMetric(peak, "peak-MiB")
				b.ReportMetric(mib/cpu.Seconds(), "cpuMiB/s")
				b.ReportMetric(mib/wall.Seconds(), "MiB/s")
			})
		}
	}
}

// BenchmarkInspectClass runs inspect (the scan of one request) on a 10 MiB
// body of each class in this process, for CPU profiles and allocation
// counts: go test ./pkg/pipelock -run '^$' -bench 'InspectClass/form' -cpuprofile cpu.out
func BenchmarkInspectClass(b *testing.B) {
	e := newEnv(b, nil)
	for _, class := range benchload.BodyClasses {
		b.Run(class, func(b *testing.B) {
			ct, ce, body, err := benchload.ClassBody(class, 10<<20)
			if err != nil {
				b.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", nil)
			req.Header.Set("Content-Type", ct)
			if ce != "" {
				req.Header.Set("Content-Encoding", ce)
			}
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req.Body = io.NopCloser(bytes.NewReader(body))
				req.ContentLength = int64(len(body))
				l := e.p.newLease()
				rb, rf := e.p.readBody(b.Context(), req, "allowed.example.com", l)
				if rf != nil {
					b.Fatal(rf)
				}
				if v := e.p.inspect(req, "allowed.example.com", rb); v.dlp != nil || v.refusal != nil {
					b.Fatalf("%v %v", v.dlp, v.refusal)
				}
				rb.close()
				l.unref()
			}
		})
	}
}
