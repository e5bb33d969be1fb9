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

// Spare room (for a copy of a part the scan may make) is in the budget
// from the start but counted by the soft memory limit only once claimed;
// the budget and the limit both return whole when the lease is dropped,
// claimed or not, and a later grow does not make claimed room spare
// again.
func TestLeaseSpareCountedOnceClaimed(t *testing.T) {
	held := func() int64 {
		memLimit.mu.Lock()
		defer memLimit.mu.Unlock()
		return memLimit.leased
	}
	p := &Proxy{mem: newSem(80 << 20), lim: Limits{}.withDefaults()}
	for _, claim := range []bool{false, true} {
		before := held()
		l := p.newLease()
		assert.NilError(t, l.growSpare(t.Context(), 30<<20, 10<<20))
		assert.Equal(t, held()-before, int64(20<<20))
		assert.Assert(t, !p.mem.TryAcquire(50<<20+1), "the spare room is in the budget")
		l.ref() // a scan goroutine
		if claim {
			l.claim()
			l.claim() // once only
			assert.Equal(t, held()-before, int64(30<<20))
			assert.NilError(t, l.growSpare(t.Context(), 30<<20, 10<<20))
			assert.Equal(t, held()-before, int64(30<<20), "claimed room stays counted")
		}
		l.unref()
		l.unref()
		assert.Equal(t, held(), before)
		assert.Assert(t, p.mem.TryAcquire(80<<20), "the whole budget is back")
		p.mem.Release(80 << 20)
	}
	var none *lease
	none.claim()
}
