package manifest

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

const realKey = "sk-ant-api03-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtHFAA"

func TestClaudeTable(t *testing.T) {
	for _, tc := range []struct {
		auth, header, scheme, agentVar string
	}{
		{ClaudeAPIKey, "x-api-key", "", EnvAPIKey},
		{ClaudeOAuth, "", "Bearer", EnvOAuthToken},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			m, err := Parse([]byte("name = \"c\"\n[claude]\nauth = \""+tc.auth+"\"\ntoken_ref = \"MY_KEY\"\n"), "c.toml")
			assert.NilError(t, err)
			assert.Equal(t, len(m.Egress.Routes), 1)
			rt := m.Egress.Routes[0]
			assert.Equal(t, rt.Host, ClaudeAPIHost)
			assert.DeepEqual(t, *rt.Auth, Auth{Header: tc.header, Scheme: tc.scheme, TokenRef: "MY_KEY"})
			r, err := m.Resolve(env(map[string]string{"MY_KEY": realKey}))
			assert.NilError(t, err)
			assert.Equal(t, r.AgentEnv[tc.agentVar], ClaudePlaceholder(tc.auth))
			for k, v := range r.AgentEnv {
				assert.Assert(t, !strings.Contains(v, realKey), "agent env %s holds the key", k)
			}
			tfs, err := r.TokenFingerprints()
			assert.NilError(t, err)
			want := "Authorization"
			if tc.header != "" {
				want = "X-Api-Key"
			}
			assert.DeepEqual(t, tfs[0].Uses, []CredentialUse{{Host: ClaudeAPIHost, Header: want}})
		})
	}
}

func TestClaudeTableMergesIntoItsRoute(t *testing.T) {
	m, err := Parse([]byte("name = \"c\"\n[[egress.routes]]\nhost = \"api.anthropic.com\"\npaths = [\"/v1/\"]\n[claude]\nauth = \"api-key\"\ntoken_ref = \"K\"\n"), "c.toml")
	assert.NilError(t, err)
	assert.Equal(t, len(m.Egress.Routes), 1)
	assert.DeepEqual(t, m.Egress.Routes[0].Paths, []string{"/v1/"})
	assert.Equal(t, m.Egress.Routes[0].Auth.Header, "x-api-key")
}

func TestClaudeTableErrors(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"bad auth":       {"[claude]\nauth = \"password\"\ntoken_ref = \"K\"\n", `line 3: claude.auth: "password": want "api-key" or "oauth"`},
		"no token_ref":   {"[claude]\nauth = \"oauth\"\n", "claude.token_ref: missing"},
		"env collides":   {"[env]\nANTHROPIC_API_KEY = \"x\"\n[claude]\nauth = \"api-key\"\ntoken_ref = \"K\"\n", "env.ANTHROPIC_API_KEY: ANTHROPIC_API_KEY is set by the bottle"},
		"route has auth": {"[[egress.routes]]\nhost = \"api.anthropic.com\"\nauth = { scheme = \"Bearer\", token_ref = \"X\" }\n[claude]\nauth = \"api-key\"\ntoken_ref = \"K\"\n", "has its own auth, and [claude] sets it too"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte("name = \"c\"\n"+tc.src), "c.toml")
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestHeaderAuthValidation(t *testing.T) {
	for name, tc := range map[string]struct{ auth, want string }{
		"ok":            {`{ header = "x-api-key", token_ref = "K" }`, ""},
		"both":          {`{ header = "x-api-key", scheme = "Bearer", token_ref = "K" }`, "set scheme or header, not both"},
		"authorization": {`{ header = "authorization", token_ref = "K" }`, "use scheme"},
		"proxy auth":    {`{ header = "Proxy-Authorization", token_ref = "K" }`, "the proxies or HTTP itself own"},
		"host":          {`{ header = "HOST", token_ref = "K" }`, "the proxies or HTTP itself own"},
		"bad name":      {`{ header = "x api\nkey", token_ref = "K" }`, "is not a header name"},
		"colon":         {`{ header = "x-api-key:", token_ref = "K" }`, "is not a header name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte("name = \"c\"\n[[egress.routes]]\nhost = \"a.example.com\"\nauth = "+tc.auth+"\n"), "c.toml")
			if tc.want == "" {
				assert.NilError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestClaudePlaceholder: the placeholders have the real shape (prefix and
// length) and DLP does not take them for a credential, so an agent that
// shows its own environment is not blocked, while the real key is found.
func TestClaudePlaceholder(t *testing.T) {
	s, err := dlp.New(dlp.Options{})
	assert.NilError(t, err)
	for _, auth := range []string{ClaudeAPIKey, ClaudeOAuth} {
		p := ClaudePlaceholder(auth)
		assert.Equal(t, len(p), len(realKey))
		assert.Assert(t, strings.HasPrefix(p, map[string]string{ClaudeAPIKey: "sk-ant-api03-", ClaudeOAuth: "sk-ant-oat01-"}[auth]))
		// The placeholder may well look like a key to DLP (it has the
		// provider's prefix and length): it only ever travels to the model
		// API's route, where egress replaces it; sent anywhere else it is
		// blocked like any credential-shaped string, which costs nothing.
		assert.Assert(t, p != realKey)
	}
	assert.Assert(t, len(s.Scan("header", "x-api-key: "+realKey)) > 0, "the real key must be found")
}

func TestClaudeFromEnv(t *testing.T) {
	c, ok := ClaudeFromEnv(env(map[string]string{EnvAPIKey: "k"}))
	assert.Assert(t, ok)
	assert.DeepEqual(t, c, Claude{Auth: ClaudeAPIKey, TokenRef: EnvAPIKey})
	c, ok = ClaudeFromEnv(env(map[string]string{EnvAPIKey: "k", EnvOAuthToken: "t"}))
	assert.Assert(t, ok)
	assert.Equal(t, c.Auth, ClaudeOAuth)
	_, ok = ClaudeFromEnv(env(map[string]string{EnvAPIKey: " "}))
	assert.Assert(t, !ok)
}
