package approvals

import (
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/capfile"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

// What a proposal may carry is checked twice, with the same functions: by
// supervise when the agent submits it, and by the operator's side when a
// human types a host or path of their own.

// CheckText refuses a one-line field the operator will read that carries
// terminal control characters, bidi overrides or invisible characters.
func CheckText(field, s string) error { return termtext.Check(field, s, false) }

// CheckHost returns the normalised host name of h, or why it is refused.
func CheckHost(h string) (string, error) {
	if err := CheckText("host", h); err != nil {
		return "", err
	}
	host := mitm.NormalizeHost(h)
	switch {
	case host == "" || strings.ContainsAny(host, "/@ *") || !strings.Contains(host, "."):
		return "", fmt.Errorf("host %q: give a bare host name such as api.example.com", h)
	case mitm.IsIPLike(host):
		return "", fmt.Errorf("host %q is an IP address: bottles allow host names only", h)
	case len(host) > 253:
		return "", errors.New("host name longer than 253 characters")
	}
	return host, nil
}

// CheckPath validates a path prefix from the agent or the operator.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "..") || len(p) > 512 {
		return fmt.Errorf("paths: %q must be an absolute path prefix without '..'", p)
	}
	if err := CheckText("paths", p); err != nil {
		return err
	}
	return nil
}

// AgentBaseArg is the build argument RebaseDockerfile puts in the FROM line:
// the engine sets it to the snapshot of the running agent.
const AgentBaseArg = contract.AgentBaseArg

// ErrBadDockerfile is returned for a capability Dockerfile the bottle will
// not build.
var ErrBadDockerfile = errors.New("unusable Dockerfile")

// RebaseDockerfile returns df with its FROM pointing at the bottle's current
// agent (whatever image the agent named: it cannot pick another base) and
// the instructions after it unchanged. Instructions are read the way the
// builder reads them (see package capfile), and only those the bottle runs
// itself in a hardened container on its own network are admitted: RUN
// (without flags or heredocs), ENV, ARG, WORKDIR, USER and LABEL. ADD, COPY,
// ONBUILD, a second FROM, anything before the FROM but ARG, and every other
// instruction are refused, each refused line named in the error.
func RebaseDockerfile(df string) (string, error) {
	f, err := capfile.Parse(df)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadDockerfile, err)
	}
	lines := capfile.Lines(df)
	out := append([]string{}, lines[:f.FromLine]...)
	out = append(out, "ARG "+AgentBaseArg, "FROM ${"+AgentBaseArg+"}")
	out = append(out, lines[f.FromLine+1:]...)
	return strings.Join(out, "\n"), nil
}
