package pipelock

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Memory and time limits of request inspection. pipelock holds a whole
// body until all of it is scanned (a secret may sit anywhere, and nothing
// unscanned is forwarded; a large body is scanned while it arrives, but
// forwarded only after), so every buffered byte is counted twice over:
// against the request's own cap and against one budget shared by all
// requests in flight. See docs/operations.md ("pipelock limits").
const (
	// DefaultMaxBody is the largest request body (as sent, and again after
	// Content-Encoding is undone) pipelock buffers for inspection; a larger
	// one is refused with 413 and a "blocked:" body naming the limit.
	DefaultMaxBody = 32 << 20
	// DefaultBufferBudget bounds the memory all requests and WebSocket
	// messages in flight may hold together: what they buffer, and while
	// they are scanned scanFactor times the scanned bytes for the scanner's
	// working copies (of a body over segmentBytes, of the segments being
	// scanned). Three 10 MiB uploads are scanned at once; more wait their
	// turn. A request that cannot get its share within BudgetWait is
	// refused with 503 rather than growing the heap.
	DefaultBufferBudget = 80 << 20
	// DefaultBudgetWait is how long a request waits for buffer budget.
	DefaultBudgetWait = 60 * time.Second
	// scanFactor estimates the scanner's working memory per scanned byte
	// (the text copy, gitleaks' lower-cased copy, the decoded readings).
	scanFactor = 3
	// DefaultMaxWSMessage bounds one WebSocket message (all its fragments,
	// and again after permessage-deflate); past it the connection is closed
	// with 1009.
	DefaultMaxWSMessage = 8 << 20
	// DefaultMaxResponse bounds a scanned (textual) response after its
	// Content-Encoding is undone: a decompression bomb is cut off here.
	DefaultMaxResponse = 256 << 20
	// scanBase and scanPerMiB make the time budget of one scan: a fixed part
	// plus a part proportional to the bytes scanned (0.5 MiB/s, a hundred times
	// slower than the scanner's target rate). A scan that overruns it is
	// answered "blocked:" and nothing is forwarded.
	scanBase   = 30 * time.Second
	scanPerMiB = 2 * time.Second
	// DefaultMaxDecoded is the most a compressed request body may decode
	// to. Past segmentBytes a decoding is not held whole: it is scanned a
	// segment at a time while it is decoded (each segment with the last
	// segmentOverlap bytes of the one before, so a secret across a
	// boundary is read whole), holding the raw body plus one segment and
	// its scan; past DefaultMaxDecoded the request is refused with 413
	// and a "blocked:" body naming the limit.
	DefaultMaxDecoded = 256 << 20
	segmentBytes      = 2 << 20
	segmentOverlap    = 64 << 10
	// budgetStep is the unit in which bodies of unknown length acquire
	// budget while they are read.
	budgetStep = 1 << 20
)

// Limits are pipelock's inspection limits; the zero value means the
// defaults above.
type Limits struct {
	MaxBody      int64
	BufferBudget int64
	BudgetWait   time.Duration
	MaxWSMessage int64
	MaxResponse  int64
	MaxDecoded   int64
	// ScanBase and ScanPerMiB override the scan time budget.
	ScanBase   time.Duration
	ScanPerMiB time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.BufferBudget <= 0 {
		l.BufferBudget = DefaultBufferBudget
	}
	if l.BudgetWait <= 0 {
		l.BudgetWait = DefaultBudgetWait
	}
	if l.MaxWSMessage <= 0 {
		l.MaxWSMessage = DefaultMaxWSMessage
	}
	if l.MaxResponse <= 0 {
		l.MaxResponse = DefaultMaxResponse
	}
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = DefaultMaxDecoded
	}
	if l.ScanBase <= 0 {
		l.ScanBase = scanBase
	}
	if l.ScanPerMiB <= 0 {
		l.ScanPerMiB = scanPerMiB
	}
	return l
}

// scanBudget is the time one scan of n bytes may take.
func (l Limits) scanBudget(n int) time.Duration {
	return l.ScanBase + time.Duration(int64(l.ScanPerMiB)*int64(n)/(1<<20))
}

// errBudget is returned when the shared buffer budget stays exhausted.
var errBudget = errors.New("buffer budget exhausted")

// lease is the part of the shared buffer budget one request holds.
// It is shared by the request handler and any scan goroutine still reading
// the buffered bytes: the budget returns when the last of them lets go, so
// an abandoned (overrun) scan keeps holding what it reads.
type lease struct {
	sem  *semaphore.Weighted
	max  int64
	wait time.Duration
	mu   sync.Mutex
	held int64
	refs int
	// spare is the part of held the soft memory limit does not count
	// yet: room reserved for a copy the scan may make (of a large JSON
	// or structured part of a multipart body), counted once it is made
	// (claim). The budget holds it all along, so admission is the same.
	spare int64
}

// newLease returns a lease with one reference (the caller's); drop it with
// unref.
func (p *Proxy) newLease() *lease {
	return &lease{sem: p.mem, max: p.lim.BufferBudget, wait: p.lim.BudgetWait, refs: 1}
}

func (l *lease) ref() {
	l.mu.Lock()
	l.refs++
	l.mu.Unlock()
}

// unref drops one reference; the last one returns the budget.
func (l *lease) unref() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs--
	if l.refs == 0 && l.held > 0 {
		l.sem.Release(l.held)
		leased(-(l.held - l.spare))
		l.held, l.spare = 0, 0
	}
}

