package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

// Actions is what the operator TUI does; *Operator implements it.
type Actions interface {
	Pending() ([]approvals.Proposal, error)
	Approve(ctx context.Context, id, notes string) (AuditEntry, error)
	ApproveModified(ctx context.Context, id, host string, paths []string, notes string) (AuditEntry, error)
	ApproveWith(ctx context.Context, id string, opts ApproveOptions) (AuditEntry, error)
	Reject(id, reason string) error
}

var _ Actions = (*Operator)(nil)

type tuiMode int

const (
	modeList tuiMode = iota
	modeDetail
	modeReject // typing a rejection reason
	modeEdit   // editing the host (and paths) before approving
	modeWiden  // confirming that an approval widens an authenticated route
)

// TUIOptions configure the interactive view. Zero values are defaults.
type TUIOptions struct {
	// Refresh is how often the list reloads by itself (default 2s; a
	// negative value turns it off, for tests that send ticks themselves).
	Refresh time.Duration
	// Bell, when set, gets the terminal bell (BEL) when a new proposal
	// arrives.
	Bell io.Writer
	// Notify, when set, is called once for every new proposal (see
	// NotifyCommand).
	Notify func(approvals.Proposal)
}

// refreshMsg is the tick that reloads the list.
type refreshMsg struct{}

// Model is the bubbletea model of `claude-bottle supervise`: a list of
// pending proposals of every bottle, a detail view, approve, reject with a
// reason, and edit-then-approve.
type Model struct {
	ctx     context.Context
	act     Actions
	opts    TUIOptions
	seen    map[string]bool
	items   []approvals.Proposal
	cursor  int
	mode    tuiMode
	input   string
	status  string
	quitted bool
}

// NewModel loads the pending proposals, with the default options.
func NewModel(ctx context.Context, act Actions) Model {
	return NewModelWith(ctx, act, TUIOptions{})
}

// NewModelWith loads the pending proposals; the ones there at start are
// not "new" (no bell, no notification).
func NewModelWith(ctx context.Context, act Actions, opts TUIOptions) Model {
	if opts.Refresh == 0 {
		opts.Refresh = 2 * time.Second
	}
	m := Model{ctx: ctx, act: act, opts: opts}
	m.reload()
	m.seen = map[string]bool{}
	for _, p := range m.items {
		m.seen[p.ID] = true
	}
	return m
}

func (m *Model) reload() {
	items, err := m.act.Pending()
	if err != nil {
		m.status = "error: " + termtext.Escape(err.Error())
		return
	}
	var fresh []approvals.Proposal
	for _, p := range items {
		if m.seen != nil && !m.seen[p.ID] {
			m.seen[p.ID] = true
			fresh = append(fresh, p)
		}
	}
	if len(fresh) > 0 {
		if m.opts.Bell != nil {
			_, _ = io.WriteString(m.opts.Bell, "\a")
		}
		if m.opts.Notify != nil {
			for _, p := range fresh {
				m.opts.Notify(p)
			}
		}
		m.status = fmt.Sprintf("%d new proposal(s)", len(fresh))
	}
	m.items = items
	if m.cursor >= len(m.items) {
		m.cursor = max(0, len(m.items)-1)
	}
}

// Init implements tea.Model: it starts the refresh tick.
func (m Model) Init() tea.Cmd { return m.tick() }

func (m Model) tick() tea.Cmd {
	if m.opts.Refresh < 0 {
		return nil
	}
	return tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return refreshMsg{} })
}

