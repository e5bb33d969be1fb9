package gitgate

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/leakcheck"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// ghToken is shaped like a GitHub personal access token: exactly 40 bytes,
// so it also fills two gitlink ids.
var ghToken = "ghp_" + "Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Wf2Ug"

// planted are the secrets the attacks carry; the far side must hold none.
var planted = map[string]string{"aws": awsKey, "canary": canary, "github": ghToken}

// gateRig is a gate in front of a real upstream (a bare repo reached over
// the file transport, so the forward path runs for real without ssh) with
// the real sidecar binary as the hook, and an agent clone.
type gateRig struct {
	addr, upstream, gate string
}

func newGateRig(t testing.TB, tune func(*daemoncfg.Repo)) *gateRig {
	t.Helper()
	return newGateRigKnowing(t, tune, nil)
}

// newGateRigKnowing is newGateRig with more known secrets (name -> value).
func newGateRigKnowing(t testing.TB, tune func(*daemoncfg.Repo), known map[string]string) *gateRig {
	t.Helper()
	bin, err := sidecarBin()
	assert.NilError(t, err)
	up := filepath.Join(t.TempDir(), "up.git")
	run(t, t.TempDir(), "init", "-q", "--bare", "-b", "main", up)
	seed := newRepo(t)
	commit(t, seed, "README.md", "# app\n", "init")
	run(t, seed, "push", "-q", up, "main")

	cfgDir := t.TempDir()
	fp, err := secretfp.Of("CANARY", canary)
	assert.NilError(t, err)
	fps := []secretfp.Fingerprint{fp}
	for name, v := range known {
		f, err := secretfp.Of(name, v)
		assert.NilError(t, err)
		fps = append(fps, f)
	}
	repo := daemoncfg.Repo{Name: "app", URL: up, Identity: "id-app"}
	if tune != nil {
		tune(&repo)
	}
	data, err := daemoncfg.GitGate{Repos: []daemoncfg.Repo{repo}, KnownSecrets: fps}.Marshal()
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "repos.yaml"), data, 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "id-app"), []byte("unused for file upstreams"), 0o600))
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "known_hosts"), nil, 0o644))
	work := t.TempDir()
	g, err := Load(cfgDir, work, bin, nil)
	assert.NilError(t, err)
	g.RemoteTimeout = 20 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = g.Serve(ctx, ln) }()
	return &gateRig{addr: ln.Addr().String(), upstream: up, gate: g.MirrorPath("app")}
}

func (r *gateRig) url() string { return "git://" + r.addr + "/app.git" }

// clone is the agent's working copy.
func (r *gateRig) clone(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "w")
	out, err := gitOut(t.TempDir(), "clone", "-q", r.url(), dir)
	assert.NilError(t, err, out)
	run(t, dir, "config", "user.name", "Agent")
	run(t, dir, "config", "user.email", "agent@bottle")
	return dir
}

// upstreamRefs lists the upstream's refs.
func (r *gateRig) upstreamRefs(t *testing.T) []string {
	t.Helper()
	out := run(t, r.upstream, "for-each-ref", "--format=%(refname)")
	refs := strings.Fields(out)
	sort.Strings(refs)
	return refs
}

// assertNoLeak checks the far side: no object of the upstream holds a
// planted secret in any encoding leakcheck knows, also with NULs removed
// (UTF-16 text).
func (r *gateRig) assertNoLeak(t *testing.T) {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch")
	cmd.Dir = r.upstream
	cmd.Env = append(os.Environ(), "GIT_NO_REPLACE_OBJECTS=1")
	out, err := cmd.Output()
	assert.NilError(t, err)
	for _, text := range []string{string(out), string(bytes.ReplaceAll(out, []byte{0}, nil))} {
		hits := leakcheck.Find(text, planted)
		assert.Assert(t, is.Len(hits, 0), "the upstream holds a planted secret")
	}
	// Gitlink ids are raw bytes in a tree: look for the secret there too.
	assert.Assert(t, !bytes.Contains(out, []byte(ghToken[:20])), "the upstream holds a gitlink made of the secret")
}

func (r *gateRig) push(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	return gitOut(dir, append([]string{"push"}, args...)...)
}

func gitIn(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=Agent", "GIT_AUTHOR_EMAIL=agent@bottle", "GIT_COMMITTER_NAME=Agent", "GIT_COMMITTER_EMAIL=agent@bottle")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	assert.NilError(t, os.WriteFile(p, []byte(content), 0o644))
}

