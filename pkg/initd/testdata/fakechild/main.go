// Command fakechild stands in for the sidecar binary in initd's tests. Its
// first argument is the daemon name; FAKE_<DAEMON> (upper case, '-' -> '_')
// picks a behaviour: run (default), ignore-term, exit=N, selfkill, orphans,
// listen, exit-times=N (exit 1 on the first N starts, counted in
// $FAKE_COUNTER_DIR, then run). It reports what it sees on stdout so tests can assert on it.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var ports = map[string]string{"egress": "9099", "pipelock": "8888", "git-gate": "9418", "supervise": "9100"}

func main() {
	daemon := os.Args[1]
	mode := os.Getenv("FAKE_" + strings.ToUpper(strings.ReplaceAll(daemon, "-", "_")))
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	fmt.Printf("ready %s pid=%d argv=%s\n", daemon, os.Getpid(), strings.Join(os.Args[1:], " "))
	fmt.Fprintf(os.Stderr, "stderr-line %s\n", daemon)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "EGRESS_TOKEN_") {
			k, _, _ := strings.Cut(kv, "=")
			fmt.Printf("token-visible %s %s\n", daemon, k)
		}
	}
	switch {
	case strings.HasPrefix(mode, "exit-times="):
		n, _ := strconv.Atoi(strings.TrimPrefix(mode, "exit-times="))
		f := os.Getenv("FAKE_COUNTER_DIR") + "/" + daemon
		b, _ := os.ReadFile(f)
		seen, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		_ = os.WriteFile(f, []byte(strconv.Itoa(seen+1)), 0o600)
		if seen < n {
			fmt.Printf("crashing %s %d\n", daemon, seen+1)
			os.Exit(1)
		}
	case strings.HasPrefix(mode, "exit="):
		n, _ := strconv.Atoi(strings.TrimPrefix(mode, "exit="))
		time.Sleep(300 * time.Millisecond)
		os.Exit(n)
	case mode == "selfkill":
		time.Sleep(300 * time.Millisecond)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case mode == "orphans":
		// sh exits at once; its sleeps are re-parented to the nearest
		// subreaper (initd) and become its zombies when they finish.
		_ = exec.Command("sh", "-c", "for i in 1 2 3 4 5; do sleep 0.2 & done; exit 0").Run()
		fmt.Printf("orphans-spawned %s\n", daemon)
	case mode == "listen":
		ln, err := net.Listen("tcp", "127.0.0.1:"+ports[daemon])
		if err != nil {
			fmt.Printf("listen-failed %s %v\n", daemon, err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		fmt.Printf("listening %s\n", daemon)
	}
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			fmt.Printf("hup %s\n", daemon)
		case syscall.SIGTERM, syscall.SIGINT:
			if mode == "ignore-term" {
				fmt.Printf("ignoring-term %s\n", daemon)
				continue
			}
			fmt.Printf("term %s\n", daemon)
			os.Exit(0)
		}
	}
}