func (m Model) current() (approvals.Proposal, bool) {
	if m.cursor < 0 || m.cursor >= len(m.items) {
		return approvals.Proposal{}, false
	}
	return m.items[m.cursor], true
}

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(refreshMsg); ok {
		// Keep the selection on the same proposal when others come and go.
		var id string
		if p, ok := m.current(); ok {
			id = p.ID
		}
		m.reload()
		for i, p := range m.items {
			if p.ID == id {
				m.cursor = i
			}
		}
		if _, ok := m.current(); !ok && m.mode != modeList {
			m.mode = modeList
		}
		return m, m.tick()
	}
	key, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	if key.Type == tea.KeyCtrlC {
		m.quitted = true
		return m, tea.Quit
	}
	switch m.mode {
	case modeReject, modeEdit:
		return m.updateInput(key)
	case modeWiden:
		if key.String() == "y" {
			if p, ok := m.current(); ok {
				if _, err := m.act.ApproveWith(m.ctx, p.ID, ApproveOptions{WidenAuth: true}); err != nil {
					m.status = "approve failed: " + termtext.Escape(err.Error())
				} else {
					m.status = "approved " + p.ID + " (authenticated route WIDENED): " + Would(p)
					m.reload()
				}
			}
		} else {
			m.status = "not approved"
		}
		m.mode = modeList
		return m, nil
	}
	switch key.String() {
	case "q":
		m.quitted = true
		return m, tea.Quit
	case "up", "k":
		if m.cursor > 0 {
			m.cursor--
		}
	case "down", "j":
		if m.cursor < len(m.items)-1 {
			m.cursor++
		}
	case "enter":
		if _, ok := m.current(); ok {
			m.mode = modeDetail
		}
	case "esc":
		m.mode = modeList
	case "R":
		m.reload()
		m.status = fmt.Sprintf("%d pending", len(m.items))
	case "a":
		if p, ok := m.current(); ok {
			if p.Kind == approvals.KindCapability && m.mode != modeDetail {
				// A rebuild is approved only after its Dockerfile was shown.
				m.mode = modeDetail
				m.status = "read the Dockerfile the rebuild runs, then press a again to approve"
				return m, nil
			}
			_, err := m.act.Approve(m.ctx, p.ID, "")
			switch {
			case errors.Is(err, ErrWidensAuth):
				m.mode = modeWiden
				m.status = termtext.Escape(err.Error())
			case err != nil:
				m.status = "approve failed: " + termtext.Escape(err.Error())
			default:
				m.status = "approved " + p.ID + ": " + Would(p)
				m.mode = modeList
				m.reload()
			}
		}
	case "r":
		if _, ok := m.current(); ok {
			m.mode, m.input = modeReject, ""
		}
	case "e":
		if p, ok := m.current(); ok && (p.Kind == approvals.KindPipelock || p.Kind == approvals.KindEgress) {
			m.mode, m.input = modeEdit, strings.TrimSpace(p.Host+" "+strings.Join(p.Paths, " "))
		}
	}
	return m, nil
}

func (m Model) updateInput(key tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch key.Type {
	case tea.KeyEsc:
		m.mode, m.input = modeList, ""
		return m, nil
	case tea.KeyBackspace:
		if m.input != "" {
			r := []rune(m.input)
			m.input = string(r[:len(r)-1])
		}
		return m, nil
	case tea.KeyEnter:
		p, _ := m.current()
		switch m.mode {
		case modeReject:
			if strings.TrimSpace(m.input) == "" {
				m.status = "a rejection needs a reason (the agent reads it)"
				return m, nil
			}
			if err := m.act.Reject(p.ID, m.input); err != nil {
				m.status = "reject failed: " + termtext.Escape(err.Error())
				return m, nil
			}
			m.status = "rejected " + p.ID
		case modeEdit:
			f := strings.Fields(m.input)
			if len(f) == 0 {
				m.status = "give a host (and, for a route, path prefixes)"
				return m, nil
			}
			if _, err := m.act.ApproveModified(m.ctx, p.ID, f[0], f[1:], "modified by the operator"); err != nil {
				m.status = "approve failed: " + termtext.Escape(err.Error())
				return m, nil
			}
			m.status = "approved " + p.ID + " with " + termtext.Escape(m.input)
		}
		m.mode, m.input = modeList, ""
		m.reload()
		return m, nil
	case tea.KeySpace:
		m.input += " "
	case tea.KeyRunes:
		m.input += string(key.Runes)
	}
	return m, nil
}

