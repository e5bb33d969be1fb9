// Package tlsca makes and loads the per-bottle certificate authorities: the
// egress CA the agent trusts, and pipelock's interception CA that only egress
// trusts. Keys are ECDSA P-256, serials 128 random bits, and the CAs are
// constrained so that even a stolen key cannot sign for IP addresses.
package tlsca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// DefaultValidity is how long a bottle CA is valid. Bottles are disposable
// (hours to days); 90 days covers a long-lived one without leaving a trusted
// root around for years.
const DefaultValidity = 90 * 24 * time.Hour

// clockSkew back-dates NotBefore so a container whose clock lags the host's
// still accepts a fresh CA.
const clockSkew = time.Hour

// CA is a certificate authority with its private key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CertPEM and KeyPEM are the encoded forms (PKCS#8 for the key).
	CertPEM []byte
	KeyPEM  []byte
}

// Options tunes New. The zero value is the default.
type Options struct {
	// Validity defaults to DefaultValidity.
	Validity time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// New creates a CA named commonName.
func New(commonName string, opts Options) (*CA, error) {
	if opts.Validity <= 0 {
		opts.Validity = DefaultValidity
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate CA serial: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal CA key: %w", err)
	}
	ski := sha256.Sum256(pub)
	now := opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"claude-bottle"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(opts.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski[:20],
		// Both proxies refuse IP-literal destinations, so the CA never needs
		// to sign for an address; excluding them all makes a leaked key
		// useless for that.
		ExcludedIPRanges: []*net.IPNet{
			{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal CA key: %w", err)
	}
	return &CA{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// ErrKeyMismatch means a CA's key does not belong to its certificate.
var ErrKeyMismatch = errors.New("CA key does not match the CA certificate")

// Parse decodes a CA from PEM certificate and key, checking that the
// certificate is a CA and that the key is its key.
func Parse(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("CA certificate: no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("CA certificate: not a CA (basicConstraints CA:FALSE)")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("CA key: no PEM block")
	}
	var key *ecdsa.PrivateKey
	switch kb.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA key: %w", err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("CA key: %T, want ECDSA", k)
		}
		key = ek
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA key: %w", err)
		}
	default:
		return nil, fmt.Errorf("CA key: PEM block %q, want PRIVATE KEY", kb.Type)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, ErrKeyMismatch
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// Load reads certFile and keyFile (e.g. ca.pem and ca-key.pem of a mounted
// directory). Errors name the file; no CA is ever generated in their place.
func Load(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("load CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("load CA key: %w", err)
	}
	ca, err := Parse(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA from %s and %s: %w", certFile, keyFile, err)
	}
	return ca, nil
}

// LoadDir loads ca.pem and ca-key.pem from dir.
func LoadDir(dir string) (*CA, error) {
	return Load(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
}

// Fingerprint is the SHA-256 of the certificate's DER, hex, for logs.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return fmt.Sprintf("%x", sum[:])
}

// Pool returns a cert pool holding just this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Equal reports whether two CAs have the same certificate.
func (ca *CA) Equal(o *CA) bool { return o != nil && bytes.Equal(ca.Cert.Raw, o.Cert.Raw) }
