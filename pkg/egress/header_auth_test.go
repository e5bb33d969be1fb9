package egress

import (
	"net/http"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// TestHeaderAuthInjection: a route with header auth replaces whatever the
// agent sent in that header (its placeholder, any case of the name, repeated
// values) with the real token alone, leaves Authorization to the agent, and
// injects nothing on other routes.
func TestHeaderAuthInjection(t *testing.T) {
	h := newHarness(t, []daemoncfg.Route{
		{Host: "api.anthropic.com", Auth: &daemoncfg.Auth{Header: "x-api-key", TokenEnv: "EGRESS_TOKEN_1"}},
		{Host: "raw.githubusercontent.com"},
	})
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", nil)
	req.Header["x-api-key"] = []string{"sk-ant-api03-placeholder"} // non-canonical name, as some clients send
	req.Header.Add("X-Api-Key", "second-value")
	r := h.do(req)
	assert.Equal(t, r.Status, 200, r.Body)
	got := h.rec.all()[0]
	assert.DeepEqual(t, got.Header.Values("X-Api-Key"), []string{testToken})
	assert.Equal(t, got.Header.Get("Authorization"), "")

	req, _ = http.NewRequest(http.MethodGet, "https://raw.githubusercontent.com/x", nil)
	req.Header.Set("X-Api-Key", "agent-own")
	r = h.do(req)
	assert.Equal(t, r.Status, 200, r.Body)
	assert.DeepEqual(t, h.rec.all()[1].Header.Values("X-Api-Key"), []string{"agent-own"})
}

func TestHeaderAuthTable(t *testing.T) {
	tokens := func(string) (string, bool) { return "v", true }
	tb, err := NewTable(daemoncfg.Routes{Routes: []daemoncfg.Route{{Host: "a.example.com", Auth: &daemoncfg.Auth{Header: "x-api-key", TokenEnv: "EGRESS_TOKEN_1"}}}}, tokens)
	assert.NilError(t, err)
	r := tb.Lookup("a.example.com")
	assert.Equal(t, r.Header, "X-Api-Key")
	assert.Equal(t, r.Scheme, "")
	assert.Assert(t, r.HasAuth())
}