// Would says what approving p does, escaped for a terminal: for a
// capability rebuild, the first instruction it adds and how many lines
// follow.
func Would(p approvals.Proposal) string {
	switch p.Kind {
	case approvals.KindPipelock:
		return "would allow host: " + termtext.Escape(p.Host)
	case approvals.KindEgress:
		if len(p.Paths) > 0 {
			return "would route host: " + termtext.Escape(p.Host) + " paths: " + termtext.Escape(strings.Join(p.Paths, ", "))
		}
		return "would route host: " + termtext.Escape(p.Host)
	case approvals.KindCapability:
		diff := DockerfileDiff(p.Dockerfile)[1:]
		var added []string
		for _, l := range diff {
			if t := strings.TrimSpace(strings.TrimPrefix(l, "+ ")); t != "" && !strings.HasPrefix(t, "#") {
				added = append(added, t)
			}
		}
		s := "would rebuild the agent image"
		if len(added) > 0 {
			s += ": " + oneLine(termtext.Escape(added[0]), 60)
			if len(added) > 1 {
				s += fmt.Sprintf(" (+%d more lines)", len(added)-1)
			}
		}
		return s
	}
	return termtext.Escape(p.Kind)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// RebasedForDisplay is the full Dockerfile an approval of p builds (its
// FROM replaced by the snapshot of the running agent), escaped for a
// terminal, or the reason it cannot be built.
func RebasedForDisplay(p approvals.Proposal) string {
	df, err := approvals.RebaseDockerfile(p.Dockerfile)
	if err != nil {
		return "cannot be built: " + termtext.Escape(err.Error())
	}
	return termtext.EscapeLines(df)
}

// View implements tea.Model.
func (m Model) View() string {
	if m.quitted {
		return ""
	}
	var b strings.Builder
	b.WriteString("claude-bottle supervise — pending proposals of every bottle\n\n")
	switch {
	case len(m.items) == 0:
		b.WriteString("  no pending proposals (R refreshes)\n")
	case m.mode == modeDetail || m.mode == modeReject || m.mode == modeEdit || m.mode == modeWiden:
		p, _ := m.current()
		fmt.Fprintf(&b, "  id:            %s\n  bottle:        %s\n  tool:          %s\n  asked at:      %s\n", termtext.Escape(p.ID), termtext.Escape(p.Slug), termtext.Escape(p.Kind), p.CreatedAt.Format("2006-01-02 15:04:05"))
		if p.FailedURL != "" {
			fmt.Fprintf(&b, "  failed url:    %s\n", termtext.Escape(p.FailedURL))
		}
		fmt.Fprintf(&b, "  → %s\n  justification: %s\n", Would(p), termtext.Escape(p.Justification))
		if p.Dockerfile != "" {
			b.WriteString("  What it adds to the running agent:\n")
			for _, l := range DockerfileDiff(p.Dockerfile) {
				b.WriteString("    " + termtext.Escape(l) + "\n")
			}
			b.WriteString("  The full Dockerfile approving it builds:\n")
			for _, l := range strings.Split(RebasedForDisplay(p), "\n") {
				b.WriteString("    | " + l + "\n")
			}
		}
	default:
		for i, p := range m.items {
			cursor := "  "
			if i == m.cursor {
				cursor = "> "
			}
			fmt.Fprintf(&b, "%s%-16s %-17s %s  — %s\n", cursor, termtext.Escape(p.Slug), termtext.Escape(p.Kind), Would(p), oneLine(termtext.Escape(p.Justification), 50))
		}
	}
	b.WriteString("\n")
	switch m.mode {
	case modeReject:
		b.WriteString("reason: " + termtext.Escape(m.input) + "▌  (enter to reject, esc to cancel)\n")
	case modeEdit:
		b.WriteString("host [paths…]: " + termtext.Escape(m.input) + "▌  (enter to approve as edited, esc to cancel)\n")
	case modeWiden:
		b.WriteString("WIDEN the authenticated route (its credential goes to more paths)? y approves widened, any other key cancels\n")
	default:
		fmt.Fprintf(&b, "↑/↓ move · enter details · a approve · r reject · e edit & approve · R refresh · esc back · q quit  (refreshes every %s)\n", m.opts.Refresh)
	}
	if m.status != "" {
		b.WriteString(m.status + "\n")
	}
	return b.String()
}
