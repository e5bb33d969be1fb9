package mitm

import (
	"crypto/x509"
	"sync"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

func TestIsIPLike(t *testing.T) {
	for _, h := range []string{"10.0.0.1", "127.0.0.1", "::1", "[::1]", "[::1]:443", "fe80::1%eth0", "2130706433", "0x7f000001", "0177.0.0.1",
		"127.1", "0x7f.1", "0X7F.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "1.2.3.4.", "017700000001"} {
		assert.Assert(t, IsIPLike(h), h)
	}
	for _, h := range []string{"api.github.com", "1password.com", "0x.example.com", "123.example", "a1.b2", "localhost", "", "deadbeef.com"} {
		assert.Assert(t, !IsIPLike(h), h)
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{"API.GitHub.com.": "api.github.com", "api.github.com:443": "api.github.com", "[::1]:80": "::1"} {
		assert.Equal(t, NormalizeHost(in), want, in)
	}
}

func TestSigner(t *testing.T) {
	ca, err := tlsca.New("mitm test", tlsca.Options{})
	assert.NilError(t, err)
	s, err := NewSigner(ca, 2)
	assert.NilError(t, err)
	c1, err := s.Certificate("API.github.com.")
	assert.NilError(t, err)
	assert.DeepEqual(t, c1.Leaf.DNSNames, []string{"api.github.com"})
	_, err = c1.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "api.github.com"})
	assert.NilError(t, err)
	assert.Assert(t, !c1.Leaf.NotAfter.After(ca.Cert.NotAfter), "a leaf never outlives its CA")
	c2, err := s.Certificate("api.github.com")
	assert.NilError(t, err)
	assert.Assert(t, c1 == c2, "cached")
	_, _ = s.Certificate("b.example.com")
	_, _ = s.Certificate("c.example.com")
	c3, err := s.Certificate("api.github.com")
	assert.NilError(t, err)
	assert.Assert(t, c1 != c3, "evicted from a cache of 2")

	for _, bad := range []string{"", "10.0.0.1", "2130706433"} {
		_, err := s.Certificate(bad)
		assert.Assert(t, err != nil, bad)
	}
	_, err = NewSigner(nil, 0)
	assert.ErrorContains(t, err, "no CA")

	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := s.Certificate("concurrent.example.com"); assert.Check(t, err) }()
	}
	wg.Wait()
}

func BenchmarkSignerCached(b *testing.B) {
	ca, _ := tlsca.New("bench", tlsca.Options{})
	s, _ := NewSigner(ca, 0)
	_, _ = s.Certificate("api.github.com")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Certificate("api.github.com")
	}
}

func BenchmarkSignerMiss(b *testing.B) {
	ca, _ := tlsca.New("bench", tlsca.Options{})
	s, _ := NewSigner(ca, 1)
	hosts := []string{"a.example.com", "b.example.com"}
	i := 0
	for b.Loop() {
		_, _ = s.Certificate(hosts[i%2])
		i++
	}
}

func TestSplitHostPort(t *testing.T) {
	for target, want := range map[string][2]string{
		"Example.COM.:8443": {"example.com", "8443"},
		"example.com":       {"example.com", "443"},
		"[::1]:80":          {"::1", "80"},
		"[::1]":             {"::1", "443"},
		"10.0.0.1":          {"10.0.0.1", "443"},
	} {
		h, p := SplitHostPort(target, "443")
		assert.DeepEqual(t, [2]string{h, p}, want)
	}
}
