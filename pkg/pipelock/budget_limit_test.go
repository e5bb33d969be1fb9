package pipelock

import (
	"math"
	"runtime/debug"
	"testing"

	"gotest.tools/v3/assert"
)

// The soft memory limit follows what is leased: at least minMemoryLimit,
// the idle memory plus idleRoom plus 1.5× the leases, at most
// softMemoryLimit; GOMEMLIMIT turns it off.
func TestMemoryLimitFollowsBudget(t *testing.T) {
	defer func() {
		memLimit.mu.Lock()
		memLimit.follow = false
		memLimit.mu.Unlock()
		debug.SetMemoryLimit(math.MaxInt64)
	}()
	current := func() int64 { return debug.SetMemoryLimit(-1) }
	followBudget(func(k string) (string, bool) { return "1GiB", k == "GOMEMLIMIT" })
	assert.Assert(t, !memLimit.follow)
	followBudget(func(string) (string, bool) { return "", false })
	idle := current()
	assert.Assert(t, idle >= minMemoryLimit && idle <= softMemoryLimit, idle)
	p := &Proxy{mem: newSem(80 << 20), lim: Limits{}.withDefaults()}
	l := p.newLease()
	assert.NilError(t, l.grow(t.Context(), 30<<20))
	memLimit.mu.Lock()
	base, held := memLimit.base, memLimit.leased
	memLimit.mu.Unlock()
	assert.Equal(t, current(), min(softMemoryLimit, max(minMemoryLimit, base+idleRoom+held+held/2)))
	assert.Assert(t, current() > idle)
	with := current()
	l2 := p.newLease()
	assert.NilError(t, l2.grow(t.Context(), 50<<20))
	assert.Equal(t, current(), int64(softMemoryLimit))
	l2.unref()
	assert.Assert(t, current() < softMemoryLimit)
	l.unref()
	// (Another test's abandoned scan may still let go of its lease.)
	assert.Assert(t, current() < with)
}
