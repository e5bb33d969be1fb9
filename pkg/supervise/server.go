// Package supervise is the MCP server through which a blocked agent asks a
// human: each blocking tool validates its input, queues a proposal, waits
// (bounded) for the operator's answer and returns it. Identical pending
// proposals collapse into one; a flood is refused.
package supervise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/mitm"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

// Options configure a Server. Zero values are defaults.
type Options struct {
	Slug  string
	Queue approvals.Queue
	// Wait bounds how long a tool call waits for the operator (default 10 min).
	Wait time.Duration
	// Poll is the interval between looks for an answer (default 250 ms).
	Poll time.Duration
	// RateLimit is the most new proposals per minute (default 10).
	RateLimit int
	// Allowlist fetches egress' route table (list-egress-routes).
	Allowlist func(ctx context.Context) ([]daemoncfg.Route, error)
	Logger    *slog.Logger
	Now       func() time.Time
}

// Limits of tool input.
const (
	maxJustification = 4000
	minJustification = 10
	maxDockerfile    = 64 << 10
	maxURL           = 4096
)

// Server is the supervise MCP server.
type Server struct {
	opts Options
	mcp  *mcp.Server
	log  *slog.Logger
	// mu serialises de-duplication, rate limiting and submission, so two
	// identical calls at once make one proposal.
	mu sync.Mutex
}

// PipelockBlockInput is the input of pipelock-block.
type PipelockBlockInput struct {
	FailedURL     string `json:"failed_url" jsonschema:"the URL pipelock blocked, e.g. https://pypi.org/simple/requests/"`
	Justification string `json:"justification" jsonschema:"why the task needs it, for the human who decides"`
}

// EgressBlockInput is the input of egress-block.
type EgressBlockInput struct {
	Host          string   `json:"host" jsonschema:"the host egress refused, e.g. api.github.com"`
	Paths         []string `json:"paths,omitempty" jsonschema:"path prefixes needed, e.g. /repos/acme/; empty for the whole host"`
	Justification string   `json:"justification" jsonschema:"why the task needs it"`
}

// CapabilityBlockInput is the input of capability-block.
type CapabilityBlockInput struct {
	Dockerfile    string `json:"dockerfile" jsonschema:"a Dockerfile starting FROM the bottle's current agent image that adds what is missing"`
	Justification string `json:"justification" jsonschema:"why the task needs it"`
}

// Decision is what a blocking tool returns.
type Decision struct {
	Status     string `json:"status" jsonschema:"approved, modified, rejected or no-answer"`
	ProposalID string `json:"proposal_id"`
	Notes      string `json:"notes,omitempty"`
	Applied    string `json:"applied,omitempty" jsonschema:"what was applied when approved or modified"`
}

// RoutesOutput is the output of list-egress-routes.
type RoutesOutput struct {
	Routes []daemoncfg.Route `json:"routes"`
}

// New builds the server and its tools.
func New(opts Options) *Server {
	if opts.Wait <= 0 {
		opts.Wait = 10 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log,
		mcp: mcp.NewServer(&mcp.Implementation{Name: "claude-bottle-supervise", Version: "1"}, &mcp.ServerOptions{
			Instructions: "When egress or pipelock blocks a request (HTTP 403 whose body starts 'egress:' or 'blocked:'), or the bottle lacks a tool, ask the operator with these tools instead of working around the block. Each call waits for the human's answer.",
		})}
	mcp.AddTool(s.mcp, &mcp.Tool{Name: approvals.KindPipelock, Description: "Ask the operator to allow a host pipelock blocked (its 403 body starts 'blocked:'). Waits for the answer."}, s.pipelockBlock)
	mcp.AddTool(s.mcp, &mcp.Tool{Name: approvals.KindEgress, Description: "Ask the operator for an egress route to a host (and paths) egress refused (its 403 body starts 'egress:'). Waits for the answer."}, s.egressBlock)
	mcp.AddTool(s.mcp, &mcp.Tool{Name: approvals.KindCapability, Description: "Ask the operator to rebuild the agent image from a Dockerfile (FROM the current image) that adds a missing tool. Waits for the answer."}, s.capabilityBlock)
	mcp.AddTool(s.mcp, &mcp.Tool{Name: contract.ToolListRoutes, Description: "List the hosts and paths egress currently allows (no approval needed)."}, s.listRoutes)
	return s
}

