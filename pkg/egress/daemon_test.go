package egress

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

const routesYAML = "routes:\n  - host: api.github.com\n    auth: {scheme: token, token_env: EGRESS_TOKEN_1}\n  - host: raw.githubusercontent.com\n"

func configDir(t *testing.T, withCA bool) *fs.Dir {
	t.Helper()
	ops := []fs.PathOp{fs.WithFile("routes.yaml", routesYAML)}
	if withCA {
		ca, err := tlsca.New("daemon test", tlsca.Options{})
		assert.NilError(t, err)
		up, err := tlsca.New("upstream", tlsca.Options{})
		assert.NilError(t, err)
		ops = append(ops, fs.WithFile("ca.pem", string(ca.CertPEM)), fs.WithFile("ca-key.pem", string(ca.KeyPEM)), fs.WithFile("upstream-ca.pem", string(up.CertPEM)))
	}
	return fs.NewDir(t, "egress", ops...)
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var goodEnv = map[string]string{"EGRESS_UPSTREAM_PROXY": "http://127.0.0.1:1", "EGRESS_TOKEN_1": testToken}

func TestDaemonNeverMintsCA(t *testing.T) {
	dir := configDir(t, false)
	_, err := NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(goodEnv)})
	assert.ErrorContains(t, err, "egress: bottle CA in "+dir.Path())
	assert.ErrorContains(t, err, filepath.Join(dir.Path(), "ca.pem"))
	assert.ErrorContains(t, err, "never creates a CA")
	entries, err := os.ReadDir(dir.Path())
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 1, "egress wrote into its config dir")
}

func TestDaemonMismatchedCAKey(t *testing.T) {
	dir := configDir(t, true)
	other, err := tlsca.New("other", tlsca.Options{})
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(dir.Join("ca-key.pem"), other.KeyPEM, 0o600))
	_, err = NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(goodEnv)})
	assert.ErrorContains(t, err, "CA key does not match the CA certificate")
	assert.NilError(t, os.WriteFile(dir.Join("ca-key.pem"), []byte("garbage"), 0o600))
	_, err = NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(goodEnv)})
	assert.ErrorContains(t, err, "ca-key.pem")
}

func TestDaemonConfigErrors(t *testing.T) {
	dir := configDir(t, true)
	_, err := NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(map[string]string{"EGRESS_TOKEN_1": testToken})})
	assert.ErrorContains(t, err, "EGRESS_UPSTREAM_PROXY is not set")
	_, err = NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(map[string]string{"EGRESS_UPSTREAM_PROXY": "socks5://x:1", "EGRESS_TOKEN_1": testToken})})
	assert.ErrorContains(t, err, "want http://host:port")
	_, err = NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(map[string]string{"EGRESS_UPSTREAM_PROXY": "http://127.0.0.1:1"})})
	assert.ErrorContains(t, err, "credential variable EGRESS_TOKEN_1 is not set")
	assert.NilError(t, os.WriteFile(dir.Join("upstream-ca.pem"), []byte("nope"), 0o644))
	_, err = NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(goodEnv)})
	assert.ErrorContains(t, err, "upstream-ca.pem holds no certificate")
}

func TestDaemonReloadKeepsPreviousOnError(t *testing.T) {
	dir := configDir(t, true)
	var logs bytes.Buffer
	d, err := NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(goodEnv), Logger: slogTo(&logs)})
	assert.NilError(t, err)
	defer d.Proxy.Close()
	assert.Assert(t, d.Proxy.Table().Lookup("raw.githubusercontent.com") != nil)

	assert.NilError(t, os.WriteFile(dir.Join("routes.yaml"), []byte("routes:\n  - host: new.example.com\n    bogus: 1\n"), 0o644))
	assert.ErrorContains(t, d.Reload(), "field bogus not found")
	assert.Assert(t, d.Proxy.Table().Lookup("raw.githubusercontent.com") != nil, "previous routes must stay")
	assert.Assert(t, is.Contains(logs.String(), "reload failed; keeping the previous routes"))

	assert.NilError(t, os.WriteFile(dir.Join("routes.yaml"), []byte("routes:\n  - host: new.example.com\n    auth: {scheme: token, token_env: EGRESS_TOKEN_9}\n"), 0o644))
	assert.ErrorContains(t, d.Reload(), "EGRESS_TOKEN_9 is not set")
	assert.Assert(t, d.Proxy.Table().Lookup("raw.githubusercontent.com") != nil)

	assert.NilError(t, os.WriteFile(dir.Join("routes.yaml"), []byte("routes:\n  - host: new.example.com\n"), 0o644))
	assert.NilError(t, d.Reload())
	assert.Assert(t, d.Proxy.Table().Lookup("new.example.com") != nil)
	assert.Assert(t, d.Proxy.Table().Lookup("raw.githubusercontent.com") == nil)
	assert.Assert(t, !strings.Contains(logs.String(), testToken))
}

// TestRunReloadsOnSIGHUP runs the daemon entry point and signals the process.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	dir := configDir(t, true)
	for k, v := range goodEnv {
		t.Setenv(k, v)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"--listen", addr, "--config-dir", dir.Path()}, nil, &stderr) }()
	allowlist := func() string {
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}, Timeout: 2 * time.Second}
		resp, err := c.Get("http://_egress.local/allowlist")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return b.String()
	}
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(allowlist(), "raw.githubusercontent.com") {
			return poll.Success()
		}
		return poll.Continue("egress not serving yet: %s", stderr.String())
	})
	assert.NilError(t, os.WriteFile(dir.Join("routes.yaml"), []byte("routes:\n  - host: reloaded.example.com\n"), 0o644))
	assert.NilError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(allowlist(), "reloaded.example.com") {
			return poll.Success()
		}
		return poll.Continue("not reloaded yet: %s", stderr.String())
	})
	cancel()
	assert.NilError(t, <-done)
	assert.Assert(t, is.Contains(stderr.String(), `"msg":"routes reloaded"`))
	assert.Assert(t, !strings.Contains(stderr.String(), testToken))
}

func TestDaemonSendsProxyCredential(t *testing.T) {
	dir := configDir(t, true)
	assert.NilError(t, os.WriteFile(dir.Join("upstream-auth"), []byte("egress:s3cretpw\n"), 0o600))
	got := make(chan string, 4)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.Header.Get("Proxy-Authorization")
		http.Error(w, "blocked: test", http.StatusForbidden)
	}))
	defer upstream.Close()
	e := map[string]string{"EGRESS_UPSTREAM_PROXY": upstream.URL, "EGRESS_TOKEN_1": testToken}
	d, err := NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(e)})
	assert.NilError(t, err)
	defer d.Proxy.Close()
	srv := httptest.NewServer(d.Proxy)
	defer srv.Close()
	pu, _ := url.Parse(srv.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	resp, err := c.Get("http://raw.githubusercontent.com/x")
	assert.NilError(t, err)
	resp.Body.Close()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("egress:s3cretpw"))
	assert.Equal(t, <-got, "GET "+want)

	assert.NilError(t, os.WriteFile(dir.Join("upstream-auth"), []byte("nocolon"), 0o600))
	_, err = NewDaemon(DaemonOptions{ConfigDir: dir.Path(), Env: env(e)})
	assert.ErrorContains(t, err, "upstream-auth: want user:password")
}
