package pipelock

import (
	"math"
	"runtime/debug"
	"testing"

	"gotest.tools/v3/assert"
)

// The soft memory limit follows what is leased: at least minMemoryLimit,
// the idle memory plus idleRoom plus the leases, at most
// softMemoryLimit; GOMEMLIMIT turns it off.
func TestMemoryLimitFollowsBudget(t *testing.T) {
	assert.Equal(t, memoryLimitFor(10<<20, 0), int64(minMemoryLimit))
	assert.Equal(t, memoryLimitFor(10<<20, 30<<20), int64(10<<20+idleRoom+30<<20))
	assert.Equal(t, memoryLimitFor(30<<20, 80<<20), int64(softMemoryLimit))

	defer func() {
		memLimit.mu.Lock()
		memLimit.follow = false
		memLimit.mu.Unlock()
		debug.SetMemoryLimit(math.MaxInt64)
	}()
	followBudget(func(k string) (string, bool) { return "1GiB", k == "GOMEMLIMIT" })
	assert.Assert(t, !memLimit.follow)
	followBudget(func(string) (string, bool) { return "", false })
	assert.Assert(t, memLimit.follow)
	held := func() int64 {
		memLimit.mu.Lock()
		defer memLimit.mu.Unlock()
		return memLimit.leased
	}
	// (Leases of earlier tests' abandoned scans may still be held: only
	// the change is checked.)
	before := held()
	p := &Proxy{mem: newSem(80 << 20), lim: Limits{}.withDefaults()}
	l := p.newLease()
	assert.NilError(t, l.grow(t.Context(), 30<<20))
	assert.Equal(t, held()-before, int64(30<<20))
	memLimit.mu.Lock()
	want := memoryLimitFor(memLimit.base, memLimit.leased)
	memLimit.mu.Unlock()
	assert.Equal(t, debug.SetMemoryLimit(-1), want)
	l.unref()
	assert.Equal(t, held(), before)
}
