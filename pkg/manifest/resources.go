package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// Agent resource defaults, the one place they are set. They bound what one
// bottle can take from the host: without them an agent's runaway build or a
// fork bomb pushes the whole host (and every other bottle) into OOM or out
// of process slots.
const (
	// DefaultMemory is the agent's memory limit (swap included: the
	// renderer sets memswap_limit to the same value).
	DefaultMemory = "4g"
	// DefaultPids is the agent's process/thread limit: ample for a
	// compiler, a test runner and Claude Code with its Node workers.
	DefaultPids = 2048
	// DefaultCPUs is the agent's CPU quota in cores.
	DefaultCPUs = 2.0
)

// Bounds of the [resources] values: below the minimums a shell, git and
// Claude Code do not start; above the maximums the value is almost
// certainly a typo (a count of bytes where a suffix was meant).
const (
	minMemoryBytes = 64 << 20
	maxMemoryBytes = 1 << 42 // 4 TiB
	minPids        = 32
	maxPids        = 1 << 22
	maxCPUs        = 1024.0
)

// Resources is the [resources] table: the agent container's limits.
type Resources struct {
	// Memory is a size with an optional b/k/m/g/t suffix (powers of 1024),
	// e.g. "4g" or "512m".
	Memory string `toml:"memory"`
	// Pids is the most processes and threads the agent may have at once.
	Pids int64 `toml:"pids"`
	// CPUs is the agent's CPU quota in cores (fractions allowed).
	CPUs float64 `toml:"cpus"`
}

// MemoryBytes returns Memory in bytes (valid after Parse).
func (r Resources) MemoryBytes() int64 {
	n, _ := ParseSize(r.Memory)
	return n
}

func (r *Resources) applyDefaults() {
	if strings.TrimSpace(r.Memory) == "" {
		r.Memory = DefaultMemory
	}
	if r.Pids == 0 {
		r.Pids = DefaultPids
	}
	if r.CPUs == 0 {
		r.CPUs = DefaultCPUs
	}
}

func (r Resources) validate(c *checker) {
	if n, err := ParseSize(r.Memory); err != nil {
		c.add("resources.memory", "%v", err)
	} else if n < minMemoryBytes || n > maxMemoryBytes {
		c.add("resources.memory", "%q is out of range: give between 64m and 4096g", r.Memory)
	}
	if r.Pids < minPids || r.Pids > maxPids {
		c.add("resources.pids", "%d is out of range: give between %d and %d processes", r.Pids, minPids, maxPids)
	}
	if r.CPUs <= 0 || r.CPUs > maxCPUs || r.CPUs != r.CPUs {
		c.add("resources.cpus", "%v is out of range: give a number of cores above 0 (fractions allowed), e.g. 1.5", r.CPUs)
	}
}

// ParseSize reads a size such as "512m", "4g", "4GiB" or "1073741824"
// (suffixes are powers of 1024, any case, with an optional "b"/"ib").
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size: give a positive whole number with an optional k, m, g or t suffix, e.g. \"4g\"", s)
	}
	if n > maxMemoryBytes/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
