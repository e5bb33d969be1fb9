// Package pipelockcfg is the schema of pipelock.yaml, the configuration of the
// pipelock slot. It keeps the pipelock file format (mode, api_allowlist,
// forward_proxy, dlp, tls_interception, request_body_scanning) so the file
// stays familiar and portable; unknown keys are errors.
package pipelockcfg

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/names"
)

// DefaultAllowlist is what every bottle may reach: the model API the agent
// itself needs.
func DefaultAllowlist() []string { return []string{"api.anthropic.com", "statsig.anthropic.com"} }

// Config is pipelock.yaml.
type Config struct {
	Mode                string              `yaml:"mode"`
	APIAllowlist        []string            `yaml:"api_allowlist"`
	ForwardProxy        ForwardProxy        `yaml:"forward_proxy"`
	DLP                 DLP                 `yaml:"dlp"`
	TLSInterception     TLSInterception     `yaml:"tls_interception"`
	RequestBodyScanning RequestBodyScanning `yaml:"request_body_scanning"`
}

// ForwardProxy enables the HTTP/CONNECT forward proxy.
type ForwardProxy struct {
	Enabled bool `yaml:"enabled"`
}

// DLP configures the secret scanner.
type DLP struct {
	// IncludeDefaults turns on the gitleaks default rules.
	IncludeDefaults bool `yaml:"include_defaults"`
	// ScanEnv adds the values of the daemon's own environment as known
	// secrets (pipelock never receives token values, so this is off).
	ScanEnv bool `yaml:"scan_env"`
	// Patterns are extra rules.
	Patterns []Pattern `yaml:"patterns"`
}

// Pattern is one extra DLP rule.
type Pattern struct {
	Name  string `yaml:"name"`
	Regex string `yaml:"regex"`
}

// TLSInterception configures pipelock's own interception CA.
type TLSInterception struct {
	Enabled            bool     `yaml:"enabled"`
	CACert             string   `yaml:"ca_cert"`
	CAKey              string   `yaml:"ca_key"`
	PassthroughDomains []string `yaml:"passthrough_domains"`
}

// RequestBodyScanning says what DLP does with requests.
type RequestBodyScanning struct {
	Action      string `yaml:"action"`       // block | warn
	ScanHeaders bool   `yaml:"scan_headers"` // scan header values too
	HeaderMode  string `yaml:"header_mode"`  // all | sensitive
}

// FromManifest builds the pipelock config of a bottle: allowlist = defaults ∪
// route hosts ∪ the manifest's allowlist, sorted and de-duplicated.
func FromManifest(m *manifest.Manifest) Config {
	allow := append(DefaultAllowlist(), m.RouteHosts()...)
	allow = append(allow, m.Pipelock.Allowlist...)
	dir := names.ConfigDir(names.Pipelock)
	return Config{
		Mode:         "strict",
		APIAllowlist: normalizeList(allow),
		ForwardProxy: ForwardProxy{Enabled: true},
		DLP:          DLP{IncludeDefaults: true, ScanEnv: false, Patterns: []Pattern{}},
		TLSInterception: TLSInterception{
			Enabled:            true,
			CACert:             dir + "/ca.pem",
			CAKey:              dir + "/ca-key.pem",
			PassthroughDomains: normalizeList(m.Pipelock.TLSPassthrough),
		},
		RequestBodyScanning: RequestBodyScanning{Action: "block", ScanHeaders: true, HeaderMode: "all"},
	}
}

// WithAllowlist returns a copy of c whose allowlist is hosts (normalised),
// every other setting unchanged.
func (c Config) WithAllowlist(hosts []string) Config {
	c.APIAllowlist = normalizeList(hosts)
	c.TLSInterception.PassthroughDomains = slices.Clone(c.TLSInterception.PassthroughDomains)
	c.DLP.Patterns = slices.Clone(c.DLP.Patterns)
	return c
}

func normalizeList(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h != "" {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Marshal encodes c as YAML.
func (c Config) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# pipelock slot config of this bottle: written by claude-bottle; changes apply on restart.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode pipelock config: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// Parse decodes pipelock.yaml strictly and validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse pipelock config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case "strict", "balanced", "audit":
	default:
		errs = append(errs, fmt.Errorf("mode: %q, want strict, balanced or audit", c.Mode))
	}
	for i, h := range c.APIAllowlist {
		if h == "" || strings.ContainsAny(h, " /:@") || (strings.Contains(h, "*") && (!strings.HasPrefix(h, "*.") || strings.Count(h, "*") > 1)) {
			errs = append(errs, fmt.Errorf("api_allowlist[%d]: %q is not a host name or *.suffix", i, h))
		}
	}
	if c.TLSInterception.Enabled && (c.TLSInterception.CACert == "" || c.TLSInterception.CAKey == "") {
		errs = append(errs, errors.New("tls_interception: enabled needs ca_cert and ca_key"))
	}
	for i, p := range c.DLP.Patterns {
		if p.Name == "" || p.Regex == "" {
			errs = append(errs, fmt.Errorf("dlp.patterns[%d]: want name and regex", i))
		}
	}
	switch c.RequestBodyScanning.Action {
	case "block", "warn":
	default:
		errs = append(errs, fmt.Errorf("request_body_scanning.action: %q, want block or warn", c.RequestBodyScanning.Action))
	}
	switch c.RequestBodyScanning.HeaderMode {
	case "all", "sensitive":
	default:
		errs = append(errs, fmt.Errorf("request_body_scanning.header_mode: %q, want all or sensitive", c.RequestBodyScanning.HeaderMode))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid pipelock config: %w", err)
	}
	return nil
}
