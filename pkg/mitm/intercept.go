package mitm

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Interceptor terminates the TLS of CONNECT tunnels with leaves from a Signer
// and serves the decrypted requests with Handler on one inner HTTP server.
// The inner server sees each *tls.Conn itself (so r.TLS carries the SNI);
// the CONNECT target travels beside it and is read with ConnectHost.
type Interceptor struct {
	signer  *Signer
	log     *slog.Logger
	timeout time.Duration
	inner   *http.Server
	ln      *connListener
	hosts   sync.Map // *tls.Conn -> CONNECT host
	once    sync.Once
}

type ctxKey struct{}

// ConnectHost returns the CONNECT target of an intercepted request.
func ConnectHost(r *http.Request) string {
	h, _ := r.Context().Value(ctxKey{}).(string)
	return h
}

// NewInterceptor starts the inner server; Close stops it.
func NewInterceptor(signer *Signer, handler http.Handler, log *slog.Logger) *Interceptor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ic := &Interceptor{signer: signer, log: log, timeout: 10 * time.Second, ln: newConnListener()}
	ic.inner = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if h, ok := ic.hosts.Load(c); ok {
				return context.WithValue(ctx, ctxKey{}, h)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				ic.hosts.Delete(c)
			}
		},
	}
	go func() { _ = ic.inner.Serve(ic.ln) }()
	return ic
}

// Close stops the inner server and its connections.
func (ic *Interceptor) Close() error {
	var err error
	ic.once.Do(func() { err = ic.inner.Close() })
	return err
}

// Intercept answers the CONNECT request r for host with 200, terminates the
// client's TLS (leaf for the client's SNI, or host without one) and hands the
// connection to the inner server.
func (ic *Interceptor) Intercept(w http.ResponseWriter, r *http.Request, host string) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot hijack connection", http.StatusInternalServerError)
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		_ = conn.Close()
		return
	}
	raw := net.Conn(conn)
	if rw.Reader.Buffered() > 0 { // a client that sent its ClientHello early
		raw = &bufferedConn{Conn: conn, r: rw.Reader}
	}
	tlsConn := tls.Server(raw, &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" {
				name = host
			}
			return ic.signer.Certificate(name)
		},
	})
	ctx, cancel := context.WithTimeout(r.Context(), ic.timeout)
	err = tlsConn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		ic.log.Info("decision", "decision", "deny", "host", host, "reason", "tls-handshake", "detail", err.Error())
		_ = conn.Close()
		return
	}
	ic.hosts.Store(tlsConn, host)
	if err := ic.ln.push(tlsConn); err != nil {
		ic.hosts.Delete(tlsConn)
		_ = tlsConn.Close()
	}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connListener hands intercepted connections to the inner HTTP server.
type connListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) error {
	select {
	case l.ch <- c:
		return nil
	case <-l.closed:
		return net.ErrClosed
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