// MCP returns the underlying MCP server (for in-memory transports in tests).
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Handler serves MCP over streamable HTTP.
func (s *Server) Handler() http.Handler {
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, nil)
}

func checkJustification(j string) error {
	if err := termtext.Check("justification", j, true); err != nil {
		return err
	}
	j = strings.TrimSpace(j)
	switch {
	case len(j) < minJustification:
		return fmt.Errorf("justification: say why the task needs this (at least %d characters)", minJustification)
	case len(j) > maxJustification:
		return fmt.Errorf("justification: at most %d characters", maxJustification)
	}
	return nil
}

func (s *Server) pipelockBlock(ctx context.Context, _ *mcp.CallToolRequest, in PipelockBlockInput) (*mcp.CallToolResult, Decision, error) {
	if len(in.FailedURL) > maxURL {
		return nil, Decision{}, fmt.Errorf("failed_url: at most %d characters", maxURL)
	}
	if err := approvals.CheckText("failed_url", in.FailedURL); err != nil {
		return nil, Decision{}, err
	}
	u, err := url.Parse(strings.TrimSpace(in.FailedURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, Decision{}, fmt.Errorf("failed_url %q: want an http:// or https:// URL with a host name", in.FailedURL)
	}
	if _, err := approvals.CheckHost(u.Hostname()); err != nil {
		return nil, Decision{}, fmt.Errorf("failed_url: %w", err)
	}
	if err := checkJustification(in.Justification); err != nil {
		return nil, Decision{}, err
	}
	return s.ask(ctx, approvals.Proposal{Kind: approvals.KindPipelock, FailedURL: u.String(), Host: mitm.NormalizeHost(u.Hostname()), Justification: in.Justification})
}

func (s *Server) egressBlock(ctx context.Context, _ *mcp.CallToolRequest, in EgressBlockInput) (*mcp.CallToolResult, Decision, error) {
	if err := approvals.CheckText("host", in.Host); err != nil {
		return nil, Decision{}, err
	}
	host, err := approvals.CheckHost(in.Host)
	if err != nil {
		return nil, Decision{}, err
	}
	for _, p := range in.Paths {
		if err := approvals.CheckPath(p); err != nil {
			return nil, Decision{}, err
		}
	}
	if err := checkJustification(in.Justification); err != nil {
		return nil, Decision{}, err
	}
	return s.ask(ctx, approvals.Proposal{Kind: approvals.KindEgress, Host: host, Paths: in.Paths, Justification: in.Justification})
}

func (s *Server) capabilityBlock(ctx context.Context, _ *mcp.CallToolRequest, in CapabilityBlockInput) (*mcp.CallToolResult, Decision, error) {
	if len(in.Dockerfile) > maxDockerfile {
		return nil, Decision{}, fmt.Errorf("dockerfile: at most %d KiB", maxDockerfile>>10)
	}
	if err := termtext.Check("dockerfile", in.Dockerfile, true); err != nil {
		return nil, Decision{}, err
	}
	if _, err := approvals.RebaseDockerfile(in.Dockerfile); err != nil {
		return nil, Decision{}, fmt.Errorf("dockerfile: %w", err)
	}
	if err := checkJustification(in.Justification); err != nil {
		return nil, Decision{}, err
	}
	return s.ask(ctx, approvals.Proposal{Kind: approvals.KindCapability, Dockerfile: in.Dockerfile, Justification: in.Justification})
}

func (s *Server) listRoutes(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, RoutesOutput, error) {
	if s.opts.Allowlist == nil {
		return nil, RoutesOutput{}, errors.New("egress is not reachable from supervise")
	}
	rs, err := s.opts.Allowlist(ctx)
	if err != nil {
		return nil, RoutesOutput{}, fmt.Errorf("list egress routes: %w", err)
	}
	if rs == nil {
		rs = []daemoncfg.Route{}
	}
	return nil, RoutesOutput{Routes: rs}, nil
}

// ask queues p (or joins an identical pending proposal) and waits for the
// operator's answer, up to the configured wait.
func (s *Server) ask(ctx context.Context, p approvals.Proposal) (*mcp.CallToolResult, Decision, error) {
	now := s.opts.Now()
	p.Slug = s.opts.Slug
	q := s.opts.Queue
	s.mu.Lock()
	pending, err := q.Pending()
	if err != nil {
		s.mu.Unlock()
		return nil, Decision{}, err
	}
	joined := false
	p.Key = approvals.Key(p)
	for _, old := range pending {
		if old.Key == p.Key {
			p, joined = old, true
			break
		}
	}
	if !joined {
		n, err := q.Recent(now.Add(-time.Minute))
		if err != nil {
			s.mu.Unlock()
			return nil, Decision{}, err
		}
		if n >= s.opts.RateLimit {
			s.mu.Unlock()
			return nil, Decision{}, fmt.Errorf("too many proposals: at most %d per minute; wait for the operator's answers before asking again", s.opts.RateLimit)
		}
		if p, _, err = q.Submit(p, now); err != nil {
			s.mu.Unlock()
			return nil, Decision{}, err
		}
	}
	s.mu.Unlock()
	s.log.Info("proposal", "id", p.ID, "kind", p.Kind, "host", p.Host, "joined", joined)
	wait, cancel := context.WithTimeout(ctx, s.opts.Wait)
	defer cancel()
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	for {
		r, ok, err := q.Response(p.ID)
		if err != nil {
			return nil, Decision{}, err
		}
		if ok {
			if !joined {
				_ = q.Archive(p.ID)
			}
			d := Decision{Status: r.Decision, ProposalID: p.ID, Notes: r.Notes}
			if r.Decision != approvals.Rejected {
				d.Applied = describeApplied(p, r)
			}
			return nil, d, nil
		}
		select {
		case <-wait.Done():
			if ctx.Err() != nil {
				return nil, Decision{}, ctx.Err()
			}
			return nil, Decision{Status: approvals.NoAnswer, ProposalID: p.ID,
				Notes: fmt.Sprintf("the operator has not answered within %s; the proposal stays queued — continue with other work and ask again later", s.opts.Wait)}, nil
		case <-tick.C:
		}
	}
}

func describeApplied(p approvals.Proposal, r approvals.Response) string {
	host, paths := p.Host, p.Paths
	if r.Host != "" {
		host, paths = r.Host, r.Paths
	}
	switch p.Kind {
	case approvals.KindPipelock:
		return "pipelock allows host " + host
	case approvals.KindEgress:
		if len(paths) == 0 {
			return "egress routes host " + host
		}
		return "egress routes host " + host + " paths " + strings.Join(paths, ", ")
	case approvals.KindCapability:
		return "the agent image was rebuilt from the Dockerfile"
	}
	return ""
}

// EgressAllowlist fetches http://_egress.local/allowlist through the egress
// proxy at proxyURL.
func EgressAllowlist(proxyURL string) func(ctx context.Context) ([]daemoncfg.Route, error) {
	return func(ctx context.Context) ([]daemoncfg.Route, error) {
		pu, err := url.Parse(proxyURL)
		if err != nil {
			return nil, err
		}
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 10 * time.Second}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, contract.EgressAllowlistURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("egress answered %s", resp.Status)
		}
		var f daemoncfg.Routes
		if err := json.Unmarshal(body, &f); err != nil {
			return nil, err
		}
		return f.Routes, nil
	}
}
