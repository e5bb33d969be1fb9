package manifest

import (
	"fmt"
	"net/textproto"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// Token is one distinct credential reference of a bottle. Slot is the variable
// that carries its value into egress (EGRESS_TOKEN_1, _2, … in declaration
// order); Ref is the host variable it comes from.
type Token struct {
	Ref  string
	Slot string
}

// Resolved is a manifest bound to the host environment. It holds credential
// values only behind TokenEnv, and its String method never prints them.
type Resolved struct {
	*Manifest
	// AgentEnv is the agent's own environment with ${VAR} references expanded.
	AgentEnv map[string]string
	// Tokens lists the distinct token refs in declaration order.
	Tokens []Token

	tokenValues map[string]string // slot -> value
	canaries    []secretfp.Fingerprint
}

// CanaryFingerprints returns the fingerprints of the [dlp] canaries.
func (r *Resolved) CanaryFingerprints() []secretfp.Fingerprint { return r.canaries }

// Slot returns the EGRESS_TOKEN_<n> variable of a token ref, or "".
func (r *Resolved) Slot(ref string) string {
	for _, t := range r.Tokens {
		if t.Ref == ref {
			return t.Slot
		}
	}
	return ""
}

// TokenEnv returns "EGRESS_TOKEN_<n>=<value>" entries for the environment of
// the process that brings the bottle up (compose reads them from there, so the
// values are never written to disk).
func (r *Resolved) TokenEnv() []string {
	out := make([]string, 0, len(r.Tokens))
	for _, t := range r.Tokens {
		out = append(out, t.Slot+"="+r.tokenValues[t.Slot])
	}
	return out
}

// String describes the bottle without any credential value.
func (r *Resolved) String() string {
	refs := make([]string, 0, len(r.Tokens))
	for _, t := range r.Tokens {
		refs = append(refs, t.Ref+"->"+t.Slot)
	}
	return fmt.Sprintf("bottle %s (tokens: %s)", r.Name, strings.Join(refs, ", "))
}

// Resolve binds m to the host environment seen through lookup: it expands
// ${VAR} in the agent's env, numbers the token refs, and checks that every
// referenced variable is set, that every token is non-empty, and that no
// credential can reach the agent (by reference or by value). Every problem is
// reported at once.
func (m *Manifest) Resolve(lookup func(string) (string, bool)) (*Resolved, error) {
	c := &checker{m: m}
	r := &Resolved{Manifest: m, AgentEnv: map[string]string{}, tokenValues: map[string]string{}}

	for i, route := range m.Egress.Routes {
		if route.Auth == nil || route.Auth.TokenRef == "" {
			continue
		}
		ref := route.Auth.TokenRef
		key := fmt.Sprintf("egress.routes[%d].auth.token_ref", i)
		if r.Slot(ref) != "" {
			continue
		}
		v, ok := lookup(ref)
		switch {
		case !ok:
			c.add(key, "host variable %s is not set: export it before bringing the bottle up (only egress receives its value)", ref)
			continue
		case strings.TrimSpace(v) == "":
			c.add(key, "host variable %s is empty", ref)
			continue
		}
		slot := contract.TokenEnv(len(r.Tokens) + 1)
		r.Tokens = append(r.Tokens, Token{Ref: ref, Slot: slot})
		r.tokenValues[slot] = v
	}

	tokenRefs := map[string]bool{}
	for _, rt := range m.Egress.Routes {
		if rt.Auth != nil && rt.Auth.TokenRef != "" {
			tokenRefs[rt.Auth.TokenRef] = true
		}
	}
	for _, k := range sortedKeys(m.Env) {
		key := "env." + k
		refs, err := parseRefs(m.Env[k])
		if err != nil {
			continue // reported by validate
		}
		bad := false
		for _, ref := range refs {
			if tokenRefs[ref] {
				c.add(key, "references ${%s}, which is a token_ref: credentials reach egress only, never the agent", ref)
				bad = true
			} else if _, ok := lookup(ref); !ok {
				c.add(key, "references ${%s}, but host variable %s is not set", ref, ref)
				bad = true
			}
		}
		if tokenRefs[k] {
			c.add(key, "%s is a token_ref: credentials reach egress only, never the agent; rename the agent variable", k)
			bad = true
		}
		if bad {
			continue
		}
		val := expandRefs(m.Env[k], func(n string) string { v, _ := lookup(n); return v })
		for _, t := range r.Tokens {
			if tv := r.tokenValues[t.Slot]; len(tv) >= 8 && strings.Contains(val, tv) {
				c.add(key, "contains the value of token_ref %s: credentials reach egress only, never the agent", t.Ref)
				bad = true
			}
		}
		if !bad {
			r.AgentEnv[k] = val
		}
	}
	for i, name := range m.DLP.Canaries {
		key := fmt.Sprintf("dlp.canaries[%d]", i)
		v, ok := lookup(name)
		if !ok {
			c.add(key, "host variable %s is not set", name)
			continue
		}
		fp, err := secretfp.Of(name, v)
		if err != nil {
			c.add(key, "the value of %s is shorter than %d bytes: too short to find reliably", name, secretfp.MinLen)
			continue
		}
		r.canaries = append(r.canaries, fp)
	}
	if v := ClaudeEnv(m.Claude.Auth); v != "" {
		r.AgentEnv[v] = ClaudePlaceholder(m.Claude.Auth)
	}
	if len(c.problems) > 0 {
		return nil, newValidationError(m.Source, c.problems)
	}
	return r, nil
}

// TokenFingerprint is the fingerprint of one credential and the hosts egress
// injects it for: what pipelock needs to let it through there and block it
// everywhere else, without ever holding the value.
type TokenFingerprint struct {
	Fingerprint secretfp.Fingerprint
	Hosts       []string
	// Uses pairs each host with the header egress sends the credential in.
	Uses []CredentialUse
}

// CredentialUse is one place egress injects a credential: a host and the
// header ("Authorization" for scheme auth).
type CredentialUse struct {
	Host   string
	Header string
}

// TokenFingerprints fingerprints every token, named after its token_ref.
func (r *Resolved) TokenFingerprints() ([]TokenFingerprint, error) {
	var out []TokenFingerprint
	for _, t := range r.Tokens {
		fp, err := secretfp.Of(t.Ref, r.tokenValues[t.Slot])
		if err != nil {
			return nil, fmt.Errorf("token_ref %s: %w", t.Ref, err)
		}
		tf := TokenFingerprint{Fingerprint: fp}
		for _, rt := range r.Egress.Routes {
			if rt.Auth != nil && rt.Auth.TokenRef == t.Ref {
				tf.Hosts = append(tf.Hosts, rt.Host)
				h := "Authorization"
				if rt.Auth.Header != "" {
					h = textproto.CanonicalMIMEHeaderKey(rt.Auth.Header)
				}
				tf.Uses = append(tf.Uses, CredentialUse{Host: rt.Host, Header: h})
			}
		}
		out = append(out, tf)
	}
	return out, nil
}

// RouteHosts returns the hosts of the egress routes, in declaration order.
func (m *Manifest) RouteHosts() []string {
	out := make([]string, 0, len(m.Egress.Routes))
	for _, r := range m.Egress.Routes {
		out = append(out, r.Host)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
