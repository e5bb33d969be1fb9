package pipelock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/inject"
	"github.com/claude-bottle/claude-bottle/internal/logsafe"
	"github.com/claude-bottle/claude-bottle/internal/wsframe"
	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// isUpgrade reports whether r asks to switch protocols.
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" || r.Header.Get("Http2-Settings") != "" {
		return true
	}
	for _, v := range r.Header.Values("Connection") {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return false
}

// upgrade handles a protocol switch. Only WebSocket is proxied, because
// only its frames can be scanned; h2c and custom protocols are refused.
//
// The WebSocket handshake is checked like any request, except the
// Sec-WebSocket-Key nonce, which pipelock replaces with its own: the
// agent's nonce never leaves (so it can carry nothing) and is never taken
// for a secret. After the switch every client frame is read, its message
// reassembled (fragments joined, permessage-deflate undone with the
// connection's sliding window) and scanned, and only then are the frames
// forwarded as received; a finding closes both sides with 1008. Server
// messages are reassembled the same way and scanned for prompt injection
// aimed at the agent before they are forwarded: the bottle's response
// action `block` closes both sides with 1008 and a reason the agent sees,
// `warn` delivers the message and logs the finding.
func (p *Proxy) upgrade(w http.ResponseWriter, r *http.Request, scheme, host string) {
	proto := r.Header.Get("Upgrade")
	if !strings.EqualFold(strings.TrimSpace(proto), "websocket") || r.Header.Get("Http2-Settings") != "" {
		p.block(w, r, host, "upgrade", fmt.Sprintf("protocol upgrade to %q is not allowed: pipelock cannot inspect it; only WebSocket upgrades are proxied", logsafe.Path(proto)))
		return
	}
	key := r.Header.Get("Sec-Websocket-Key")
	switch {
	case r.Method != http.MethodGet:
		p.block(w, r, host, "upgrade", "a WebSocket handshake must be a GET")
		return
	case r.Header.Get("Sec-Websocket-Version") != "13":
		p.block(w, r, host, "upgrade", "only WebSocket version 13 is proxied")
		return
	case !wsframe.ValidKey(key):
		p.block(w, r, host, "upgrade", "Sec-WebSocket-Key must be the base64 of 16 bytes")
		return
	case r.ContentLength > 0 || len(r.TransferEncoding) > 0:
		p.block(w, r, host, "upgrade", "a WebSocket handshake carries no body")
		return
	}
	if v := p.inspect(r, host, requestBody{}); v.dlp != nil {
		p.block(w, r, host, "dlp", v.dlp.String())
		return
	}
	ctx := r.Context()
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, (&url.URL{Scheme: scheme, Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}).String(), nil)
	if err != nil {
		p.block(w, r, host, "upgrade", "bad WebSocket URL")
		return
	}
	for k, vs := range r.Header {
		switch k {
		case "Proxy-Authorization", "Proxy-Connection", "Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Extensions", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding":
			continue
		}
		out.Header[k] = vs
	}
	myKey := wsframe.NewKey()
	out.Header.Set("Connection", "Upgrade")
	out.Header.Set("Upgrade", "websocket")
	out.Header.Set("Sec-WebSocket-Key", myKey)
	if offer := wsframe.FilterOffer(r.Header.Values("Sec-Websocket-Extensions")); offer != "" {
		out.Header.Set("Sec-WebSocket-Extensions", offer)
	}
	res, err := p.transport.RoundTrip(out)
	if err != nil {
		if errors.Is(err, ErrForbiddenAddress) {
			p.block(w, r, host, "ssrf", err.Error())
			return
		}
		p.log.Warn("upstream", "host", logsafe.Host(host), "err", logsafe.Err(err))
		http.Error(w, fmt.Sprintf("pipelock: upstream WebSocket handshake with %s failed: %v", host, err), http.StatusBadGateway)
		return
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		// Not switching: an ordinary response, relayed through the
		// response scanner.
		defer func() { _ = res.Body.Close() }()
		if err := p.scanResponse(res); err != nil {
			http.Error(w, "pipelock: "+err.Error(), http.StatusBadGateway)
			return
		}
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
		return
	}
	upConn, ok := res.Body.(io.ReadWriteCloser)
	if !ok {
		http.Error(w, "pipelock: upstream switched protocols without a connection", http.StatusBadGateway)
		return
	}
	defer func() { _ = upConn.Close() }()
	if res.Header.Get("Sec-Websocket-Accept") != wsframe.Accept(myKey) {
		p.block(w, r, host, "upgrade", "the server's Sec-WebSocket-Accept does not answer the handshake")
		return
	}
	deflate, err := wsframe.ParseExtensions(res.Header.Values("Sec-Websocket-Extensions"))
	if err != nil {
		p.block(w, r, host, "upgrade", "the server negotiated a WebSocket "+err.Error())
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Time{})
	var hs strings.Builder
	hs.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wsframe.Accept(key) + "\r\n")
	for _, k := range []string{"Sec-Websocket-Protocol", "Sec-Websocket-Extensions"} {
		for _, v := range res.Header.Values(k) {
			hs.WriteString(k + ": " + v + "\r\n")
		}
	}
	hs.WriteString("\r\n")
	if _, err := io.WriteString(conn, hs.String()); err != nil {
		return
	}
	p.log.Info("decision", "decision", "allow", "method", "WEBSOCKET", "host", logsafe.Host(host), "path", logPath(r))
	s := &wsSession{p: p, host: host, client: conn, up: upConn, cr: brw.Reader, ur: bufio.NewReader(upConn)}
	if deflate != nil {
		s.inflate = wsframe.NewInflater(*deflate)
		s.inflateDown = wsframe.NewInflater(wsframe.Deflate{})
	}
	s.run(ctx)
}

