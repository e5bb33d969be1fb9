// Package wsframe reads and writes WebSocket frames (RFC 6455) at the byte
// level, and undoes permessage-deflate (RFC 7692). It is small on purpose:
// the proxy that scans client frames must see every header bit (RSV, mask,
// opcode, length) exactly as it arrived, and forward the bytes it scanned
// unchanged; a full WebSocket library would hide them.
package wsframe

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // RFC 6455 fixes SHA-1 for Sec-WebSocket-Accept; it is not a security use
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Opcodes (RFC 6455 §5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// Close codes used by the proxy (RFC 6455 §7.4.1).
const (
	ClosePolicyViolation = 1008
	CloseProtocolError   = 1002
	CloseTooBig          = 1009
)

// MaxControlPayload is the largest payload of a control frame.
const MaxControlPayload = 125

// Header is one frame header.
type Header struct {
	Fin    bool
	RSV1   bool
	RSV2   bool
	RSV3   bool
	Opcode byte
	Masked bool
	Mask   [4]byte
	Length uint64
}

// IsControl reports whether the opcode is a control opcode (close, ping, pong).
func (h Header) IsControl() bool { return h.Opcode&0x8 != 0 }

// ErrProtocol marks a frame that breaks RFC 6455.
var ErrProtocol = errors.New("websocket protocol error")

// ReadHeader reads one frame header and returns it with its bytes as received.
func ReadHeader(r *bufio.Reader) (Header, []byte, error) {
	var h Header
	raw := make([]byte, 2, 14)
	if _, err := io.ReadFull(r, raw); err != nil {
		return h, nil, err
	}
	b0, b1 := raw[0], raw[1]
	h.Fin = b0&0x80 != 0
	h.RSV1, h.RSV2, h.RSV3 = b0&0x40 != 0, b0&0x20 != 0, b0&0x10 != 0
	h.Opcode = b0 & 0x0f
	h.Masked = b1&0x80 != 0
	n := uint64(b1 & 0x7f)
	switch n {
	case 126:
		ext := make([]byte, 2)
		if _, err := io.ReadFull(r, ext); err != nil {
			return h, nil, err
		}
		raw = append(raw, ext...)
		n = uint64(binary.BigEndian.Uint16(ext))
		if n < 126 {
			return h, nil, fmt.Errorf("%w: length %d not in its shortest form", ErrProtocol, n)
		}
	case 127:
		ext := make([]byte, 8)
		if _, err := io.ReadFull(r, ext); err != nil {
			return h, nil, err
		}
		raw = append(raw, ext...)
		n = binary.BigEndian.Uint64(ext)
		if n>>63 != 0 {
			return h, nil, fmt.Errorf("%w: length has its top bit set", ErrProtocol)
		}
		if n <= 0xffff {
			return h, nil, fmt.Errorf("%w: length %d not in its shortest form", ErrProtocol, n)
		}
	}
	h.Length = n
	if h.Masked {
		if _, err := io.ReadFull(r, h.Mask[:]); err != nil {
			return h, nil, err
		}
		raw = append(raw, h.Mask[:]...)
	}
	switch h.Opcode {
	case OpContinuation, OpText, OpBinary:
	case OpClose, OpPing, OpPong:
		if !h.Fin {
			return h, nil, fmt.Errorf("%w: fragmented control frame", ErrProtocol)
		}
		if h.Length > MaxControlPayload {
			return h, nil, fmt.Errorf("%w: control frame payload of %d bytes (max %d)", ErrProtocol, h.Length, MaxControlPayload)
		}
	default:
		return h, nil, fmt.Errorf("%w: reserved opcode %#x", ErrProtocol, h.Opcode)
	}
	return h, raw, nil
}

// AppendHeader appends the wire form of h.
func AppendHeader(b []byte, h Header) []byte {
	b0 := h.Opcode & 0x0f
	if h.Fin {
		b0 |= 0x80
	}
	if h.RSV1 {
		b0 |= 0x40
	}
	if h.RSV2 {
		b0 |= 0x20
	}
	if h.RSV3 {
		b0 |= 0x10
	}
	var m byte
	if h.Masked {
		m = 0x80
	}
	switch {
	case h.Length < 126:
		b = append(b, b0, m|byte(h.Length))
	case h.Length <= 0xffff:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(h.Length))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, h.Length)
	}
	if h.Masked {
		b = append(b, h.Mask[:]...)
	}
	return b
}

// MaskBytes XORs b with key, starting at key position pos; it returns the
// position after b. Masking and unmasking are the same operation.
func MaskBytes(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}

// Frame returns a whole frame: header and payload, masked with a fresh
// random key when mask is true (client to server).
func Frame(fin bool, op byte, rsv1, mask bool, payload []byte) []byte {
	h := Header{Fin: fin, Opcode: op, RSV1: rsv1, Masked: mask, Length: uint64(len(payload))}
	if mask {
		_, _ = rand.Read(h.Mask[:])
	}
	out := AppendHeader(make([]byte, 0, 14+len(payload)), h)
	start := len(out)
	out = append(out, payload...)
	if mask {
		MaskBytes(h.Mask, 0, out[start:])
	}
	return out
}