func addCommit(t *testing.T, dir, msg string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		writeFile(t, dir, name, content)
		run(t, dir, "add", "--", name)
	}
	run(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	return run(t, dir, "rev-parse", "HEAD")
}

// rawCommit writes a commit object from its raw text (on HEAD's tree and
// parent) and returns its id.
func rawCommit(t *testing.T, dir, headers, msg string) string {
	t.Helper()
	tree := run(t, dir, "rev-parse", "HEAD^{tree}")
	parent := run(t, dir, "rev-parse", "HEAD")
	text := "tree " + tree + "\nparent " + parent + "\nauthor Agent <agent@bottle> 1700000000 +0000\ncommitter Agent <agent@bottle> 1700000000 +0000\n" + headers + "\n" + msg
	return gitIn(t, dir, text, "hash-object", "-t", "commit", "-w", "--stdin", "--literally")
}

// attack is one class of escape: it prepares the agent's clone and returns
// the push's arguments; want is what the push must answer.
type attack struct {
	name    string
	tune    func(*daemoncfg.Repo)
	prepare func(t *testing.T, dir string) []string
	want    string
}

func attacks() []attack {
	branch := func(name string, files map[string]string) func(t *testing.T, dir string) []string {
		return func(t *testing.T, dir string) []string {
			addCommit(t, dir, "change", files)
			return []string{"origin", "HEAD:refs/heads/" + name}
		}
	}
	return []attack{
		{"ref at a blob", nil, func(t *testing.T, dir string) []string {
			b := gitIn(t, dir, "key "+ghToken+"\n", "hash-object", "-w", "--stdin")
			return []string{"origin", b + ":refs/tags/x"}
		}, `it points at a blob`},
		{"ref at a tree", nil, func(t *testing.T, dir string) []string {
			b := gitIn(t, dir, ghToken+"\n", "hash-object", "-w", "--stdin")
			tr := gitIn(t, dir, "100644 blob "+b+"\tk.txt\n", "mktree")
			return []string{"origin", tr + ":refs/heads/t"}
		}, `it points at a tree`},
		{"annotated tag message", nil, func(t *testing.T, dir string) []string {
			run(t, dir, "tag", "-a", "-m", "deploy key "+awsKey, "v1")
			return []string{"origin", "refs/tags/v1"}
		}, "gitleaks rejected push to refs/tags/v1: aws-access-token in annotated tag"},
		{"annotated tag name in tagger", nil, func(t *testing.T, dir string) []string {
			head := run(t, dir, "rev-parse", "HEAD")
			tag := gitIn(t, dir, "object "+head+"\ntype commit\ntag v2\ntagger "+canary+" <a@b> 1700000000 +0000\n\nrelease\n", "hash-object", "-t", "tag", "-w", "--stdin")
			return []string{"origin", tag + ":refs/tags/v2"}
		}, "known-secret CANARY in annotated tag"},
		{"tag chain", nil, func(t *testing.T, dir string) []string {
			run(t, dir, "tag", "-a", "-m", "inner "+awsKey, "inner")
			run(t, dir, "tag", "-a", "-m", "outer, clean", "outer", "inner")
			run(t, dir, "tag", "-d", "inner")
			return []string{"origin", "refs/tags/outer"}
		}, "aws-access-token in annotated tag"},
		{"refs/replace decoy", nil, func(t *testing.T, dir string) []string {
			bad := addCommit(t, dir, "change", map[string]string{"k.txt": ghToken + "\n"})
			run(t, dir, "reset", "-q", "--hard", "HEAD~1")
			decoy := addCommit(t, dir, "change", map[string]string{"k.txt": "clean\n"})
			run(t, dir, "replace", bad, decoy)
			return []string{"origin", "refs/replace/" + bad}
		}, "only branches (refs/heads/*) and tags (refs/tags/*) are forwarded"},
		{"refs/replace decoy then the real commit", nil, func(t *testing.T, dir string) []string {
			bad := addCommit(t, dir, "change", map[string]string{"k.txt": ghToken + "\n"})
			run(t, dir, "reset", "-q", "--hard", "HEAD~1")
			decoy := addCommit(t, dir, "change", map[string]string{"k.txt": "clean\n"})
			run(t, dir, "replace", bad, decoy)
			return []string{"--no-verify", "origin", bad + ":refs/heads/real"}
		}, "gitleaks rejected push to refs/heads/real: github-token in blob"},
		{"refs/notes", nil, func(t *testing.T, dir string) []string {
			run(t, dir, "notes", "add", "-m", "key "+awsKey)
			return []string{"origin", "refs/notes/commits"}
		}, `rejected push to "refs/notes/commits": only branches`},
		{"odd namespace", nil, func(t *testing.T, dir string) []string {
			return []string{"origin", "HEAD:refs/pull/1/head"}
		}, `rejected push to "refs/pull/1/head": only branches`},
		{"secret file name", nil, branch("name", map[string]string{"docs/" + ghToken + ".txt": "hello\n"}), "github-token in tree"},
		{"secret split over directories", nil, branch("dirs", map[string]string{"a/" + ghToken[:20] + "/" + ghToken[20:] + "/x": "hi\n"}), "github-token in tree"},
		{"secret under *.png", nil, branch("png", map[string]string{"img/logo.png": "\x89PNG\r\n\x1a\n\x00\x00tEXt " + ghToken + "\x00\x00"}), "github-token in blob"},
		{"secret under node_modules/", nil, branch("nm", map[string]string{"node_modules/x/index.js": "const t = '" + ghToken + "'\n"}), "github-token in blob"},
		{"secret in a lock file", nil, branch("lock", map[string]string{"package-lock.json": `{"token": "` + ghToken + `"}` + "\n"}), "github-token in blob"},
		{"secret under vendor/", nil, branch("vendor", map[string]string{"vendor/github.com/a/b/c.go": "var k = \"" + awsKey + "\"\n"}), "aws-access-token in blob"},
		{"gitleaks:allow line", nil, branch("allow", map[string]string{"main.go": "var k = \"" + ghToken + "\" // gitleaks:allow\n"}), "github-token in blob"},
		{"secret at the end of a large file (streamed)", nil, branch("large", map[string]string{"data/big.txt": strings.Repeat("lorem ipsum dolor sit amet\n", 400<<10) + "key = " + ghToken + "\n"}), "github-token in blob"},
		{"secret across a window boundary", nil, branch("window", map[string]string{"w.txt": strings.Repeat("x", scanChunk+scanOverlap-20) + " " + ghToken + "\n"}), "github-token in blob"},
		{"secret in UTF-16", nil, branch("utf16", map[string]string{"notes.txt": utf16("key = " + ghToken + "\n")}), "github-token in blob"},
		{"symlink target", nil, func(t *testing.T, dir string) []string {
			assert.NilError(t, os.Symlink(ghToken, filepath.Join(dir, "link")))
			run(t, dir, "add", "link")
			run(t, dir, "commit", "-q", "-m", "link")
			return []string{"origin", "HEAD:refs/heads/link"}
		}, "github-token in blob"},
		{"gitlink ids", nil, func(t *testing.T, dir string) []string {
			run(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+hex.EncodeToString([]byte(ghToken[:20]))+",a")
			run(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+hex.EncodeToString([]byte(ghToken[20:]))+",b")
			run(t, dir, "commit", "-q", "-m", "submodules")
			return []string{"origin", "HEAD:refs/heads/gitlink"}
		}, "github-token in tree"},
		{".gitmodules url", nil, branch("gitmodules", map[string]string{".gitmodules": "[submodule \"lib\"]\n\tpath = lib\n\turl = https://x:" + ghToken + "@github.com/a/b.git\n"}), "github-token in blob"},
		{"commit message", nil, branch("msg", nil), ""}, // replaced below
		{"extra commit header", nil, func(t *testing.T, dir string) []string {
			c := rawCommit(t, dir, "x-deploy-key "+awsKey+"\n", "clean message\n")
			return []string{"origin", c + ":refs/heads/hdr"}
		}, "aws-access-token in commit"},
		{"gpgsig header", nil, func(t *testing.T, dir string) []string {
			c := rawCommit(t, dir, "gpgsig -----BEGIN PGP SIGNATURE-----\n "+ghToken+"\n -----END PGP SIGNATURE-----\n", "signed\n")
			return []string{"origin", c + ":refs/heads/sig"}
		}, "github-token in commit"},
		{"author", nil, func(t *testing.T, dir string) []string {
			run(t, dir, "commit", "-q", "--allow-empty", "--author", canary+" <a@b>", "-m", "x")
			return []string{"origin", "HEAD:refs/heads/author"}
		}, "known-secret CANARY in commit"},
		{"secret in a ref name", nil, func(t *testing.T, dir string) []string {
			return []string{"origin", "HEAD:refs/heads/" + awsKey}
		}, "gitleaks rejected push to a ref: aws-access-token in the ref name"},
		{"secret split over ref names", nil, func(t *testing.T, dir string) []string {
			return []string{"origin", "HEAD:refs/heads/" + ghToken[:20], "HEAD:refs/heads/" + ghToken[20:]}
		}, "gitleaks rejected push to a ref: github-token in the ref name"},
		{"non-ASCII ref name", nil, func(t *testing.T, dir string) []string {
			return []string{"origin", "HEAD:refs/heads/caf\u00e9"}
		}, "not a valid branch or tag name"},
		{"object over the per-object limit", func(r *daemoncfg.Repo) { r.MaxObjectMiB = 1 }, branch("big", map[string]string{"big.bin": strings.Repeat("0123456789abcdef", 80<<10)}), "over the per-object limit of 1 MiB"},
		{"zlib bomb", func(r *daemoncfg.Repo) { r.MaxObjectMiB = 1 }, branch("bomb", map[string]string{"zeros.bin": string(make([]byte, 64<<20))}), "is 64 MiB, over the per-object limit of 1 MiB"},
		{"push over the per-push limit", func(r *daemoncfg.Repo) { r.MaxPushMiB = 1 }, branch("many", map[string]string{"a.txt": strings.Repeat("a", 600<<10), "b.txt": strings.Repeat("b", 600<<10)}), "over the per-push limit"},
		{"push option", nil, func(t *testing.T, dir string) []string {
			addCommit(t, dir, "c", map[string]string{"o.txt": "o\n"})
			return []string{"-o", "ci.skip", "origin", "HEAD:refs/heads/opt"}
		}, "the receiving end does not support push options"},
		{"signed push", nil, func(t *testing.T, dir string) []string {
			addCommit(t, dir, "c", map[string]string{"s.txt": "s\n"})
			return []string{"--signed", "origin", "HEAD:refs/heads/signed"}
		}, "does not support --signed push"},
	}
}

