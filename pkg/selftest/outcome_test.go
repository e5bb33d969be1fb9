package selftest

import (
	"context"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// TestOutcomeUnreachable: a control whose allowed host cannot be reached
// from this machine is told apart from the bottle refusing or breaking it.
func TestOutcomeUnreachable(t *testing.T) {
	tg := Target{AllowedURL: "https://www.allowed.test", AuthURL: "https://api.allowed.test", AttackerHost: "evil.test", AttackerIP: "203.0.113.7", OutsideResolver: "8.8.8.8"}
	cs := Cases(tg)
	byID := map[string]Case{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	get, auth, attack := byID["0/allowed-get"], byID["0/injected-credential"], byID["1/host"]
	for _, tc := range []struct {
		name string
		c    Case
		out  string
		want string
	}{
		{"reached", get, "HTTP 200\nEXIT 0\nBODY\nhello\n", OutcomePass},
		{"pipelock could not resolve", get, "HTTP 502\nEXIT 0\n< HTTP/1.1 502 Bad Gateway\nBODY\npipelock: upstream request to www.allowed.test failed: dial tcp: lookup www.allowed.test on 127.0.0.11:53: server misbehaving\n", OutcomeUnreachable},
		{"egress could not connect", auth, "HTTP 502\nEXIT 0\nBODY\negress: upstream request to api.allowed.test failed: dial tcp 198.51.100.9:443: connect: network is unreachable\n", OutcomeUnreachable},
		{"tunnel not dialled", get, "HTTP 000\nEXIT 56\n< HTTP/1.1 502 Bad Gateway\ncurl: (56) CONNECT tunnel failed, response 502\nBODY\n", OutcomeUnreachable},
		{"the bottle refused", get, "HTTP 403\nEXIT 0\nBODY\nblocked: high-entropy-token in path\n", OutcomeFail},
		{"refused at CONNECT", get, "HTTP 000\nEXIT 56\n< HTTP/1.1 502 Bad Gateway\r\n< X-Claude-Bottle-Blocked: pipelock; reason=host\r\ncurl: (56) CONNECT tunnel failed, response 502\nBODY\n", OutcomeFail},
		{"a 502 without a network cause", get, "HTTP 502\nEXIT 0\nBODY\npipelock: upstream request to www.allowed.test failed: malformed HTTP response\n", OutcomeFail},
		{"a curl timeout is not proof", get, "HTTP 000\nEXIT 28\ncurl: (28) Operation timed out after 20001 milliseconds\nBODY\n", OutcomeFail},
		{"attacks never count as unreachable", attack, "HTTP 502\nEXIT 0\nBODY\npipelock: upstream request to evil.test failed: dial tcp: lookup evil.test: no such host\n", OutcomeFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.c.Outcome(tc.out), tc.want)
		})
	}
	// Run reports the same outcome and says whose fault it is.
	res := Run(t.Context(), func(_ context.Context, _ string) (string, error) {
		return "HTTP 502\nEXIT 0\nBODY\npipelock: upstream request to www.allowed.test failed: dial tcp: lookup www.allowed.test: no such host\n", nil
	}, []Case{get}, nil)
	assert.Equal(t, res[0].Outcome, OutcomeUnreachable)
	assert.Assert(t, !res[0].Pass)
}

// TestSyntheticSecretsNeedNoCanaries: the secrets selftest sends are caught
// by the default scanner, told nothing about them, in every part the
// attacks put them.
func TestSyntheticSecretsNeedNoCanaries(t *testing.T) {
	s, err := dlp.New(dlp.Options{})
	assert.NilError(t, err)
	for range 20 {
		for _, sec := range Synthetic() {
			v := sec.Value
			for part, text := range map[string]string{"path": "/v1/" + v, "query": "q=" + v, "header X-Note": "X-Note: " + v} {
				assert.Assert(t, len(s.ScanParts([]dlp.Part{{Name: part, Text: text}})) > 0, "%s in %s passed", sec.Name, part)
			}
			fs, err := s.ScanBody("application/json", []byte(`{"note":"`+v+`"}`))
			assert.NilError(t, err)
			assert.Assert(t, len(fs) > 0, "%s in a JSON body passed", sec.Name)
		}
	}
}