// wsSession is one proxied WebSocket connection.
type wsSession struct {
	p       *Proxy
	host    string
	client  net.Conn
	up      io.ReadWriteCloser
	cr, ur  *bufio.Reader
	inflate *wsframe.Inflater // client messages
	// inflateDown undoes the server's permessage-deflate. It always keeps
	// the sliding window: with server_no_context_takeover the server never
	// refers back to it, so keeping it is right either way.
	inflateDown *wsframe.Inflater

	wmu    sync.Mutex // serialises writes to the client
	once   sync.Once
	closed chan struct{}
}

func (s *wsSession) run(ctx context.Context) {
	s.closed = make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.shutdown(s.downstream(ctx))
	}()
	code, reason := s.upstream(ctx)
	s.shutdown(code, reason)
	<-done
}

// shutdown ends both sides once. A non-zero code is sent as a close frame
// to both: unmasked to the client, masked to the server as a client must.
func (s *wsSession) shutdown(code uint16, reason string) {
	s.once.Do(func() {
		if code != 0 {
			payload := wsframe.ClosePayload(code, reason)
			_, _ = s.up.Write(wsframe.Frame(true, wsframe.OpClose, false, true, payload))
			s.wmu.Lock()
			_ = s.client.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = s.client.Write(wsframe.Frame(true, wsframe.OpClose, false, false, payload))
			s.wmu.Unlock()
		}
		close(s.closed)
		_ = s.up.Close()
		_ = s.client.Close()
	})
}

