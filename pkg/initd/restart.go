package initd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// RestartPolicy is how initd brings back a daemon that died.
type RestartPolicy struct {
	// Base is the first back-off; each further exit within Window doubles
	// it, up to Max.
	Base, Max time.Duration
	// Limit is how many exits within Window are restarted; one more and
	// the daemon is left down as crash-looping.
	Limit  int
	Window time.Duration
}

// DefaultRestart restarts the first crash after 100 ms (a kill -9'd pipelock
// serves again well inside 2 s), doubles up to 5 s, and gives up after the
// sixth exit within a minute: a daemon that keeps dying is a bug or an
// attack (a request that panics it on purpose), and restarting it forever
// would hide that while every restart re-opens its port for a moment.
var DefaultRestart = RestartPolicy{Base: 100 * time.Millisecond, Max: 5 * time.Second, Limit: 5, Window: time.Minute}

func (p RestartPolicy) withDefaults() RestartPolicy {
	if p.Base <= 0 {
		p.Base = DefaultRestart.Base
	}
	if p.Max < p.Base {
		p.Max = max(DefaultRestart.Max, p.Base)
	}
	if p.Limit <= 0 {
		p.Limit = DefaultRestart.Limit
	}
	if p.Window <= 0 {
		p.Window = DefaultRestart.Window
	}
	return p
}

// delay is the back-off before the n-th restart within the window (n ≥ 1).
func (p RestartPolicy) delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// ParseRestartPolicy reads "LIMIT/WINDOW[/BASE]", e.g. "5/60s" or
// "3/10s/50ms" (initd's CLAUDE_BOTTLE_INITD_RESTARTS).
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return RestartPolicy{}, fmt.Errorf("restart policy %q: want LIMIT/WINDOW[/BASE], e.g. 5/60s", s)
	}
	var p RestartPolicy
	if _, err := fmt.Sscanf(parts[0], "%d", &p.Limit); err != nil || p.Limit < 1 || p.Limit > 1000 {
		return RestartPolicy{}, fmt.Errorf("restart policy %q: LIMIT must be a number from 1 to 1000", s)
	}
	w, err := time.ParseDuration(parts[1])
	if err != nil || w <= 0 {
		return RestartPolicy{}, fmt.Errorf("restart policy %q: WINDOW must be a duration such as 60s", s)
	}
	p.Window = w
	if len(parts) == 3 {
		b, err := time.ParseDuration(parts[2])
		if err != nil || b <= 0 || b > time.Minute {
			return RestartPolicy{}, fmt.Errorf("restart policy %q: BASE must be a duration up to 1m, e.g. 100ms", s)
		}
		p.Base = b
	}
	return p.withDefaults(), nil
}

// crashHistory holds a daemon's recent exit times.
type crashHistory struct{ exits []time.Time }

// record adds an exit and returns how many fell within window.
func (h *crashHistory) record(now time.Time, window time.Duration) int {
	h.exits = append(h.exits, now)
	h.exits = slices.DeleteFunc(h.exits, func(t time.Time) bool { return now.Sub(t) > window })
	return len(h.exits)
}

// Daemon states reported by the status socket.
const (
	StateStarting     = "starting"
	StateRunning      = "running"
	StateRestarting   = "restarting"
	StateCrashLooping = "crash-looping"
	StateStopped      = "stopped"
)

// DaemonStatus is one daemon as initd sees it.
type DaemonStatus struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	PID      int       `json:"pid,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Restarts int       `json:"restarts"`
	LastExit string    `json:"last_exit,omitempty"`
}

// Status is what initd's status socket reports.
type Status struct {
	Daemons []DaemonStatus `json:"daemons"`
}

// Problems lists the daemons that are not running, with why.
func (s Status) Problems() []string {
	var out []string
	for _, d := range s.Daemons {
		if d.State != StateRunning {
			msg := d.Name + " " + d.State
			if d.LastExit != "" {
				msg += " (" + d.LastExit + ")"
			}
			out = append(out, msg)
		}
	}
	return out
}

// Summary is one line for the healthcheck output, which the engine keeps
// and `claude-bottle ls` shows: every daemon's state and restart count.
func (s Status) Summary() string {
	var parts []string
	for _, d := range s.Daemons {
		parts = append(parts, fmt.Sprintf("%s=%s restarts=%d", d.Name, d.State, d.Restarts))
	}
	return strings.Join(parts, " ")
}

type statusBoard struct {
	mu      sync.Mutex
	daemons []DaemonStatus
}

func newStatusBoard(daemons []string) *statusBoard {
	b := &statusBoard{}
	for _, d := range daemons {
		b.daemons = append(b.daemons, DaemonStatus{Name: d, State: StateStarting})
	}
	return b
}

func (b *statusBoard) set(name string, f func(*DaemonStatus)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.daemons {
		if b.daemons[i].Name == name {
			f(&b.daemons[i])
		}
	}
}

func (b *statusBoard) snapshot() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Status{Daemons: slices.Clone(b.daemons)}
}

// serve answers every connection with the status as one JSON line; it
// reads nothing from the client.
func (b *statusBoard) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_ = json.NewEncoder(c).Encode(b.snapshot())
		_ = c.Close()
	}
}

// QueryStatus asks the initd whose status socket is addr.
func QueryStatus(ctx context.Context, addr string) (Status, error) {
	d := net.Dialer{Timeout: HealthTimeout}
	c, err := d.DialContext(ctx, "unix", addr)
	if err != nil {
		return Status{}, fmt.Errorf("initd status %s: %w", addr, err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(HealthTimeout))
	var st Status
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("initd status %s: %w", addr, err)
	}
	return st, nil
}
