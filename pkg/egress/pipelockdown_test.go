package egress

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// TestPipelockDownFailsClosed: with nothing listening where pipelock
// should be (crashed, restarting), an allowed request is answered 502 with
// a message that says so, over HTTPS and plain HTTP; egress has no other
// way out, so nothing is sent anywhere.
func TestPipelockDownFailsClosed(t *testing.T) {
	h := newHarness(t, []daemoncfg.Route{{Host: "api.github.com"}, {Host: "plain.example.com"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	dead, _ := url.Parse("http://" + ln.Addr().String())
	assert.NilError(t, ln.Close())
	h.proxy.rp.Transport = NewTransport(dead, h.upCA.Pool())
	for _, u := range []string{"https://api.github.com/repos/x", "http://plain.example.com/"} {
		r := h.get(u)
		assert.Equal(t, r.Status, 502, u)
		assert.Assert(t, is.Contains(r.Body, "pipelock (the bottle's DLP proxy) is not answering, so nothing was sent"), r.Body)
	}
	assert.Assert(t, !strings.Contains(h.logs.String(), testToken))
	assert.Equal(t, len(h.rec.all()), 0, "the upstream was reached: %s", h.rec.dump())
}
