// Package manifest reads bottle manifests (bottle.toml): strict TOML decoding,
// defaults in one place, and validation that reports every problem at once
// with the key and line it concerns. Resolve then binds a valid manifest to the
// host environment (${VAR} references and token refs).
package manifest

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// DefaultImage is the agent image used when a manifest names none.
const DefaultImage = "claude-bottle-agent:latest"

//go:embed default.toml
var defaultManifest []byte

// Manifest is a decoded bottle.toml.
type Manifest struct {
	Name      string            `toml:"name"`
	Image     string            `toml:"image"`
	Env       map[string]string `toml:"env"`
	Egress    Egress            `toml:"egress"`
	Pipelock  Pipelock          `toml:"pipelock"`
	Git       Git               `toml:"git"`
	Supervise Supervise         `toml:"supervise"`
	DLP       DLP               `toml:"dlp"`
	Resources Resources         `toml:"resources"`
	Claude    Claude            `toml:"claude"`

	// Source names where the manifest came from ("<embedded default>" or a path).
	Source string `toml:"-"`
	// lines maps key paths to source lines, for error messages.
	lines lineIndex
}

// Egress is the [egress] table.
type Egress struct {
	Routes []Route `toml:"routes"`
}

// Route is one [[egress.routes]] entry: the agent may reach Host (and only the
// listed path prefixes, when any), optionally with a credential egress injects.
type Route struct {
	Host  string   `toml:"host"`
	Paths []string `toml:"paths"`
	Auth  *Auth    `toml:"auth"`
}

// Auth names the host variable holding a route's credential and how egress
// sends it: with Scheme as "Authorization: <scheme> <token>", or with Header
// as "<header>: <token>" (e.g. x-api-key). Exactly one of the two is set.
type Auth struct {
	Scheme   string `toml:"scheme"`
	Header   string `toml:"header"`
	TokenRef string `toml:"token_ref"`
}

// Pipelock is the [pipelock] table.
type Pipelock struct {
	// Allowlist adds hosts (exact or *.suffix) beyond the routes' hosts.
	Allowlist []string `toml:"allowlist"`
	// TLSPassthrough lists hosts pipelock does not intercept.
	TLSPassthrough []string `toml:"tls_passthrough"`
	// Injection is what pipelock does with prompt injection found in
	// responses and JSON-RPC bodies: "block" (default: high-confidence
	// findings refused, the rest reported in a header), "warn" (only
	// reported) or "off".
	Injection string `toml:"injection"`
	// DLPDisable turns off DLP rule classes that are on by default:
	// "card", "iban", "seed-phrase", "crypto-key" (docs/dlp.md).
	DLPDisable []string `toml:"dlp_disable"`
}

// Git is the [git] table.
type Git struct {
	Repos []Repo `toml:"repos"`
	// MaxObjectMiB bounds one object of a push (a file, tree, commit or
	// tag, uncompressed) and MaxPushMiB all new objects of one push
	// together; git-gate refuses a push over either before reading it.
	// 0 (unset) means git-gate's defaults, 100 and 1024. A repo's own
	// values override these.
	MaxObjectMiB int `toml:"max_object_mib"`
	MaxPushMiB   int `toml:"max_push_mib"`
}

// Repo is one [[git.repos]] entry, served to the agent as git://git-gate/<name>.git.
type Repo struct {
	Name     string `toml:"name"`
	URL      string `toml:"url"`
	Identity string `toml:"identity"`
	HostKey  string `toml:"host_key"`
	// AllowForcePush lets the gate forward non-fast-forward pushes.
	AllowForcePush bool `toml:"allow_force_push"`
	// AllowDelete lets the gate forward ref deletions.
	AllowDelete bool `toml:"allow_delete"`
	// MaxObjectMiB and MaxPushMiB override the [git] table's limits for
	// this repo (0: use the table's).
	MaxObjectMiB int `toml:"max_object_mib"`
	MaxPushMiB   int `toml:"max_push_mib"`
	// Workspace marks the repo `claude-bottle run` adds for the user's
	// repository: URL is the path of its bare mirror inside git-gate, and
	// it has no identity or host key (no SSH involved).
	Workspace bool `toml:"-"`
}

