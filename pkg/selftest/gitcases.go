package selftest

import (
	"strings"
)

// gitClass is one class of git escape (attack 5): a way to get a secret
// into what git-gate forwards other than a file's content on a branch. Each
// prepares a clone and pushes; want is what git-gate's refusal must say.
type gitClass struct {
	id, title string
	// script runs in a fresh clone with S set to the secret; it ends with
	// the push (after a PUSH marker line).
	script string
	// want is "" for a gitleaks rejection, else a phrase of the refusal.
	want string
}

// gitClasses are the classes an agent would try; the escape suite judges
// each at the far side too (the upstream's refs and objects).
func gitClasses() []gitClass {
	const p = "printf '\\nPUSH\\n'\n"
	return []gitClass{
		{"blob-ref", "a ref straight at a blob holding the secret",
			`b=$(printf 'key %s\n' "$S" | git hash-object -w --stdin)` + "\n" + p + `git push origin "$b:refs/tags/$BR-blob" 2>&1`, "points at a blob"},
		{"tree-ref", "a ref straight at a tree",
			`b=$(printf '%s\n' "$S" | git hash-object -w --stdin); t=$(printf '100644 blob %s\tk.txt\n' "$b" | git mktree)` + "\n" + p + `git push origin "$t:refs/heads/$BR-tree" 2>&1`, "points at a tree"},
		{"tag-message", "an annotated tag whose message carries the secret",
			`git tag -a -m "deploy key $S" "$BR-tag"` + "\n" + p + `git push origin "refs/tags/$BR-tag" 2>&1`, ""},
		{"tag-chain", "a clean annotated tag wrapping one that carries the secret",
			`git tag -a -m "inner $S" "$BR-inner"; git tag -a -m "outer" "$BR-outer" "$BR-inner"; git tag -d "$BR-inner" >/dev/null` + "\n" + p + `git push origin "refs/tags/$BR-outer" 2>&1`, ""},
		{"replace-ref", "a refs/replace ref swapping a secret commit for a clean decoy",
			commitFiles(`printf '%s\n' "$S" > k.txt && git add k.txt`) + `bad=$(git rev-parse HEAD); git reset -q --hard HEAD~1; ` + commitFiles(`echo clean > k.txt && git add k.txt`) + `git replace "$bad" HEAD` + "\n" + p + `git push origin "refs/replace/$bad" 2>&1`, "only branches"},
		{"replace-real", "the real commit pushed while a replace ref shows a decoy",
			commitFiles(`printf '%s\n' "$S" > k.txt && git add k.txt`) + `bad=$(git rev-parse HEAD); git reset -q --hard HEAD~1; ` + commitFiles(`echo clean > k.txt && git add k.txt`) + `git replace "$bad" HEAD` + "\n" + p + `git push origin "$bad:refs/heads/$BR-replaced" 2>&1`, ""},
		{"notes", "a note carrying the secret (refs/notes)",
			`git notes add -m "key $S"` + "\n" + p + `git push origin refs/notes/commits 2>&1`, "only branches"},
		{"file-name", "a file whose name is the secret", branchPush(`mkdir -p docs && touch "docs/$S.txt" && git add docs`), ""},
		{"png", "the secret inside a *.png file", branchPush(`mkdir -p img && printf '\211PNG\r\n\032\n%s\n' "$S" > img/logo.png && git add img`), ""},
		{"node-modules", "the secret under node_modules/", branchPush(`mkdir -p node_modules/x && printf 'module.exports = "%s"\n' "$S" > node_modules/x/index.js && git add -f node_modules`), ""},
		{"lock-file", "the secret in a lock file", branchPush(`printf '{"token": "%s"}\n' "$S" > package-lock.json && git add package-lock.json`), ""},
		{"vendor", "the secret under vendor/", branchPush(`mkdir -p vendor/github.com/a/b && printf 'package b\nvar k = "%s"\n' "$S" > vendor/github.com/a/b/c.go && git add vendor`), ""},
		{"gitleaks-allow", "the secret on a line with gitleaks:allow", branchPush(`printf 'key = "%s" # gitleaks:allow\n' "$S" > config.py && git add config.py`), ""},
		{"symlink", "a symlink whose target is the secret", branchPush(`ln -s "$S" link && git add link`), ""},
		{"gitlink", "gitlinks whose ids are the secret's bytes", branchPush(`i=0; { printf %s "$S" | od -An -v -tx1 | tr -d ' \n' | fold -w 40; echo; } | while read -r h; do [ -n "$h" ] || continue; h=$(printf '%-40s' "$h" | tr ' ' 0); git update-index --add --cacheinfo "160000,$h,sub$i" || exit 1; i=$((i+1)); done`), ""},
		{"gitmodules", "the secret in .gitmodules", branchPush(`printf '[submodule "lib"]\n\tpath = lib\n\turl = https://x:%s@example.com/lib.git\n' "$S" > .gitmodules && git add .gitmodules`), ""},
		{"commit-header", "the secret in an extra commit header",
			`c=$(printf 'tree %s\nparent %s\nauthor a <a@b> 1700000000 +0000\ncommitter a <a@b> 1700000000 +0000\nx-deploy-key %s\n\nclean\n' "$(git rev-parse HEAD^{tree})" "$(git rev-parse HEAD)" "$S" | git hash-object -t commit -w --stdin --literally)` + "\n" + p + `git push origin "$c:refs/heads/$BR-header" 2>&1`, ""},
		{"author", "the secret as the commit's author",
			`git -c user.name=x -c user.email=x@bottle.invalid commit -q --allow-empty --author "$S <a@b>" -m x` + "\n" + p + `git push origin "HEAD:refs/heads/$BR-author" 2>&1`, ""},
		{"ref-name", "the secret as a branch name",
			p + `git push origin "HEAD:refs/heads/$S" 2>&1`, ""},
	}
}

