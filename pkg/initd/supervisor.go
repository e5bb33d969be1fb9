// Package initd is the Go PID 1 of the sidecar bundle: its command line
// (Main: run the daemons, or `initd health`, the compose healthcheck) and its
// logic: it selects the daemons, starts them in canonical order with their own
// environment, prefixes their output, forwards and interprets signals,
// restarts a daemon that dies (with exponential back-off, giving up on one
// that keeps crashing), reports each daemon's state on a status socket, and
// reaps every zombie through a single reaper.
package initd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// DefaultGrace is how long children get between the forwarded SIGTERM and
// SIGKILL: under compose's 10 s stop_grace_period, so initd finishes its own
// shutdown before the engine kills it.
const DefaultGrace = 8 * time.Second

// Options configure Run. The zero value of each field is its default.
type Options struct {
	// Daemons to run, in start order.
	Daemons []string
	// Command returns the argv of a daemon (argv[0] is the program).
	Command func(daemon string) []string
	// Env is the base environment of the children (os.Environ by default);
	// ChildEnv scopes it per daemon.
	Env []string
	// Stdout and Stderr receive the children's prefixed output and initd's
	// own messages (default os.Stdout, os.Stderr).
	Stdout, Stderr io.Writer
	// Grace defaults to DefaultGrace.
	Grace time.Duration
	// Restart is the back-off policy for daemons that die; zero fields
	// take DefaultRestart's.
	Restart RestartPolicy
	// StatusAddr is the unix socket (e.g. "@claude-bottle-initd", an
	// abstract one) on which initd reports every daemon's state as JSON;
	// empty means none.
	StatusAddr string
}

type child struct {
	name string
	proc *os.Process
}

type exitEvent struct {
	pid    int
	status syscall.WaitStatus
}

// Supervisor runs one set of daemons; use Run.
type Supervisor struct {
	opts   Options
	outMu  sync.Mutex
	byPid  map[int]*child
	byName map[string]*child
	output sync.WaitGroup
	status *statusBoard
}

// Run starts the daemons and supervises them until the bundle stops, and
// returns initd's exit code: 0 after a requested stop (SIGTERM, SIGINT or ctx
// cancelled), 127 when a daemon could not be started at all. A daemon that
// dies later is restarted per opts.Restart, or left down as crash-looping;
// initd itself keeps running either way (its healthcheck then fails).
func Run(ctx context.Context, opts Options) int {
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	opts.Restart = opts.Restart.withDefaults()
	s := &Supervisor{opts: opts, byPid: map[int]*child{}, byName: map[string]*child{}, status: newStatusBoard(opts.Daemons)}
	return s.run(ctx)
}

func (s *Supervisor) logf(format string, args ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintf(s.opts.Stderr, "[initd] "+format+"\n", args...)
}

