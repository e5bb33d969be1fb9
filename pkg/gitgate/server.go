package gitgate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Request is a parsed git:// request line.
type Request struct {
	Service string // git-upload-pack or git-receive-pack
	Repo    string // declared name, without .git
	Version string // "2" when the client asked for protocol v2
}

// ParseRequest reads the first pkt-line of a git:// connection:
// "<service> /<path>\0host=<host>\0[\0version=2\0]".
func ParseRequest(r *bufio.Reader) (Request, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Request{}, fmt.Errorf("read request: %w", err)
	}
	n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
	if err != nil || n < 5 || n > 1024 {
		return Request{}, errors.New("malformed request line")
	}
	buf := make([]byte, n-4)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Request{}, fmt.Errorf("read request: %w", err)
	}
	fields := strings.Split(string(buf), "\x00")
	cmd, path, ok := strings.Cut(strings.TrimRight(fields[0], "\n"), " ")
	if !ok {
		return Request{}, errors.New("malformed request line")
	}
	req := Request{Service: cmd}
	for _, f := range fields[1:] {
		if v, ok := strings.CutPrefix(f, "version="); ok {
			req.Version = v
		}
	}
	if cmd != "git-upload-pack" && cmd != "git-receive-pack" {
		return Request{}, fmt.Errorf("service %q is not offered (git-upload-pack and git-receive-pack only)", cmd)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
	name = strings.TrimSuffix(name, ".git")
	if name == "" || strings.ContainsAny(name, "/\\") || strings.Contains(name, "..") || strings.HasPrefix(name, "~") {
		return Request{}, fmt.Errorf("path %q: repos are served as git://git-gate/<name>.git", path)
	}
	req.Repo = name
	return req, nil
}

// pktLine encodes one pkt-line.
func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// Serve accepts git:// connections on ln until ctx ends.
func (g *Gate) Serve(ctx context.Context, ln net.Listener) error {
	go func() { <-ctx.Done(); _ = ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go g.handle(ctx, c)
	}
}

func (g *Gate) handle(ctx context.Context, c net.Conn) {
	defer func() { _ = c.Close() }()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	req, err := ParseRequest(br)
	if err != nil {
		g.fail(c, "", err.Error())
		return
	}
	r, ok := g.Repos[req.Repo]
	if !ok {
		g.fail(c, req.Repo, fmt.Sprintf("repository %q is not declared for this bottle (declared: %s)", req.Repo, strings.Join(g.Order, ", ")))
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch req.Service {
	case "git-upload-pack":
		// Refresh first; serve nothing if upstream cannot be reached.
		if err := g.Refresh(ctx, r.Name); err != nil {
			g.fail(c, r.Name, err.Error()+"; refusing to serve stale data")
			return
		}
	case "git-receive-pack":
		// No upstream contact before the push is scanned: a mirror that
		// never fetched is created empty (the push then carries full
		// history, all of which is scanned).
		unlock := g.lock(r.Name)
		err := g.ensureMirror(ctx, r)
		unlock()
		if err != nil {
			g.fail(c, r.Name, err.Error())
			return
		}
	}
	g.Log.Info("serve", "service", req.Service, "repo", r.Name, "remote", c.RemoteAddr().String())
	svc := strings.TrimPrefix(req.Service, "git-")
	cmd := exec.CommandContext(ctx, "git", svc, "--strict", g.MirrorPath(r.Name))
	if svc == "receive-pack" {
		cmd = exec.CommandContext(ctx, "git", svc, g.MirrorPath(r.Name))
	}
	cmd.Env = gateEnv(EnvRepo+"="+r.Name, EnvConfigDir+"="+g.ConfigDir, EnvWorkDir+"="+g.WorkDir)
	if req.Version == "2" {
		cmd.Env = append(cmd.Env, "GIT_PROTOCOL=version=2")
	}
	cmd.Stdin, cmd.Stdout = br, c
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		g.Log.Warn("git "+svc, "repo", r.Name, "err", err.Error(), "stderr", tail(stderr.String(), 500))
	}
}

// fail sends a git protocol error ("ERR <msg>"), which git shows the user as
// "fatal: remote error: <msg>".
func (g *Gate) fail(c net.Conn, repo, msg string) {
	g.Log.Info("refused", "repo", repo, "reason", msg)
	// One line: git prints the ERR payload as is.
	msg = strings.Join(strings.Fields(msg), " ")
	_, _ = io.WriteString(c, pktLine("ERR git-gate: "+msg+"\n"))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
