package selftest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Defaults of a target read from a bottle's state.
const (
	DefaultAttackerHost    = "exfil.claude-bottle-selftest.invalid"
	DefaultAttackerIP      = "203.0.113.7" // TEST-NET-3: never routed
	DefaultOutsideResolver = "8.8.8.8"
)

// FromState builds the target of a running bottle from its state
// directory: the allowed URL is the first route without a credential that
// pipelock intercepts (a TLS-passthrough host would escape DLP by design,
// see docs/threat-model.md), the credential route the first such route with
// one, the repo the first declared repo.
func FromState(layout statedir.Layout, slug string) (Target, error) {
	if err := contract.ValidateSlug(slug); err != nil {
		return Target{}, err
	}
	t := Target{AttackerHost: DefaultAttackerHost, AttackerIP: DefaultAttackerIP, OutsideResolver: DefaultOutsideResolver, Branch: "claude-bottle-selftest"}
	data, err := os.ReadFile(filepath.Join(layout.EgressStateDir(slug), contract.RoutesFile))
	if errors.Is(err, os.ErrNotExist) {
		return Target{}, fmt.Errorf("no bottle %s under %s (claude-bottle ls lists the running ones)", slug, layout.StateRoot())
	}
	if err != nil {
		return Target{}, err
	}
	rf, err := daemoncfg.ParseRoutes(data)
	if err != nil {
		return Target{}, fmt.Errorf("%s: %w", slug, err)
	}
	var passthrough []string
	pdata, err := os.ReadFile(filepath.Join(layout.PipelockStateDir(slug), contract.PipelockFile))
	if err != nil {
		return Target{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	cfg, err := daemoncfg.ParsePipelock(pdata)
	if err != nil {
		return Target{}, fmt.Errorf("bottle %s: %w", slug, err)
	}
	passthrough = cfg.TLSInterception.PassthroughDomains
	for _, r := range rf.Routes {
		if matchesAny(r.Host, passthrough) {
			continue
		}
		u := "https://" + r.Host
		if len(r.Paths) > 0 {
			u += strings.TrimRight(r.Paths[0], "/")
		}
		if r.Auth == nil && t.AllowedURL == "" {
			t.AllowedURL = u
		}
		if r.Auth != nil && t.AuthURL == "" {
			t.AuthURL = u
		}
	}
	if t.AllowedURL == "" {
		t.AllowedURL, t.AuthURL = t.AuthURL, ""
	}
	if t.AllowedURL == "" {
		return Target{}, fmt.Errorf("bottle %s has no egress route pipelock inspects (all are TLS passthrough or there are none): pass --allowed-url", slug)
	}
	if gdata, err := os.ReadFile(filepath.Join(layout.GitGateStateDir(slug), contract.ReposFile)); err == nil {
		if gf, err := daemoncfg.ParseGitGate(gdata); err == nil && len(gf.Repos) > 0 {
			t.RepoURL = gf.Repos[0].URL
		}
	}
	return t, nil
}

func matchesAny(host string, patterns []string) bool {
	host = strings.ToLower(host)
	return slices.ContainsFunc(patterns, func(p string) bool {
		p = strings.ToLower(p)
		if s, ok := strings.CutPrefix(p, "*."); ok {
			return strings.HasSuffix(host, "."+s)
		}
		return host == p
	})
}
