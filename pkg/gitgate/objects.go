package gitgate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// object is one entry of the scan set: its id, type and inflated size as
// cat-file --batch-check reports them.
type object struct {
	id   string
	typ  string
	size int64
}

// gitCmd is a git command with the gate's environment (gateEnv) in dir.
func gitCmd(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = env
	return cmd
}

// revList lists every object reachable from tips and not from exclude:
// `git rev-list --objects <tips…> --not <exclude…>`, ids fed on stdin (a
// push may name thousands of refs). Every exclude must exist locally.
func revList(ctx context.Context, dir string, env, tips, exclude []string) ([]string, error) {
	if len(tips) == 0 {
		return nil, nil
	}
	var in bytes.Buffer
	for _, t := range tips {
		in.WriteString(t + "\n")
	}
	for _, x := range exclude {
		in.WriteString("^" + x + "\n")
	}
	cmd := gitCmd(ctx, dir, env, "rev-list", "--objects", "--no-object-names", "--stdin")
	cmd.Stdin = &in
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git rev-list: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	ids := strings.Fields(string(out))
	for _, id := range ids {
		if !isHexID(id) {
			return nil, fmt.Errorf("git rev-list: unexpected output %q", id)
		}
	}
	return ids, nil
}

func isHexID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// batchCheck returns the type and size of each id ("missing" for ids the
// repository does not hold), in order, without reading any content.
func batchCheck(ctx context.Context, dir string, env, ids []string) ([]object, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmd := gitCmd(ctx, dir, env, "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)")
	cmd.Stdin = strings.NewReader(strings.Join(ids, "\n") + "\n")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(ids) {
		return nil, fmt.Errorf("git cat-file: %d answers for %d objects", len(lines), len(ids))
	}
	objs := make([]object, len(ids))
	for i, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[1] == "missing":
			objs[i] = object{id: ids[i], typ: "missing"}
		case len(f) == 3 && f[0] == ids[i]:
			n, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("git cat-file: size %q", f[2])
			}
			objs[i] = object{id: f[0], typ: f[1], size: n}
		default:
			return nil, fmt.Errorf("git cat-file: unexpected answer %q for %s", l, ids[i])
		}
	}
	return objs, nil
}

// objectReader streams raw objects out of one `git cat-file --batch`: no
// filters, no textconv, content exactly as stored.
type objectReader struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	errb bytes.Buffer
	wait chan error
}

func newObjectReader(ctx context.Context, dir string, env, ids []string) (*objectReader, error) {
	cmd := gitCmd(ctx, dir, env, "cat-file", "--batch")
	r := &objectReader{cmd: cmd, wait: make(chan error, 1)}
	cmd.Stderr = &r.errb
	var err error
	if r.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r.out = bufio.NewReaderSize(stdout, 64<<10)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	// Feed the ids from a goroutine: cat-file answers as it reads, and a
	// full pipe in both directions would otherwise deadlock.
	go func() {
		w := bufio.NewWriter(r.in)
		for _, id := range ids {
			if _, err := w.WriteString(id + "\n"); err != nil {
				break
			}
		}
		_ = w.Flush()
		_ = r.in.Close()
	}()
	return r, nil
}

// next reads the header of the next object and returns a reader over
// exactly its content; the caller must read it to the end before calling
// next again.
func (r *objectReader) next(want object) (io.Reader, error) {
	line, err := r.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w: %s", err, strings.TrimSpace(r.errb.String()))
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != want.id || f[1] != want.typ || f[2] != strconv.FormatInt(want.size, 10) {
		return nil, fmt.Errorf("git cat-file: unexpected header %q for %s %s", strings.TrimSpace(line), want.typ, want.id)
	}
	return &objectBody{r: r.out, left: want.size}, nil
}

// close waits for cat-file to exit.
func (r *objectReader) close() error {
	_ = r.in.Close()
	_, _ = io.Copy(io.Discard, r.out)
	if err := r.cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %w: %s", err, strings.TrimSpace(r.errb.String()))
	}
	return nil
}

// objectBody is one object's content followed by cat-file's newline.
type objectBody struct {
	r    *bufio.Reader
	left int64
}

func (b *objectBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		if b.r != nil {
			c, err := b.r.ReadByte()
			b.r = nil
			if err != nil || c != '\n' {
				return 0, errors.New("git cat-file: object not terminated")
			}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF && b.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
