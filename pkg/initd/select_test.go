package initd

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestSelect(t *testing.T) {
	all := []string{"egress", "pipelock", "git-gate", "supervise"}
	for _, tc := range []struct {
		name    string
		value   string
		set     bool
		want    []string
		wantErr string
	}{
		{name: "unset means all", set: false, want: all},
		{name: "empty means none", value: "", set: true, want: []string{}},
		{name: "blank means none", value: "  ,  , ", set: true, want: []string{}},
		{name: "one", value: "pipelock", set: true, want: []string{"pipelock"}},
		{name: "canonical order", value: "supervise,git-gate,pipelock,egress", set: true, want: all},
		{name: "trimmed", value: " egress , supervise\t", set: true, want: []string{"egress", "supervise"}},
		{name: "duplicates once", value: "egress,egress,pipelock", set: true, want: []string{"egress", "pipelock"}},
		{name: "trailing comma", value: "git-gate,", set: true, want: []string{"git-gate"}},
		{name: "unknown", value: "egress,mitmproxy", set: true, wantErr: `CLAUDE_BOTTLE_SIDECAR_DAEMONS: unknown daemon "mitmproxy" (known: egress, pipelock, git-gate, supervise)`},
		{name: "case matters", value: "Egress", set: true, wantErr: `unknown daemon "Egress"`},
		{name: "several unknown", value: "a,pipelock,b", set: true, wantErr: `unknown daemon "a", "b"`},
		{name: "underscore", value: "git_gate", set: true, wantErr: `unknown daemon "git_gate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(func(k string) (string, bool) {
				if k == "CLAUDE_BOTTLE_SIDECAR_DAEMONS" {
					return tc.value, tc.set
				}
				return "", false
			})
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.DeepEqual(t, got, tc.want)
		})
	}
}

func TestChildEnv(t *testing.T) {
	base := []string{"PATH=/bin", "EGRESS_TOKEN_1=secret", "EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888", "EGRESS_TOKEN_22=x", "SUPERVISE_PORT=9100"}
	assert.DeepEqual(t, ChildEnv(base, "egress"), base)
	for _, d := range []string{"pipelock", "git-gate", "supervise"} {
		assert.DeepEqual(t, ChildEnv(base, d), []string{"PATH=/bin", "EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888", "SUPERVISE_PORT=9100"})
	}
	// The base slice is not modified.
	assert.Equal(t, base[1], "EGRESS_TOKEN_1=secret")
}
