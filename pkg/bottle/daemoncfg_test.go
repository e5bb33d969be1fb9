package bottle

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
)

func TestPipelockConfig(t *testing.T) {
	m, err := manifest.Parse([]byte(`name = "x"
[[egress.routes]]
host = "API.github.com"
[[egress.routes]]
host = "api.anthropic.com"
[pipelock]
allowlist = ["api.anthropic.com", "API.github.com", "api.anthropic.com"]
tls_passthrough = ["api.anthropic.com"]
`), "b.toml")
	assert.NilError(t, err)
	c := PipelockConfig(m)
	assert.DeepEqual(t, c.APIAllowlist, []string{"api.anthropic.com", "api.github.com"})
	assert.Equal(t, c.Mode, "strict")
	assert.Assert(t, c.ForwardProxy.Enabled)
	assert.Assert(t, c.DLP.IncludeDefaults)
	assert.Assert(t, !c.DLP.ScanEnv, "pipelock never holds token values")
	assert.Assert(t, c.TLSInterception.Enabled)
	assert.Equal(t, c.TLSInterception.CACert, "/etc/claude-bottle/pipelock/ca.pem")
	assert.Equal(t, c.TLSInterception.CAKey, "/etc/claude-bottle/pipelock/ca-key.pem")
	assert.DeepEqual(t, c.TLSInterception.PassthroughDomains, []string{"api.anthropic.com"})
	assert.DeepEqual(t, c.RequestBodyScanning, daemoncfg.RequestBodyScanning{Action: "block", ScanHeaders: true, HeaderMode: "all"})

	b, err := c.Marshal()
	assert.NilError(t, err)
	got, err := daemoncfg.ParsePipelock(b)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, c)

	// Replacing the allowlist keeps everything else.
	n := got.WithAllowlist([]string{"New.example.com.", "a.example.com"})
	assert.DeepEqual(t, n.APIAllowlist, []string{"a.example.com", "new.example.com"})
	n.APIAllowlist = got.APIAllowlist
	assert.DeepEqual(t, n, got)
}

func TestParseErrors(t *testing.T) {
	valid := "mode: strict\napi_allowlist: [a.example.com]\nforward_proxy: {enabled: true}\ndlp: {include_defaults: true, scan_env: false, patterns: []}\ntls_interception: {enabled: true, ca_cert: /c, ca_key: /k, passthrough_domains: []}\nrequest_body_scanning: {action: block, scan_headers: true, header_mode: all}\n"
	_, err := daemoncfg.ParsePipelock([]byte(valid))
	assert.NilError(t, err)
	// Known secrets with anchors, and without (a config written before
	// them), both parse.
	for _, anchors := range []string{", head: 12ab, tail: ffff", ""} {
		_, err = daemoncfg.ParsePipelock([]byte(strings.Replace(valid, "patterns: []", "patterns: [], known_secrets: [{name: x, length: 9, roll: 0123456789abcdef, sha256: "+strings.Repeat("0", 64)+anchors+"}]", 1)))
		assert.NilError(t, err)
	}
	for name, tc := range map[string]struct{ src, want string }{
		"unknown key":   {valid + "bogus: 1\n", "field bogus not found"},
		"bad mode":      {"mode: open\n" + valid[len("mode: strict\n"):], `mode: "open"`},
		"bad host":      {"mode: strict\napi_allowlist: [\"a.*.com\", \"http://x\"]\n" + valid[len("mode: strict\napi_allowlist: [a.example.com]\n"):], `api_allowlist[0]: "a.*.com"`},
		"tls no key":    {"mode: strict\napi_allowlist: []\ntls_interception: {enabled: true}\nrequest_body_scanning: {action: block, header_mode: all}\n", "enabled needs ca_cert and ca_key"},
		"bad action":    {"mode: strict\nrequest_body_scanning: {action: allow, header_mode: all}\n", `request_body_scanning.action: "allow"`},
		"bad header":    {"mode: strict\nrequest_body_scanning: {action: block, header_mode: some}\n", `header_mode: "some"`},
		"pattern empty": {"mode: strict\ndlp: {patterns: [{name: x}]}\nrequest_body_scanning: {action: block, header_mode: all}\n", "dlp.patterns[0]: want name and regex"},
		"one anchor":    {"mode: strict\ndlp: {known_secrets: [{name: x, length: 9, roll: 0123456789abcdef, sha256: " + strings.Repeat("0", 64) + ", head: 12ab}]}\nrequest_body_scanning: {action: block, header_mode: all}\n", "dlp.known_secrets[0]: head and tail must be four hex digits each (or neither)"},
		"bad anchor":    {"mode: strict\ndlp: {known_secrets: [{name: x, length: 9, roll: 0123456789abcdef, sha256: " + strings.Repeat("0", 64) + ", head: 12ab, tail: xyz}]}\nrequest_body_scanning: {action: block, header_mode: all}\n", "dlp.known_secrets[0]: head and tail must be four hex digits each"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := daemoncfg.ParsePipelock([]byte(tc.src))
			assert.ErrorContains(t, err, tc.want)
		})
	}
	// Every problem at once.
	_, err = daemoncfg.ParsePipelock([]byte("mode: open\nrequest_body_scanning: {action: allow, header_mode: some}\n"))
	assert.ErrorContains(t, err, `mode: "open"`)
	assert.ErrorContains(t, err, `action: "allow"`)
	assert.ErrorContains(t, err, `header_mode: "some"`)
}

func TestInjectionAction(t *testing.T) {
	m, err := manifest.Parse([]byte("name = \"x\"\n[pipelock]\ninjection = \"warn\"\n"), "b.toml")
	assert.NilError(t, err)
	c := PipelockConfig(m)
	assert.Equal(t, c.ResponseScanning.Action, "warn")
	y, err := c.Marshal()
	assert.NilError(t, err)
	back, err := daemoncfg.ParsePipelock(y)
	assert.NilError(t, err)
	assert.Equal(t, back.ResponseScanning.Action, "warn")

	_, err = manifest.Parse([]byte("name = \"x\"\n[pipelock]\ninjection = \"loud\"\n"), "b.toml")
	assert.ErrorContains(t, err, "pipelock.injection")
	c.ResponseScanning.Action = "loud"
	assert.ErrorContains(t, c.Validate(), "response_scanning.action")
}
