package pipelock

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// countDials makes e's pipelock count its connections to the stand-in
// internet: a request it forwards dials it (a fresh env has no idle
// connection to reuse).
func countDials(e *env) *atomic.Int32 {
	var n atomic.Int32
	dial := e.p.guard.Dial
	e.p.guard.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dial(ctx, network, addr)
	}
	return &n
}

// A body scanned while it arrives is still held until all of it is
// scanned: with every byte but the last sent (every segment before the
// last one complete, and scanned), nothing has gone upstream; the last
// byte lets the whole body through, unchanged.
func TestLiveScanForwardsNothingBeforeTheVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	dials := countDials(e)
	body := prose(5<<20 + 12345)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "text/plain")
	res := make(chan result, 1)
	go func() { res <- e.do(req, e.proxyURL) }()
	_, err := pw.Write(body[:len(body)-1])
	assert.NilError(t, err)
	// Time for a pipelock that forwarded early to do so; what is checked
	// is that it did not.
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, dials.Load(), int32(0), "forwarded before the body was whole")
	assert.Equal(t, len(e.seenAll()), 0)
	_, err = pw.Write(body[len(body)-1:])
	assert.NilError(t, err)
	assert.NilError(t, pw.Close())
	r := <-res
	assert.Equal(t, r.status, 200, r.body)
	got := e.seenAll()
	assert.Equal(t, len(got), 1)
	assert.Assert(t, got[0].body == string(body), "the body is forwarded unchanged")
}

// A secret in the last segment of a body scanned while it arrives — in
// its raw text, in a JSON string, a form value, a multipart part, in
// every encoding — is found, and the request is refused with nothing
// sent upstream.
func TestLiveScanFindsASecretInTheLastSegment(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	dials := countDials(e)
	secret := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	for kname, build := range segmentBodies {
		for _, ename := range []string{"raw", "base64", "percent", "unicode-escape"} {
			ct, body := build(segmentEncodings[ename](secret), 1<<30) // astride the end
			name := kname + "/" + ename
			if kname == "multipart" {
				// A multipart body ends with its closing boundary: the
				// secret is in the last part, before it.
				ct, body = build(segmentEncodings[ename](secret), len(body)-200)
			}
			assert.Assert(t, segmentedBlocks(t, e, ct, body), name)
			r := e.post(body, "Content-Type", ct)
			assert.Equal(t, r.status, 403, "%s: %s", name, r.body)
			assert.Assert(t, is.Contains(r.body, "blocked: "), name)
		}
	}
	assert.Equal(t, dials.Load(), int32(0), "a refused body reached upstream")
}

// A body shorter than its declared length is scanned for what it holds:
// in segments when it is still over a segment, whole when it is not.
func TestLiveScanShortBody(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	for _, n := range []int{1 << 20, 3 << 20} {
		body := append(prose(n), " aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"...)
		req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", io.NopCloser(&pieces{b: body}))
		req.ContentLength = 4 << 20
		req.Header.Set("Content-Type", "text/plain")
		l := e.p.newLease()
		rb, rf := e.p.readBody(t.Context(), req, "allowed.example.com", l)
		assert.Assert(t, rf == nil)
		assert.Equal(t, len(rb.raw), len(body))
		assert.Equal(t, rb.live != nil, n > segmentBytes, n)
		assert.Assert(t, e.p.inspect(req, "allowed.example.com", rb).dlp != nil, n)
		l.unref()
	}
}

// A body longer than its declared length is refused.
func TestLiveScanLongerThanDeclared(t *testing.T) {
	e := newEnv(t, nil)
	body := prose(3 << 20)
	req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", io.NopCloser(bytes.NewReader(body)))
	req.ContentLength = int64(len(body) - 10)
	l := e.p.newLease()
	defer l.unref()
	_, rf := e.p.readBody(t.Context(), req, "allowed.example.com", l)
	assert.Assert(t, rf != nil && rf.status == http.StatusBadRequest)
}

// A form of a hundred thousand fields keeps the ends of a bounded number
// of them for the split-secret window (not one per field), and a piece
// of a known secret sent in a field the window holds is still joined to
// its other piece however many fields come before it.
func TestLiveSplitJoinBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	s := secrets["PASSPHRASE"]
	var decoys strings.Builder
	for i := 0; decoys.Len() < 3<<20; i++ {
		fmt.Fprintf(&decoys, "f%d=v%d&", i, i)
	}
	large := decoys.String() + "d=" + s[20:]
	req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", io.NopCloser(&pieces{b: []byte(large)}))
	req.ContentLength = int64(len(large))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	l := e.p.newLease()
	rb, rf := e.p.readBody(t.Context(), req, "allowed.example.com", l)
	assert.Assert(t, rf == nil && rb.live != nil)
	assert.Assert(t, e.p.inspect(req, "allowed.example.com", rb).dlp == nil)
	l.unref()
	j := rb.live.join
	assert.Assert(t, len(j.bySlot) <= 2*maxSlots, "the join keeps %d slots", len(j.bySlot))
	assert.Assert(t, e.p.split.memory() <= maxSlots*maxKeep)

	// The first piece in a small form, the second after the decoys.
	e = newEnv(t, nil)
	dials := countDials(e)
	r := e.post([]byte("d="+s[:20]), "Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, r.status, 200, r.body)
	r = e.post([]byte(large), "Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, r.status, 403, r.body)
	assert.Assert(t, is.Contains(r.body, "pieces sent to this host"), r.body)
	assert.Equal(t, dials.Load(), int32(1), "only the first piece went upstream")
}

// A body scanned while it arrives whose scan overruns its time budget is
// refused with nothing forwarded, as one scanned whole is.
func TestLiveScanBudgetFailsClosed(t *testing.T) {
	e := newEnv(t, nil)
	dials := countDials(e)
	e.p.lim.ScanBase = time.Nanosecond
	e.p.lim.ScanPerMiB = time.Nanosecond
	r := e.post(prose(6<<20), "Content-Type", "text/plain")
	assert.Equal(t, r.status, http.StatusForbidden)
	assert.Assert(t, strings.HasPrefix(r.body, "blocked: the scan of this request did not finish within its time budget"), r.body)
	assert.Equal(t, dials.Load(), int32(0))
}

// The last segment of a body scanned while it arrives is scanned as two
// halves (raw): a secret astride the cut, or astride the start of the
// overlap that leads the second half, in every encoding and every kind
// of body, is still found.
func TestLiveScanFindsASecretAstrideTheLastSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	secret := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	for kname, build := range segmentBodies {
		for _, ename := range []string{"raw", "base64", "percent", "unicode-escape"} {
			payload := segmentEncodings[ename](secret)
			_, body := build(payload, 0)
			mid := lastSplit(len(body)) // the same length wherever the payload is
			if mid == 0 {
				t.Skip("one lane: the last segment is not split")
			}
			for _, at := range []int{mid, mid - segmentOverlap} {
				ct, body := build(payload, at)
				assert.Equal(t, lastSplit(len(body)), mid)
				assert.Assert(t, segmentedBlocks(t, e, ct, body), "%s/%s/%d", kname, ename, at)
			}
		}
	}
}