// downstream reads server frames, reassembles each data message (fragments
// joined, permessage-deflate undone with the server's sliding window) and
// scans it for prompt injection aimed at the agent with the response
// scanner's detectors, the tail of the previous message prepended so a
// phrase cut at a message edge is seen whole. Only then are the message's
// frames forwarded as received. Control frames pass at once (a close
// reason is scanned first); they may sit between a message's fragments.
// It returns the close code to send (0: the connection simply ended).
func (s *wsSession) downstream(ctx context.Context) (uint16, string) {
	p := s.p
	limit := p.lim.MaxWSMessage
	scan := p.injection != "off" && !modelAPI[s.host]
	var (
		inMsg      bool
		compressed bool
		frames     []byte // the message's frames as received
		payload    []byte // its payload
		tail       []byte // the end of the last scanned message
		carrier    string // a hidden carrier still open at its end (inject.OpenCarrier)
		l          *lease
	)
	reset := func() {
		inMsg, compressed, frames, payload = false, false, nil, nil
		if l != nil {
			l.unref()
			l = nil
		}
	}
	defer reset()
	for {
		h, raw, err := wsframe.ReadHeader(s.ur)
		if err != nil {
			if errors.Is(err, wsframe.ErrProtocol) {
				return wsframe.CloseProtocolError, "blocked: the server broke the protocol: " + err.Error()
			}
			return 0, ""
		}
		if code, reason := refuseFrame(h, len(payload), limit, s.inflateDown != nil, false); code != 0 {
			return code, reason
		}
		if h.IsControl() {
			data := make([]byte, h.Length)
			if _, err := io.ReadFull(s.ur, data); err != nil {
				return 0, ""
			}
			if h.Opcode == wsframe.OpClose && scan {
				if _, reason := wsframe.ParseClose(data); reason != "" {
					if f := s.judgeServerText(reason); f != "" {
						return wsframe.ClosePolicyViolation, f
					}
				}
			}
			if !s.toClient(append(raw, data...)) {
				return 0, ""
			}
			continue
		}
		switch {
		case h.Opcode == wsframe.OpContinuation && !inMsg:
			return wsframe.CloseProtocolError, "blocked: the server sent a continuation frame outside a message"
		case h.Opcode != wsframe.OpContinuation && inMsg:
			return wsframe.CloseProtocolError, "blocked: the server started a message before the last one ended"
		case h.Opcode != wsframe.OpContinuation:
			inMsg, compressed = true, h.RSV1
			l = p.newLease()
		}
		// Budget for the frame bytes and the payload copy.
		if err := l.grow(ctx, int64(len(frames)+len(raw))+int64(len(payload))+2*int64(h.Length)); err != nil {
			return 1013, "blocked: pipelock is busy: " + err.Error()
		}
		start := len(frames)
		frames = append(frames, raw...)
		frames = append(frames, make([]byte, h.Length)...)
		if _, err := io.ReadFull(s.ur, frames[start+len(raw):]); err != nil {
			return 0, ""
		}
		payload = append(payload, frames[start+len(raw):]...)
		if !h.Fin {
			continue
		}
		msg := payload
		if compressed {
			if err := l.grow(ctx, int64(len(frames)+len(payload))+limit); err != nil {
				return 1013, "blocked: pipelock is busy: " + err.Error()
			}
			msg, err = s.inflateDown.Inflate(payload, int(limit))
			if errors.Is(err, wsframe.ErrTooBig) {
				return wsframe.CloseTooBig, fmt.Sprintf("blocked: a server message inflates past %d MiB and cannot be inspected", limit>>20)
			}
			if err != nil {
				return wsframe.CloseProtocolError, "blocked: the server's " + err.Error()
			}
		}
		// Binary messages too: an agent may decode them as text, and the
		// detectors look for phrases, which random bytes do not form.
		if scan && len(msg) > 0 {
			window := make([]byte, 0, len(tail)+len(msg))
			window = append(append(window, tail...), msg...)
			if err := l.grow(ctx, l.heldLen()+int64(len(window))+scanFactor*int64(len(window))); err != nil {
				return 1013, "blocked: pipelock is busy: " + err.Error()
			}
			text := carrier + string(window)
			f, err := withinBudget(ctx, p.lim, len(window), l, func() string { return s.judgeServerText(text) })
			if err != nil {
				return wsframe.ClosePolicyViolation, "blocked: the scan of a server message did not finish within its time budget"
			}
			if f != "" {
				return wsframe.ClosePolicyViolation, f
			}
			tail, carrier = tailOf(window), inject.OpenCarrier(text)
		}
		if !s.toClient(frames) {
			return 0, ""
		}
		reset()
	}
}

// toClient writes server frames to the client; false: the client is gone.
func (s *wsSession) toClient(b []byte) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.client.Write(b)
	return err == nil
}

