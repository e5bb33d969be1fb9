package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

// notifyTimeout bounds one run of the notify command, so a hung notifier
// cannot pile up processes.
const notifyTimeout = 30 * time.Second

// NotifyEnv is the environment a notify command gets for p, beside the
// caller's: every value escaped (terminal-safe, one line), for commands
// such as notify-send that show them as they are.
func NotifyEnv(p approvals.Proposal) []string {
	return []string{
		"CLAUDE_BOTTLE_PROPOSAL_ID=" + termtext.Escape(p.ID),
		"CLAUDE_BOTTLE_PROPOSAL_SLUG=" + termtext.Escape(p.Slug),
		"CLAUDE_BOTTLE_PROPOSAL_KIND=" + termtext.Escape(p.Kind),
		"CLAUDE_BOTTLE_PROPOSAL_HOST=" + termtext.Escape(p.Host),
		"CLAUDE_BOTTLE_PROPOSAL_PATHS=" + termtext.Escape(strings.Join(p.Paths, " ")),
		"CLAUDE_BOTTLE_PROPOSAL_SUMMARY=" + Would(p),
		"CLAUDE_BOTTLE_PROPOSAL_JUSTIFICATION=" + termtext.Escape(p.Justification),
	}
}

// NotifyCommand returns a function that runs argv once per proposal — no
// shell: argv[0] is executed with argv[1:] as they are — with the proposal
// as JSON on stdin and as NotifyEnv variables. The agent's text never
// becomes part of a command line. Runs are in the background, bounded by
// notifyTimeout; a failure is passed to onErr (which may be nil).
func NotifyCommand(ctx context.Context, argv []string, onErr func(error)) func(approvals.Proposal) {
	return func(p approvals.Proposal) {
		if len(argv) == 0 {
			return
		}
		body, err := json.Marshal(p)
		if err != nil {
			if onErr != nil {
				onErr(err)
			}
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
			defer cancel()
			c := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // the operator's own command; proposal data only on stdin and in env
			c.Stdin = bytes.NewReader(append(body, '\n'))
			c.Env = append(os.Environ(), NotifyEnv(p)...)
			var out bytes.Buffer
			c.Stdout, c.Stderr = &out, &out
			if err := c.Run(); err != nil && onErr != nil {
				onErr(fmt.Errorf("notify command %s: %w: %s", argv[0], err, termtext.Escape(strings.TrimSpace(out.String()))))
			}
		}()
	}
}
