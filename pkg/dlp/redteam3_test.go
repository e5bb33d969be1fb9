package dlp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base32"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// A private key written as a form writes it — '+' for the spaces of its
// armour lines, escapes for the rest — is found in any part however it
// is labelled (the percent reading leaves '+' a '+'); an article naming
// the header so written, without key material, is not.
func TestRedteam3FormEncodedPrivateKey(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	assert.NilError(t, err)
	key := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	s, err := New(Options{})
	assert.NilError(t, err)
	for name, text := range map[string]string{
		"query-escaped":        url.QueryEscape(key),
		"in a query":           "a=1&k=" + url.QueryEscape(key) + "&b=2",
		"'+' for spaces":       strings.ReplaceAll(key, " ", "+"),
		"tabs for spaces":      strings.ReplaceAll(key, " ", "\t"),
		"openssh, '+'":         strings.ReplaceAll(strings.ReplaceAll(key, "RSA PRIVATE", "OPENSSH PRIVATE"), " ", "+"),
		"'+', one line (json)": strings.ReplaceAll(strings.ReplaceAll(key, " ", "+"), "\n", `\n`),
	} {
		fs := s.Scan("query", text)
		assert.Check(t, len(fs) > 0, "%s: not found", name)
	}
	for _, text := range []string{
		"the file starts with -----BEGIN+RSA+PRIVATE+KEY----- and ends so.",
		"q=-----BEGIN+RSA+PRIVATE+KEY-----&page=2",
	} {
		assert.Check(t, len(s.Scan("query", text)) == 0, text)
	}
}

// A text that starts inside a base32 run (a segment of a large body, cut
// anywhere) is read at every alignment of that run.
func TestRedteam3Base32CutRun(t *testing.T) {
	s, err := New(Options{})
	assert.NilError(t, err)
	enc := base32.StdEncoding.EncodeToString([]byte("some words before the key: aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD and after it"))
	for off := range 8 {
		for _, text := range []string{enc[off:], strings.ToLower(enc[off:]) + "\nmore text"} {
			assert.Check(t, len(s.Scan("body", text)) > 0, "cut %d: %q", off, text[:16])
		}
	}
}
