package cli

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/creack/pty"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"
)

// screen collects what the program writes to the terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestSuperviseTUIOnATerminal runs `claude-bottle supervise` on a real
// pseudo-terminal: the list shows a hostile justification escaped (its OSC
// and bidi bytes never reach the terminal), a proposal queued while it runs
// appears by itself, with the bell, and q quits.
func TestSuperviseTUIOnATerminal(t *testing.T) {
	home := t.TempDir()
	ptmx, tty, err := pty.Open()
	assert.NilError(t, err)
	defer ptmx.Close()
	defer tty.Close()
	assert.NilError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}))
	var scr screen
	go func() { _, _ = io.Copy(&scr, ptmx) }()

	q := approvals.Queue{Dir: filepath.Join(home, "queue", "demo-abcde")}
	_, _, err = q.Submit(approvals.Proposal{Slug: "demo-abcde", Kind: approvals.KindPipelock, Host: "pypi.org", FailedURL: "https://pypi.org/",
		Justification: "a\x1b]0;PWNED\x07b\u202ec\rd"}, time.Now())
	assert.NilError(t, err)

	env := map[string]string{"CLAUDE_BOTTLE_HOME": home, "TERM": "xterm-256color"}
	done := make(chan int, 1)
	go func() {
		done <- Main(t.Context(), []string{"supervise", "--refresh", "200ms"}, Stdio{In: tty, Out: tty, Err: tty},
			func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	}()
	waitScreen := func(want string) {
		t.Helper()
		poll.WaitOn(t, func(poll.LogT) poll.Result {
			if strings.Contains(scr.String(), want) {
				return poll.Success()
			}
			return poll.Continue("screen lacks %q", want)
		}, poll.WithTimeout(20*time.Second), poll.WithDelay(50*time.Millisecond))
	}
	waitScreen(`a\x1b]0;PWNED\x07b\u202ec\rd`)
	out := scr.String()
	assert.Assert(t, !strings.Contains(out, "\x1b]0;PWNED"), "the agent's OSC reached the terminal")
	assert.Assert(t, !strings.Contains(out, "\u202e"), "the agent's bidi override reached the terminal")
	assert.Assert(t, !strings.Contains(out, "\a"), "no bell before anything new")

	_, _, err = q.Submit(approvals.Proposal{Slug: "demo-abcde", Kind: approvals.KindEgress, Host: "registry.npmjs.org",
		Justification: "install the dependencies"}, time.Now())
	assert.NilError(t, err)
	waitScreen("would route host: registry.npmjs.org")
	waitScreen("\a")

	_, err = ptmx.Write([]byte("q"))
	assert.NilError(t, err)
	select {
	case code := <-done:
		assert.Equal(t, code, ExitOK, scr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("supervise did not quit on q:\n%q", scr.String())
	}
}
