package gitgate

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// The clean counterpart of every attack class goes through and arrives: the
// gate refuses secrets, not shapes of history.
func TestCleanCounterpartsArrive(t *testing.T) {
	r := newGateRig(t, func(repo *daemoncfg.Repo) { repo.MaxObjectMiB = 12 })
	dir := r.clone(t)
	random := make([]byte, 1<<20)
	_, err := rand.Read(random)
	assert.NilError(t, err)
	addCommit(t, dir, "feature\n\nA plain message.", map[string]string{
		"img/logo.png":               "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
		"node_modules/x/index.js":    "module.exports = 1\n",
		"package-lock.json":          `{"lockfileVersion": 3}` + "\n",
		"vendor/github.com/a/b/c.go": "package b\n",
		"notes.txt":                  utf16("hello world\n"),
		"random.bin":                 string(random), // binary
		"deep/a/b/c/d/e/f/g.txt":     "deep\n",
		".gitmodules":                "[submodule \"lib\"]\n\tpath = lib\n\turl = https://github.com/acme/lib.git\n",
	})
	assert.NilError(t, os.Symlink("../README.md", filepath.Join(dir, "link")))
	run(t, dir, "add", "link")
	run(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+run(t, dir, "rev-parse", "HEAD")+",lib")
	run(t, dir, "commit", "-q", "-m", "link and submodule")
	run(t, dir, "tag", "-a", "-m", "release 1", "v1")
	run(t, dir, "tag", "-a", "-m", "outer", "v1-outer", "v1")
	run(t, dir, "tag", "light")
	out, err := r.push(t, dir, "origin", "HEAD:refs/heads/feature", "refs/tags/v1", "refs/tags/v1-outer", "refs/tags/light")
	assert.NilError(t, err, out)
	assert.Assert(t, is.Contains(out, "git-gate: scanned and forwarded refs/heads/feature"))
	assert.DeepEqual(t, r.upstreamRefs(t), []string{"refs/heads/feature", "refs/heads/main", "refs/tags/light", "refs/tags/v1", "refs/tags/v1-outer"})
	assert.Equal(t, run(t, r.upstream, "rev-parse", "refs/heads/feature"), run(t, dir, "rev-parse", "HEAD"))

	// A large clean file (streamed on its own) arrives whole.
	big := strings.Repeat("lorem ipsum dolor sit amet\n", 400<<10)
	addCommit(t, dir, "large", map[string]string{"data/big.txt": big})
	out, err = r.push(t, dir, "origin", "HEAD:refs/heads/feature")
	assert.NilError(t, err, out)
	assert.Equal(t, run(t, r.upstream, "cat-file", "-s", "refs/heads/feature:data/big.txt"), strconv.Itoa(len(big)))

	// An incremental push scans only what is new: a later clean commit on
	// top goes through.
	addCommit(t, dir, "more", map[string]string{"more.txt": "more\n"})
	out, err = r.push(t, dir, "origin", "HEAD:refs/heads/feature")
	assert.NilError(t, err, out)
	assert.Assert(t, is.Contains(out, "git-gate: scanned 3 new objects"), out)
}

// Force pushes and deletions follow the repo's settings, and a forced
// update carries a lease: the gate overwrites only the value it read.
func TestForceAndDelete(t *testing.T) {
	strict := newGateRig(t, nil)
	dir := strict.clone(t)
	run(t, dir, "commit", "-q", "--amend", "-m", "rewritten")
	out, err := strict.push(t, dir, "-f", "origin", "HEAD:refs/heads/main")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "not a fast-forward; force pushes are not allowed for app"))
	out, err = strict.push(t, dir, "origin", ":refs/heads/main")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "deleting refs/heads/main is not allowed"))

	loose := newGateRig(t, func(r *daemoncfg.Repo) { r.AllowForcePush, r.AllowDelete = true, true })
	dir = loose.clone(t)
	run(t, dir, "commit", "-q", "--amend", "-m", "rewritten")
	out, err = loose.push(t, dir, "-f", "origin", "HEAD:refs/heads/main")
	assert.NilError(t, err, out)
	assert.Equal(t, run(t, loose.upstream, "rev-parse", "refs/heads/main"), run(t, dir, "rev-parse", "HEAD"))
	out, err = loose.push(t, dir, "origin", "HEAD:refs/heads/tmp")
	assert.NilError(t, err, out)
	out, err = loose.push(t, dir, "origin", ":refs/heads/tmp")
	assert.NilError(t, err, out)
	assert.DeepEqual(t, loose.upstreamRefs(t), []string{"refs/heads/main"})
}

