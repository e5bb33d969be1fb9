// Package mitm is the TLS-interception core shared by egress and the
// pipelock slot: leaf certificates signed on demand by a bottle CA (one SAN per
// host name, cached), and the host-name rules both proxies apply before they
// intercept anything (IP literals in every spelling are refused).
package mitm

import (
	"container/list"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// Leaf validity: short, because leaves are minted on demand and cached only
// in memory; back-dated like the CA for clock skew.
const (
	leafValidity = 7 * 24 * time.Hour
	leafSkew     = time.Hour
	// DefaultCacheSize bounds the leaf cache; a bottle talks to few hosts.
	DefaultCacheSize = 1024
)

// Signer mints leaf certificates for host names with a CA. All leaves share
// one key generated at start, so a cache miss costs one signature, not a key
// generation. Safe for concurrent use.
type Signer struct {
	ca      *tlsca.CA
	leafKey *ecdsa.PrivateKey
	now     func() time.Time
	max     int

	mu    sync.Mutex
	cache map[string]*list.Element
	lru   *list.List
}

type entry struct {
	host string
	cert *tls.Certificate
}

// NewSigner returns a signer for ca. cacheSize <= 0 means DefaultCacheSize.
func NewSigner(ca *tlsca.CA, cacheSize int) (*Signer, error) {
	if ca == nil {
		return nil, errors.New("mitm: no CA")
	}
	if cacheSize <= 0 {
		cacheSize = DefaultCacheSize
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mitm: leaf key: %w", err)
	}
	return &Signer{ca: ca, leafKey: key, now: time.Now, max: cacheSize, cache: map[string]*list.Element{}, lru: list.New()}, nil
}

// Certificate returns a leaf for host (a DNS name; IP literals are refused
// because the bottle CAs are constrained against them anyway).
func (s *Signer) Certificate(host string) (*tls.Certificate, error) {
	host = NormalizeHost(host)
	if host == "" {
		return nil, errors.New("mitm: empty host name")
	}
	if IsIPLike(host) {
		return nil, fmt.Errorf("mitm: %q is an IP address; no certificate is issued for addresses", host)
	}
	now := s.now()
	s.mu.Lock()
	if el, ok := s.cache[host]; ok {
		e := el.Value.(*entry)
		if now.Before(e.cert.Leaf.NotAfter.Add(-time.Hour)) {
			s.lru.MoveToFront(el)
			s.mu.Unlock()
			return e.cert, nil
		}
		s.lru.Remove(el)
		delete(s.cache, host)
	}
	s.mu.Unlock()

	cert, err := s.sign(host, now)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.cache[host]; ok { // signed concurrently; keep the first
		return el.Value.(*entry).cert, nil
	}
	s.cache[host] = s.lru.PushFront(&entry{host: host, cert: cert})
	for s.lru.Len() > s.max {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.cache, old.Value.(*entry).host)
	}
	return cert, nil
}

func (s *Signer) sign(host string, now time.Time) (*tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("mitm: serial: %w", err)
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(s.ca.Cert.NotAfter) {
		notAfter = s.ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-leafSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca.Cert, &s.leafKey.PublicKey, s.ca.Key)
	if err != nil {
		return nil, fmt.Errorf("mitm: sign leaf for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("mitm: parse leaf: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der, s.ca.Cert.Raw}, PrivateKey: s.leafKey, Leaf: leaf}, nil
}

// NormalizeHost lower-cases a host name, strips brackets, a port and one
// trailing dot: the form every allowlist comparison uses.
func NormalizeHost(h string) string {
	h = strings.TrimSpace(h)
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimPrefix(strings.TrimSuffix(h, "]"), "[")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// SplitHostPort splits a request target "host[:port]" into the normalised
// host (NormalizeHost) and the port, def when the target names none.
func SplitHostPort(target, def string) (host, port string) {
	h, p, err := net.SplitHostPort(target)
	if err != nil {
		h, p = target, def
	}
	return NormalizeHost(h), p
}

// IsIPLike reports whether h names an address rather than a host: an IPv4 or
// IPv6 literal, or any spelling a resolver would take as one (2130706433,
// 0x7f000001, 0177.0.0.1, 127.1, 0x7f.1). Such names are refused outright.
func IsIPLike(h string) bool {
	h = NormalizeHost(h)
	if h == "" {
		return false
	}
	if i := strings.IndexByte(h, '%'); i >= 0 { // fe80::1%eth0
		h = h[:i]
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if !numericLabel(label) {
			return false
		}
	}
	return true
}

func numericLabel(l string) bool {
	if l == "" {
		return false
	}
	if strings.HasPrefix(l, "0x") {
		for _, c := range l[2:] {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	for _, c := range l {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
