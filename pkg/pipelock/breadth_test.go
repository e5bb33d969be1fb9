package pipelock

import (
	"testing"

	"gotest.tools/v3/assert"
)

// A credential split within one request — over repeated query
// parameters, or over two headers — is refused: the values of one
// request are joined (per slot, and all together) before the split
// window's scan, which reads the token formats.
func TestBreadthSplitWithinRequest(t *testing.T) {
	e := newEnv(t, nil)
	tok := "ghp_Wq7Lm2Zx9Kc4Rv8Tn3Yb6Hd1Jf5Pg0As2De" // not a known secret
	// The host's first request: nothing earlier to join to.
	r := e.post([]byte("x"), "Content-Type", "text/plain", "X-Part-1", tok[:18], "X-Part-2", tok[18:])
	assert.Check(t, r.status == 403, "two headers: %d", r.status)
	r = e.get("https://allowed.example.com/t?p=" + tok[:14] + "&p=" + tok[14:28] + "&p=" + tok[28:])
	assert.Check(t, r.status == 403, "repeated query parameters: %d", r.status)
	r = e.post([]byte("a=1&p="+tok[:20]+"&b=2&p="+tok[20:]), "Content-Type", "application/x-www-form-urlencoded")
	assert.Check(t, r.status == 403, "repeated form fields: %d", r.status)
	// Ordinary repeated parameters and headers pass.
	r = e.get("https://allowed.example.com/t?tag=go&tag=security&tag=proxy&id=1&id=2")
	assert.Check(t, r.status == 200, "ordinary repeated parameters: %d %s", r.status, r.body)
}
