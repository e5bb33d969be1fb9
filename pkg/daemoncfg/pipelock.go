package daemoncfg

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// DefaultAllowlist is what every bottle may reach: the model API the agent
// itself needs (Claude Code's telemetry host is not needed: `run` turns
// that traffic off).
func DefaultAllowlist() []string { return []string{"api.anthropic.com"} }

// Pipelock is pipelock.yaml, the configuration of the pipelock slot. It keeps
// the pipelock file format (mode, api_allowlist, forward_proxy, dlp,
// tls_interception, request_body_scanning) so the file stays familiar and
// portable.
type Pipelock struct {
	Mode                string              `yaml:"mode"`
	APIAllowlist        []string            `yaml:"api_allowlist"`
	ForwardProxy        ForwardProxy        `yaml:"forward_proxy"`
	DLP                 DLP                 `yaml:"dlp"`
	TLSInterception     TLSInterception     `yaml:"tls_interception"`
	RequestBodyScanning RequestBodyScanning `yaml:"request_body_scanning"`
	// ResponseScanning is claude-bottle's extension: prompt-injection
	// detection in responses and in JSON-RPC request bodies.
	ResponseScanning ResponseScanning `yaml:"response_scanning,omitempty"`
	// SSRF is claude-bottle's extension: private destinations a bottle
	// really needs (the tests' stand-in internet lives on a private network).
	SSRF SSRF `yaml:"ssrf,omitempty"`
}

// SSRF configures the destination-address guard.
type SSRF struct {
	// AllowCIDRs are private ranges pipelock may connect to anyway.
	AllowCIDRs []string `yaml:"allow_cidrs,omitempty"`
}

// ForwardProxy enables the HTTP/CONNECT forward proxy.
type ForwardProxy struct {
	Enabled bool `yaml:"enabled"`
	// ProxyAuthSHA256 is the hex SHA-256 of "user:password" that egress
	// sends as Proxy-Authorization (Basic); without it a request gets 407.
	// Only egress holds the password: the agent can reach pipelock:8888 on
	// the internal network but cannot use it.
	ProxyAuthSHA256 string `yaml:"proxy_auth_sha256,omitempty"`
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
	// KnownSecrets are values to find in any encoding, given by fingerprint
	// (planted canaries, the bottle's own credentials).
	KnownSecrets []secretfp.Fingerprint `yaml:"known_secrets,omitempty"`
	// AllowedCredentials let one known secret through to one host: the
	// credential egress injects for its route.
	AllowedCredentials []Credential `yaml:"allowed_credentials,omitempty"`
	// DisableClasses turns off rule classes that are on by default
	// (card, iban, seed-phrase, crypto-key).
	DisableClasses []string `yaml:"disable_classes,omitempty"`
}

// Credential names a known secret allowed in one header of requests to Host:
// Authorization ("<scheme> <secret>") when Header is empty, otherwise Header
// holding the secret alone (e.g. x-api-key).
type Credential struct {
	Host   string `yaml:"host"`
	Secret string `yaml:"secret"`
	Header string `yaml:"header,omitempty"`
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
	// ExtraCAFile adds roots for verifying upstream certificates (tests'
	// throwaway CA), beside the system roots.
	ExtraCAFile string `yaml:"extra_ca_file,omitempty"`
}

// RequestBodyScanning says what DLP does with requests.
type RequestBodyScanning struct {
	Action      string `yaml:"action"`       // block | warn
	ScanHeaders bool   `yaml:"scan_headers"` // scan header values too
	HeaderMode  string `yaml:"header_mode"`  // all | sensitive
}

// ResponseScanning configures prompt-injection detection.
type ResponseScanning struct {
	// Action is block (the default when empty: high-confidence findings are
	// answered 403, medium ones reported in a header), warn (every finding
	// only reported in the X-Claude-Bottle-Injection header the agent sees)
	// or off.
	Action string `yaml:"action,omitempty"`
}

// WithAllowlist returns a copy of c whose allowlist is hosts (normalised),
// every other setting unchanged.
func (c Pipelock) WithAllowlist(hosts []string) Pipelock {
	c.APIAllowlist = NormalizeHosts(hosts)
	c.TLSInterception.PassthroughDomains = slices.Clone(c.TLSInterception.PassthroughDomains)
	c.DLP.Patterns = slices.Clone(c.DLP.Patterns)
	c.DLP.KnownSecrets = slices.Clone(c.DLP.KnownSecrets)
	c.DLP.AllowedCredentials = slices.Clone(c.DLP.AllowedCredentials)
	c.DLP.DisableClasses = slices.Clone(c.DLP.DisableClasses)
	c.SSRF.AllowCIDRs = slices.Clone(c.SSRF.AllowCIDRs)
	return c
}

// NormalizeHosts lower-cases, trims and drops the root dot of each host,
// then sorts and de-duplicates the list.
func NormalizeHosts(hosts []string) []string {
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
func (c Pipelock) Marshal() ([]byte, error) {
	return encode("# pipelock slot config of this bottle: written by claude-bottle; changes apply on restart.\n", "pipelock config", c)
}

// ParsePipelock decodes pipelock.yaml strictly and validates it.
func ParsePipelock(data []byte) (Pipelock, error) {
	var c Pipelock
	if err := decodeStrict(data, "pipelock config", &c); err != nil {
		return Pipelock{}, err
	}
	if err := c.Validate(); err != nil {
		return Pipelock{}, err
	}
	return c, nil
}

// Validate reports every problem of c at once.
func (c Pipelock) Validate() error {
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
	for i, cidr := range c.SSRF.AllowCIDRs {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			errs = append(errs, fmt.Errorf("ssrf.allow_cidrs[%d]: %q is not a CIDR (e.g. 172.30.0.0/16)", i, cidr))
		}
	}
	known := map[string]bool{}
	for i, k := range c.DLP.KnownSecrets {
		if k.Name == "" || k.Length < secretfp.MinLen || len(k.SHA256) != 64 || k.Roll == "" {
			errs = append(errs, fmt.Errorf("dlp.known_secrets[%d]: want name, length >= %d, roll and a 64-hex-digit sha256", i, secretfp.MinLen))
		}
		if _, _, _, err := k.Anchors(); err != nil {
			errs = append(errs, fmt.Errorf("dlp.known_secrets[%d]: %w (or neither)", i, err))
		}
		known[k.Name] = true
	}
	for i, cr := range c.DLP.AllowedCredentials {
		if cr.Host == "" || !known[cr.Secret] {
			errs = append(errs, fmt.Errorf("dlp.allowed_credentials[%d]: want a host and the name of one of dlp.known_secrets", i))
		}
	}
	if a := c.ForwardProxy.ProxyAuthSHA256; a != "" && len(a) != 64 {
		errs = append(errs, errors.New("forward_proxy.proxy_auth_sha256: want 64 hex digits"))
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
	switch c.ResponseScanning.Action {
	case "", "block", "warn", "off":
	default:
		errs = append(errs, fmt.Errorf("response_scanning.action: %q, want block, warn or off", c.ResponseScanning.Action))
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
