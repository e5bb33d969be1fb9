package benchload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// MixedOptions configure a mixed run: workers alternate an allowed request
// (must answer 200) and a blocked one (must never answer 200) for a
// duration, while the test changes or breaks the bottle underneath.
type MixedOptions struct {
	Allowed  string   // URL that must pass
	Blocked  []string // URLs that must be refused (403/407 from the bottle, or any non-200)
	Proxy    string
	CACert   string
	Conc     int
	Duration time.Duration
}

// MixedResult holds every allowed request's start (ms since Start) and
// latency, and the counts. Allowed failures carry their start time too, so
// the test can place them relative to a reload or a kill.
type MixedResult struct {
	StartUnixMs    int64    `json:"start_unix_ms"`
	AllowedOK      int      `json:"allowed_ok"`
	AllowedFailed  int      `json:"allowed_failed"`
	BlockedRefused int      `json:"blocked_refused"`
	BlockedPassed  int      `json:"blocked_admitted"`
	FirstFailure   string   `json:"first_failure,omitempty"`
	OKAtMs         []int32  `json:"ok_at_ms"`
	OKLatUs        []int32  `json:"ok_lat_us"`
	FailAtMs       []int32  `json:"fail_at_ms"`
	Admitted       []string `json:"admitted,omitempty"`
}

// Mixed runs the mixed load.
func Mixed(ctx context.Context, o MixedOptions) (MixedResult, error) {
	pem, err := os.ReadFile(o.CACert)
	if err != nil {
		return MixedResult{}, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return MixedResult{}, fmt.Errorf("%s holds no certificate", o.CACert)
	}
	pu, err := url.Parse(o.Proxy)
	if err != nil {
		return MixedResult{}, err
	}
	tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns: o.Conc * 2, MaxIdleConnsPerHost: o.Conc * 2, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	get := func(u string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		return resp.StatusCode, string(b), nil
	}
	// Warm-up: the chain must work before the test starts.
	if code, body, err := get(o.Allowed); err != nil || code != 200 {
		return MixedResult{}, fmt.Errorf("warm-up request: %d %q %v", code, body, err)
	}
	start := time.Now()
	res := MixedResult{StartUnixMs: start.UnixMilli()}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := start.Add(o.Duration)
	for w := range o.Conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				code, body, err := get(o.Allowed)
				d := time.Since(t0)
				at := int32(t0.Sub(start).Milliseconds())
				mu.Lock()
				if err == nil && code == 200 {
					res.AllowedOK++
					res.OKAtMs = append(res.OKAtMs, at)
					res.OKLatUs = append(res.OKLatUs, int32(d.Microseconds()))
				} else {
					res.AllowedFailed++
					res.FailAtMs = append(res.FailAtMs, at)
					if res.FirstFailure == "" {
						res.FirstFailure = fmt.Sprintf("%d %s %v", code, strings.TrimSpace(body), err)
					}
				}
				mu.Unlock()
				if len(o.Blocked) == 0 {
					continue
				}
				u := o.Blocked[(w+i)%len(o.Blocked)]
				code, body, err = get(u)
				mu.Lock()
				if err == nil && code == 200 {
					res.BlockedPassed++
					res.Admitted = append(res.Admitted, u+" -> "+strings.TrimSpace(body))
				} else {
					res.BlockedRefused++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res, nil
}