// judgeServerText scans text from the server for prompt injection, as a
// response is scanned: a finding the bottle blocks returns the close
// reason the agent sees; one it only reports is logged and passes.
func (s *wsSession) judgeServerText(text string) string {
	f, warn := s.p.judgeInjection(inject.Scan(text))
	if f != nil {
		s.p.log.Info("decision", "decision", "deny", "method", "WEBSOCKET", "host", logsafe.Host(s.host), "reason", "injection", "detail", f.String()+" (server message; connection closed)")
		return "blocked: injection from server: " + f.String() + "; not delivered"
	}
	if warn != "" {
		s.p.log.Warn("injection finding in a WebSocket message from the server (delivered, logged only)", "host", logsafe.Host(s.host), "finding", warn)
	}
	return ""
}

// upstream reads client frames, scans each message whole and forwards its
// frames only after the scan passed. It returns the close code to send
// (0: the connection simply ended).
func (s *wsSession) upstream(ctx context.Context) (uint16, string) {
	p := s.p
	limit := p.lim.MaxWSMessage
	var (
		inMsg      bool
		compressed bool
		text       bool
		frames     []byte // the message's frames as received
		payload    []byte // its payload, unmasked
		l          *lease
	)
	reset := func() {
		inMsg, compressed, frames, payload = false, false, nil, nil
		if l != nil {
			l.unref()
			l = nil
		}
	}
	defer reset()
	for {
		h, raw, err := wsframe.ReadHeader(s.cr)
		if err != nil {
			if errors.Is(err, wsframe.ErrProtocol) {
				return wsframe.CloseProtocolError, "blocked: " + err.Error()
			}
			return 0, ""
		}
		if code, reason := refuseFrame(h, len(payload), limit, s.inflate != nil, true); code != 0 {
			return code, reason
		}
		if h.IsControl() {
			data := make([]byte, h.Length)
			if _, err := io.ReadFull(s.cr, data); err != nil {
				return 0, ""
			}
			plain := append([]byte(nil), data...)
			wsframe.MaskBytes(h.Mask, 0, plain)
			if h.Opcode == wsframe.OpClose {
				_, reason := wsframe.ParseClose(plain)
				plain = []byte(reason)
			}
			if f := p.scanWSMessage(s.host, plain, false); f != "" {
				return wsframe.ClosePolicyViolation, "blocked: " + f
			}
			if _, err := s.up.Write(append(raw, data...)); err != nil {
				return 0, ""
			}
			continue
		}
		switch {
		case h.Opcode == wsframe.OpContinuation && !inMsg:
			return wsframe.CloseProtocolError, "blocked: continuation frame outside a message"
		case h.Opcode != wsframe.OpContinuation && inMsg:
			return wsframe.CloseProtocolError, "blocked: new message before the last one ended"
		case h.Opcode != wsframe.OpContinuation:
			inMsg, compressed, text = true, h.RSV1, h.Opcode == wsframe.OpText
			l = p.newLease()
		}
		// Budget for the frame bytes and the unmasked copy.
		if err := l.grow(ctx, int64(len(frames)+len(raw))+2*int64(len(payload))+2*int64(h.Length)); err != nil {
			return 1013, "blocked: pipelock is busy: " + err.Error()
		}
		start := len(frames)
		frames = append(frames, raw...)
		frames = append(frames, make([]byte, h.Length)...)
		if _, err := io.ReadFull(s.cr, frames[start+len(raw):]); err != nil {
			return 0, ""
		}
		pstart := len(payload)
		payload = append(payload, frames[start+len(raw):]...)
		wsframe.MaskBytes(h.Mask, 0, payload[pstart:])
		if !h.Fin {
			continue
		}
		msg := payload
		if compressed {
			if err := l.grow(ctx, int64(len(frames)+2*len(payload))+limit); err != nil {
				return 1013, "blocked: pipelock is busy: " + err.Error()
			}
			msg, err = s.inflate.Inflate(payload, int(limit))
			if errors.Is(err, wsframe.ErrTooBig) {
				return wsframe.CloseTooBig, fmt.Sprintf("blocked: message inflates past %d MiB and cannot be inspected", limit>>20)
			}
			if err != nil {
				return wsframe.CloseProtocolError, "blocked: " + err.Error()
			}
		}
		if err := l.grow(ctx, l.heldLen()+scanFactor*int64(len(msg))); err != nil {
			return 1013, "blocked: pipelock is busy: " + err.Error()
		}
		f, err := withinBudget(ctx, p.lim, len(msg), l, func() string { return p.scanWSMessage(s.host, msg, text) })
		if err != nil {
			return wsframe.ClosePolicyViolation, "blocked: scan budget: " + err.Error()
		}
		if f != "" {
			return wsframe.ClosePolicyViolation, "blocked: " + f
		}
		if _, err := s.up.Write(frames); err != nil {
			return 0, ""
		}
		reset()
	}
}

