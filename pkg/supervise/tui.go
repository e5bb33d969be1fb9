package supervise

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// Actions is what the operator TUI does; *Operator implements it.
type Actions interface {
	Pending() ([]Proposal, error)
	Approve(ctx context.Context, id, notes string) (AuditEntry, error)
	ApproveModified(ctx context.Context, id, host string, paths []string, notes string) (AuditEntry, error)
	Reject(id, reason string) error
}

var _ Actions = (*Operator)(nil)

type tuiMode int

const (
	modeList tuiMode = iota
	modeDetail
	modeReject // typing a rejection reason
	modeEdit   // editing the host (and paths) before approving
)

// Model is the bubbletea model of `claude-bottle supervise`: a list of
// pending proposals of every bottle, a detail view, approve, reject with a
// reason, and edit-then-approve.
type Model struct {
	ctx     context.Context
	act     Actions
	items   []Proposal
	cursor  int
	mode    tuiMode
	input   string
	status  string
	quitted bool
}

// NewModel loads the pending proposals.
func NewModel(ctx context.Context, act Actions) Model {
	m := Model{ctx: ctx, act: act}
	m.reload()
	return m
}

func (m *Model) reload() {
	items, err := m.act.Pending()
	if err != nil {
		m.status = "error: " + err.Error()
		return
	}
	m.items = items
	if m.cursor >= len(m.items) {
		m.cursor = max(0, len(m.items)-1)
	}
}

// Init implements tea.Model.
func (m Model) Init() tea.Cmd { return nil }

func (m Model) current() (Proposal, bool) {
	if m.cursor < 0 || m.cursor >= len(m.items) {
		return Proposal{}, false
	}
	return m.items[m.cursor], true
}

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
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
			if _, err := m.act.Approve(m.ctx, p.ID, ""); err != nil {
				m.status = "approve failed: " + err.Error()
			} else {
				m.status = "approved " + p.ID + ": " + would(p)
				m.mode = modeList
				m.reload()
			}
		}
	case "r":
		if _, ok := m.current(); ok {
			m.mode, m.input = modeReject, ""
		}
	case "e":
		if p, ok := m.current(); ok && (p.Kind == KindPipelock || p.Kind == KindEgress) {
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
				m.status = "reject failed: " + err.Error()
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
				m.status = "approve failed: " + err.Error()
				return m, nil
			}
			m.status = "approved " + p.ID + " with " + m.input
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

// would says what approving p does.
func would(p Proposal) string {
	switch p.Kind {
	case KindPipelock:
		return "would allow host: " + p.Host
	case KindEgress:
		if len(p.Paths) > 0 {
			return "would route host: " + p.Host + " paths: " + strings.Join(p.Paths, ", ")
		}
		return "would route host: " + p.Host
	case KindCapability:
		return "would rebuild the agent image"
	}
	return p.Kind
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
	case m.mode == modeDetail || m.mode == modeReject || m.mode == modeEdit:
		p, _ := m.current()
		fmt.Fprintf(&b, "  id:            %s\n  bottle:        %s\n  tool:          %s\n  asked at:      %s\n", p.ID, p.Slug, p.Kind, p.CreatedAt.Format("2006-01-02 15:04:05"))
		if p.FailedURL != "" {
			fmt.Fprintf(&b, "  failed url:    %s\n", p.FailedURL)
		}
		fmt.Fprintf(&b, "  → %s\n  justification: %s\n", would(p), p.Justification)
		if p.Dockerfile != "" {
			b.WriteString("  Dockerfile (what it adds to the running agent):\n")
			for _, l := range DockerfileDiff(p.Dockerfile) {
				b.WriteString("    " + l + "\n")
			}
		}
	default:
		for i, p := range m.items {
			cursor := "  "
			if i == m.cursor {
				cursor = "> "
			}
			fmt.Fprintf(&b, "%s%-16s %-17s %s\n", cursor, p.Slug, p.Kind, would(p))
		}
	}
	b.WriteString("\n")
	switch m.mode {
	case modeReject:
		b.WriteString("reason: " + m.input + "▌  (enter to reject, esc to cancel)\n")
	case modeEdit:
		b.WriteString("host [paths…]: " + m.input + "▌  (enter to approve as edited, esc to cancel)\n")
	default:
		b.WriteString("↑/↓ move · enter details · a approve · r reject · e edit & approve · R refresh · esc back · q quit\n")
	}
	if m.status != "" {
		b.WriteString(m.status + "\n")
	}
	return b.String()
}
