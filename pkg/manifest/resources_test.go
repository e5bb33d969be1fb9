package manifest

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestResourcesDefaults(t *testing.T) {
	m, err := Parse([]byte(`name = "x"`), "b.toml")
	assert.NilError(t, err)
	assert.Equal(t, m.Resources.Memory, DefaultMemory)
	assert.Equal(t, m.Resources.MemoryBytes(), int64(4<<30))
	assert.Equal(t, m.Resources.Pids, int64(DefaultPids))
	assert.Equal(t, m.Resources.CPUs, DefaultCPUs)
}

func TestResourcesSet(t *testing.T) {
	m, err := Parse([]byte("name = \"x\"\n[resources]\nmemory = \"512M\"\npids = 300\ncpus = 1\n"), "b.toml")
	assert.NilError(t, err)
	assert.Equal(t, m.Resources.MemoryBytes(), int64(512<<20))
	assert.Equal(t, m.Resources.Pids, int64(300))
	assert.Equal(t, m.Resources.CPUs, 1.0, "an integer count of cores is accepted")

	m, err = Parse([]byte("name = \"x\"\n[resources]\ncpus = 0.5\nmemory = \"2GiB\"\n"), "b.toml")
	assert.NilError(t, err)
	assert.Equal(t, m.Resources.CPUs, 0.5)
	assert.Equal(t, m.Resources.MemoryBytes(), int64(2<<30))
}

func TestResourcesInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"memory words", "memory = \"lots\"", `line 3: resources.memory: "lots" is not a size`},
		{"memory negative", "memory = \"-1g\"", `resources.memory: "-1g" is not a size`},
		{"memory tiny", "memory = \"1m\"", `resources.memory: "1m" is out of range`},
		{"memory overflow", "memory = \"99999999999999999t\"", `resources.memory: "99999999999999999t" is too large`},
		{"memory number", "memory = 4", `line 3 (last key "resources.memory"): incompatible types`},
		{"pids low", "pids = 3", "line 3: resources.pids: 3 is out of range"},
		{"pids negative", "pids = -10", "resources.pids: -10 is out of range"},
		{"cpus negative", "cpus = -1.0", "line 3: resources.cpus: -1 is out of range"},
		{"cpus nan", "cpus = nan", "resources.cpus: NaN is out of range"},
		{"cpus inf", "cpus = inf", "resources.cpus: +Inf is out of range"},
		{"unknown key", "swap = \"1g\"", "line 3: resources.swap: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("name = \"x\"\n[resources]\n"+tc.src+"\n"), "b.toml")
			assert.Assert(t, is.ErrorContains(err, tc.want))
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "1k": 1 << 10, "1KB": 1 << 10, "3m": 3 << 20, " 4g ": 4 << 30, "1t": 1 << 40, "2gib": 2 << 30, "10b": 10} {
		got, err := ParseSize(in)
		assert.NilError(t, err, in)
		assert.Equal(t, got, want, in)
	}
	for _, in := range []string{"", "g", "1.5g", "0", "1x", "0x10", "1e9", "9223372036854775807k"} {
		_, err := ParseSize(in)
		assert.Assert(t, err != nil, "%q parsed", in)
	}
}
