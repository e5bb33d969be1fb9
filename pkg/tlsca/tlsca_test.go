package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestNew(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ca, err := New("claude-bottle egress demo-ab1cd", Options{Now: func() time.Time { return now }})
	assert.NilError(t, err)
	c := ca.Cert
	assert.Assert(t, c.IsCA)
	assert.Assert(t, c.MaxPathLenZero)
	assert.Equal(t, c.Subject.CommonName, "claude-bottle egress demo-ab1cd")
	assert.Equal(t, c.PublicKeyAlgorithm, x509.ECDSA)
	assert.Equal(t, ca.Key.Curve, elliptic.P256())
	assert.Assert(t, c.SerialNumber.BitLen() > 64, "serial must be random and large")
	assert.Equal(t, c.NotBefore, now.Add(-time.Hour))
	assert.Equal(t, c.NotAfter, now.Add(DefaultValidity))
	assert.Assert(t, c.KeyUsage&x509.KeyUsageCertSign != 0)

	other, err := New("x", Options{})
	assert.NilError(t, err)
	assert.Assert(t, c.SerialNumber.Cmp(other.Cert.SerialNumber) != 0)
	assert.Assert(t, !ca.Equal(other))
	same, err := Parse(ca.CertPEM, ca.KeyPEM)
	assert.NilError(t, err)
	assert.Assert(t, ca.Equal(same))
	assert.Equal(t, len(ca.Fingerprint()), 64)
}

// sign issues a leaf for the given names with the CA.
func sign(t *testing.T, ca *CA, dns []string, ips []net.IP) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		DNSNames: dns, IPAddresses: ips, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	assert.NilError(t, err)
	leaf, err := x509.ParseCertificate(der)
	assert.NilError(t, err)
	return leaf
}

func TestNameConstraints(t *testing.T) {
	ca, err := New("c", Options{})
	assert.NilError(t, err)
	leaf := sign(t, ca, []string{"api.github.com"}, nil)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "api.github.com"})
	assert.NilError(t, err, "a host-name leaf must verify")

	ipLeaf := sign(t, ca, nil, []net.IP{net.ParseIP("10.0.0.1")})
	_, err = ipLeaf.Verify(x509.VerifyOptions{Roots: ca.Pool()})
	assert.ErrorContains(t, err, "excluded", "an IP leaf must be refused by the CA's name constraints")
}

func TestParseAndLoad(t *testing.T) {
	ca, err := New("c", Options{})
	assert.NilError(t, err)
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "ca-key.pem"), ca.KeyPEM, 0o600))
	got, err := LoadDir(dir)
	assert.NilError(t, err)
	assert.Assert(t, got.Equal(ca))

	other, err := New("other", Options{})
	assert.NilError(t, err)
	_, err = Parse(ca.CertPEM, other.KeyPEM)
	assert.ErrorIs(t, err, ErrKeyMismatch)

	_, err = LoadDir(t.TempDir())
	assert.ErrorContains(t, err, "load CA certificate: open ")
	assert.ErrorContains(t, err, "ca.pem")

	_, err = Parse([]byte("garbage"), ca.KeyPEM)
	assert.ErrorContains(t, err, "no PEM CERTIFICATE block")
	_, err = Parse(ca.CertPEM, []byte("garbage"))
	assert.ErrorContains(t, err, "CA key: no PEM block")
	_, err = Parse(ca.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1}}))
	assert.ErrorContains(t, err, `PEM block "RSA PRIVATE KEY"`)

	// A leaf certificate is not a CA.
	leaf := sign(t, ca, []string{"a.example.com"}, nil)
	_, err = Parse(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), ca.KeyPEM)
	assert.ErrorContains(t, err, "not a CA")

	// SEC1 keys are accepted too.
	sec1, err := x509.MarshalECPrivateKey(ca.Key)
	assert.NilError(t, err)
	_, err = Parse(ca.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	assert.NilError(t, err)
}