// Limits returns the size limits for r in MiB: r's own, else the [git]
// table's (0 leaves git-gate's default).
func (g Git) Limits(r Repo) (maxObjectMiB, maxPushMiB int) {
	maxObjectMiB, maxPushMiB = g.MaxObjectMiB, g.MaxPushMiB
	if r.MaxObjectMiB != 0 {
		maxObjectMiB = r.MaxObjectMiB
	}
	if r.MaxPushMiB != 0 {
		maxPushMiB = r.MaxPushMiB
	}
	return maxObjectMiB, maxPushMiB
}

// DLP is the [dlp] table.
type DLP struct {
	// Canaries name host variables whose values pipelock and git-gate must
	// find in any encoding and block (planted secrets, credentials the agent
	// legitimately holds). Only their fingerprints reach the sidecars.
	Canaries []string `toml:"canaries"`
}

// Supervise is the [supervise] table.
type Supervise struct {
	// Enabled runs the supervise daemon; default true.
	Enabled *bool `toml:"enabled"`
	// Wait is how long the agent's request waits for the operator's answer
	// before it returns "no-answer" (a Go duration such as "30m"; default
	// 10m, between 10s and 24h).
	Wait string `toml:"wait"`
}

// SuperviseEnabled reports whether the supervise daemon runs.
func (m *Manifest) SuperviseEnabled() bool {
	return m.Supervise.Enabled == nil || *m.Supervise.Enabled
}

// DefaultSource is the embedded default bottle's TOML.
func DefaultSource() string { return string(defaultManifest) }

// Default returns the embedded default bottle.
func Default() (*Manifest, error) {
	m, err := Parse(defaultManifest, "<embedded default>")
	if err != nil {
		return nil, fmt.Errorf("embedded default manifest: %w", err)
	}
	return m, nil
}

// Load reads and parses the manifest at path.
func Load(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes a manifest strictly, applies defaults and validates it. The
// error, when not nil, is a *ValidationError listing every problem found.
func Parse(data []byte, source string) (*Manifest, error) {
	m := &Manifest{Source: source}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(m)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ValidationError{Source: source, Problems: []Problem{{Line: pe.Position.Line, Msg: pe.Message}}}
		}
		return nil, &ValidationError{Source: source, Problems: []Problem{{Msg: err.Error()}}}
	}
	m.lines = indexLines(data)
	var problems []Problem
	for _, k := range md.Undecoded() {
		key := k.String()
		problems = append(problems, Problem{Key: key, Line: m.lines.first(key), Msg: "unknown key (check the spelling; see docs/operations.md for the manifest reference)"})
	}
	m.applyDefaults()
	problems = append(problems, m.validate()...)
	if len(problems) == 0 {
		problems = append(problems, m.applyClaude()...)
	}
	if len(problems) > 0 {
		return nil, newValidationError(source, problems)
	}
	return m, nil
}

func (m *Manifest) applyDefaults() {
	if m.Image == "" {
		m.Image = DefaultImage
	}
	if m.Env == nil {
		m.Env = map[string]string{}
	}
	m.Resources.applyDefaults()
	for i := range m.Egress.Routes {
		r := &m.Egress.Routes[i]
		r.Host = normalizeHost(r.Host)
	}
	for i, h := range m.Pipelock.Allowlist {
		m.Pipelock.Allowlist[i] = normalizeHost(h)
	}
	for i, h := range m.Pipelock.TLSPassthrough {
		m.Pipelock.TLSPassthrough[i] = normalizeHost(h)
	}
}

// normalizeHost lower-cases a host name and drops one trailing dot, the forms
// every matcher downstream compares against.
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// Problem is one thing wrong with a manifest.
type Problem struct {
	Key  string // dotted key path, e.g. egress.routes[1].host; empty for syntax errors
	Line int    // 1-based source line; 0 when unknown
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		fmt.Fprintf(&b, "%s: ", p.Key)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ValidationError lists every problem of a manifest.
type ValidationError struct {
	Source   string
	Problems []Problem
}

func newValidationError(source string, problems []Problem) *ValidationError {
	sort.SliceStable(problems, func(i, j int) bool {
		li, lj := problems[i].Line, problems[j].Line
		if li == 0 {
			li = 1 << 30
		}
		if lj == 0 {
			lj = 1 << 30
		}
		return li < lj
	})
	return &ValidationError{Source: source, Problems: problems}
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "invalid manifest %s (%d problem%s):", e.Source, n, plural)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// ExpandHome expands a leading "~/" with the user's home directory.
func ExpandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %s: %w", path, err)
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~")), nil
}
