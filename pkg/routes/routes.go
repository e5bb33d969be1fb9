// Package routes is the schema of egress' routes.yaml: which hosts (and path
// prefixes) the agent may reach and which credential slot egress injects. It
// never holds a credential value, only the name of the variable that does.
package routes

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/claude-bottle/claude-bottle/pkg/manifest"
)

// File is routes.yaml.
type File struct {
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
	tokenEnvRE = regexp.MustCompile(`^EGRESS_TOKEN_[1-9][0-9]*$`)
	headerRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)
)

// FromManifest builds the routes of a resolved bottle.
func FromManifest(r *manifest.Resolved) File {
	f := File{Routes: []Route{}}
	for _, mr := range r.Egress.Routes {
		rt := Route{Host: mr.Host, Paths: append([]string(nil), mr.Paths...)}
		if mr.Auth != nil {
			rt.Auth = &Auth{Scheme: mr.Auth.Scheme, Header: mr.Auth.Header, TokenEnv: r.Slot(mr.Auth.TokenRef)}
		}
		f.Routes = append(f.Routes, rt)
	}
	return f
}

// Marshal encodes f as YAML.
func (f File) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# egress routes of this bottle: written by claude-bottle, reloaded on SIGHUP.\n# Token values are never stored here, only the variable egress reads them from.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode routes: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// Parse decodes routes.yaml strictly (unknown keys are errors) and validates it.
func Parse(data []byte) (File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("parse routes: %w", err)
	}
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
		return File{}, fmt.Errorf("invalid routes: %w", err)
	}
	return f, nil
}
