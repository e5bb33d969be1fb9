// Package standin is the integration tests' stand-in for the internet: an
// HTTP(S) server that answers for any host name (certificates minted per SNI
// from a throwaway CA), and a DNS server that answers NXDOMAIN to every
// query. Both record everything they receive as JSON lines so a test can
// prove that nothing a bottle must keep inside ever reached them.
package standin

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// MaxBody bounds what one request body contributes to a record.
const MaxBody = 16 << 20

// Record is one thing the stand-in received.
type Record struct {
	Server string `json:"server"`
	// Kind is "http", "tls" (a handshake: SNI only), "dns" or "error".
	Kind    string              `json:"kind"`
	Remote  string              `json:"remote,omitempty"`
	TLS     bool                `json:"tls,omitempty"`
	SNI     string              `json:"sni,omitempty"`
	Method  string              `json:"method,omitempty"`
	Host    string              `json:"host,omitempty"`
	URI     string              `json:"uri,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	// Body holds the raw body; Decoded the body after Content-Encoding.
	Body    []byte `json:"body,omitempty"`
	Decoded []byte `json:"decoded,omitempty"`
	// Name and QType describe a DNS question.
	Name  string `json:"name,omitempty"`
	QType uint16 `json:"qtype,omitempty"`
	Error string `json:"error,omitempty"`
}

// Text is every received byte of r, one field per line, for leak scans.
func (r Record) Text() string {
	var b strings.Builder
	for _, s := range []string{r.SNI, r.Method, r.Host, r.URI, r.Name, r.Error} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	for k, vs := range r.Headers {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.Write(r.Body)
	b.WriteByte('\n')
	b.Write(r.Decoded)
	return b.String()
}

// Recorder writes records as JSON lines.
type Recorder struct {
	mu  sync.Mutex
	out io.Writer
}

// NewRecorder records to w.
func NewRecorder(w io.Writer) *Recorder { return &Recorder{out: w} }

// Add writes one record.
func (rc *Recorder) Add(r Record) {
	line, err := json.Marshal(r)
	if err != nil {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	_, _ = rc.out.Write(append(line, '\n'))
}

// ParseRecords reads the JSON lines of a recorder; other lines are ignored.
func ParseRecords(text string) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("stand-in record %q: %w", line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// HTTPHandler answers every request with "standin <server>: <method>
// <host><uri>" after recording it; paths under /inject/ answer pages that
// carry prompt injection, and a WebSocket handshake gets a recording echo
// server.
func HTTPHandler(server string, rc *Recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			serveWebSocket(server, rc, w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
		rec := Record{Server: server, Kind: "http", Remote: r.RemoteAddr, TLS: r.TLS != nil, Method: r.Method,
			Host: r.Host, URI: r.RequestURI, Headers: r.Header, Body: body}
		if r.TLS != nil {
			rec.SNI = r.TLS.ServerName
		}
		if err != nil {
			rec.Error = err.Error()
		}
		rec.Decoded = decode(r.Header.Get("Content-Encoding"), body)
		rc.Add(rec)
		if page, ok := injectionPages[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, page)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "standin %s: %s %s%s\n", server, r.Method, r.Host, r.URL.Path)
	})
}

func decode(enc string, body []byte) []byte {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil
		}
		r = zr
	case "deflate":
		r = flate.NewReader(bytes.NewReader(body))
	default:
		return nil
	}
	out, _ := io.ReadAll(io.LimitReader(r, MaxBody))
	return out
}

// TLSConfig serves a certificate for whatever SNI the client sends, signed
// by ca, and records every handshake's SNI.
func TLSConfig(server string, ca *tlsca.CA, rc *Recorder) (*tls.Config, error) {
	signer, err := mitm.NewSigner(ca, 0)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			rc.Add(Record{Server: server, Kind: "tls", Remote: h.Conn.RemoteAddr().String(), SNI: h.ServerName})
			name := h.ServerName
			if name == "" {
				name = "standin.invalid"
			}
			return signer.Certificate(name)
		},
	}, nil
}

// DNSAnswer builds the NXDOMAIN answer to query q and returns the question
// it carried.
func DNSAnswer(q []byte) (answer []byte, name string, qtype uint16, err error) {
	if len(q) < 12 {
		return nil, "", 0, errors.New("dns: short message")
	}
	if binary.BigEndian.Uint16(q[4:6]) < 1 {
		return nil, "", 0, errors.New("dns: no question")
	}
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil, "", 0, errors.New("dns: truncated name")
		}
		n := int(q[i])
		i++
		if n == 0 {
			break
		}
		if n > 63 || i+n > len(q) {
			return nil, "", 0, errors.New("dns: bad label")
		}
		labels = append(labels, string(q[i:i+n]))
		i += n
	}
	if i+4 > len(q) {
		return nil, "", 0, errors.New("dns: truncated question")
	}
	qtype = binary.BigEndian.Uint16(q[i : i+2])
	end := i + 4
	answer = make([]byte, end)
	copy(answer, q[:end])
	answer[2] = 0x80 | (q[2] & 0x79) // QR, opcode and RD copied
	answer[3] = 0x80 | 3             // RA, NXDOMAIN
	binary.BigEndian.PutUint16(answer[4:], 1)
	binary.BigEndian.PutUint16(answer[6:], 0)
	binary.BigEndian.PutUint16(answer[8:], 0)
	binary.BigEndian.PutUint16(answer[10:], 0)
	return answer, strings.Join(labels, "."), qtype, nil
}

// ServeDNSUDP answers and records queries on pc until it is closed.
func ServeDNSUDP(server string, pc net.PacketConn, rc *Recorder) error {
	buf := make([]byte, 65535)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		ans, name, qt, err := DNSAnswer(buf[:n])
		if err != nil {
			rc.Add(Record{Server: server, Kind: "dns", Remote: addr.String(), Error: err.Error(), Body: append([]byte(nil), buf[:n]...)})
			continue
		}
		rc.Add(Record{Server: server, Kind: "dns", Remote: addr.String(), Name: name, QType: qt})
		_, _ = pc.WriteTo(ans, addr)
	}
}

// ServeDNSTCP answers and records length-prefixed queries on l.
func ServeDNSTCP(server string, l net.Listener, rc *Recorder) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer func() { _ = c.Close() }()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			for {
				var hdr [2]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
				if _, err := io.ReadFull(c, msg); err != nil {
					return
				}
				ans, name, qt, err := DNSAnswer(msg)
				if err != nil {
					rc.Add(Record{Server: server, Kind: "dns", Remote: c.RemoteAddr().String(), Error: err.Error(), Body: msg})
					return
				}
				rc.Add(Record{Server: server, Kind: "dns", Remote: c.RemoteAddr().String(), Name: name, QType: qt})
				if len(ans) > 0xffff {
					return
				}
				binary.BigEndian.PutUint16(hdr[:], uint16(len(ans))) //nolint:gosec // G115: bounded to 0xffff just above
				if _, err := c.Write(append(hdr[:], ans...)); err != nil {
					return
				}
			}
		}()
	}
}
