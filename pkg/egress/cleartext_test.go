package egress

import (
	"net/http"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestPlainHTTPToAuthRouteRefused: a credential is injected only inside
// TLS. Plain http:// to a route that carries auth is refused with a message
// saying so, in any case or form of the host, whatever the path, and
// nothing reaches upstream — neither the token nor the request.
func TestPlainHTTPToAuthRouteRefused(t *testing.T) {
	h := newHarness(t, testRoutes())
	for _, u := range []string{
		"http://api.github.com/repos/acme/app",
		"http://API.GitHub.com./repos/acme/app",
		"http://api.github.com:80/repos/acme/app",
		"http://api.github.com/not/on/the/path/list",
	} {
		t.Run(u, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("x"))
			req.Header.Set("Authorization", "Bearer agent-made-this-up")
			r := h.do(req)
			assert.Equal(t, r.Status, 403)
			assert.Assert(t, is.Contains(r.Body, "egress: route api.github.com carries a credential; use https"))
			assert.Assert(t, !strings.Contains(r.Body, testToken))
		})
	}
	assert.Equal(t, len(h.rec.all()), 0, "a cleartext request to an auth route reached upstream: %v", h.rec.all())
	assert.Assert(t, !strings.Contains(h.logs.String(), testToken))

	// The same route over TLS still gets its credential, and plain HTTP to
	// a route without auth still passes.
	assert.Equal(t, h.get("https://api.github.com/repos/acme/app").Status, 200)
	assert.Equal(t, h.get("http://plain.example.com/hello").Status, 200)
}
