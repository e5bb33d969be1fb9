package pipelock

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/inject"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// procKiB reads a "Name:   N kB" line of /proc/<pid>/<file>.
func procKiB(b *testing.B, pid, file, name string) float64 {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", pid, file))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return n
		}
	}
	b.Fatalf("no %s in /proc/%s/%s", name, pid, file)
	return 0
}

// words is English-like text: the body class of a 10 MiB text upload.
func words(n int) []byte {
	vocab := strings.Fields("the of and to in is was for that on with as by at from his her it an be are this which or had not but have were one all they their there been has will more can would when who what out up about into so")
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(vocab[r.IntN(len(vocab))])
		if r.IntN(12) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// BenchmarkConcurrentUploadsRSS sends one, then four concurrent 10 MiB
// text uploads through pipelock (TLS interception, whole-body DLP) and
// reports the process's peak RSS during them (rss-peak-MiB: pipelock plus
// this harness, whose client shares one 10 MiB body) and the growth over
// the idle process (rss-growth-MiB). pipelock's soft memory limit is set as
// the daemon sets it. Budgets: ≤ 64 MB for one, ≤ 128 MB for four.
// Run: go test ./pkg/pipelock -run '^$' -bench ConcurrentUploadsRSS -benchtime 3x
func BenchmarkConcurrentUploadsRSS(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchUploadsRSS(b, n) })
	}
}

func benchUploadsRSS(b *testing.B, uploads int) {
	setMemoryLimit(func(string) (string, bool) { return "", false })
	defer debug.SetMemoryLimit(-1)
	e := newEnv(b, nil)
	body := words(10 << 20)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(e.proxyURL), TLSClientConfig: &tls.Config{RootCAs: e.pipeCA.Pool()}}, Timeout: 2 * time.Minute}
	send := func() error {
		req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("X-Bench-Discard", "1")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
		}
		return nil
	}
	if err := send(); err != nil { // warm up: gitleaks, TLS, pools
		b.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	var peak, growth float64
	start := time.Now()
	for b.Loop() {
		runtime.GC()
		debug.FreeOSMemory()
		_ = os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0o600) // resets VmHWM
		idle := procKiB(b, pid, "status", "VmRSS")
		var wg sync.WaitGroup
		errs := make(chan error, uploads)
		for range uploads {
			wg.Go(func() { errs <- send() })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		hwm := procKiB(b, pid, "status", "VmHWM")
		peak = max(peak, hwm/1024)
		growth = max(growth, (hwm-idle)/1024)
	}
	b.ReportMetric(peak, "rss-peak-MiB")
	b.ReportMetric(growth, "rss-growth-MiB")
	b.ReportMetric(float64(b.N*uploads*len(body))/(1<<20)/time.Since(start).Seconds(), "MiB/s")
}

// BenchmarkIdlePSS starts the real sidecar binary's pipelock (TLS
// interception on, gitleaks' rules loaded) and reports its proportional
// set size once it accepts connections (idle-pss-MiB) and its RSS.
// Run: go test ./pkg/pipelock -run '^$' -bench IdlePSS -benchtime 3x
func BenchmarkIdlePSS(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "claude-bottle-sidecar")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/claude-bottle-sidecar")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	ca, err := tlsca.New("bench pipelock CA", tlsca.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dir+"/ca.pem", ca.CertPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dir+"/ca-key.pem", ca.KeyPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	cfg := daemoncfg.Pipelock{Mode: "strict", APIAllowlist: []string{"api.anthropic.com"}, ForwardProxy: daemoncfg.ForwardProxy{Enabled: true},
		DLP:                 daemoncfg.DLP{IncludeDefaults: true, Patterns: []daemoncfg.Pattern{}},
		TLSInterception:     daemoncfg.TLSInterception{Enabled: true, CACert: dir + "/ca.pem", CAKey: dir + "/ca-key.pem"},
		RequestBodyScanning: daemoncfg.RequestBodyScanning{Action: "block", ScanHeaders: true, HeaderMode: "all"}}
	y, err := cfg.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dir+"/pipelock.yaml", y, 0o600); err != nil {
		b.Fatal(err)
	}
	var pss, rss float64
	for b.Loop() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		cmd := exec.Command(bin, "pipelock", "run", "--listen", addr, "--config", dir+"/pipelock.yaml")
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				_ = c.Close()
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				b.Fatal("pipelock did not listen")
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // the rules load after the port opens
		pid := strconv.Itoa(cmd.Process.Pid)
		pss += procKiB(b, pid, "smaps_rollup", "Pss") / 1024
		rss += procKiB(b, pid, "status", "VmRSS") / 1024
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	b.ReportMetric(pss/float64(b.N), "idle-pss-MiB")
	b.ReportMetric(rss/float64(b.N), "idle-rss-MiB")
}

// BenchmarkResponseScan measures the injection scan of a 1 MiB HTML page
// (the cost pipelock adds to every text response).
func BenchmarkResponseScan(b *testing.B) {
	page := []byte(strings.Repeat(`<div class="doc"><p>The function returns an error when the file is missing; see <a href="/docs/errors">errors</a>.</p></div>`+"\n", 9000))
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		_ = inject.Scan(string(page))
	}
}
