// Package benchload measures HTTP(S) request latency and throughput against
// a server, directly or through a proxy, and how long a daemon takes from
// exec to accepting connections. It runs inside containers for `mage bench`.
package benchload

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// LoadOptions configure one load run.
type LoadOptions struct {
	URL      string
	Proxy    string // "" = direct
	CACert   string // PEM file of the roots to trust
	Requests int
	Conc     int
	// UploadBytes > 0 POSTs a body of that size per request, of BodyClass
	// (ClassBody; "" = code-like JSON).
	UploadBytes int
	BodyClass   string
	// MaxTime > 0 stops starting requests once it has passed (after the
	// warm-up): a slow path ends the run early with fewer requests, and
	// the rates count only those.
	MaxTime time.Duration
}

// LoadResult summarises a run.
type LoadResult struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50us    float64 `json:"p50_us"`
	P90us    float64 `json:"p90_us"`
	P99us    float64 `json:"p99_us"`
	RPS      float64 `json:"rps"`
	MiBps    float64 `json:"mib_per_s,omitempty"`
	// FirstError describes one failure, if any.
	FirstError string `json:"first_error,omitempty"`
}

// Body returns n bytes of JSON-ish source code (what agents upload).
func Body(n int) []byte {
	chunk := `{"path":"pkg/egress/proxy.go","content":"package egress\n\nimport (\n\t\"context\"\n\t\"net/http\"\n)\n\n// forward applies the route table to one request.\nfunc (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {\n\troute := p.table.Load().Lookup(r.Host)\n\tif route == nil {\n\t\treturn\n\t}\n}\n"}` + "\n"
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(chunk)
	}
	return b.Bytes()[:n]
}

// Load runs the requests with Conc workers sharing one keep-alive client.
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	pem, err := os.ReadFile(o.CACert)
	if err != nil {
		return LoadResult{}, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return LoadResult{}, fmt.Errorf("%s holds no certificate", o.CACert)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns: o.Conc * 2, MaxIdleConnsPerHost: o.Conc * 2, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: false}
	if o.Proxy != "" {
		pu, err := url.Parse(o.Proxy)
		if err != nil {
			return LoadResult{}, err
		}
		tr.Proxy = http.ProxyURL(pu)
	}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var body []byte
	contentType, contentEncoding := "application/json", ""
	if o.UploadBytes > 0 {
		if contentType, contentEncoding, body, err = ClassBody(o.BodyClass, o.UploadBytes); err != nil {
			return LoadResult{}, err
		}
	}
	send := func(upload bool) error {
		var req *http.Request
		var err error
		if upload && body != nil {
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", contentType)
				if contentEncoding != "" {
					req.Header.Set("Content-Encoding", contentEncoding)
				}
			}
		} else {
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
		}
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			// The first line of the answer says why (a proxy's "blocked: …").
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, line)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	// Warm the connections (TLS handshakes, certificate minting) first,
	// with GETs: a slow upload path would otherwise be paid once more.
	for range o.Conc {
		if err := send(false); err != nil {
			return LoadResult{}, fmt.Errorf("warm-up request: %w", err)
		}
	}
	lat := make([]time.Duration, 0, o.Requests)
	var mu sync.Mutex
	var next, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	var started atomic.Int64
	for range o.Conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(o.Requests) {
				if o.MaxTime > 0 && time.Since(start) > o.MaxTime {
					break
				}
				started.Add(1)
				t0 := time.Now()
				err := send(true)
				d := time.Since(t0)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	n := int(started.Load())
	res := LoadResult{Requests: n, Errors: int(errs.Load()), RPS: float64(n) / wall.Seconds()}
	if v := firstErr.Load(); v != nil {
		res.FirstError = v.(string)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
		res.P50us, res.P90us, res.P99us = q(0.50), q(0.90), q(0.99)
	}
	if o.UploadBytes > 0 {
		res.MiBps = float64(o.UploadBytes) * float64(len(lat)) / (1 << 20) / wall.Seconds()
	}
	return res, nil
}

// StartupResult is how long a daemon took from exec to accepting a TCP
// connection, and to answering the first request on it (any bytes or a
// close: a proxy's 407, git's error line).
type StartupResult struct {
	Accept, FirstAnswer time.Duration
}

// Startup execs argv and measures StartupResult on addr; the process is
// killed afterwards.
func Startup(ctx context.Context, addr string, argv []string) (StartupResult, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return StartupResult{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		waitErr := <-exited // the killed process's status: expected, not a failure
		_ = waitErr
	}()
	for {
		select {
		case err := <-exited:
			exited <- err
			return StartupResult{}, fmt.Errorf("%s exited before accepting connections on %s: %w", argv[0], addr, err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 50*time.Millisecond)
		if err == nil {
			r := StartupResult{Accept: time.Since(start)}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(c, "GET http://startup.invalid/ HTTP/1.1\r\nHost: startup.invalid\r\nConnection: close\r\n\r\n")
			var b [1]byte
			_, rerr := c.Read(b[:])
			r.FirstAnswer = time.Since(start)
			_ = c.Close()
			if rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, syscall.ECONNRESET) {
				return r, fmt.Errorf("no answer from %s: %w", addr, rerr)
			}
			return r, nil
		}
		if time.Since(start) > 10*time.Second {
			return StartupResult{}, fmt.Errorf("%s did not accept connections within 10s: %w", addr, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
}
