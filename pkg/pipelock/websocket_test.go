package pipelock

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/wsframe"
)

// wsServer is the stand-in internet's WebSocket endpoint: it records every
// message it receives (reassembled and inflated) and every raw byte, and
// echoes text messages back.
type wsServer struct {
	mu       sync.Mutex
	keys     []string
	messages []string
	raw      bytes.Buffer
	// ext is the Sec-WebSocket-Extensions answer; "offer" echoes the
	// client's permessage-deflate offer.
	ext string
	// quiet records nothing (benchmarks).
	quiet bool
}

func (s *wsServer) got() (keys, msgs []string, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...), append([]string(nil), s.messages...), s.raw.String()
}

func (s *wsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.mu.Unlock()
	ext := s.ext
	if ext == "offer" {
		ext = ""
		if strings.Contains(r.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
			ext = "permessage-deflate"
		}
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	hs := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wsframe.Accept(key) + "\r\n"
	if ext != "" {
		hs += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	_, _ = io.WriteString(conn, hs+"\r\n")
	var inf *wsframe.Inflater
	if strings.HasPrefix(ext, "permessage-deflate") {
		inf = wsframe.NewInflater(wsframe.Deflate{})
	}
	var msg []byte
	compressed := false
	for {
		h, raw, err := wsframe.ReadHeader(brw.Reader)
		if err != nil {
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(brw.Reader, payload); err != nil {
			return
		}
		if !s.quiet {
			s.mu.Lock()
			s.raw.Write(raw)
			s.raw.Write(payload)
			s.mu.Unlock()
		}
		wsframe.MaskBytes(h.Mask, 0, payload)
		if h.IsControl() {
			if h.Opcode == wsframe.OpClose {
				s.mu.Lock()
				code, reason := wsframe.ParseClose(payload)
				s.messages = append(s.messages, fmt.Sprintf("close %d %s", code, reason))
				s.mu.Unlock()
				return
			}
			continue
		}
		if h.Opcode != wsframe.OpContinuation {
			compressed = h.RSV1
		}
		msg = append(msg, payload...)
		if !h.Fin {
			continue
		}
		if compressed {
			if msg, err = inf.Inflate(msg, 1<<24); err != nil {
				return
			}
		}
		if s.quiet {
			_, _ = conn.Write(wsframe.Frame(true, wsframe.OpText, false, false, []byte("ok")))
			msg = nil
			continue
		}
		s.mu.Lock()
		s.messages = append(s.messages, string(msg))
		s.mu.Unlock()
		_, _ = conn.Write(wsframe.Frame(true, wsframe.OpText, false, false, append([]byte("echo: "), msg...)))
		msg = nil
	}
}

// wsClient is a WebSocket client speaking raw frames to pipelock, as egress
// would forward them.
type wsClient struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	// status and header of the handshake answer.
	status int
	header http.Header
	body   string
}

// wsDial opens a CONNECT tunnel through pipelock, TLS to pipelock's leaf,
// and sends a WebSocket handshake with extra header lines.
func (e *env) wsDial(t testing.TB, host, path string, extra ...string) *wsClient {
	t.Helper()
	c, err := net.Dial("tcp", e.proxyURL.Host)
	assert.NilError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte("egress:pw-123"))
	fmt.Fprintf(c, "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\nProxy-Authorization: Basic %s\r\n\r\n", host, host, auth)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	assert.NilError(t, err)
	assert.Equal(t, res.StatusCode, 200)
	tc := tls.Client(c, &tls.Config{ServerName: host, RootCAs: e.pipeCA.Pool(), NextProtos: []string{"http/1.1"}})
	assert.NilError(t, tc.Handshake())
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
	hasKey := false
	for _, x := range extra {
		hasKey = hasKey || strings.HasPrefix(strings.ToLower(x), "sec-websocket-key:")
		req += x + "\r\n"
	}
	if !hasKey {
		req += "Sec-WebSocket-Key: " + wsframe.NewKey() + "\r\n"
	}
	_, err = io.WriteString(tc, req+"\r\n")
	assert.NilError(t, err)
	wc := &wsClient{t: t, conn: tc, br: bufio.NewReader(tc)}
	res, err = http.ReadResponse(wc.br, nil)
	assert.NilError(t, err)
	wc.status, wc.header = res.StatusCode, res.Header
	if res.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(res.Body)
		wc.body = string(b)
	}
	return wc
}