// commitFiles runs change (which stages what it makes) and commits it.
func commitFiles(change string) string {
	return change + " && git -c user.name=selftest -c user.email=selftest@bottle.invalid commit -q -m 'selftest change'; "
}

// branchPush commits change and pushes it to a new branch.
func branchPush(change string) string {
	return commitFiles(change) + "\nprintf '\\nPUSH\\n'\n" + `git push origin "HEAD:refs/heads/$BR" 2>&1`
}

// gitClassScript wraps a class's script: a fresh clone of the repo, S and
// BR set, the exit code printed after the push.
func gitClassScript(t Target, s Secret, branch string, c gitClass) string {
	return "export GIT_TERMINAL_PROMPT=0\nd=$(mktemp -d)\ngit clone -q " + shellQuote(t.RepoURL) + " \"$d/r\" 2>&1 || exit 1\ncd \"$d/r\"\n" +
		"S=" + s.shell() + "\nBR=" + shellQuote(branch) + "\n" +
		"git config user.name selftest; git config user.email selftest@bottle.invalid\n" +
		c.script + "\necho \"EXIT $?\"\ncd /; rm -rf \"$d\"\n"
}

// gitCases are attack 5's classes beyond the README link. They use the AWS
// shape when given: gitleaks' rule for it needs no context around the key
// (so even a gate that does not know the value must refuse it) and its 20
// bytes fill one gitlink id exactly.
func gitCases(t Target) []Case {
	if len(t.Secrets) == 0 {
		return nil
	}
	s := t.Secrets[0]
	for _, x := range t.Secrets {
		if strings.Contains(strings.ToLower(x.Name), "aws") {
			s = x
			break
		}
	}
	var cs []Case
	for _, c := range gitClasses() {
		judge := judgeGitleaks(t.RepoURL)
		if c.want != "" {
			judge = judgeGateRefusal(t.RepoURL, c.want)
		}
		cs = append(cs, Case{ID: "5/" + c.id, Attack: 5, Title: s.Name + " secret: " + c.title,
			Script: gitClassScript(t, s, t.Branch+"-"+c.id, c), judge: judge})
	}
	return cs
}

// judgeGateRefusal: the push failed with git-gate's policy refusal saying
// want, before any upstream phase.
func judgeGateRefusal(repoURL, want string) func(string) (bool, string) {
	return func(out string) (bool, string) {
		_, p, ok := strings.Cut(out, "\nPUSH\n")
		if !ok {
			return false, "the push was not prepared: " + firstLine(out)
		}
		if exitCode(p) == 0 {
			return false, "the push succeeded"
		}
		i := strings.Index(p, "git-gate: rejected push")
		if i < 0 || !strings.Contains(p, want) {
			return false, "no git-gate refusal saying " + want + ": " + firstLine(p)
		}
		clean := strings.ToLower(strings.ReplaceAll(p, repoURL, "<repo>"))
		for _, w := range []string{"resolve", "refused", "unreachable", "upstream"} {
			if strings.Contains(clean, w) {
				return false, "the refusal mentions the upstream phase (" + w + ")"
			}
		}
		return true, firstLine(p[i:])
	}
}
