package pipelock

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/wsframe"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/egress"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// newChain puts a real egress in front of the env's pipelock, as in a
// bottle, and returns egress' address.
func newChain(t *testing.T, e *env) string {
	t.Helper()
	addr, _ := newChainCA(t, e)
	return addr
}

// newChainCA is newChain that also returns the bottle CA the agent trusts.
func newChainCA(t testing.TB, e *env) (string, *tlsca.CA) {
	t.Helper()
	bottleCA, err := tlsca.New("bottle CA", tlsca.Options{})
	assert.NilError(t, err)
	signer, err := mitm.NewSigner(bottleCA, 0)
	assert.NilError(t, err)
	table, err := egress.NewTable(daemoncfg.Routes{Routes: []daemoncfg.Route{{Host: "allowed.example.com"}}}, func(string) (string, bool) { return "", false })
	assert.NilError(t, err)
	up, _ := url.Parse(e.proxyURL.String())
	p, err := egress.New(egress.Options{Table: table, Signer: signer, Transport: egress.NewTransport(up, e.pipeCA.Pool())})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Host, bottleCA
}

func TestWebSocketThroughEgress(t *testing.T) {
	e, ws := newWSEnv(t, "")
	addr := newChain(t, e)
	c, err := net.Dial("tcp", addr)
	assert.NilError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET http://allowed.example.com/ws HTTP/1.1\r\nHost: allowed.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n", wsframe.NewKey())
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	assert.NilError(t, err)
	b, _ := io.ReadAll(io.LimitReader(res.Body, 300))
	assert.Equal(t, res.StatusCode, 101, string(b))
	_, _ = c.Write(wsframe.Frame(true, wsframe.OpText, false, true, []byte("hi")))
	h, _, err := wsframe.ReadHeader(br)
	assert.NilError(t, err)
	p := make([]byte, h.Length)
	_, _ = io.ReadFull(br, p)
	assert.Equal(t, string(p), "echo: hi")
	_, msgs, _ := ws.got()
	assert.DeepEqual(t, msgs, []string{"hi"})
}

// TestEventStreamThroughChainAsItComes: a server-sent event reaches the
// agent through egress and pipelock while the origin is still holding the
// stream open (a model streaming its answer), not when the stream ends.
// The origin sends the second event only after the agent has read the
// first, so a hop that held the response back would leave both waiting.
func TestEventStreamThroughChainAsItComes(t *testing.T) {
	got := make(chan struct{})
	e := newEnvWith(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-got:
		case <-time.After(30 * time.Second): // past the client's wait: it fails first
		}
		fmt.Fprint(w, "data: two\n\n")
	}), nil)
	addr, bottleCA := newChainCA(t, e)
	proxy, _ := url.Parse("http://" + addr)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: bottleCA.Pool()}}}
	type first struct {
		resp *http.Response
		br   *bufio.Reader
		line string
		err  error
	}
	firstc := make(chan first, 1)
	go func() {
		resp, err := c.Get("https://allowed.example.com/events")
		if err != nil {
			firstc <- first{err: err}
			return
		}
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		firstc <- first{resp, br, line, err}
	}()
	var f first
	select {
	case f = <-firstc:
	case <-time.After(10 * time.Second):
		t.Fatal("the first event did not arrive while the stream was open: a hop buffers event streams")
	}
	assert.NilError(t, f.err)
	defer f.resp.Body.Close()
	assert.Equal(t, f.resp.StatusCode, 200)
	assert.Equal(t, f.line, "data: one\n")
	close(got)
	rest, err := io.ReadAll(f.br)
	assert.NilError(t, err)
	assert.Equal(t, string(rest), "\ndata: two\n\n")
}
