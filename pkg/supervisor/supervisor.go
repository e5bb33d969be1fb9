// Package supervisor is the logic of initd, the PID 1 of the sidecar bundle:
// it selects the daemons, starts them in canonical order with their own
// environment, prefixes their output, forwards and interprets signals, tears
// the bundle down when one daemon dies (fail closed) and reaps every zombie
// through a single reaper.
package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-bottle/claude-bottle/pkg/names"
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
}

type child struct {
	name       string
	proc       *os.Process
	restarting bool // SIGUSR1: stopped on purpose, to be started again
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
}

// Run starts the daemons and supervises them until the bundle stops, and
// returns initd's exit code: 0 after a requested stop (SIGTERM, SIGINT or ctx
// cancelled), the exit code of the daemon that stopped on its own otherwise
// (128+signal when a signal killed it), 127 when a daemon could not be started.
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
	s := &Supervisor{opts: opts, byPid: map[int]*child{}, byName: map[string]*child{}}
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

	code := 0
	stopping := false
	var killTimer <-chan time.Time
	restartKill := map[int]*time.Timer{}
	restartDue := make(chan int, 4)

	beginStop := func(sig syscall.Signal, why string) {
		if stopping {
			return
		}
		stopping = true
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
				if c := s.byName[names.Egress]; c != nil && !stopping {
					s.logf("SIGHUP: forwarding to egress (route reload)")
					_ = c.proc.Signal(syscall.SIGHUP)
				} else {
					s.logf("SIGHUP: egress is not running; ignored")
				}
			case syscall.SIGUSR1:
				c := s.byName[names.Pipelock]
				switch {
				case stopping || c == nil:
					s.logf("SIGUSR1: pipelock is not running; ignored")
				case c.restarting:
					s.logf("SIGUSR1: pipelock restart already in progress")
				default:
					s.logf("SIGUSR1: restarting pipelock (config reload)")
					c.restarting = true
					_ = c.proc.Signal(syscall.SIGTERM)
					pid := c.proc.Pid
					restartKill[pid] = time.AfterFunc(s.opts.Grace, func() { restartDue <- pid })
				}
			}
		case pid := <-restartDue:
			if c := s.byPid[pid]; c != nil && c.restarting {
				s.logf("pipelock did not stop within %s; SIGKILL", s.opts.Grace)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
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
			if t := restartKill[ev.pid]; t != nil {
				t.Stop()
				delete(restartKill, ev.pid)
			}
			status := exitCode(ev.status)
			switch {
			case c.restarting && !stopping:
				s.logf("%s stopped (%s); starting it again", c.name, describe(ev.status))
				if err := s.start(c.name); err != nil {
					s.logf("restart %s: %v", c.name, err)
					code = 127
					beginStop(syscall.SIGTERM, "restart failed")
				}
			case stopping:
				s.logf("%s stopped (%s)", c.name, describe(ev.status))
			default:
				s.logf("%s exited on its own (%s); tearing the bundle down", c.name, describe(ev.status))
				code = status
				beginStop(syscall.SIGTERM, c.name+" exited")
			}
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

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
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
