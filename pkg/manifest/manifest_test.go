package manifest

import (
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

const full = `name = "demo"
image = "claude-bottle-agent:latest"
[env]
LOG_LEVEL = "debug"
HOME_COPY = "${HOME_DIR}/x"
PRICE = "$$5"
[[egress.routes]]
host = "API.GitHub.com."
paths = ["/repos/acme/"]
auth = { scheme = "token", token_ref = "GH_PAT" }
[[egress.routes]]
host = "raw.githubusercontent.com"
[[egress.routes]]
host = "pypi.org"
[pipelock]
allowlist = ["pypi.org"]
tls_passthrough = ["api.anthropic.com"]
[[git.repos]]
name = "app"
url = "ssh://git@git.example.com/acme/app.git"
identity = "~/.ssh/bottle_key"
host_key = "` + hostKey + `"
[supervise]
enabled = false
`

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseFull(t *testing.T) {
	m, err := Parse([]byte(full), "bottle.toml")
	assert.NilError(t, err)
	assert.Equal(t, m.Name, "demo")
	assert.Equal(t, m.Egress.Routes[0].Host, "api.github.com", "hosts are lower-cased, trailing dot dropped")
	assert.DeepEqual(t, m.Egress.Routes[0].Paths, []string{"/repos/acme/"})
	assert.DeepEqual(t, *m.Egress.Routes[0].Auth, Auth{Scheme: "token", TokenRef: "GH_PAT"})
	assert.Assert(t, m.Egress.Routes[1].Auth == nil)
	assert.DeepEqual(t, m.Pipelock.Allowlist, []string{"pypi.org"})
	assert.Equal(t, m.Git.Repos[0].Name, "app")
	assert.Equal(t, m.SuperviseEnabled(), false)
	assert.DeepEqual(t, m.RouteHosts(), []string{"api.github.com", "raw.githubusercontent.com", "pypi.org"})
}

func TestDefaults(t *testing.T) {
	m, err := Parse([]byte(`name = "x"`), "b.toml")
	assert.NilError(t, err)
	assert.Equal(t, m.Image, DefaultImage)
	assert.Equal(t, m.SuperviseEnabled(), true)
	assert.Assert(t, m.Env != nil)

	d, err := Default()
	assert.NilError(t, err)
	assert.Equal(t, d.Name, "default")
	assert.Equal(t, d.Source, "<embedded default>")
	assert.Assert(t, len(d.Egress.Routes) > 0)
	_, err = d.Resolve(env(nil))
	assert.NilError(t, err, "the default bottle needs no host variables")
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string // every line must appear in the error
	}{
		{name: "syntax", src: "name = \"x\"\nimage = \n", want: []string{"invalid manifest b.toml (1 problem):", "line 2: "}},
		{name: "missing name", src: `image = "x"`, want: []string{"name: missing: give the bottle a name"}},
		{name: "bad name", src: `name = "Demo_1"`, want: []string{`line 1: name: "Demo_1" is not a valid bottle name`}},
		{name: "unknown top key", src: "name = \"x\"\nimgae = \"y\"\n", want: []string{"line 2: imgae: unknown key"}},
		{name: "unknown nested key", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\nhots = \"b\"\n", want: []string{"line 4: egress.routes.hots: unknown key"}},
		{name: "unknown table", src: "name = \"x\"\n[egres]\nx = 1\n", want: []string{"egres.x: unknown key"}},
		{name: "wrong type", src: "name = 3\n", want: []string{"line 1"}},
		{name: "reserved env", src: "name = \"x\"\n[env]\nHTTPS_PROXY = \"http://evil\"\n", want: []string{"line 3: env.HTTPS_PROXY: HTTPS_PROXY is set by the bottle itself"}},
		{name: "bad env name", src: "name = \"x\"\n[env]\n\"1BAD\" = \"v\"\n", want: []string{`line 3: env.1BAD: "1BAD" is not a valid environment variable name`}},
		{name: "unterminated ref", src: "name = \"x\"\n[env]\nA = \"${HOME\"\n", want: []string{"line 3: env.A: unterminated ${"}},
		{name: "bad ref name", src: "name = \"x\"\n[env]\nA = \"${1X}\"\n", want: []string{`env.A: ${1X}: "1X" is not a valid variable name`}},
		{name: "route ip", src: "name = \"x\"\n[[egress.routes]]\nhost = \"10.0.0.1\"\n", want: []string{`line 3: egress.routes[0].host: "10.0.0.1" is an IP address`}},
		{name: "route ipv6", src: "name = \"x\"\n[[egress.routes]]\nhost = \"[::1]\"\n", want: []string{`egress.routes[0].host: "[::1]" is not a host name`}},
		{name: "route hex ip", src: "name = \"x\"\n[[egress.routes]]\nhost = \"0x7f.0x1\"\n", want: []string{`looks like a numeric IP form`}},
		{name: "route decimal ip", src: "name = \"x\"\n[[egress.routes]]\nhost = \"2130706433\"\n", want: []string{`has no domain`}},
		{name: "route wildcard", src: "name = \"x\"\n[[egress.routes]]\nhost = \"*.github.com\"\n", want: []string{`routes match exact hosts; wildcards are not allowed here`}},
		{name: "route url", src: "name = \"x\"\n[[egress.routes]]\nhost = \"https://api.github.com/x\"\n", want: []string{`is not a host name: give the bare name`}},
		{name: "route bad label", src: "name = \"x\"\n[[egress.routes]]\nhost = \"api..github.com\"\n", want: []string{`"api..github.com" is not a valid host name (label "")`}},
		{name: "route single label", src: "name = \"x\"\n[[egress.routes]]\nhost = \"localhost\"\n", want: []string{`"localhost" has no domain`}},
		{name: "route duplicate", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\n[[egress.routes]]\nhost = \"A.example.com\"\n", want: []string{`line 5: egress.routes[1].host: duplicate route for a.example.com (also egress.routes[0])`}},
		{name: "path relative", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\npaths = [\"repos/\"]\n", want: []string{`line 4: egress.routes[0].paths[0]: "repos/" must start with /`}},
		{name: "path traversal", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\npaths = [\"/a/../b\"]\n", want: []string{`"/a/../b" contains a . or .. segment`}},
		{name: "path encoded", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\npaths = [\"/a%2f\"]\n", want: []string{`a path prefix is a plain decoded path`}},
		{name: "path double slash", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\npaths = [\"/a//b\"]\n", want: []string{`"/a//b" contains //`}},
		{name: "auth without token_ref", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\nauth = { scheme = \"token\" }\n", want: []string{`line 4: egress.routes[0].auth.token_ref: missing: auth needs both scheme and token_ref`}},
		{name: "auth without scheme", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\nauth = { token_ref = \"T\" }\n", want: []string{`line 4: egress.routes[0].auth.scheme: missing`}},
		{name: "auth empty", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\nauth = {}\n", want: []string{`egress.routes[0].auth: empty auth table`}},
		{name: "auth bad scheme", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\nauth = { scheme = \"to ken\", token_ref = \"T\" }\n", want: []string{`"to ken" is not a valid auth scheme`}},
		{name: "auth bad ref", src: "name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\nauth = { scheme = \"token\", token_ref = \"T-1\" }\n", want: []string{`egress.routes[0].auth.token_ref: "T-1" is not a valid environment variable name`}},
		{name: "allowlist bad wildcard", src: "name = \"x\"\n[pipelock]\nallowlist = [\"a.*.com\"]\n", want: []string{`line 3: pipelock.allowlist[0]: "a.*.com": a wildcard is only allowed as a leading "*."`}},
		{name: "allowlist host without route", src: "name = \"x\"\n[pipelock]\nallowlist = [\"pypi.org\"]\n", want: []string{`line 3: pipelock.allowlist[0]: "pypi.org" can never be reached: egress has no route to it and refuses it before pipelock is asked; add [[egress.routes]] host = "pypi.org" and drop this entry`}},
		{name: "allowlist wildcard", src: "name = \"x\"\n[[egress.routes]]\nhost = \"files.pythonhosted.org\"\n[pipelock]\nallowlist = [\"*.pythonhosted.org\"]\n", want: []string{`pipelock.allowlist[0]: "*.pythonhosted.org" can never be reached: egress routes exact hosts only`, `(e.g. host = "x.pythonhosted.org")`}},
		{name: "supervise wait not a duration", src: "name = \"x\"\n[supervise]\nwait = \"ten minutes\"\n", want: []string{`line 3: supervise.wait: "ten minutes" is not a duration`}},
		{name: "supervise wait too short", src: "name = \"x\"\n[supervise]\nwait = \"1s\"\n", want: []string{`supervise.wait: 1s is out of range: between 10s and 24h`}},
		{name: "dlp class", src: "name = \"x\"\n[pipelock]\ndlp_disable = [\"cards\"]\n", want: []string{`pipelock.dlp_disable[0]: "cards" is not a rule class`}},
		{name: "passthrough ip", src: "name = \"x\"\n[pipelock]\ntls_passthrough = [\"1.2.3.4\"]\n", want: []string{`pipelock.tls_passthrough[0]: "1.2.3.4" is an IP address`}},
		{name: "repo missing fields", src: "name = \"x\"\n[[git.repos]]\nname = \"app\"\n", want: []string{
			"git.repos[0].url: missing", "git.repos[0].identity: missing", "git.repos[0].host_key: missing"}},
		{name: "repo duplicate", src: "name = \"x\"\n[[git.repos]]\nname = \"app\"\nurl = \"git@h.example.com:a/b.git\"\nidentity = \"k\"\nhost_key = \"" + hostKey + "\"\n[[git.repos]]\nname = \"app\"\nurl = \"git@h.example.com:a/c.git\"\nidentity = \"k\"\nhost_key = \"" + hostKey + "\"\n",
			want: []string{`line 8: git.repos[1].name: duplicate repo name "app" (also git.repos[0])`}},
		{name: "repo bad name", src: "name = \"x\"\n[[git.repos]]\nname = \"../app.git\"\n", want: []string{`git.repos[0].name: "../app.git" is not a valid repo name`}},
		{name: "repo https url", src: "name = \"x\"\n[[git.repos]]\nname = \"a\"\nurl = \"https://github.com/a/b\"\n", want: []string{`line 4: git.repos[0].url: "https://github.com/a/b": git-gate forwards over SSH only`}},
		{name: "repo bad host key", src: "name = \"x\"\n[[git.repos]]\nname = \"a\"\nhost_key = \"ssh-ed25519 AAAAB3NzaC1yc2E=\"\n", want: []string{`git.repos[0].host_key: the key's data does not match its type ssh-ed25519`}},
		{name: "repo garbage host key", src: "name = \"x\"\n[[git.repos]]\nname = \"a\"\nhost_key = \"hello\"\n", want: []string{`not an SSH public host key`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "b.toml")
			assert.Assert(t, err != nil)
			var ve *ValidationError
			assert.Assert(t, errors.As(err, &ve))
			for _, w := range tc.want {
				assert.Assert(t, is.Contains(err.Error(), w))
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	src := "name = \"BAD\"\nbogus = 1\n[[egress.routes]]\nhost = \"1.2.3.4\"\nauth = { scheme = \"token\" }\n"
	_, err := Parse([]byte(src), "b.toml")
	assert.Error(t, err, `invalid manifest b.toml (4 problems):
  line 1: name: "BAD" is not a valid bottle name: use 1-32 lowercase letters, digits and dashes, starting and ending with a letter or digit
  line 2: bogus: unknown key (check the spelling; see docs/operations.md for the manifest reference)
  line 4: egress.routes[0].host: "1.2.3.4" is an IP address: bottles allow host names only
  line 5: egress.routes[0].auth.token_ref: missing: auth needs both scheme and token_ref (the host variable holding the credential)`)
}

func TestResolve(t *testing.T) {
	m, err := Parse([]byte(full), "bottle.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(env(map[string]string{"GH_PAT": "ghp_secretvalue123456", "HOME_DIR": "/home/u"}))
	assert.NilError(t, err)
	assert.DeepEqual(t, r.AgentEnv, map[string]string{"LOG_LEVEL": "debug", "HOME_COPY": "/home/u/x", "PRICE": "$5"})
	assert.DeepEqual(t, r.Tokens, []Token{{Ref: "GH_PAT", Slot: "EGRESS_TOKEN_1"}})
	assert.DeepEqual(t, r.TokenEnv(), []string{"EGRESS_TOKEN_1=ghp_secretvalue123456"})
	assert.Assert(t, !strings.Contains(r.String(), "ghp_secret"), r.String())
}

func TestResolveTokenSlotsPerDistinctRef(t *testing.T) {
	src := `name = "x"
[[egress.routes]]
host = "a.example.com"
auth = { scheme = "token", token_ref = "B_TOKEN" }
[[egress.routes]]
host = "b.example.com"
auth = { scheme = "Bearer", token_ref = "A_TOKEN" }
[[egress.routes]]
host = "c.example.com"
auth = { scheme = "token", token_ref = "B_TOKEN" }
`
	m, err := Parse([]byte(src), "b.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(env(map[string]string{"A_TOKEN": "aaaaaaaaaa", "B_TOKEN": "bbbbbbbbbb"}))
	assert.NilError(t, err)
	assert.DeepEqual(t, r.Tokens, []Token{{Ref: "B_TOKEN", Slot: "EGRESS_TOKEN_1"}, {Ref: "A_TOKEN", Slot: "EGRESS_TOKEN_2"}})
	assert.Equal(t, r.Slot("A_TOKEN"), "EGRESS_TOKEN_2")
	assert.Equal(t, r.Slot("NOPE"), "")
}

func TestResolveErrors(t *testing.T) {
	src := `name = "x"
[env]
LEAK = "${GH_PAT}"
GH_PAT = "literal"
PASTED = "prefix-ghp_secretvalue123456"
MISSING = "${NOT_SET}"
[[egress.routes]]
host = "a.example.com"
auth = { scheme = "token", token_ref = "GH_PAT" }
[[egress.routes]]
host = "b.example.com"
auth = { scheme = "token", token_ref = "UNSET_TOKEN" }
[[egress.routes]]
host = "c.example.com"
auth = { scheme = "token", token_ref = "EMPTY_TOKEN" }
`
	m, err := Parse([]byte(src), "b.toml")
	assert.NilError(t, err)
	_, err = m.Resolve(env(map[string]string{"GH_PAT": "ghp_secretvalue123456", "EMPTY_TOKEN": " "}))
	assert.Error(t, err, `invalid manifest b.toml (6 problems):
  line 3: env.LEAK: references ${GH_PAT}, which is a token_ref: credentials reach egress only, never the agent
  line 4: env.GH_PAT: GH_PAT is a token_ref: credentials reach egress only, never the agent; rename the agent variable
  line 5: env.PASTED: contains the value of token_ref GH_PAT: credentials reach egress only, never the agent
  line 6: env.MISSING: references ${NOT_SET}, but host variable NOT_SET is not set
  line 12: egress.routes[1].auth.token_ref: host variable UNSET_TOKEN is not set: export it before bringing the bottle up (only egress receives its value)
  line 15: egress.routes[2].auth.token_ref: host variable EMPTY_TOKEN is empty`)
	assert.Assert(t, !strings.Contains(err.Error(), "ghp_secret"), "a token value leaked into an error")
}

func TestCanaries(t *testing.T) {
	src := "name = \"x\"\n[dlp]\ncanaries = [\"PLANTED_AWS\", \"SHORT\", \"MISSING\", \"1BAD\", \"PLANTED_AWS\"]\n"
	_, err := Parse([]byte(src), "b.toml")
	assert.ErrorContains(t, err, `line 3: dlp.canaries[3]: "1BAD" is not a valid environment variable name`)
	assert.ErrorContains(t, err, "dlp.canaries[4]: duplicate canary PLANTED_AWS")

	m, err := Parse([]byte("name = \"x\"\n[dlp]\ncanaries = [\"PLANTED_AWS\", \"SHORT\", \"MISSING\"]\n"), "b.toml")
	assert.NilError(t, err)
	_, err = m.Resolve(env(map[string]string{"PLANTED_AWS": "AKIAQ7R2XNPLW3JKD5VT", "SHORT": "abc"}))
	assert.ErrorContains(t, err, "dlp.canaries[1]: the value of SHORT is shorter than 8 bytes")
	assert.ErrorContains(t, err, "dlp.canaries[2]: host variable MISSING is not set")
	assert.Assert(t, !strings.Contains(err.Error(), "AKIA"))

	m, err = Parse([]byte("name = \"x\"\n[dlp]\ncanaries = [\"PLANTED_AWS\"]\n"), "b.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(env(map[string]string{"PLANTED_AWS": "AKIAQ7R2XNPLW3JKD5VT"}))
	assert.NilError(t, err)
	fps := r.CanaryFingerprints()
	assert.Equal(t, len(fps), 1)
	assert.Equal(t, fps[0].Name, "PLANTED_AWS")
	assert.Equal(t, fps[0].Length, 20)
}

func TestLoad(t *testing.T) {
	_, err := Load("/nonexistent/bottle.toml")
	assert.ErrorContains(t, err, "read manifest: open /nonexistent/bottle.toml")
}

func TestGitLimits(t *testing.T) {
	m, err := Parse([]byte(`name = "x"
[git]
max_object_mib = 5
max_push_mib = 50
[[git.repos]]
name = "a"
url = "ssh://git@h.example.com/a.git"
identity = "~/.ssh/k"
host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
max_push_mib = 10
[[git.repos]]
name = "b"
url = "ssh://git@h.example.com/b.git"
identity = "~/.ssh/k"
host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
max_object_mib = -1
`), "bottle.toml")
	assert.Assert(t, m == nil)
	assert.ErrorContains(t, err, "git.repos[1].max_object_mib")
	assert.ErrorContains(t, err, "out of range")
	g := Git{MaxObjectMiB: 5, MaxPushMiB: 50}
	o, p := g.Limits(Repo{MaxPushMiB: 10})
	assert.Equal(t, o, 5)
	assert.Equal(t, p, 10)
	o, p = Git{}.Limits(Repo{})
	assert.Equal(t, o+p, 0)
}
