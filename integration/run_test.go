//go:build integration

package integration

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/internal/standin"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/cli"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// firstWrite records when output first arrived.
type firstWrite struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first time.Time
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first.IsZero() && len(p) > 0 {
		w.first = time.Now()
	}
	return w.buf.Write(p)
}

func (w *firstWrite) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.buf.String() }

// hostRepo makes the user's repository: one commit on branch "trunk".
func hostRepo(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "trunk"},
		{"-c", "user.name=u", "-c", "user.email=u@host", "commit", "-q", "--allow-empty", "-m", "user's first commit"},
	} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		assert.NilError(t, err, string(out))
	}
	return dir
}

// fakeCredential is shaped like a real Anthropic key or OAuth token (so
// pipelock's rules would catch it anywhere it is not admitted).
func fakeCredential(prefix string) string {
	const abc = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	b.WriteString(prefix)
	for range 93 {
		b.WriteByte(abc[rand.IntN(len(abc))])
	}
	b.WriteString("AA")
	return b.String()
}

// TestRunClaudeCode is the user story of `claude-bottle run -p`, once per
// auth mode: Claude Code (the stand-in) starts with no prompt on a clone of
// the host repository, reaches the model API over TLS through the bottle
// with a placeholder while the API receives the real credential in the
// expected header only; its edit comes back as claude-bottle/<slug>/<branch>
// after git-gate's scan; its exit code and its output, streamed, reach the
// caller; the real credential is nowhere in the agent. The second mode also
// leaves a commit unpushed: the bottle then stays up and down needs --force.
func TestRunClaudeCode(t *testing.T) {
	env := itest.Require(t)
	sidecars := sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	for _, tc := range []struct {
		auth, header, prefix, scheme string
		unpushed                     bool
	}{
		{auth: manifest.ClaudeAPIKey, header: "X-Api-Key", prefix: "sk-ant-api03-"},
		{auth: manifest.ClaudeOAuth, header: "Authorization", prefix: "sk-ant-oat01-", scheme: "Bearer ", unpushed: true},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			secret := fakeCredential(tc.prefix)
			home := t.TempDir()
			mf := filepath.Join(t.TempDir(), "bottle.toml")
			assert.NilError(t, os.WriteFile(mf, []byte(fmt.Sprintf("name = \"run\"\nimage = %q\n[claude]\nauth = %q\ntoken_ref = \"CB_TEST_CLAUDE_CREDENTIAL\"\n", images.AgentTestImage, tc.auth)), 0o644))
			repo := hostRepo(t)
			vars := map[string]string{"CB_TEST_CLAUDE_CREDENTIAL": secret, contract.ImageEnv: sidecars, statedir.HomeEnv: home}
			for _, k := range []string{"DOCKER_HOST", contract.BundleEnv} {
				if v, ok := itest.LookupEnv(k); ok {
					vars[k] = v
				}
			}
			lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
			layout := statedir.Layout{Home: home}
			eng, err := lifecycle.Connect(t.Context())
			assert.NilError(t, err)
			t.Cleanup(func() { _ = eng.Close() })
			var slug string
			t.Cleanup(func() {
				if slug != "" {
					_ = eng.Down(context.Background(), layout, slug, false)
				}
			})
			in := env.NewInternet(t)
			prompt := "edit=NOTES.md branch=claude/work exit=7 pause=300"
			if tc.unpushed {
				prompt += " unpushed=1"
			}
			out := &firstWrite{}
			var errOut bytes.Buffer
			res, err := cli.Run(context.Background(), eng, layout, lookup, cli.RunOptions{
				File: mf, Repo: repo, Prompt: prompt, Keep: !tc.unpushed,
				Prepared: in.Adjust,
				Ready: func(_ context.Context, p *bottle.Plan) error {
					slug = p.Slug
					in.Start(t, env, p.Slug, "api.anthropic.com")
					return nil
				},
			}, cli.Stdio{In: strings.NewReader(""), Out: out, Err: &errOut})
			ended := time.Now()
			assert.NilError(t, err, "%s\n%s", out, errOut.String())
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut.String())

			// Exit code and streaming.
			assert.Equal(t, res.Code, 7)
			assert.Assert(t, is.Contains(out.String(), "standin-claude: no prompt needed"))
			assert.Assert(t, is.Contains(out.String(), "standin-claude: model API answered 200"))
			assert.Assert(t, strings.HasPrefix(out.String(), "standin-claude: started"), out.String())
			assert.Assert(t, out.first.Before(ended.Add(-time.Second)), "the first line must arrive while claude still runs (first %s, end %s)", out.first, ended)

			// The work came back, and only under claude-bottle/<slug>/.
			ref := "claude-bottle/" + slug + "/claude/work"
			notes, err := exec.Command("git", "-C", repo, "show", ref+":NOTES.md").CombinedOutput()
			assert.NilError(t, err, string(notes))
			assert.Assert(t, is.Contains(string(notes), "edited by the stand-in claude"))
			refs, err := exec.Command("git", "-C", repo, "for-each-ref", "--format=%(refname)").CombinedOutput()
			assert.NilError(t, err)
			assert.DeepEqual(t, strings.Fields(string(refs)), []string{"refs/heads/" + ref, "refs/heads/trunk"})
			assert.Equal(t, len(res.Pulled.Fetched), 1)

			// The far side: the real credential, only in the expected header,
			// only over TLS, only to api.anthropic.com.
			recs, err := standin.ParseRecords(in.Server.Logs(t))
			assert.NilError(t, err)
			api := 0
			for _, r := range recs {
				if r.Kind != "http" {
					assert.Assert(t, !strings.Contains(r.Text(), secret), "credential in a %s record", r.Kind)
					continue
				}
				if r.Host == "api.anthropic.com" && r.URI == "/v1/messages" {
					api++
					assert.Assert(t, r.TLS && r.SNI == "api.anthropic.com", "%+v", r)
					assert.DeepEqual(t, r.Headers[tc.header], []string{tc.scheme + secret})
				}
				for k, vs := range r.Headers {
					for _, v := range vs {
						if strings.Contains(v, secret) {
							assert.Assert(t, r.Host == "api.anthropic.com" && r.TLS && k == tc.header, "credential in header %s to %s (tls %v)", k, r.Host, r.TLS)
						}
					}
				}
				assert.Assert(t, !strings.Contains(r.Host+r.URI+string(r.Body)+string(r.Decoded), secret), "credential outside its header: %s", r.Host)
			}
			assert.Equal(t, api, 1, "the model API got one call")

			// The agent: nothing of the credential in its environment,
			// processes or files.
			assertNotInAgent(t, eng, slug, secret)

			if tc.unpushed {
				assert.Assert(t, res.Kept && res.Unpushed == 1, "%+v", res)
				assert.Assert(t, is.Contains(errOut.String(), "1 commit in /workspace that it did not push"), errOut.String())
				run := cliRunner(t, map[string]string{statedir.HomeEnv: home, contract.ImageEnv: sidecars})
				code, o, e := run("down", slug)
				assert.Equal(t, code, 1, o+e)
				assert.Assert(t, is.Contains(e, "1 commit in /workspace not pushed"), e)
				// The stand-in is on the bottle's egress network: off it first.
				assert.NilError(t, sdk(t).NetworkDisconnect(t.Context(), contract.EgressNetwork(slug), in.Server.ID, true))
				code, o, e = run("down", "--force", slug)
				assert.Equal(t, code, 0, o+e)
				slug = ""
			}
		})
	}
}

