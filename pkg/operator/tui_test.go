package operator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"
)

// press drives the model like a terminal would, without one.
func press(m tea.Model, keys ...string) tea.Model {
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "backspace":
			msg = tea.KeyMsg{Type: tea.KeyBackspace}
		case " ":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		m, _ = m.Update(msg)
	}
	return m
}

func typed(s string) []string {
	var out []string
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

func TestTUI(t *testing.T) {
	l, slug := stagedBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	now := time.Now()
	p1, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindPipelock, FailedURL: "https://pypi.org/simple/requests/", Host: "pypi.org", Justification: "install requests"}, now)
	assert.NilError(t, err)
	p2, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindEgress, Host: "api.gitlab.com", Justification: "open a merge request"}, now.Add(time.Second))
	assert.NilError(t, err)
	p3, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindCapability, Dockerfile: "FROM claude-bottle-agent:latest\nRUN apt-get install -y jq\n", Justification: "parse JSON"}, now.Add(2*time.Second))
	assert.NilError(t, err)
	app := &recordingApplier{}
	op := &Operator{Layout: l, Applier: app}

	var m tea.Model = NewModel(t.Context(), op)
	v := m.View()
	assert.Assert(t, is.Contains(v, "> "+slug))
	assert.Assert(t, is.Contains(v, "would allow host: pypi.org"))
	assert.Assert(t, is.Contains(v, "would route host: api.gitlab.com"))

	// Detail view of the first, then approve it.
	m = press(m, "enter")
	assert.Assert(t, is.Contains(m.View(), "failed url:    https://pypi.org/simple/requests/"))
	assert.Assert(t, is.Contains(m.View(), "→ would allow host: pypi.org"))
	m = press(m, "a")
	assert.Assert(t, is.Contains(m.View(), "approved "+p1.ID))
	r, ok, err := q.Response(p1.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && r.Decision == approvals.Approved)

	// Edit the egress route before approving: modified, with the operator's paths.
	m = press(m, "e")
	m = press(m, typed(" /api/v4/projects/")...)
	assert.Assert(t, is.Contains(m.View(), "host [paths…]: api.gitlab.com /api/v4/projects/"))
	m = press(m, "enter")
	r, ok, err = q.Response(p2.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok)
	assert.Equal(t, r.Decision, approvals.Modified)
	assert.DeepEqual(t, r.Paths, []string{"/api/v4/projects/"})

	// Reject the capability with a reason; an empty reason is refused.
	assert.Assert(t, is.Contains(m.View(), "would rebuild the agent image"))
	m = press(m, "enter")
	assert.Assert(t, is.Contains(m.View(), "+ RUN apt-get install -y jq"))
	m = press(m, "r", "enter")
	assert.Assert(t, is.Contains(m.View(), "a rejection needs a reason"))
	m = press(m, typed("use pythonx")...)
	m = press(m, "backspace", "enter")
	r, ok, err = q.Response(p3.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && r.Decision == approvals.Rejected && r.Notes == "use python")
	assert.Assert(t, is.Contains(m.View(), "no pending proposals"))

	// esc leaves input without acting; q quits.
	_, cmd := press(m, "q").Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	assert.Assert(t, cmd != nil)
	assert.Assert(t, !strings.Contains(press(m, "q").View(), "pending"))
}

func TestTUIRefreshesRingsAndNotifies(t *testing.T) {
	l, slug := stagedBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	_, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindPipelock, FailedURL: "https://pypi.org/", Host: "pypi.org", Justification: "install requests"}, time.Now())
	assert.NilError(t, err)
	var bell strings.Builder
	var notified []approvals.Proposal
	op := &Operator{Layout: l, Applier: &recordingApplier{}}
	var m tea.Model = NewModelWith(t.Context(), op, TUIOptions{Refresh: -1, Bell: &bell, Notify: func(p approvals.Proposal) { notified = append(notified, p) }})
	assert.Equal(t, bell.String(), "", "what is there at start is not new")

	// A hostile justification (written past the door) arrives: the tick
	// shows it, escaped, rings once and notifies once.
	p2, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindEgress, Host: "api.gitlab.com", Justification: "fine\r\x1b]0;PWNED\x07\x1b[2K\u202eharmless"}, time.Now().Add(time.Second))
	assert.NilError(t, err)
	m, cmd := m.Update(refreshMsg{})
	assert.Assert(t, cmd == nil, "no tick when refresh is off")
	v := m.View()
	assert.Assert(t, is.Contains(v, `fine\r\x1b]0;PWNED\x07\x1b[2K\u202eharmless`), v)
	assert.Assert(t, !strings.ContainsAny(v, "\r\x1b\x07\u202e"), "%q", v)
	assert.Assert(t, is.Contains(v, "1 new proposal(s)"))
	assert.Equal(t, bell.String(), "\a")
	assert.Equal(t, len(notified), 1)
	assert.Equal(t, notified[0].ID, p2.ID)
	m = press(m, "down", "enter")
	v = m.View()
	assert.Assert(t, is.Contains(v, `justification: fine\r\x1b]0;PWNED\x07\x1b[2K\u202eharmless`), v)
	m, _ = m.Update(refreshMsg{})
	assert.Equal(t, bell.String(), "\a", "nothing new, no bell")
	assert.Assert(t, is.Contains(m.View(), "justification: fine"), "the detail view stays on its proposal")

	// The default refresh ticks.
	m2 := NewModel(t.Context(), op)
	assert.Assert(t, m2.Init() != nil)
}

