package daemoncfg

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Routes is egress' routes.yaml: which hosts (and path prefixes) the agent
// may reach and which credential slot egress injects. It never holds a
// credential value, only the name of the variable that does.
type Routes struct {
	Routes []Route `yaml:"routes" json:"routes"`
}

// Route lets the agent reach Host (case-insensitive exact match), limited to
// Paths prefixes when any are given.
type Route struct {
	Host  string   `yaml:"host" json:"host"`
	Paths []string `yaml:"paths,omitempty" json:"paths,omitempty"`
	Auth  *Auth    `yaml:"auth,omitempty" json:"auth,omitempty"`
}

// Auth makes egress replace any Authorization the agent sent with
// "<Scheme> <value of TokenEnv>", or, with Header set, replace that header
// with "<value of TokenEnv>" (e.g. x-api-key). Exactly one of Scheme and
// Header is set.
type Auth struct {
	Scheme   string `yaml:"scheme,omitempty" json:"scheme,omitempty"`
	Header   string `yaml:"header,omitempty" json:"header,omitempty"`
	TokenEnv string `yaml:"token_env" json:"token_env"`
}

var (
	tokenEnvRE = regexp.MustCompile(`^` + contract.TokenEnvPrefix + `[1-9][0-9]*$`)
	headerRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)
)

// Marshal encodes f as YAML.
func (f Routes) Marshal() ([]byte, error) {
	return encode("# egress routes of this bottle: written by claude-bottle, reloaded on SIGHUP.\n# Token values are never stored here, only the variable egress reads them from.\n", "routes", f)
}

// ParseRoutes decodes routes.yaml strictly (unknown keys are errors) and
// validates it.
func ParseRoutes(data []byte) (Routes, error) {
	var f Routes
	if err := decodeStrict(data, "routes", &f); err != nil {
		return Routes{}, err
	}
	if err := f.Validate(); err != nil {
		return Routes{}, err
	}
	return f, nil
}

// Validate reports every problem of f at once.
func (f Routes) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range f.Routes {
		if r.Host == "" {
			errs = append(errs, fmt.Errorf("routes[%d]: missing host", i))
		}
		if seen[r.Host] {
			errs = append(errs, fmt.Errorf("routes[%d]: duplicate host %q", i, r.Host))
		}
		seen[r.Host] = true
		for j, p := range r.Paths {
			if len(p) == 0 || p[0] != '/' {
				errs = append(errs, fmt.Errorf("routes[%d].paths[%d]: %q must start with /", i, j, p))
			}
		}
		if r.Auth != nil && ((r.Auth.Scheme == "") == (r.Auth.Header == "") || !tokenEnvRE.MatchString(r.Auth.TokenEnv)) {
			errs = append(errs, fmt.Errorf("routes[%d].auth: want scheme and token_env EGRESS_TOKEN_<n> (or header instead of scheme)", i))
		}
		if r.Auth != nil && r.Auth.Header != "" && !headerRE.MatchString(r.Auth.Header) {
			errs = append(errs, fmt.Errorf("routes[%d].auth.header: %q is not a header name", i, r.Auth.Header))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid routes: %w", err)
	}
	return nil
}
