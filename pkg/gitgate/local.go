package gitgate

import (
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// A repo whose upstream is a local path (daemoncfg.Repo.Local: the
// workspace mirror of `claude-bottle run`) uses git's local transport for
// the refresh and the forward; no SSH, identity or host key is involved.
// The scan is the same as for any repo: it runs before the forward.

// dropForLocal reports whether the variable k of the pre-receive hook's
// environment must not reach the git that forwards to a local upstream.
// GIT_QUARANTINE_PATH marks the gate's own receive in progress; git's local
// transport passes it on to the upstream's receive-pack, which would then
// refuse every ref update. (The object-directory variables the forward
// needs to read the quarantined objects are cleared for the upstream side by
// git itself.)
func dropForLocal(r daemoncfg.Repo, k string) bool {
	return r.Local() && k == "GIT_QUARANTINE_PATH"
}

// localEnv drops from env what dropForLocal names.
func localEnv(r daemoncfg.Repo, env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !dropForLocal(r, k) {
			out = append(out, kv)
		}
	}
	return out
}
