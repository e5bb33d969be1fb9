package manifest

import (
	"fmt"
	"net/textproto"
	"strings"
)

// Claude is the [claude] table: how Claude Code gets its credential. egress
// injects the real value on the model API route; the agent holds a
// placeholder of the same shape.
type Claude struct {
	// Auth is ClaudeAPIKey (x-api-key, like ANTHROPIC_API_KEY) or
	// ClaudeOAuth (Authorization: Bearer, like CLAUDE_CODE_OAUTH_TOKEN from
	// `claude setup-token`).
	Auth string `toml:"auth"`
	// TokenRef names the host variable holding the credential.
	TokenRef string `toml:"token_ref"`
}

// Values of Claude.Auth.
const (
	ClaudeAPIKey = "api-key"
	ClaudeOAuth  = "oauth"
)

// ClaudeAPIHost is the model API Claude Code talks to.
const ClaudeAPIHost = "api.anthropic.com"

// Agent variables Claude Code reads its credential from (names, not
// values).
const (
	EnvAPIKey     = "ANTHROPIC_API_KEY"       //nolint:gosec // G101: a variable name, not a credential
	EnvOAuthToken = "CLAUDE_CODE_OAUTH_TOKEN" //nolint:gosec // G101: a variable name, not a credential
	envAuthToken  = "ANTHROPIC_AUTH_TOKEN"    //nolint:gosec // G101: a variable name, not a credential
)

// placeholderLen is the length of a real Anthropic API key or OAuth token
// (prefix + 95 characters); a placeholder of the same length passes any
// client-side shape check.
const placeholderLen = 108

// ClaudePlaceholder is the credential the agent holds for auth: the right
// prefix and length, and a low-entropy filler that no secret rule matches
// (real keys end in "AA"; this one ends in "x"). egress replaces it with the
// real value on the model API route.
func ClaudePlaceholder(auth string) string {
	prefix := "sk-ant-api03-"
	if auth == ClaudeOAuth {
		prefix = "sk-ant-oat01-"
	}
	s := prefix + "claude-bottle-placeholder-egress-injects-the-real-credential-"
	return s + strings.Repeat("x", placeholderLen-len(s))
}

// ClaudeEnv returns the agent variable that carries the placeholder for
// auth, or "" when there is none.
func ClaudeEnv(auth string) string {
	switch auth {
	case ClaudeAPIKey:
		return EnvAPIKey
	case ClaudeOAuth:
		return EnvOAuthToken
	}
	return ""
}

// ClaudeFromEnv picks Claude Code's credential from the host environment
// when a manifest has no [claude] table: CLAUDE_CODE_OAUTH_TOKEN (oauth)
// first, then ANTHROPIC_API_KEY (api-key). ok is false when neither is set.
func ClaudeFromEnv(lookup func(string) (string, bool)) (Claude, bool) {
	for _, c := range []Claude{{Auth: ClaudeOAuth, TokenRef: EnvOAuthToken}, {Auth: ClaudeAPIKey, TokenRef: EnvAPIKey}} {
		if v, ok := lookup(c.TokenRef); ok && strings.TrimSpace(v) != "" {
			return c, true
		}
	}
	return Claude{}, false
}

// SetClaude gives a manifest without a [claude] table the credential c,
// as if the table had been written.
func (m *Manifest) SetClaude(c Claude) error {
	if m.Claude.Auth != "" {
		return fmt.Errorf("%s already has a [claude] table", m.Source)
	}
	m.Claude = c
	if ps := m.applyClaude(); len(ps) > 0 {
		m.Claude = Claude{}
		return newValidationError(m.Source, ps)
	}
	return nil
}

// applyClaude validates [claude] and turns it into the auth of the
// api.anthropic.com route (added when the manifest has none).
func (m *Manifest) applyClaude() []Problem {
	c := &checker{m: m}
	cl := m.Claude
	if cl.Auth == "" && cl.TokenRef == "" {
		return nil
	}
	switch cl.Auth {
	case ClaudeAPIKey, ClaudeOAuth:
	case "":
		c.add("claude.auth", "missing: %q (an API key, sent as x-api-key) or %q (a token from `claude setup-token`, sent as Authorization: Bearer)", ClaudeAPIKey, ClaudeOAuth)
	default:
		c.add("claude.auth", "%q: want %q or %q", cl.Auth, ClaudeAPIKey, ClaudeOAuth)
	}
	switch {
	case cl.TokenRef == "":
		c.add("claude.token_ref", "missing: the host variable holding the credential, e.g. token_ref = %q (only egress receives its value)", EnvAPIKey)
	case !envNameRE.MatchString(cl.TokenRef):
		c.add("claude.token_ref", "%q is not a valid environment variable name", cl.TokenRef)
	}
	for _, k := range []string{EnvAPIKey, EnvOAuthToken, envAuthToken} {
		if _, ok := m.Env[k]; ok {
			c.add("env."+k, "%s is set by the bottle when [claude] is present (a placeholder; egress injects the real credential): remove it from [env]", k)
		}
	}
	if len(c.problems) > 0 {
		return c.problems
	}
	auth := &Auth{Header: "x-api-key", TokenRef: cl.TokenRef}
	if cl.Auth == ClaudeOAuth {
		auth = &Auth{Scheme: "Bearer", TokenRef: cl.TokenRef}
	}
	for i := range m.Egress.Routes {
		r := &m.Egress.Routes[i]
		if r.Host != ClaudeAPIHost {
			continue
		}
		if r.Auth != nil {
			c.add(fmt.Sprintf("egress.routes[%d].auth", i), "the route to %s has its own auth, and [claude] sets it too: keep one", ClaudeAPIHost)
			return c.problems
		}
		r.Auth = auth
		return nil
	}
	m.Egress.Routes = append(m.Egress.Routes, Route{Host: ClaudeAPIHost, Auth: auth})
	return nil
}

// checkAuthHeader returns why h cannot carry a credential ("" when it can):
// it must be a plain header name and not one the proxies own.
func checkAuthHeader(h string) string {
	if !headerRE.MatchString(h) {
		return fmt.Sprintf("%q is not a header name (letters, digits and dashes)", h)
	}
	switch textproto.CanonicalMIMEHeaderKey(h) {
	case "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer",
		"Keep-Alive", "Proxy-Authorization", "Proxy-Authenticate", "Proxy-Connection", "Cookie", "Expect":
		return fmt.Sprintf("%q is a header the proxies or HTTP itself own; name the header the API reads its key from (e.g. x-api-key), or use scheme for Authorization", h)
	case "Authorization":
		return "use scheme (e.g. \"Bearer\") for the Authorization header"
	}
	return ""
}