func (s *Supervisor) run(ctx context.Context) int {
	// Orphaned grandchildren (git-gate's ssh, say) are re-parented to us when
	// we are PID 1; as a subreaper the same holds when we are not.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.logf("cannot become a subreaper (%v); orphans will be reaped by the real init", err)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	exits := make(chan exitEvent, 64)
	stopReaper := s.startReaper(exits)
	defer stopReaper()

	if s.opts.StatusAddr != "" {
		if ln, err := net.Listen("unix", s.opts.StatusAddr); err != nil {
			s.logf("no status socket %s (%v); initd health reports ports only", s.opts.StatusAddr, err)
		} else {
			go s.status.serve(ln)
			defer func() { _ = ln.Close() }()
		}
	}

	code := 0
	stopping := false
	var killTimer <-chan time.Time
	restartDue := make(chan string, 8)
	history := map[string]*crashHistory{}
	pending := map[string]*time.Timer{}

	beginStop := func(sig syscall.Signal, why string) {
		if stopping {
			return
		}
		stopping = true
		for d, t := range pending {
			t.Stop()
			delete(pending, d)
		}
		if len(s.byPid) == 0 {
			return
		}
		s.logf("%s: sending %v to %d daemon(s), SIGKILL in %s", why, sig, len(s.byPid), s.opts.Grace)
		for _, c := range s.byPid {
			_ = c.proc.Signal(sig)
		}
		killTimer = time.After(s.opts.Grace)
	}

	if len(s.opts.Daemons) == 0 {
		s.logf("no daemons selected; idling until signalled")
	}
	for _, d := range s.opts.Daemons {
		if err := s.start(d); err != nil {
			s.logf("start %s: %v", d, err)
			code = 127
			beginStop(syscall.SIGTERM, "start failed")
			break
		}
	}

	// died handles a daemon that stopped (or could not be started again)
	// outside a requested stop: restart it after a back-off, or give up on
	// it when it keeps crashing. Either way the other daemons keep running;
	// while it is down the requests that need it fail closed (egress
	// without pipelock answers 502, nothing goes out unscanned).
	died := func(name, why string) {
		h := history[name]
		if h == nil {
			h = &crashHistory{}
			history[name] = h
		}
		now := time.Now()
		n := h.record(now, s.opts.Restart.Window)
		if n > s.opts.Restart.Limit {
			s.logf("%s %s; it exited %d times within %s: crash-looping, not restarting it (the bundle is unhealthy until it is brought up again)", name, why, n, s.opts.Restart.Window)
			s.status.set(name, func(d *DaemonStatus) { d.State, d.PID, d.LastExit = StateCrashLooping, 0, why })
			return
		}
		delay := s.opts.Restart.delay(n)
		s.logf("%s %s; restarting it in %s (restart %d within %s, limit %d)", name, why, delay, n, s.opts.Restart.Window, s.opts.Restart.Limit)
		s.status.set(name, func(d *DaemonStatus) { d.State, d.PID, d.LastExit = StateRestarting, 0, why })
		pending[name] = time.AfterFunc(delay, func() { restartDue <- name })
	}

	done := ctx.Done()
	for !stopping || len(s.byPid) > 0 {
		select {
		case <-done:
			done = nil
			beginStop(syscall.SIGTERM, "context cancelled")
		case sig := <-sigs:
			switch sig {
			case syscall.SIGTERM, syscall.SIGINT:
				beginStop(sig.(syscall.Signal), "received "+signalName(sig))
			case syscall.SIGHUP:
				if c := s.byName[contract.Egress]; c != nil && !stopping {
					s.logf("SIGHUP: forwarding to egress (route reload)")
					_ = c.proc.Signal(syscall.SIGHUP)
				} else {
					s.logf("SIGHUP: egress is not running; ignored")
				}
			case syscall.SIGUSR1:
				// pipelock reloads its configuration in place on SIGHUP:
				// requests in flight finish, nothing is refused meanwhile.
				if c := s.byName[contract.Pipelock]; c != nil && !stopping {
					s.logf("SIGUSR1: pipelock reloads its configuration (SIGHUP)")
					_ = c.proc.Signal(syscall.SIGHUP)
				} else {
					s.logf("SIGUSR1: pipelock is not running; ignored (it reads the current file when it starts)")
				}
			}
		case name := <-restartDue:
			delete(pending, name)
			if stopping {
				continue
			}
			if err := s.start(name); err != nil {
				died(name, fmt.Sprintf("could not be started again (%v)", err))
				continue
			}
			s.status.set(name, func(d *DaemonStatus) { d.Restarts++ })
		case <-killTimer:
			for pid, c := range s.byPid {
				s.logf("%s did not stop within %s; SIGKILL", c.name, s.opts.Grace)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		case ev := <-exits:
			c := s.byPid[ev.pid]
			if c == nil {
				// An orphan re-parented to us: reaped, nothing else to do.
				s.logf("reaped orphan pid %d (%s)", ev.pid, describe(ev.status))
				continue
			}
			delete(s.byPid, ev.pid)
			delete(s.byName, c.name)
			if stopping {
				s.logf("%s stopped (%s)", c.name, describe(ev.status))
				s.status.set(c.name, func(d *DaemonStatus) { d.State, d.PID = StateStopped, 0 })
				continue
			}
			// Take the daemon's process group along: nothing it started
			// may outlive it and hold its port or its files.
			_ = syscall.Kill(-ev.pid, syscall.SIGKILL)
			died(c.name, "exited on its own ("+describe(ev.status)+")")
		}
	}
	s.waitOutput(time.Second)
	s.logf("exiting with code %d", code)
	return code
}

// start launches one daemon with its scoped environment and its stdout and
// stderr piped through line prefixers. exec.Cmd.Wait is never called: the
// reaper collects every exit, children's and orphans' alike, so there is
// exactly one Wait4(-1) in the process. That is also why the command is not
// built with exec.CommandContext (its context watcher needs Wait); the
// supervisor's signal handling is the children's lifecycle.
func (s *Supervisor) start(daemon string) error {
	argv := s.opts.Command(daemon)
	if len(argv) == 0 {
		return errors.New("no command")
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = ChildEnv(s.opts.Env, daemon)
	cmd.Stdout, cmd.Stderr = outW, errW
	// Own process group, so SIGKILL takes the daemon's children along; and
	// die with initd should initd itself be killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	_ = outW.Close()
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		return err
	}
	c := &child{name: daemon, proc: cmd.Process}
	s.byPid[cmd.Process.Pid] = c
	s.byName[daemon] = c
	pid := cmd.Process.Pid
	s.status.set(daemon, func(d *DaemonStatus) { d.State, d.PID, d.Since = StateRunning, pid, time.Now().UTC() })
	s.output.Add(2)
	go s.prefix(daemon, outR, s.opts.Stdout)
	go s.prefix(daemon, errR, s.opts.Stderr)
	s.logf("started %s (pid %d)", daemon, cmd.Process.Pid)
	return nil
}

// maxLine bounds one output line; longer lines are split, never buffered
// without limit.
const maxLine = 64 << 10

func (s *Supervisor) prefix(daemon string, r *os.File, w io.Writer) {
	defer s.output.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLine)
	tag := "[" + daemon + "] "
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			s.outMu.Lock()
			_, _ = io.WriteString(w, tag)
			_, _ = w.Write(line)
			if line[len(line)-1] != '\n' {
				_, _ = io.WriteString(w, "\n")
			}
			s.outMu.Unlock()
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// waitOutput lets the prefixers flush what the children wrote last; a
// grandchild holding a pipe open must not keep initd alive, hence the bound.
func (s *Supervisor) waitOutput(d time.Duration) {
	done := make(chan struct{})
	go func() { s.output.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// startReaper reaps every child that exits, on SIGCHLD, with Wait4(-1,
// WNOHANG) until none is left, and reports each exit.
func (s *Supervisor) startReaper(exits chan<- exitEvent) func() {
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-chld:
			}
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if errors.Is(err, syscall.EINTR) {
					continue
				}
				if pid <= 0 || err != nil {
					break
				}
				if ws.Exited() || ws.Signaled() {
					select {
					case exits <- exitEvent{pid: pid, status: ws}:
					case <-stop:
						return
					}
				}
			}
		}
	}()
	// Children may have exited between Notify and now: reap once up front.
	select {
	case chld <- syscall.SIGCHLD:
	default:
	}
	return func() {
		signal.Stop(chld)
		close(stop)
		wg.Wait()
	}
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + signalName(ws.Signal())
	}
	return fmt.Sprintf("exit code %d", ws.ExitStatus())
}

func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if n := unix.SignalName(s); n != "" {
			return n
		}
	}
	return sig.String()
}