var wsUpgrade = []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"}

func (c *wsClient) send(frames ...[]byte) {
	for _, f := range frames {
		if _, err := c.conn.Write(f); err != nil {
			return // the proxy may have closed already
		}
	}
}

// next reads the next server frame's opcode and payload.
func (c *wsClient) next() (byte, []byte, error) {
	h, _, err := wsframe.ReadHeader(c.br)
	if err != nil {
		return 0, nil, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.br, p)
	return h.Opcode, p, err
}

// closed reads until a close frame and returns its code and reason.
func (c *wsClient) closed() (uint16, string) {
	c.t.Helper()
	for {
		op, p, err := c.next()
		assert.NilError(c.t, err, "want a close frame")
		if op == wsframe.OpClose {
			return wsframe.ParseClose(p)
		}
	}
}

func newWSEnv(t *testing.T, ext string) (*env, *wsServer) {
	ws := &wsServer{ext: ext}
	return newEnvWith(t, ws, nil), ws
}

func TestWebSocketHandshakeNonceIsNotASecret(t *testing.T) {
	e, ws := newWSEnv(t, "")
	// Random keys used to trip generic-api-key now and then: a hundred
	// handshakes must all pass, and the agent's key never goes upstream.
	var sent []string
	for range 100 {
		k := wsframe.NewKey()
		sent = append(sent, k)
		c := e.wsDial(t, "allowed.example.com", "/ws", append(wsUpgrade, "Sec-WebSocket-Key: "+k)...)
		assert.Equal(t, c.status, http.StatusSwitchingProtocols, c.body)
		assert.Equal(t, c.header.Get("Sec-WebSocket-Accept"), wsframe.Accept(k))
		_ = c.conn.Close()
	}
	keys, _, _ := ws.got()
	for _, k := range keys {
		for _, s := range sent {
			assert.Assert(t, k != s, "the agent's nonce reached the server")
		}
	}
	// A key that is not a nonce is refused.
	c := e.wsDial(t, "allowed.example.com", "/ws", append(wsUpgrade, "Sec-WebSocket-Key: "+secrets["AWS"])...)
	assert.Equal(t, c.status, http.StatusForbidden)
	assert.Assert(t, is.Contains(c.body, "blocked: Sec-WebSocket-Key must be the base64 of 16 bytes"))
}

