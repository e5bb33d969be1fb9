package daemoncfg

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestRoundTripAndErrors(t *testing.T) {
	f := GitGate{Repos: []Repo{{Name: "app", URL: "ssh://git@h.example.com/a.git", Identity: "id-app", AllowDelete: true, MaxObjectMiB: 5, MaxPushMiB: 50}}}
	b, err := f.Marshal()
	assert.NilError(t, err)
	got, err := ParseGitGate(b)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, f)

	empty, err := GitGate{}.Marshal()
	assert.NilError(t, err)
	_, err = ParseGitGate(empty)
	assert.NilError(t, err)

	for name, tc := range map[string]struct{ src, want string }{
		"unknown key":    {"repos:\n  - name: app\n    url: u\n    identity: id\n    password: x\n", "field password not found"},
		"bad name":       {"repos:\n  - name: ../x\n    url: u\n    identity: id\n", `name "../x" is invalid or repeated`},
		"duplicate":      {"repos:\n  - {name: a, url: u, identity: id}\n  - {name: a, url: u, identity: id}\n", `repos[1]: name "a" is invalid or repeated`},
		"identity path":  {"repos:\n  - {name: a, url: u, identity: /etc/shadow}\n", "want url and identity (a file name in the gate's directory)"},
		"no url":         {"repos:\n  - {name: a, identity: id}\n", "want url and identity"},
		"negative limit": {"repos:\n  - {name: a, url: u, identity: id, max_object_mib: -1}\n", "max_object_mib and max_push_mib must be between 0"},
		"huge limit":     {"repos:\n  - {name: a, url: u, identity: id, max_push_mib: 99999999}\n", "must be between 0 (default) and 65536"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseGitGate([]byte(tc.src))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
