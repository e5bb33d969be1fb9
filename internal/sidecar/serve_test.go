package sidecar

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"gotest.tools/v3/assert"
)

func TestServeHTTPServesAndStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- ServeHTTP(ctx, "test", ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), log)
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	assert.NilError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, string(body), "ok")
	cancel()
	assert.NilError(t, <-done, "a stop is not an error")

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	_ = ln2.Close()
	err = ServeHTTP(context.Background(), "test", ln2, http.NotFoundHandler(), log)
	assert.ErrorContains(t, err, "test: serve:")
}
