package benchreport

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// TestMitmdumpCarriesTheLoad runs Debian's mitmdump (when installed) as the
// bench does: a stand-in name routed to a local TLS origin signed by a
// throwaway CA mitmdump must trust, the load generator trusting mitmdump's
// freshly generated CA.
func TestMitmdumpCarriesTheLoad(t *testing.T) {
	bin, err := exec.LookPath("mitmdump")
	if err != nil {
		t.Skip("mitmdump is not installed (scripts/mitmproxy.sh installs Debian's)")
	}
	ca, err := tlsca.New("bench test origin CA", tlsca.Options{})
	assert.NilError(t, err)
	signer, err := mitm.NewSigner(ca, 4)
	assert.NilError(t, err)
	var uploaded atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		uploaded.Add(n)
	}))
	srv.TLS = &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return signer.Certificate(h.ServerName) }}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "origin-ca.pem")
	assert.NilError(t, os.WriteFile(caFile, ca.CertPEM, 0o644))

	m, err := StartMitmdump(context.Background(), MitmdumpOptions{Binary: bin, UpstreamCA: caFile, Routes: map[string]string{"origin.bench.test": "127.0.0.1"}})
	assert.NilError(t, err)
	defer m.Close()
	assert.Assert(t, m.Version != "")
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	assert.NilError(t, err)
	url := "https://origin.bench.test:" + port + "/"
	res, err := benchload.Load(context.Background(), benchload.LoadOptions{URL: url, Proxy: "http://" + m.Addr, CACert: m.CACert, Requests: 5, Conc: 1, UploadBytes: 64 << 10, BodyClass: "binary"})
	assert.NilError(t, err, m.Log())
	assert.Equal(t, res.Errors, 0, "%+v %s", res, m.Log())
	assert.Equal(t, uploaded.Load(), int64(5*64<<10), "five uploads reached the origin through mitmdump")

	// The origin's CA is what mitmdump trusts: a client trusting the
	// origin's CA instead of mitmdump's is refused (the traffic is intercepted).
	_, err = benchload.Load(context.Background(), benchload.LoadOptions{URL: url, Proxy: "http://" + m.Addr, CACert: caFile, Requests: 1, Conc: 1})
	assert.ErrorContains(t, err, "certificate")
}
