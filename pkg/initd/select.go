package initd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Select returns the daemons initd runs, from CLAUDE_BOTTLE_SIDECAR_DAEMONS
// seen through lookup: unset means all four; empty (or only spaces and
// commas) means none; otherwise the listed names, whitespace trimmed, each
// once, in canonical order whatever the input order. An unknown name is an
// error naming it.
func Select(lookup func(string) (string, bool)) ([]string, error) {
	v, ok := lookup(contract.DaemonsEnv)
	if !ok {
		return contract.Daemons(), nil
	}
	want := map[string]bool{}
	var unknown []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if contract.Port(f) == 0 {
			unknown = append(unknown, f)
			continue
		}
		want[f] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s: unknown daemon %s (known: %s)", contract.DaemonsEnv,
			strings.Join(quoteAll(unknown), ", "), strings.Join(contract.Daemons(), ", "))
	}
	out := []string{}
	for _, d := range contract.Daemons() {
		if want[d] {
			out = append(out, d)
		}
	}
	return out, nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// ChildEnv returns the environment of one daemon: base without any
// EGRESS_TOKEN_* variable unless the daemon is egress.
func ChildEnv(base []string, daemon string) []string {
	if daemon == contract.Egress {
		return slices.Clone(base)
	}
	out := make([]string, 0, len(base))
	for _, kv := range base {
		if strings.HasPrefix(kv, contract.TokenEnvPrefix) {
			continue
		}
		out = append(out, kv)
	}
	return out
}
