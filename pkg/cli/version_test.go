package cli

import (
	"runtime/debug"
	"testing"

	"gotest.tools/v3/assert"
)

func TestModuleVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install @tag", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v1.2.3"}}, "v1.2.3"},
		{"checkout", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}, "(devel)"},
		{"as a dependency", debug.BuildInfo{Main: debug.Module{Path: "example.com/x", Version: "(devel)"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v1.4.0"}}}, "v1.4.0"},
		{"replaced by a directory", debug.BuildInfo{Main: debug.Module{Path: "example.com/x"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v0.0.0", Replace: &debug.Module{Path: "/src/cb"}}}}, "(devel)"},
		{"replaced by a version", debug.BuildInfo{Main: debug.Module{Path: "example.com/x"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v0.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1"}}}}, "v1.0.1"},
		{"test binary", debug.BuildInfo{Main: debug.Module{}}, "(devel)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, moduleVersion(&tc.bi), tc.want)
		})
	}
}