func TestWebSocketFramesScanned(t *testing.T) {
	secret := secrets["ANTHROPIC"]
	cases := []struct {
		name   string
		ext    string // server's extension answer
		offer  bool
		frames func() [][]byte
		code   uint16 // 0: passes
	}{
		{"clean text", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpText, false, true, []byte("hello"))}
		}, 0},
		{"secret in text", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpText, false, true, []byte("key="+secret))}
		}, wsframe.ClosePolicyViolation},
		{"secret in binary", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpBinary, false, true, []byte("\x00\x01"+secret))}
		}, wsframe.ClosePolicyViolation},
		{"secret base64 in json", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpText, false, true, []byte(`{"d":"`+base64.StdEncoding.EncodeToString([]byte(secret))+`"}`))}
		}, wsframe.ClosePolicyViolation},
		{"secret split over fragments", "", false, func() [][]byte {
			return [][]byte{
				wsframe.Frame(false, wsframe.OpText, false, true, []byte(secret[:10])),
				wsframe.Frame(false, wsframe.OpContinuation, false, true, []byte(secret[10:40])),
				wsframe.Frame(true, wsframe.OpContinuation, false, true, []byte(secret[40:])),
			}
		}, wsframe.ClosePolicyViolation},
		{"fragments with a ping between", "", false, func() [][]byte {
			return [][]byte{
				wsframe.Frame(false, wsframe.OpText, false, true, []byte(secret[:10])),
				wsframe.Frame(true, wsframe.OpPing, false, true, []byte("p")),
				wsframe.Frame(true, wsframe.OpContinuation, false, true, []byte(secret[10:])),
			}
		}, wsframe.ClosePolicyViolation},
		{"secret in a ping", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpPing, false, true, []byte(secrets["AWS"]))}
		}, wsframe.ClosePolicyViolation},
		{"secret in a close reason", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpClose, false, true, wsframe.ClosePayload(1000, secrets["AWS"]))}
		}, wsframe.ClosePolicyViolation},
		{"secret compressed", "offer", true, func() [][]byte {
			d := &wsframe.Deflater{}
			return [][]byte{wsframe.Frame(true, wsframe.OpText, true, true, d.Deflate([]byte("x "+secret)))}
		}, wsframe.ClosePolicyViolation},
		{"secret compressed with context takeover", "offer", true, func() [][]byte {
			// The second message is mostly a back-reference into the
			// first: only the sliding window reveals it.
			d := &wsframe.Deflater{Takeover: true}
			pad := strings.Repeat("padding words here ", 20)
			m1 := d.Deflate([]byte(pad + "half " + secret[:40]))
			m2 := d.Deflate([]byte(pad + secret))
			return [][]byte{
				wsframe.Frame(true, wsframe.OpText, true, true, m1),
				wsframe.Frame(true, wsframe.OpText, true, true, m2),
			}
		}, wsframe.ClosePolicyViolation},
		{"compressed fragments", "offer", true, func() [][]byte {
			c := (&wsframe.Deflater{}).Deflate([]byte("k " + secret))
			return [][]byte{
				wsframe.Frame(false, wsframe.OpText, true, true, c[:7]),
				wsframe.Frame(true, wsframe.OpContinuation, false, true, c[7:]),
			}
		}, wsframe.ClosePolicyViolation},
		{"rsv1 without the extension", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpText, true, true, []byte("x"))}
		}, wsframe.CloseProtocolError},
		{"unmasked client frame", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpText, false, false, []byte("key="+secret))}
		}, wsframe.CloseProtocolError},
		{"huge frame header", "", false, func() [][]byte {
			h := wsframe.AppendHeader(nil, wsframe.Header{Fin: true, Opcode: wsframe.OpBinary, Masked: true, Length: 1 << 40})
			return [][]byte{h}
		}, wsframe.CloseTooBig},
		{"continuation without a start", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, wsframe.OpContinuation, false, true, []byte(secret))}
		}, wsframe.CloseProtocolError},
		{"reserved opcode", "", false, func() [][]byte {
			return [][]byte{wsframe.Frame(true, 0x3, false, true, []byte(secret))}
		}, wsframe.CloseProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ws := newWSEnv(t, tc.ext)
			hdr := wsUpgrade
			if tc.offer {
				hdr = append(hdr, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
			}
			c := e.wsDial(t, "allowed.example.com", "/ws", hdr...)
			assert.Equal(t, c.status, http.StatusSwitchingProtocols, c.body)
			c.send(tc.frames()...)
			if tc.code == 0 {
				op, p, err := c.next()
				assert.NilError(t, err)
				assert.Equal(t, op, byte(wsframe.OpText))
				assert.Equal(t, string(p), "echo: hello")
				return
			}
			code, reason := c.closed()
			assert.Equal(t, code, tc.code, reason)
			assert.Assert(t, strings.HasPrefix(reason, "blocked: "), reason)
			assert.Assert(t, !strings.Contains(reason, secret))
			// The far side: no message of the attack arrived, and no byte
			// of the secret in any frame.
			poll(t, func() bool {
				_, msgs, _ := ws.got()
				return len(msgs) > 0 && strings.HasPrefix(msgs[len(msgs)-1], "close ")
			})
			_, msgs, raw := ws.got()
			for _, m := range msgs[:len(msgs)-1] {
				assert.Assert(t, !strings.Contains(m, secret[40:]) && !strings.Contains(m, secrets["AWS"]), "message reached upstream: %q", m)
			}
			assert.Assert(t, is.Contains(msgs[len(msgs)-1], fmt.Sprint("close ", tc.code)))
			assert.Assert(t, !strings.Contains(raw, secret[:12]))
		})
	}
}

