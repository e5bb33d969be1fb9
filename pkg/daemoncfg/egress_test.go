package daemoncfg

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestRoundTrip(t *testing.T) {
	f := Routes{Routes: []Route{
		{Host: "api.github.com", Paths: []string{"/repos/acme/"}, Auth: &Auth{Scheme: "token", TokenEnv: "EGRESS_TOKEN_1"}},
		{Host: "raw.githubusercontent.com"},
	}}
	b, err := f.Marshal()
	assert.NilError(t, err)
	got, err := ParseRoutes(b)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, f)
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"unknown key":   {"routes:\n  - host: a.example.com\n    hots: x\n", "field hots not found"},
		"missing host":  {"routes:\n  - paths: [/a]\n", "routes[0]: missing host"},
		"duplicate":     {"routes:\n  - host: a.example.com\n  - host: a.example.com\n", `routes[1]: duplicate host "a.example.com"`},
		"relative path": {"routes:\n  - host: a.example.com\n    paths: [a]\n", `routes[0].paths[0]: "a" must start with /`},
		"raw token":     {"routes:\n  - host: a.example.com\n    auth: {scheme: token, token_env: GH_PAT}\n", "want scheme and token_env EGRESS_TOKEN_<n>"},
		"token value":   {"routes:\n  - host: a.example.com\n    auth: {scheme: token, token: abc}\n", "field token not found"},
		"no scheme":     {"routes:\n  - host: a.example.com\n    auth: {token_env: EGRESS_TOKEN_1}\n", "want scheme"},
		"not yaml":      {"routes: [", "parse routes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRoutes([]byte(tc.src))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
