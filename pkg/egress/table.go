package egress

import (
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"path"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
)

// Table is an immutable compiled route table; reloads swap whole tables.
type Table struct {
	byHost map[string]*Route
	file   daemoncfg.Routes
}

// Route is one compiled route.
type Route struct {
	Host     string
	Prefixes []string
	Scheme   string // auth scheme ("Authorization: <scheme> <token>"), "" otherwise
	Header   string // canonical header the token goes in alone (e.g. X-Api-Key), "" otherwise
	Slot     string // EGRESS_TOKEN_<n>
	token    string // never logged, never returned
}

// HasAuth reports whether egress injects a credential on this route.
func (r *Route) HasAuth() bool { return r.Scheme != "" || r.Header != "" }

// NewTable compiles f. tokens resolves a slot to its value (the daemon's own
// environment); an authenticated route whose slot is unset or empty is an
// error that names the slot, never a value.
func NewTable(f daemoncfg.Routes, tokens func(string) (string, bool)) (*Table, error) {
	t := &Table{byHost: map[string]*Route{}, file: f}
	var errs []error
	for i, r := range f.Routes {
		host := mitm.NormalizeHost(r.Host)
		if mitm.IsIPLike(host) {
			errs = append(errs, fmt.Errorf("routes[%d]: %q is an IP address", i, r.Host))
			continue
		}
		cr := &Route{Host: host}
		cr.Prefixes = append(cr.Prefixes, r.Paths...)
		if r.Auth != nil {
			v, ok := tokens(r.Auth.TokenEnv)
			if !ok || strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("routes[%d] (%s): credential variable %s is not set in egress' environment", i, host, r.Auth.TokenEnv))
				continue
			}
			cr.Scheme, cr.Slot, cr.token = r.Auth.Scheme, r.Auth.TokenEnv, v
			if r.Auth.Header != "" {
				cr.Scheme, cr.Header = "", textproto.CanonicalMIMEHeaderKey(r.Auth.Header)
			}
		}
		t.byHost[host] = cr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// Lookup returns the route of host, or nil.
func (t *Table) Lookup(host string) *Route { return t.byHost[mitm.NormalizeHost(host)] }

// Routes returns the table as written in routes.yaml (no token values exist
// there to leak).
func (t *Table) Routes() []daemoncfg.Route { return t.file.Routes }

// maxDecode bounds repeated percent-decoding (%252e -> %2e -> .).
const maxDecode = 4

// ErrBadPath is returned for paths egress refuses to interpret.
var ErrBadPath = errors.New("malformed path")

// NormalizePath returns the two readings of a request path that a route's
// prefixes must both accept: once-decoded (what most servers route on), and
// fully normalised (percent-decoding repeated until stable, backslashes as
// slashes, empty, "." and ".." segments resolved), the most aggressive
// reading any upstream might apply.
func NormalizePath(escaped string) (once, full string, err error) {
	if escaped == "" {
		escaped = "/"
	}
	if !strings.HasPrefix(escaped, "/") {
		return "", "", fmt.Errorf("%w: %q does not start with /", ErrBadPath, escaped)
	}
	once, err = url.PathUnescape(escaped)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrBadPath, err)
	}
	full = once
	for i := 0; i < maxDecode && strings.Contains(full, "%"); i++ {
		next, err := url.PathUnescape(full)
		if err != nil || next == full {
			break
		}
		full = next
	}
	if strings.ContainsAny(full, "\x00\r\n") {
		return "", "", fmt.Errorf("%w: control characters", ErrBadPath)
	}
	full = strings.ReplaceAll(full, `\`, "/")
	trailing := strings.HasSuffix(full, "/") || strings.HasSuffix(full, "/.") || strings.HasSuffix(full, "/..")
	full = path.Clean("/" + full)
	if trailing && full != "/" {
		full += "/"
	}
	return once, full, nil
}

// Allows reports whether the route admits the request path (escaped form, as
// on the wire). Without prefixes every path is allowed.
func (r *Route) Allows(escapedPath string) (bool, error) {
	if len(r.Prefixes) == 0 {
		return true, nil
	}
	once, full, err := NormalizePath(escapedPath)
	if err != nil {
		return false, err
	}
	for _, p := range r.Prefixes {
		if hasPathPrefix(once, p) && hasPathPrefix(full, p) {
			return true, nil
		}
	}
	return false, nil
}

// hasPathPrefix matches on segment boundaries: "/repos/acme" admits
// "/repos/acme" and "/repos/acme/x", not "/repos/acme-evil".
func hasPathPrefix(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}