func poll(t *testing.T, ok func() bool) {
	t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 2 s")
}

func TestWebSocketCompressedTrafficIntact(t *testing.T) {
	// Benign compressed messages with context takeover reach the server
	// exactly: pipelock forwards the bytes it scanned, unchanged.
	e, ws := newWSEnv(t, "offer")
	c := e.wsDial(t, "allowed.example.com", "/ws", append(wsUpgrade, "Sec-WebSocket-Extensions: permessage-deflate")...)
	assert.Equal(t, c.status, http.StatusSwitchingProtocols, c.body)
	assert.Equal(t, c.header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	d := &wsframe.Deflater{Takeover: true}
	want := []string{"first message, some text", "first message, some text again", strings.Repeat("abc ", 5000)}
	for _, m := range want {
		c.send(wsframe.Frame(true, wsframe.OpText, true, true, d.Deflate([]byte(m))))
		op, p, err := c.next()
		assert.NilError(t, err)
		assert.Equal(t, op, byte(wsframe.OpText))
		assert.Equal(t, string(p), "echo: "+m)
	}
	_, msgs, _ := ws.got()
	assert.DeepEqual(t, msgs, want)
}

func TestWebSocketSplitSecretAcrossMessages(t *testing.T) {
	e, ws := newWSEnv(t, "")
	c := e.wsDial(t, "allowed.example.com", "/ws", wsUpgrade...)
	s := secrets["GENERIC"]
	c.send(wsframe.Frame(true, wsframe.OpText, false, true, []byte(s[:14])))
	_, _, err := c.next()
	assert.NilError(t, err)
	c.send(wsframe.Frame(true, wsframe.OpText, false, true, []byte(s[14:])))
	code, reason := c.closed()
	assert.Equal(t, code, uint16(wsframe.ClosePolicyViolation), reason)
	_, msgs, _ := ws.got()
	assert.Equal(t, msgs[0], s[:14])
	for _, m := range msgs[1:] {
		assert.Assert(t, !strings.Contains(m, s[14:]))
	}
}

func TestOtherUpgradesRefused(t *testing.T) {
	e, _ := newWSEnv(t, "")
	for _, hdr := range [][]string{
		{"Upgrade: h2c", "Connection: Upgrade, HTTP2-Settings", "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA"},
		{"Upgrade: foo/1", "Connection: Upgrade"},
		{"Upgrade: websocket, h2c", "Connection: Upgrade", "Sec-WebSocket-Version: 13"},
		{"Connection: Upgrade"},
	} {
		c := e.wsDial(t, "allowed.example.com", "/", hdr...)
		assert.Equal(t, c.status, http.StatusForbidden, "%v: %s", hdr, c.body)
		assert.Assert(t, strings.HasPrefix(c.body, "blocked: protocol upgrade to"), c.body)
	}
	assert.Equal(t, len(e.seenAll()), 0)
}

func TestWebSocketServerExtensionRefused(t *testing.T) {
	e, _ := newWSEnv(t, "x-webkit-deflate-frame")
	c := e.wsDial(t, "allowed.example.com", "/ws", wsUpgrade...)
	assert.Equal(t, c.status, http.StatusForbidden)
	assert.Assert(t, is.Contains(c.body, `blocked: the server negotiated a WebSocket extension "x-webkit-deflate-frame" cannot be inspected`), c.body)
}

func BenchmarkWebSocketFrames(b *testing.B) {
	ws := &wsServer{ext: "offer"}
	e := newEnvWith(b, ws, nil)
	msg := []byte(strings.Repeat(`{"op":"edit","file":"main.go","text":"func main() { fmt.Println(42) }"}`, 900)) // ~64 KiB
	ws.quiet = true
	c := e.wsDial(b, "allowed.example.com", "/ws", wsUpgrade...)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for b.Loop() {
		c.send(wsframe.Frame(true, wsframe.OpText, false, true, msg))
		if _, _, err := c.next(); err != nil {
			b.Fatal(err)
		}
	}
}
