//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/cli"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// lockedBuffer collects a terminal's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestExecTerminal: exec -it gives the command the caller's terminal: its
// size at start, the new size after the window changes (SIGWINCH), keys
// typed, and the command's exit code back.
func TestExecTerminal(t *testing.T) {
	env := itest.Require(t)
	sidecars := sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	home := t.TempDir()
	mf := filepath.Join(home, "bottle.toml")
	assert.NilError(t, os.WriteFile(mf, []byte("name = \"tty\"\nimage = \""+images.AgentTestImage+"\"\n[supervise]\nenabled = false\n"), 0o644))
	vars := map[string]string{"CLAUDE_BOTTLE_HOME": home, contract.ImageEnv: sidecars}
	run := cliRunner(t, vars)
	slug, _ := upBottle(t, run, mf, "tty")

	ptmx, tty, err := pty.Open()
	assert.NilError(t, err)
	defer func() { _ = ptmx.Close(); _ = tty.Close() }()
	assert.NilError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 33, Cols: 111}))
	var out lockedBuffer
	go func() { _, _ = ioCopy(&out, ptmx) }()
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(context.Background(), []string{"exec", "-it", slug, "sh", "-c", "stty size; read x; echo got:$x; stty size; exit 3"},
			cli.Stdio{In: tty, Out: tty, Err: tty}, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	}()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(out.String(), "33 111") {
			return poll.Success()
		}
		return poll.Continue("waiting for the first size: %q", out.String())
	}, poll.WithTimeout(30*time.Second))
	assert.NilError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 44, Cols: 122}))
	assert.NilError(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))
	time.Sleep(500 * time.Millisecond) // the resize travels to the engine before the keys do
	_, err = ptmx.Write([]byte("hello\r"))
	assert.NilError(t, err)
	select {
	case code := <-done:
		assert.Equal(t, code, 3, out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("exec did not end: %q", out.String())
	}
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(out.String(), "44 122") {
			return poll.Success()
		}
		return poll.Continue("waiting for the new size: %q", out.String())
	}, poll.WithTimeout(5*time.Second))
	assert.Assert(t, strings.Contains(out.String(), "got:hello"), out.String())
}

func ioCopy(dst *lockedBuffer, src *os.File) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			_, _ = dst.Write(buf[:k])
			n += int64(k)
		}
		if err != nil {
			return n, err
		}
	}
}