func utf16(s string) string {
	var b strings.Builder
	b.WriteString("\xff\xfe")
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		b.WriteByte(0)
	}
	return b.String()
}

// Every attack class of git-gate's threat model, judged at the far side: the
// push is refused with the expected answer, the upstream's refs are
// unchanged and none of its objects holds a planted secret.
func TestAttacksJudgedAtTheUpstream(t *testing.T) {
	for _, a := range attacks() {
		if a.want == "" {
			a.prepare = func(t *testing.T, dir string) []string {
				addCommit(t, dir, "rotate key "+awsKey, nil)
				return []string{"origin", "HEAD:refs/heads/msg"}
			}
			a.want = "aws-access-token in commit"
		}
		t.Run(a.name, func(t *testing.T) {
			r := newGateRig(t, a.tune)
			dir := r.clone(t)
			out, err := r.push(t, dir, a.prepare(t, dir)...)
			assert.Assert(t, err != nil, "the push went through: %s", out)
			assert.Assert(t, findingRE(a.want).MatchString(out), "want %q in:\n%s", a.want, out)
			// What the gate said (the client's own lines may echo the
			// names it was given).
			var remote strings.Builder
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "remote:") {
					remote.WriteString(l + "\n")
				}
			}
			for name, v := range planted {
				assert.Assert(t, !strings.Contains(remote.String(), v), "the answer repeats the %s secret: %s", name, out)
			}
			if strings.Contains(out, "gitleaks rejected") {
				for _, w := range []string{"resolve", "refused", "unreachable", "upstream"} {
					assert.Assert(t, !strings.Contains(strings.ToLower(out), w), "the rejection mentions %q: %s", w, out)
				}
			}
			assert.DeepEqual(t, r.upstreamRefs(t), []string{"refs/heads/main"})
			r.assertNoLeak(t)
		})
	}
}

// findingRE matches a wanted finding text; a GitHub token may be named by
// either of the two rules that know its prefixes (the gitleaks rule
// github-pat or our own provider rule github-token), whichever fires first.
func findingRE(want string) *regexp.Regexp {
	q := regexp.QuoteMeta(want)
	q = strings.ReplaceAll(q, "github-token", "github-(?:token|pat)")
	return regexp.MustCompile(q)
}
