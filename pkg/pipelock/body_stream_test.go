package pipelock

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// A compressed upload that decodes to more than a segment (the bench's
// 10 MiB gzip body decodes to about 22 MiB) passes within the shared
// buffer budget, and is forwarded as sent.
func TestLargeCompressedUploadPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MiB body")
	}
	e := newEnv(t, nil)
	ct, ce, body, err := benchload.ClassBody("gzip", 10<<20)
	assert.NilError(t, err)
	r := e.post(body, "Content-Type", ct, "Content-Encoding", ce)
	assert.Equal(t, r.status, http.StatusOK, r.body)
	seen := e.seenAll()
	assert.Assert(t, len(seen) == 1 && seen[0].body == string(body), "forwarded body differs")
	// The budget returned in full (the handler lets go of it as it
	// returns, which may be just after the client has the answer).
	for i := 0; !e.p.mem.TryAcquire(e.p.lim.BufferBudget); i++ {
		assert.Assert(t, i < 500, "budget not returned")
		time.Sleep(10 * time.Millisecond)
	}
	e.p.mem.Release(e.p.lim.BufferBudget)
}

// A secret anywhere in a streamed decoding is found: in the first
// segment, astride a segment boundary (wherever the decoder's reads put
// it), in a later and in the last segment.
func TestStreamedDecodingFindsSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	s := secrets["AWS"]
	filler := []byte(strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit\n", (10<<20)/56))
	for _, at := range []int{1000, segmentBytes - 10, segmentBytes + 100, segmentBytes + 16<<10, segmentBytes + 32<<10 - 10, segmentBytes + 40<<10, 2*segmentBytes - 5, len(filler) - 200} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			body := append(append(append([]byte{}, filler[:at]...), " key "+s+" "...), filler[at:]...)
			r := e.post(gz(body), "Content-Type", "text/plain", "Content-Encoding", "gzip")
			assert.Equal(t, r.status, http.StatusForbidden, r.body)
			assert.Assert(t, is.Contains(r.body, "blocked: "), r.body)
		})
	}
	assert.Equal(t, len(e.seenAll()), 0)
}

// Past MaxDecoded a decoding is refused with 413 naming the limit, in the
// first segment and in a later one; nothing is forwarded and the budget
// returns.
func TestStreamedDecodingLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	e.p.lim.MaxDecoded = 16 << 20
	r := e.post(gz(make([]byte, 64<<20)), "Content-Encoding", "gzip")
	assert.Equal(t, r.status, http.StatusRequestEntityTooLarge, r.body)
	assert.Assert(t, is.Contains(r.body, "blocked: the body decodes (Content-Encoding gzip) to more than the 16 MiB"), r.body)
	e.p.lim.MaxDecoded = 2 << 20
	r = e.post(gz(make([]byte, 3<<20)), "Content-Encoding", "gzip")
	assert.Equal(t, r.status, http.StatusRequestEntityTooLarge, r.body)
	assert.Assert(t, is.Contains(r.body, "to more than the 2 MiB"), r.body)
	assert.Equal(t, len(e.seenAll()), 0)
	assert.Assert(t, e.p.mem.TryAcquire(e.p.lim.BufferBudget))
	e.p.mem.Release(e.p.lim.BufferBudget)
}
