package cli

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// progress shows long work on a terminal: every finished line is printed as
// usual, and below it a live status line — a spinner, the step in progress
// (the last line printed) and the time it has taken — is redrawn until the
// next line arrives or Stop is called. Off a terminal callers use the plain
// writer and get plain lines; so do terminals with TERM=dumb or NO_COLOR set.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	buf     bytes.Buffer
	step    string
	since   time.Time
	frame   int
	drawn   bool
	stop    chan struct{}
	stopped sync.WaitGroup
	now     func() time.Time
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// withProgress runs f with a writer for its progress lines: a live
// progress display on a terminal that takes cursor movement, w itself
// otherwise. The display is gone when withProgress returns.
func withProgress(w io.Writer, env LookupEnv, f func(io.Writer) error) error {
	if !fancyOutput(w, env) {
		return f(w)
	}
	p := newProgress(w, 100*time.Millisecond, time.Now)
	defer p.Stop()
	return f(p)
}

// newProgress starts redrawing every tick (0: no redraw goroutine, for tests
// that call redraw themselves).
func newProgress(w io.Writer, tick time.Duration, now func() time.Time) *progress {
	p := &progress{w: w, stop: make(chan struct{}), now: now, since: now()}
	if tick > 0 {
		p.stopped.Add(1)
		go func() {
			defer p.stopped.Done()
			t := time.NewTicker(tick)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.redraw()
				}
			}
		}()
	}
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadString('\n')
		if err != nil {
			p.buf.Reset()
			p.buf.WriteString(line)
			break
		}
		p.clear()
		if _, err := io.WriteString(p.w, line); err != nil {
			return 0, err
		}
		p.step, p.since = trimNL(line), p.now()
	}
	return len(b), nil
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// clear erases the status line; p.mu is held.
func (p *progress) clear() {
	if p.drawn {
		_, _ = io.WriteString(p.w, "\r\033[K")
		p.drawn = false
	}
}

func (p *progress) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.step == "" {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "%s %s … %.1fs", spinner[p.frame%len(spinner)], p.step, p.now().Sub(p.since).Seconds())
	p.frame++
	p.drawn = true
}

// Stop ends the redraws, erases the status line and flushes a partial line.
func (p *progress) Stop() {
	close(p.stop)
	p.stopped.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	if p.buf.Len() > 0 {
		_, _ = p.w.Write(p.buf.Bytes())
		p.buf.Reset()
	}
}
