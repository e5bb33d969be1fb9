package gitgate

import "os"

// quarantineVars are what receive-pack sets for its pre-receive hook so that
// git sees the pushed objects, still held apart from the mirror; they are
// the only part of an inherited environment the gate's git keeps.
var quarantineVars = []string{"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"}

// nowhere is a HOME and config home with nothing in them.
const nowhere = "/nonexistent/claude-bottle-git-gate"

// gateEnv is the environment of every git command the gate runs. It is built
// from nothing rather than filtered from the process environment, so no
// variable the gate inherited steers git (GIT_CONFIG_PARAMETERS,
// GIT_EXEC_PATH, proxies, an ssh agent, …), and it makes git's view of the
// repository independent of what was pushed into it:
//
//   - GIT_NO_REPLACE_OBJECTS: refs/replace/* cannot swap an object for a
//     clean decoy while the gate reads it (the gate also refuses to accept
//     such refs);
//   - GIT_GRAFT_FILE pointing nowhere: no grafts rewrite history;
//   - GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null, HOME and
//     XDG_CONFIG_HOME nowhere: only the mirror's own config, which the gate
//     writes, applies; GIT_ATTR_NOSYSTEM likewise for attributes;
//   - no terminal prompts, no lazy fetches of missing objects, only the
//     ssh and file transports.
//
// The gate reads objects with cat-file --batch only (raw bytes, no filters,
// no textconv) and never checks out a tree, so attributes in the pushed data
// have nothing to act on. In a pre-receive hook, the quarantine variables are
// kept. extra is appended last.
func gateEnv(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"LC_ALL=C",
		"HOME=" + nowhere,
		"XDG_CONFIG_HOME=" + nowhere,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_NO_REPLACE_OBJECTS=1",
		"GIT_GRAFT_FILE=" + nowhere + "/grafts",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_NO_LAZY_FETCH=1",
		"GIT_ALLOW_PROTOCOL=ssh:file",
		// Blobs over 8 MiB are stored and sent undeltified, so `git
		// cat-file blob` can stream them to the scanner (streamThreshold).
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=core.bigFileThreshold",
		"GIT_CONFIG_VALUE_0=8m",
	}
	for _, k := range quarantineVars {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}
