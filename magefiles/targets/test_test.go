package targets

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseBundleArg(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    bool
		wantErr string
	}{
		{arg: "bundle=0", want: false},
		{arg: "bundle=1", want: true},
		{arg: " bundle = 1 ", want: true},
		{arg: "0", want: false},
		{arg: "1", want: true},
		{arg: "bundle=2", wantErr: `invalid value "bundle=2"`},
		{arg: "bundle=true", wantErr: `invalid value "bundle=true"`},
		{arg: "bundle=", wantErr: `invalid value "bundle="`},
		{arg: "", wantErr: `invalid value ""`},
		{arg: "shape=1", wantErr: `unknown argument "shape=1"`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := ParseBundleArg(tc.arg)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				assert.ErrorContains(t, err, "want bundle=0 (legacy shape) or bundle=1 (bundle shape)")
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestSummarize(t *testing.T) {
	out := "=== RUN   TestA\n--- PASS: TestA (1.00s)\n    --- PASS: TestA/sub (0.5s)\n--- FAIL: TestB (2.00s)\n--- SKIP: TestC (0.00s)\n    escape_test.go:262: escape summary (bundle): attack 3: 12/12 passed\nPASS\n"
	l := Summarize(out)
	if len(l.Pass) != 1 || l.Pass[0] != "TestA" || len(l.Fail) != 1 || len(l.Skip) != 1 {
		t.Fatalf("%+v", l)
	}
	if len(l.Notes) != 1 || l.Notes[0] != "attack 3: 12/12 passed" {
		t.Fatalf("%+v", l.Notes)
	}
	l.Bundle = "1"
	if s := l.String(); !strings.Contains(s, "leg CLAUDE_BOTTLE_SIDECAR_BUNDLE=1: 1 passed, 1 failed, 1 skipped") || !strings.Contains(s, "SKIP TestC") {
		t.Fatal(s)
	}
}

func TestIntegrationDecidesToSkipBeforeBuilding(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		runs  bool
		wants string
	}{
		{"plain host", map[string]string{}, true, ""},
		{"gitea act_runner", map[string]string{"GITEA_ACTIONS": "true"}, false, "GITEA_ACTIONS=true"},
		{"act", map[string]string{"ACT": "true"}, false, "ACT=true"},
		{"act, any case", map[string]string{"ACT": " TRUE "}, false, "ACT=true"},
		{"act false", map[string]string{"ACT": "false", "GITEA_ACTIONS": ""}, true, ""},
		{"forced under act_runner", map[string]string{"GITEA_ACTIONS": "true", "CLAUDE_BOTTLE_INTEGRATION": "1"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			built := 0
			runs := integrationRuns(&out, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }, func() { built++ })
			assert.Equal(t, runs, tc.runs)
			if tc.runs {
				assert.Equal(t, built, 1)
				assert.Equal(t, out.String(), "")
				return
			}
			assert.Equal(t, built, 0, "no image is built when the tests would skip")
			assert.Assert(t, strings.HasPrefix(out.String(), "integration: skipped before building any image: running under Gitea act_runner"), out.String())
			assert.Assert(t, strings.Contains(out.String(), tc.wants), out.String())
		})
	}
}
