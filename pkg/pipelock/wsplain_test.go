package pipelock

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/wsframe"
)

func TestWebSocketPlainHTTP(t *testing.T) {
	e, ws := newWSEnv(t, "")
	c, err := net.Dial("tcp", e.proxyURL.Host)
	assert.NilError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte("egress:pw-123"))
	fmt.Fprintf(c, "GET http://allowed.example.com/ws HTTP/1.1\r\nHost: allowed.example.com\r\nProxy-Authorization: Basic %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n", auth, wsframe.NewKey())
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