// assertNotInAgent scans the agent's whole filesystem (an export), its
// configured environment and every process' environment for secret.
func assertNotInAgent(t *testing.T, eng *lifecycle.Backend, slug, secret string) {
	t.Helper()
	ctx := t.Context()
	id := contract.AgentContainer(slug)
	info, err := sdk(t).ContainerInspect(ctx, id)
	assert.NilError(t, err)
	for _, kv := range info.Config.Env {
		assert.Assert(t, !strings.Contains(kv, secret), "agent env holds the credential")
	}
	var envs bytes.Buffer
	_, err = eng.ExecStream(ctx, id, []string{"sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null; true"}, engine.StreamOptions{User: "0", Stdout: &envs})
	assert.NilError(t, err)
	assert.Assert(t, envs.Len() > 0)
	assert.Assert(t, !strings.Contains(envs.String(), secret), "a process of the agent has the credential in its environment")
	assert.Assert(t, strings.Contains(envs.String(), "-claude-bottle-placeholder-"), "the agent holds the placeholder")

	rc, err := sdk(t).ContainerExport(ctx, id)
	assert.NilError(t, err)
	defer rc.Close()
	tr := tar.NewReader(bufio.NewReaderSize(rc, 1<<20))
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		assert.NilError(t, err)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		files++
		data, err := io.ReadAll(tr)
		assert.NilError(t, err)
		assert.Assert(t, !bytes.Contains(data, []byte(secret)), "agent file %s holds the credential", h.Name)
		assert.Assert(t, !strings.Contains(h.Name, secret))
	}
	assert.Assert(t, files > 1000, "the export covered the filesystem (%d files)", files)
}

