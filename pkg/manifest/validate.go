package manifest

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)
	imageRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`)
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelRE    = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	schemeRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,31}$`)
	headerRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)
	repoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	scpURLRE   = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$`)
	hexLabelRE = regexp.MustCompile(`^(0x[0-9a-f]*|[0-9]+)$`)
	hostKeyRE  = regexp.MustCompile(`^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,2})(?: .*)?$`)
)

// reservedEnv are agent variables the bottle sets itself; a manifest may not
// override them (that would route the agent around egress or its CA).
var reservedEnv = map[string]bool{
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "http_proxy": true, "https_proxy": true,
	"NO_PROXY": true, "no_proxy": true, "ALL_PROXY": true, "all_proxy": true,
	"NODE_EXTRA_CA_CERTS": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
	"REQUESTS_CA_BUNDLE": true, "GIT_SSL_CAINFO": true, "CURL_CA_BUNDLE": true,
}

type checker struct {
	m        *Manifest
	problems []Problem
}

func (c *checker) add(key, format string, args ...any) {
	c.problems = append(c.problems, Problem{Key: key, Line: c.m.lines.line(key), Msg: fmt.Sprintf(format, args...)})
}

func (m *Manifest) validate() []Problem {
	c := &checker{m: m}
	switch {
	case m.Name == "":
		c.add("name", "missing: give the bottle a name (lowercase letters, digits and dashes), e.g. name = \"demo\"")
	case !nameRE.MatchString(m.Name):
		c.add("name", "%q is not a valid bottle name: use 1-32 lowercase letters, digits and dashes, starting and ending with a letter or digit", m.Name)
	}
	if !imageRE.MatchString(m.Image) {
		c.add("image", "%q is not a valid image reference", m.Image)
	}
	for _, k := range sortedKeys(m.Env) {
		key := "env." + k
		switch {
		case !envNameRE.MatchString(k):
			c.add(key, "%q is not a valid environment variable name", k)
		case reservedEnv[k]:
			c.add(key, "%s is set by the bottle itself (proxy and CA wiring) and cannot be overridden", k)
		}
		if _, err := parseRefs(m.Env[k]); err != nil {
			c.add(key, "%v", err)
		}
	}

	seenHost := map[string]int{}
	for i, r := range m.Egress.Routes {
		key := fmt.Sprintf("egress.routes[%d]", i)
		if msg := checkHost(r.Host, false); msg != "" {
			c.add(key+".host", "%s", msg)
		} else if j, dup := seenHost[r.Host]; dup {
			c.add(key+".host", "duplicate route for %s (also egress.routes[%d]): merge their paths into one route", r.Host, j)
		} else {
			seenHost[r.Host] = i
		}
		for j, p := range r.Paths {
			if msg := checkPathPrefix(p); msg != "" {
				c.add(fmt.Sprintf("%s.paths[%d]", key, j), "%s", msg)
			}
		}
		if r.Auth != nil {
			c.checkAuth(key+".auth", r.Auth)
		}
	}
	for i, h := range m.Pipelock.Allowlist {
		key := fmt.Sprintf("pipelock.allowlist[%d]", i)
		if msg := checkHost(h, true); msg != "" {
			c.add(key, "%s", msg)
			continue
		}
		// Egress refuses a host without a route before pipelock is asked,
		// and it routes exact hosts only: an entry no route names can
		// never be reached.
		if _, routed := seenHost[h]; routed {
			continue
		}
		if strings.HasPrefix(h, "*.") {
			c.add(key, "%q can never be reached: egress routes exact hosts only and refuses the rest before pipelock is asked; add an [[egress.routes]] entry for each host the agent needs (e.g. host = \"x%s\") and drop this entry (route hosts are on pipelock's allowlist already)", h, h[1:])
		} else {
			c.add(key, "%q can never be reached: egress has no route to it and refuses it before pipelock is asked; add [[egress.routes]] host = %q and drop this entry (route hosts are on pipelock's allowlist already)", h, h)
		}
	}
	switch m.Pipelock.Injection {
	case "", "block", "warn", "off":
	default:
		c.add("pipelock.injection", "%q is not block, warn or off", m.Pipelock.Injection)
	}
	for i, h := range m.Pipelock.TLSPassthrough {
		if msg := checkHost(h, true); msg != "" {
			c.add(fmt.Sprintf("pipelock.tls_passthrough[%d]", i), "%s", msg)
		}
	}
	for i, cl := range m.Pipelock.DLPDisable {
		switch cl {
		case "card", "iban", "seed-phrase", "crypto-key":
		default:
			c.add(fmt.Sprintf("pipelock.dlp_disable[%d]", i), "%q is not a rule class that can be turned off (card, iban, seed-phrase, crypto-key)", cl)
		}
	}

	seenCanary := map[string]bool{}
	for i, name := range m.DLP.Canaries {
		key := fmt.Sprintf("dlp.canaries[%d]", i)
		switch {
		case !envNameRE.MatchString(name):
			c.add(key, "%q is not a valid environment variable name", name)
		case seenCanary[name]:
			c.add(key, "duplicate canary %s", name)
		}
		seenCanary[name] = true
	}
	if w := m.Supervise.Wait; w != "" {
		d, err := time.ParseDuration(w)
		switch {
		case err != nil:
			c.add("supervise.wait", "%q is not a duration: write it like \"10m\", \"90s\" or \"1h\"", w)
		case d < 10*time.Second || d > 24*time.Hour:
			c.add("supervise.wait", "%s is out of range: between 10s and 24h", w)
		}
	}
	checkGitLimits(c, "git", m.Git.MaxObjectMiB, m.Git.MaxPushMiB)
	m.Resources.validate(c)
	seenRepo := map[string]int{}
	for i, r := range m.Git.Repos {
		key := fmt.Sprintf("git.repos[%d]", i)
		checkGitLimits(c, key, r.MaxObjectMiB, r.MaxPushMiB)
		switch {
		case r.Name == "":
			c.add(key+".name", "missing: the agent reaches the repo as git://git-gate/<name>.git")
		case !repoNameRE.MatchString(r.Name) || strings.HasSuffix(r.Name, ".git") || strings.Contains(r.Name, ".."):
			c.add(key+".name", "%q is not a valid repo name: letters, digits, '.', '_', '-', without a .git suffix", r.Name)
		default:
			if j, dup := seenRepo[r.Name]; dup {
				c.add(key+".name", "duplicate repo name %q (also git.repos[%d])", r.Name, j)
			}
			seenRepo[r.Name] = i
		}
		if msg := checkRepoURL(r.URL); msg != "" {
			c.add(key+".url", "%s", msg)
		}
		if strings.TrimSpace(r.Identity) == "" {
			c.add(key+".identity", "missing: the path of the SSH private key git-gate pushes with (the agent never sees it)")
		}
		if msg := checkHostKey(r.HostKey); msg != "" {
			c.add(key+".host_key", "%s", msg)
		}
	}
	return c.problems
}

// checkGitLimits checks git-gate's size limits under key (a table).
func checkGitLimits(c *checker, key string, maxObject, maxPush int) {
	for _, l := range []struct {
		name string
		v    int
	}{{"max_object_mib", maxObject}, {"max_push_mib", maxPush}} {
		if l.v < 0 || l.v > daemoncfg.MaxLimitMiB {
			c.add(key+"."+l.name, "%d is out of range: a size in MiB from 1 to %d (0 or unset: git-gate's default)", l.v, daemoncfg.MaxLimitMiB)
		}
	}
}

// checkAuth validates one route's auth table: a token_ref and exactly one
// of scheme (Authorization: <scheme> <token>) or header (<header>: <token>).
func (c *checker) checkAuth(key string, a *Auth) {
	switch {
	case a.Scheme == "" && a.Header == "" && a.TokenRef == "":
		c.add(key, "empty auth table: set token_ref and scheme (or header), or remove auth")
	case a.Scheme == "" && a.Header == "":
		c.add(key+".scheme", "missing: auth needs scheme (e.g. \"token\" or \"Bearer\", sent as Authorization: <scheme> <token>) or header (e.g. \"x-api-key\", sent as <header>: <token>)")
	case a.Scheme != "" && a.Header != "":
		c.add(key+".header", "set scheme or header, not both: scheme sends Authorization: <scheme> <token>, header sends <header>: <token>")
	case a.TokenRef == "":
		c.add(key+".token_ref", "missing: auth needs both scheme and token_ref (the host variable holding the credential)")
	}
	if a.Scheme != "" && !schemeRE.MatchString(a.Scheme) {
		c.add(key+".scheme", "%q is not a valid auth scheme (one word, e.g. token, Bearer)", a.Scheme)
	}
	if a.Header != "" {
		if msg := checkAuthHeader(a.Header); msg != "" {
			c.add(key+".header", "%s", msg)
		}
	}
	if a.TokenRef != "" && !envNameRE.MatchString(a.TokenRef) {
		c.add(key+".token_ref", "%q is not a valid environment variable name", a.TokenRef)
	}
}

// checkHost returns why h is not an acceptable host name ("" when it is). With
// wildcard, a leading "*." is allowed (pipelock matches any subdomain).
func checkHost(h string, wildcard bool) string {
	if h == "" {
		return "missing host name"
	}
	name := h
	if wildcard && strings.HasPrefix(h, "*.") {
		name = h[2:]
	}
	if strings.Contains(name, "*") {
		if wildcard {
			return fmt.Sprintf("%q: a wildcard is only allowed as a leading \"*.\"", h)
		}
		return fmt.Sprintf("%q: routes match exact hosts; wildcards are not allowed here", h)
	}
	if strings.ContainsAny(name, ":/@ ") {
		return fmt.Sprintf("%q is not a host name: give the bare name without scheme, port, path or user", h)
	}
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil {
		return fmt.Sprintf("%q is an IP address: bottles allow host names only", h)
	}
	if len(name) > 253 {
		return fmt.Sprintf("%q is longer than 253 characters", h)
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Sprintf("%q has no domain: give a fully qualified name like api.example.com", h)
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return fmt.Sprintf("%q is not a valid host name (label %q)", h, l)
		}
	}
	if hexLabelRE.MatchString(labels[len(labels)-1]) {
		return fmt.Sprintf("%q looks like a numeric IP form: bottles allow host names only", h)
	}
	return ""
}

func checkPathPrefix(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q must start with /", p)
	case strings.ContainsAny(p, "?#% \t\\") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Sprintf("%q: a path prefix is a plain decoded path without query, fragment, escapes or spaces", p)
	case strings.Contains(p, "//"):
		return fmt.Sprintf("%q contains //", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return fmt.Sprintf("%q contains a . or .. segment", p)
		}
	}
	return ""
}

func checkRepoURL(u string) string {
	switch {
	case u == "":
		return "missing: the upstream SSH URL, e.g. ssh://git@git.example.com/acme/app.git"
	case strings.HasPrefix(u, "ssh://"):
		rest := strings.TrimPrefix(u, "ssh://")
		host, path, ok := strings.Cut(rest, "/")
		if !ok || path == "" || host == "" || strings.HasPrefix(host, "@") || strings.HasSuffix(host, "@") {
			return fmt.Sprintf("%q: want ssh://[user@]host[:port]/path", u)
		}
		return ""
	case scpURLRE.MatchString(u):
		return ""
	}
	return fmt.Sprintf("%q: git-gate forwards over SSH only; want ssh://[user@]host[:port]/path or user@host:path", u)
}

func checkHostKey(k string) string {
	if k == "" {
		return "missing: the upstream's SSH host key (e.g. from ssh-keyscan), pinned so the gate never trusts on first use"
	}
	m := hostKeyRE.FindStringSubmatch(strings.TrimSpace(k))
	if m == nil {
		return "not an SSH public host key: want \"<type> <base64>\", e.g. \"ssh-ed25519 AAAAC3Nza…\""
	}
	blob, err := base64.StdEncoding.DecodeString(m[2])
	if err != nil || len(blob) < 4 {
		return "the key's base64 does not decode"
	}
	n := binary.BigEndian.Uint32(blob)
	if int(n) > len(blob)-4 || string(blob[4:4+n]) != m[1] {
		return fmt.Sprintf("the key's data does not match its type %s", m[1])
	}
	return ""
}

// parseRefs returns the host variable names referenced as ${NAME} in s.
// "$$" is a literal dollar sign.
func parseRefs(s string) ([]string, error) {
	var refs []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unterminated ${ in %q", s)
		}
		name := s[i+2 : i+2+end]
		if !envNameRE.MatchString(name) {
			return nil, fmt.Errorf("${%s}: %q is not a valid variable name", name, name)
		}
		refs = append(refs, name)
		i += 2 + end
	}
	return refs, nil
}

// expandRefs replaces ${NAME} with lookup(NAME) and "$$" with "$".
func expandRefs(s string, lookup func(string) string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			if end := strings.IndexByte(s[i+2:], '}'); end >= 0 {
				b.WriteString(lookup(s[i+2 : i+2+end]))
				i += 2 + end
				continue
			}
		}
		b.WriteByte('$')
	}
	return b.String()
}
