package pipelock

import (
	"net/http"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// apiKey is shaped like an Anthropic API key (the gitleaks rule matches it).
const apiKey = "sk-ant-api03-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtHFAA"

// TestHeaderCredentialOnlyInItsHeaderToItsHost: a credential egress injects
// in x-api-key passes only as the whole value of that header to its host.
// In Authorization to the same host, in x-api-key to another host, with
// anything around it, or anywhere else in the request, it is blocked.
func TestHeaderCredentialOnlyInItsHeaderToItsHost(t *testing.T) {
	e := newEnv(t, func(c *daemoncfg.Pipelock) {
		fp, err := secretfp.Of("ANTHROPIC_API_KEY", apiKey)
		assert.NilError(t, err)
		c.DLP.KnownSecrets = append(c.DLP.KnownSecrets, fp)
		c.DLP.AllowedCredentials = append(c.DLP.AllowedCredentials, daemoncfg.Credential{Host: "api.github.com", Secret: "ANTHROPIC_API_KEY", Header: "x-api-key"})
	})
	send := func(url string, hdr map[string]string) result {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return e.do(req, e.proxyURL)
	}
	r := send("https://api.github.com/v1/messages", map[string]string{"x-api-key": apiKey})
	assert.Equal(t, r.status, 200, r.body)
	assert.Equal(t, e.seenAll()[0].header.Get("X-Api-Key"), apiKey)

	for name, tc := range map[string]struct {
		url string
		hdr map[string]string
	}{
		"authorization header":   {"https://api.github.com/v1/messages", map[string]string{"Authorization": "Bearer " + apiKey}},
		"other host":             {"https://allowed.example.com/v1/messages", map[string]string{"x-api-key": apiKey}},
		"other header":           {"https://api.github.com/v1/messages", map[string]string{"x-api-key": apiKey, "X-Debug": apiKey}},
		"value with a suffix":    {"https://api.github.com/v1/messages", map[string]string{"x-api-key": apiKey + " x"}},
		"value with a prefix":    {"https://api.github.com/v1/messages", map[string]string{"x-api-key": "Bearer " + apiKey}},
		"in the query":           {"https://api.github.com/v1/messages?k=" + apiKey, map[string]string{"x-api-key": apiKey}},
		"github token in header": {"https://api.github.com/v1/messages", map[string]string{"x-api-key": ghToken}},
	} {
		r := send(tc.url, tc.hdr)
		assert.Equal(t, r.status, 403, "%s: %s", name, r.body)
		assert.Assert(t, is.Contains(r.body, "blocked:"), name)
	}
	assert.Equal(t, len(e.seenAll()), 1, "only the first request may reach the far side")
}