func TestTUIShowsTheDockerfileBeforeApprovingARebuild(t *testing.T) {
	l, slug := stagedBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindCapability, Dockerfile: "FROM x\nRUN apt-get install -y jq\n", Justification: "parse JSON"}, time.Now())
	assert.NilError(t, err)
	app := &recordingApplier{}
	var m tea.Model = NewModelWith(t.Context(), &Operator{Layout: l, Applier: app}, TUIOptions{Refresh: -1})
	assert.Assert(t, is.Contains(m.View(), "would rebuild the agent image: RUN apt-get install -y jq"))
	m = press(m, "a")
	assert.Equal(t, len(app.calls), 0, "a from the list opens the detail view first")
	v := m.View()
	assert.Assert(t, is.Contains(v, "The full Dockerfile approving it builds:\n    | ARG CLAUDE_BOTTLE_AGENT_BASE\n    | FROM ${CLAUDE_BOTTLE_AGENT_BASE}\n    | RUN apt-get install -y jq\n"), v)
	m = press(m, "a")
	assert.Equal(t, len(app.calls), 1)
	r, ok, err := q.Response(p.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && r.Decision == approvals.Approved)
}

func TestNotifyCommandGetsTheProposalWithoutAShell(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "notify.sh")
	assert.NilError(t, os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.args\"\ncat > \"$0.stdin\"\nprintf '%s' \"$CLAUDE_BOTTLE_PROPOSAL_JUSTIFICATION\" > \"$0.env\"\n"), 0o755))
	p := approvals.Proposal{ID: "20260101T000000-abcd", Slug: "demo-abcde", Kind: approvals.KindEgress, Host: "x.example.com", Justification: "$(touch " + dir + "/pwned); `touch " + dir + "/pwned2` \x1b[2K"}
	var errs []error
	notify := NotifyCommand(t.Context(), []string{script, "first arg"}, func(err error) { errs = append(errs, err) })
	notify(p)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if _, err := os.Stat(script + ".env"); err != nil {
			return poll.Continue("not run yet")
		}
		return poll.Success()
	}, poll.WithTimeout(10*time.Second))
	args, _ := os.ReadFile(script + ".args")
	assert.Equal(t, string(args), "first arg\n")
	stdin, _ := os.ReadFile(script + ".stdin")
	var got approvals.Proposal
	assert.NilError(t, json.Unmarshal(stdin, &got))
	assert.Equal(t, got.Justification, p.Justification)
	env, _ := os.ReadFile(script + ".env")
	assert.Equal(t, string(env), "$(touch "+dir+"/pwned); `touch "+dir+"/pwned2` \\x1b[2K")
	for _, f := range []string{"pwned", "pwned2"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.Assert(t, os.IsNotExist(err), "the justification ran as a command")
	}
	assert.Equal(t, len(errs), 0)
}

func TestTUIWideningIsAnExplicitChoice(t *testing.T) {
	l, slug := authBottle(t)
	q := approvals.Queue{Dir: l.QueueDir(slug)}
	p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindEgress, Host: "api.github.com", Justification: "the whole API for this task"}, time.Now())
	assert.NilError(t, err)
	app := &recordingApplier{}
	var m tea.Model = NewModelWith(t.Context(), &Operator{Layout: l, Applier: app}, TUIOptions{Refresh: -1})
	m = press(m, "a")
	v := m.View()
	assert.Assert(t, is.Contains(v, "route api.github.com carries a credential (token) for /repos/acme/ only; this sends it to every path"), v)
	assert.Assert(t, is.Contains(v, "WIDEN the authenticated route"), v)
	m = press(m, "n")
	assert.Assert(t, is.Contains(m.View(), "not approved"))
	assert.Equal(t, len(app.calls), 0)
	m = press(m, "a", "y")
	assert.Assert(t, is.Contains(m.View(), "(authenticated route WIDENED)"), m.View())
	r, ok, err := q.Response(p.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && r.Decision == approvals.Approved)
}