// An object already in the gate's store is not trusted for being there:
// whatever the new refs reach that the mirror's refs do not is scanned,
// even if a pack once brought it (e.g. unreferenced in an accepted push).
func TestStoredObjectsAreNotTrusted(t *testing.T) {
	r := newGateRig(t, nil)
	dir := r.clone(t)
	content := "key = " + ghToken + "\n"
	// Plant the blob in the gate's store, unreferenced.
	blob := gitIn(t, r.gate, content, "hash-object", "-w", "--stdin")
	// The agent commits the same content: its client sends the blob anyway
	// (the gate advertises no ref reaching it), and the gate must scan it
	// whether or not it is in the pack.
	addCommit(t, dir, "c", map[string]string{"k.txt": content})
	assert.Equal(t, run(t, dir, "rev-parse", "HEAD:k.txt"), blob)
	out, err := r.push(t, dir, "origin", "HEAD:refs/heads/x")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, findingRE("gitleaks rejected push to refs/heads/x: github-token in blob").MatchString(out), out)
	r.assertNoLeak(t)
}

// When the mirror holds a ref the upstream no longer has, git push would
// send what that ref reaches: the forward scans those objects before
// anything is sent.
func TestForwardScansWhatTheUpstreamLacks(t *testing.T) {
	r := newGateRig(t, nil)
	dir := r.clone(t)
	// A branch with a secret reaches the mirror's refs behind the gate's
	// back (as if from an older gate), and not the upstream.
	bad := addCommit(t, dir, "c", map[string]string{"k.txt": "aws_key = " + awsKey + "\n"})
	run(t, r.gate, "fetch", "-q", dir, "HEAD:refs/heads/old")
	addCommit(t, dir, "on top", map[string]string{"ok.txt": "fine\n"})
	out, err := r.push(t, dir, "origin", "HEAD:refs/heads/new")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "gitleaks rejected push to refs/heads/new: aws-access-token"), out)
	assert.Assert(t, !strings.Contains(run(t, r.upstream, "cat-file", "--batch-all-objects", "--batch-check"), bad))
	r.assertNoLeak(t)
}

// Malformed names never reach the policy's happy path, whether or not the
// client lets them through.
func TestCheckRefName(t *testing.T) {
	for _, ok := range []string{"refs/heads/main", "refs/tags/v1.2.3", "refs/heads/feature/x-y_z", "refs/heads/a.b"} {
		assert.NilError(t, CheckRefName(ok), ok)
	}
	for _, bad := range []string{
		"HEAD", "refs/heads/", "refs/tags/", "refs/replace/abc", "refs/notes/commits", "refs/remotes/origin/main",
		"refs/heads/../config", "refs/heads/a//b", "refs/heads/a@{1}", "refs/heads/a.lock", "refs/heads/.hidden",
		"refs/heads/x/", "refs/heads/x.", "refs/heads/caf\u00e9", "refs/heads/a\x00b", "refs/heads/a b", "refs/heads/a\\b",
		"refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b", "refs/heads/a?", "refs/heads/a*", "refs/heads/a[", "refs/heads/\x1b[31m",
		"refs/heads\u2215main", "refs/HEADS/main", "refs/tags/../heads/main",
	} {
		err := CheckRefName(bad)
		assert.Assert(t, IsRejection(err), "%q accepted", bad)
		assert.Assert(t, strings.HasPrefix(err.Error(), "git-gate: rejected push to "), err.Error())
	}
}
