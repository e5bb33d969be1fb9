package bottle

import (
	"slices"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
)

// The manifest → daemon configuration translation: what the host writes
// into the state directory for egress and pipelock (git-gate's repos.yaml is
// gitGateFiles, in bottle.go).

// EgressRoutes builds egress' routes of a resolved bottle.
func EgressRoutes(r *manifest.Resolved) daemoncfg.Routes {
	f := daemoncfg.Routes{Routes: []daemoncfg.Route{}}
	for _, mr := range r.Egress.Routes {
		rt := daemoncfg.Route{Host: mr.Host, Paths: append([]string(nil), mr.Paths...)}
		if mr.Auth != nil {
			rt.Auth = &daemoncfg.Auth{Scheme: mr.Auth.Scheme, Header: mr.Auth.Header, TokenEnv: r.Slot(mr.Auth.TokenRef)}
		}
		f.Routes = append(f.Routes, rt)
	}
	return f
}

// PipelockConfig builds the pipelock config of a bottle: allowlist =
// defaults ∪ route hosts ∪ the manifest's allowlist, sorted and
// de-duplicated.
func PipelockConfig(m *manifest.Manifest) daemoncfg.Pipelock {
	allow := append(daemoncfg.DefaultAllowlist(), m.RouteHosts()...)
	allow = append(allow, m.Pipelock.Allowlist...)
	dir := contract.ConfigDir(contract.Pipelock)
	return daemoncfg.Pipelock{
		Mode:         "strict",
		APIAllowlist: daemoncfg.NormalizeHosts(allow),
		ForwardProxy: daemoncfg.ForwardProxy{Enabled: true},
		DLP:          daemoncfg.DLP{IncludeDefaults: true, ScanEnv: false, Patterns: []daemoncfg.Pattern{}, DisableClasses: slices.Clone(m.Pipelock.DLPDisable)},
		TLSInterception: daemoncfg.TLSInterception{
			Enabled:            true,
			CACert:             dir + "/ca.pem",
			CAKey:              dir + "/ca-key.pem",
			PassthroughDomains: daemoncfg.NormalizeHosts(m.Pipelock.TLSPassthrough),
		},
		RequestBodyScanning: daemoncfg.RequestBodyScanning{Action: "block", ScanHeaders: true, HeaderMode: "all"},
		ResponseScanning:    daemoncfg.ResponseScanning{Action: m.Pipelock.Injection},
	}
}