// scanWSMessage scans one client message (or control payload) like a
// request body — raw text, JSON view, the split-secret window — and, for
// JSON-RPC text, for injection. It returns the reason to close, or "".
func (p *Proxy) scanWSMessage(host string, msg []byte, text bool) string {
	if len(msg) == 0 {
		return ""
	}
	v := p.inspectMessage(host, msg)
	if v.dlp != nil {
		p.log.Info("decision", "decision", "deny", "method", "WEBSOCKET", "host", logsafe.Host(host), "reason", "dlp", "detail", v.dlp.String())
		return "dlp " + v.dlp.String()
	}
	if v.inject != nil {
		p.log.Info("decision", "decision", "deny", "method", "WEBSOCKET", "host", logsafe.Host(host), "reason", "injection", "detail", v.inject.String())
		return "injection " + v.inject.String()
	}
	_ = text
	return ""
}

// inspectMessage is inspect for a WebSocket message.
func (p *Proxy) inspectMessage(host string, msg []byte) verdict {
	fs := p.scan.Scan("websocket message", string(msg))
	vals := []slotValue{{slot: "websocket", text: string(msg)}}
	jsonText, isJSON := jsonView(msg, func(k, v string) {
		vals = append(vals, slotValue{slot: "websocket json/" + k, text: v})
	}, nil)
	if isJSON {
		fs = append(fs, p.scan.Scan("websocket message (json)", jsonText)...)
	}
	if len(fs) == 0 && p.split != nil {
		if f, ok := p.split.check(p.windowKey(host), p.split.joinAll(vals)); ok {
			fs = append(fs, f)
		}
	}
	var v verdict
	if len(fs) > 0 && p.cfg.Mode != "audit" && p.cfg.RequestBodyScanning.Action != "warn" {
		v.dlp = &fs[0]
		return v
	}
	if isJSON && p.injection != "off" && dlp.ValidJSON(msg) && isJSONRPC(msg) {
		v.inject, v.warn = p.judgeInjection(inject.Scan(jsonText))
	}
	return v
}

// refuseFrame applies the checks every frame passes in either direction:
// masking as RFC 6455 requires of its sender (clients mask, servers do
// not), reserved bits only for a negotiated permessage-deflate on the first
// data frame, and the message cap counting what is already buffered. It
// returns 0 when the frame may be read.
func refuseFrame(h wsframe.Header, buffered int, limit int64, deflate, fromClient bool) (uint16, string) {
	switch {
	case fromClient && !h.Masked:
		return wsframe.CloseProtocolError, "blocked: client frames must be masked"
	case !fromClient && h.Masked:
		return wsframe.CloseProtocolError, "blocked: the server masked a frame"
	case h.RSV2 || h.RSV3 || h.RSV1 && (!deflate || h.IsControl() || h.Opcode == wsframe.OpContinuation):
		if fromClient {
			return wsframe.CloseProtocolError, "blocked: reserved bits set that no extension allows"
		}
		return wsframe.CloseProtocolError, "blocked: the server set reserved bits that no extension allows"
	case h.Length > uint64(limit) || uint64(buffered)+h.Length > uint64(limit):
		if fromClient {
			return wsframe.CloseTooBig, fmt.Sprintf("blocked: message over %d MiB cannot be inspected", limit>>20)
		}
		return wsframe.CloseTooBig, fmt.Sprintf("blocked: a server message over %d MiB cannot be inspected", limit>>20)
	}
	return 0, ""
}