// TestRunInterrupted: an interrupted run (SIGINT/SIGTERM cancel its
// context) stops Claude Code inside the bottle, passes on its exit code
// (143: terminated), and still ends as a run does: the bottle goes away.
func TestRunInterrupted(t *testing.T) {
	env := itest.Require(t)
	sidecars := sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	home := t.TempDir()
	mf := filepath.Join(t.TempDir(), "bottle.toml")
	assert.NilError(t, os.WriteFile(mf, []byte(fmt.Sprintf("name = \"intr\"\nimage = %q\n[claude]\nauth = \"api-key\"\ntoken_ref = \"CB_TEST_CLAUDE_CREDENTIAL\"\n", images.AgentTestImage)), 0o644))
	vars := map[string]string{"CB_TEST_CLAUDE_CREDENTIAL": fakeCredential("sk-ant-api03-"), contract.ImageEnv: sidecars, statedir.HomeEnv: home}
	for _, k := range []string{"DOCKER_HOST", contract.BundleEnv} {
		if v, ok := itest.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	eng, err := lifecycle.Connect(t.Context())
	assert.NilError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	layout := statedir.Layout{Home: home}
	var slug string
	t.Cleanup(func() {
		if slug != "" {
			_ = eng.Down(context.Background(), layout, slug, false)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &firstWrite{}
	var errOut bytes.Buffer
	go func() {
		for !strings.Contains(out.String(), "no prompt needed") {
			time.Sleep(50 * time.Millisecond)
		}
		cancel() // what SIGINT does to the CLI's context
	}()
	start := time.Now()
	res, err := cli.Run(ctx, eng, layout, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, cli.RunOptions{
		File: mf, Repo: hostRepo(t), Prompt: "pause=60000", Started: func(s string) { slug = s },
	}, cli.Stdio{In: strings.NewReader(""), Out: out, Err: &errOut})
	assert.NilError(t, err, errOut.String())
	assert.Equal(t, res.Code, 143, "%s\n%s", out, errOut.String())
	assert.Assert(t, time.Since(start) < 50*time.Second, "run waited for claude's 60 s pause")
	assert.Assert(t, is.Contains(errOut.String(), "interrupted: stopping Claude Code"))
	assert.Assert(t, !res.Kept)
	_, err = os.Stat(layout.StateDir(slug))
	assert.Assert(t, os.IsNotExist(err), "the bottle is gone")
	slug = ""
}