// ClosePayload is the payload of a close frame: the code and a reason cut
// to fit the 125-byte limit on a UTF-8 boundary.
func ClosePayload(code uint16, reason string) []byte {
	if len(reason) > MaxControlPayload-2 {
		reason = reason[:MaxControlPayload-2]
		for len(reason) > 0 && reason[len(reason)-1]&0xc0 == 0x80 {
			reason = reason[:len(reason)-1]
		}
		if len(reason) > 0 && reason[len(reason)-1] >= 0xc0 {
			reason = reason[:len(reason)-1]
		}
	}
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// ParseClose splits a close payload into its code and reason; an empty
// payload has code 1005 (no status).
func ParseClose(p []byte) (uint16, string) {
	if len(p) < 2 {
		return 1005, ""
	}
	return binary.BigEndian.Uint16(p), string(p[2:])
}

// acceptGUID is RFC 6455's fixed GUID.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Accept is the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func Accept(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID)) //nolint:gosec // fixed by RFC 6455
	return base64.StdEncoding.EncodeToString(sum[:])
}

// NewKey returns a fresh Sec-WebSocket-Key (16 random bytes, base64).
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// ValidKey reports whether key is a well-formed Sec-WebSocket-Key: the
// base64 of exactly 16 bytes.
func ValidKey(key string) bool {
	b, err := base64.StdEncoding.Strict().DecodeString(key)
	return err == nil && len(b) == 16
}

// Deflate holds the parameters of a negotiated permessage-deflate
// extension, from the client's side.
type Deflate struct {
	// ClientNoContextTakeover: the client resets its compressor after
	// every message, so its messages never refer to earlier ones.
	ClientNoContextTakeover bool
}

// ParseExtensions reads a Sec-WebSocket-Extensions response value. It
// accepts nothing but one permessage-deflate with its RFC 7692 parameters:
// an extension the proxy cannot undo would carry bytes it cannot scan.
func ParseExtensions(values []string) (*Deflate, error) {
	var d *Deflate
	for _, v := range values {
		for ext := range strings.SplitSeq(v, ",") {
			ext = strings.TrimSpace(ext)
			if ext == "" {
				continue
			}
			params := strings.Split(ext, ";")
			name := strings.ToLower(strings.TrimSpace(params[0]))
			if name != "permessage-deflate" {
				return nil, fmt.Errorf("extension %q cannot be inspected", name)
			}
			if d != nil {
				return nil, errors.New("permessage-deflate negotiated twice")
			}
			d = &Deflate{}
			for _, p := range params[1:] {
				k, _, _ := strings.Cut(strings.TrimSpace(p), "=")
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "client_no_context_takeover":
					d.ClientNoContextTakeover = true
				case "server_no_context_takeover", "server_max_window_bits", "client_max_window_bits":
				default:
					return nil, fmt.Errorf("permessage-deflate parameter %q is unknown", k)
				}
			}
		}
	}
	return d, nil
}

// FilterOffer keeps only the permessage-deflate offers of a request's
// Sec-WebSocket-Extensions values, so that the server cannot agree to an
// extension the proxy could not undo.
func FilterOffer(values []string) string {
	var keep []string
	for _, v := range values {
		for ext := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(ext, ";")
			if strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
				keep = append(keep, strings.TrimSpace(ext))
			}
		}
	}
	return strings.Join(keep, ", ")
}

// dictSize is the deflate window: a compressed message may refer back this
// far into what came before it.
const dictSize = 32 << 10

// Inflater undoes permessage-deflate for one direction of one connection,
// keeping the sliding window between messages (context takeover).
type Inflater struct {
	noTakeover bool
	dict       []byte
	fr         io.ReadCloser
}

// NewInflater returns an inflater for a negotiated extension.
func NewInflater(d Deflate) *Inflater { return &Inflater{noTakeover: d.ClientNoContextTakeover} }

// ErrTooBig is returned when a message inflates past the limit.
var ErrTooBig = errors.New("message too big")

// tail ends a message's deflate stream (RFC 7692 §7.2.2) and adds an
// empty final stored block so the reader sees a clean end.
var tail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Inflate decompresses one message's payload (all its frames joined),
// producing at most limit bytes.
func (f *Inflater) Inflate(payload []byte, limit int) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(payload), bytes.NewReader(tail))
	if f.fr == nil {
		f.fr = flate.NewReader(src)
	}
	if err := f.fr.(flate.Resetter).Reset(src, f.dict); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(f.fr, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("permessage-deflate: %w", err)
	}
	if n > int64(limit) {
		return nil, ErrTooBig
	}
	if !f.noTakeover {
		b := out.Bytes()
		if len(b) >= dictSize {
			f.dict = append(f.dict[:0], b[len(b)-dictSize:]...)
		} else {
			keep := min(len(f.dict), dictSize-len(b))
			f.dict = append(f.dict[:0:0], f.dict[len(f.dict)-keep:]...)
			f.dict = append(f.dict, b...)
		}
	}
	return out.Bytes(), nil
}

// Deflater compresses messages for tests and clients (no context
// takeover unless Takeover is set).
type Deflater struct {
	// Takeover keeps the compressor's window between messages.
	Takeover bool
	buf      bytes.Buffer
	fw       *flate.Writer
}

// Deflate compresses one message and strips the trailing 00 00 ff ff.
func (d *Deflater) Deflate(msg []byte) []byte {
	if d.fw == nil || !d.Takeover {
		d.buf.Reset()
		d.fw, _ = flate.NewWriter(&d.buf, flate.BestSpeed)
	}
	start := d.buf.Len()
	_, _ = d.fw.Write(msg)
	_ = d.fw.Flush()
	out := bytes.Clone(d.buf.Bytes()[start:])
	return bytes.TrimSuffix(out, []byte{0x00, 0x00, 0xff, 0xff})
}