// growSpare is grow to total bytes, of which spare (of those it adds)
// the memory limit counts only once claim says they are used.
func (l *lease) growSpare(ctx context.Context, total, spare int64) error {
	before := l.heldLen()
	if err := l.grow(ctx, total); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if more := min(spare, l.held-before); more > 0 {
		l.spare += more
		leased(-more)
	}
	return nil
}

// claim counts the lease's spare bytes in the memory limit: the copy
// they were reserved for is being made. Safe from any goroutine holding
// a reference, and on a nil lease.
func (l *lease) claim() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spare > 0 {
		leased(l.spare)
		l.spare = 0
	}
}

// grow makes the lease cover total bytes. Only the request handler grows
// a lease, before any scan goroutine holds it.
func (l *lease) grow(ctx context.Context, total int64) error {
	l.mu.Lock()
	held := l.held
	l.mu.Unlock()
	if total <= held {
		return nil
	}
	need := total - held
	if total > l.max {
		return fmt.Errorf("%w: %d bytes needed, %d MiB shared by all requests", errBudget, total, l.max>>20)
	}
	if !l.sem.TryAcquire(need) {
		ctx, cancel := context.WithTimeout(ctx, l.wait)
		defer cancel()
		if err := l.sem.Acquire(ctx, need); err != nil {
			return fmt.Errorf("%w: waited %s for %d MiB of the %d MiB shared by all requests in flight", errBudget, l.wait, (need+(1<<20)-1)>>20, l.max>>20)
		}
	}
	l.mu.Lock()
	l.held = total
	l.mu.Unlock()
	leased(need)
	return nil
}

// errScanBudget is returned when a scan overruns its time budget.
var errScanBudget = errors.New("scan did not finish within its time budget")

// withinBudget runs scan in its own goroutine and waits at most the time
// budget for n bytes. On overrun it returns errScanBudget at once; the scan
// goroutine finishes on its own and only then drops its reference to l (the
// memory the scan reads), so an abandoned scan still holds its budget.
func withinBudget[T any](ctx context.Context, lim Limits, n int, l *lease, scan func() T) (T, error) {
	ch := make(chan T, 1)
	l.ref()
	go func() {
		defer l.unref()
		ch <- scan()
	}()
	budget := lim.scanBudget(n)
	t := time.NewTimer(budget)
	defer t.Stop()
	select {
	case v := <-ch:
		return v, nil
	case <-t.C:
		var zero T
		return zero, fmt.Errorf("%w (%s for %d bytes)", errScanBudget, budget, n)
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func newSem(n int64) *semaphore.Weighted { return semaphore.NewWeighted(n) }

// softMemoryLimit is the Go runtime's soft heap limit pipelock sets for
// itself while it starts, and the most it sets later: the buffer budget
// plus room for the scanner's working copies. Without it the collector
// lets the heap reach twice the live bytes before it runs, which is what
// pushed RSS far past the buffered bodies.
const softMemoryLimit = 112 << 20

// Once started (followBudget), the limit follows the buffer budget in use:
// what the idle daemon held, plus idleRoom, plus what the requests in
// flight hold (a lease counts a body and its scan's working memory), at
// least minMemoryLimit and at most softMemoryLimit. One 10 MiB upload is
// then collected close to what it holds instead of up to softMemoryLimit,
// and several at once stay under the same ceiling as before. A lease
// counts the scanner's working memory generously (3× every segment being
// scanned) and the split-secret window's share of a request is bounded
// (valueJoin.watched), so idleRoom is room enough for what a lease does
// not count: with half as much again as the leases on top, one upload's
// peak RSS was 60–75 MB, with none 59–64 MB for 5% more CPU spent
// collecting (BenchmarkSidecarUploadClass).
const idleRoom = 8 << 20

// minMemoryLimit is the least the limit follows down to: what no lease
// counts (connections, TLS state, headers, streamed responses) has this
// much room however little is leased, so many small requests at once do
// not make the collector run without pause (a live heap over the limit
// would). Below it, the heap is GOGC's alone.
const minMemoryLimit = 48 << 20

// memLimit is the process-wide state of the limit that follows the
// budget; every Proxy's leases add to it (a reload builds a new one).
var memLimit struct {
	mu     sync.Mutex
	follow bool
	base   int64 // the runtime's memory when the daemon was idle
	leased int64
}

// setMemoryLimit applies softMemoryLimit unless GOMEMLIMIT says otherwise.
func setMemoryLimit(lookup func(string) (string, bool)) {
	if _, ok := lookup("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(softMemoryLimit)
	}
}

// followBudget makes the soft limit follow the budget in use (unless
// GOMEMLIMIT sets it), from the memory the runtime holds now.
func followBudget(lookup func(string) (string, bool)) {
	if _, ok := lookup("GOMEMLIMIT"); ok {
		return
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	memLimit.mu.Lock()
	defer memLimit.mu.Unlock()
	memLimit.follow = true
	memLimit.base = int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	applyLimit()
}

// leased adds delta bytes to the budget in use.
func leased(delta int64) {
	memLimit.mu.Lock()
	defer memLimit.mu.Unlock()
	memLimit.leased += delta
	if memLimit.follow {
		applyLimit()
	}
}

func applyLimit() { debug.SetMemoryLimit(memoryLimitFor(memLimit.base, memLimit.leased)) }

// memoryLimitFor is the soft limit for an idle memory of base bytes and
// leased bytes of budget in use.
func memoryLimitFor(base, leased int64) int64 {
	return min(softMemoryLimit, max(minMemoryLimit, base+idleRoom+leased))
}

// dropStartupGarbage returns the memory that loading the rules left behind
// (gitleaks' configuration is parsed through viper and mostly discarded)
// to the system, so an idle pipelock holds only what it uses.
func dropStartupGarbage() { debug.FreeOSMemory() }
