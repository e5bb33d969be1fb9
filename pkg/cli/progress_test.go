package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestProgressRedrawsAndClears(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	p := newProgress(&out, 0, func() time.Time { return now })
	p.redraw() // nothing to show yet
	assert.Equal(t, out.String(), "")
	fmt.Fprint(p, "starting 2 sidecar container(s)\npar")
	now = now.Add(1500 * time.Millisecond)
	p.redraw()
	assert.Equal(t, out.String(), "starting 2 sidecar container(s)\n⠋ starting 2 sidecar container(s) … 1.5s")
	fmt.Fprint(p, "tial\n")
	assert.Equal(t, out.String(), "starting 2 sidecar container(s)\n⠋ starting 2 sidecar container(s) … 1.5s\r\033[Kpartial\n")
	p.redraw()
	fmt.Fprint(p, "end without newline")
	p.Stop()
	assert.Assert(t, strings.HasSuffix(out.String(), "⠙ partial … 0.0s\r\033[Kend without newline"), "%q", out.String())
}

func TestProgressTicks(t *testing.T) {
	var out bytes.Buffer // written under p.mu only; read after Stop
	p := newProgress(&out, time.Millisecond, time.Now)
	fmt.Fprintln(p, "waiting")
	time.Sleep(20 * time.Millisecond)
	p.Stop()
	s := out.String()
	assert.Assert(t, strings.Contains(s, "waiting …"), "%q", s)
	assert.Assert(t, strings.HasSuffix(s, "\r\033[K"), "the status line is erased at the end: %q", s)
}

func TestWithProgressOffATerminal(t *testing.T) {
	var out bytes.Buffer
	err := withProgress(&out, func(string) (string, bool) { return "", false }, func(w io.Writer) error {
		assert.Assert(t, w == io.Writer(&out), "off a terminal the lines go straight to the writer")
		fmt.Fprintln(w, "plain line")
		return nil
	})
	assert.NilError(t, err)
	assert.Equal(t, out.String(), "plain line\n")
}
