package supervise

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
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
	q := Queue{Dir: l.QueueDir(slug)}
	now := time.Now()
	p1, _, err := q.Submit(Proposal{Slug: slug, Kind: KindPipelock, FailedURL: "https://pypi.org/simple/requests/", Host: "pypi.org", Justification: "install requests"}, now)
	assert.NilError(t, err)
	p2, _, err := q.Submit(Proposal{Slug: slug, Kind: KindEgress, Host: "api.gitlab.com", Justification: "open a merge request"}, now.Add(time.Second))
	assert.NilError(t, err)
	p3, _, err := q.Submit(Proposal{Slug: slug, Kind: KindCapability, Dockerfile: "FROM claude-bottle-agent:latest\nRUN apt-get install -y jq\n", Justification: "parse JSON"}, now.Add(2*time.Second))
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
	assert.Assert(t, ok && r.Decision == Approved)

	// Edit the egress route before approving: modified, with the operator's paths.
	m = press(m, "e")
	m = press(m, typed(" /api/v4/projects/")...)
	assert.Assert(t, is.Contains(m.View(), "host [paths…]: api.gitlab.com /api/v4/projects/"))
	m = press(m, "enter")
	r, ok, err = q.Response(p2.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok)
	assert.Equal(t, r.Decision, Modified)
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
	assert.Assert(t, ok && r.Decision == Rejected && r.Notes == "use python")
	assert.Assert(t, is.Contains(m.View(), "no pending proposals"))

	// esc leaves input without acting; q quits.
	_, cmd := press(m, "q").Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	assert.Assert(t, cmd != nil)
	assert.Assert(t, !strings.Contains(press(m, "q").View(), "pending"))
}
