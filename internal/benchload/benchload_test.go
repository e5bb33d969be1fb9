package benchload

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestLoadAgainstLocalTLS(t *testing.T) {
	var got, posts int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got++
		if r.Method == http.MethodPost {
			posts++
		}
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	assert.NilError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	res, err := Load(context.Background(), LoadOptions{URL: srv.URL, CACert: ca, Requests: 50, Conc: 1, UploadBytes: 4096})
	assert.NilError(t, err)
	assert.Equal(t, res.Errors, 0)
	assert.Equal(t, got, 51, "warm-up plus the requests")
	assert.Equal(t, posts, 50, "the warm-up is a GET: a slow upload path is not paid once more")
	assert.Assert(t, res.P50us > 0 && res.P99us >= res.P50us && res.MiBps > 0, "%+v", res)

	// MaxTime ends a run early; the result counts the requests started.
	got, posts = 0, 0
	res, err = Load(context.Background(), LoadOptions{URL: srv.URL, CACert: ca, Requests: 1000, Conc: 1, UploadBytes: 4096, MaxTime: time.Nanosecond})
	assert.NilError(t, err)
	assert.Assert(t, res.Requests < 1000 && res.Requests == posts, "%+v, %d uploads", res, posts)
}

// TestMain doubles as a slow-starting daemon for the start-up test.
func TestMain(m *testing.M) {
	if addr := os.Getenv("BENCHLOAD_HELPER_LISTEN"); addr != "" {
		time.Sleep(100 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			os.Exit(1)
		}
		time.Sleep(50 * time.Millisecond) // accepts late: the answer comes after the connect
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("HTTP/1.1 407 x\r\n\r\n"))
			_ = c.Close()
		}
		time.Sleep(time.Second)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestStartupMeasuresAcceptAndAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	_ = ln.Close()
	t.Setenv("BENCHLOAD_HELPER_LISTEN", addr)
	r, err := Startup(context.Background(), addr, []string{os.Args[0]})
	assert.NilError(t, err)
	assert.Assert(t, r.Accept >= 100*time.Millisecond, "%+v", r)
	// Ordering only: how far apart the two are depends on the machine's
	// load, and timing is for benchmarks, not assertions.
	assert.Assert(t, r.FirstAnswer >= r.Accept, "%+v", r)

	t.Setenv("BENCHLOAD_HELPER_LISTEN", "")
	_, err = Startup(context.Background(), "127.0.0.1:1", []string{"true"})
	assert.ErrorContains(t, err, "exited before accepting")
}
