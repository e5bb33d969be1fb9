package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/claudecode"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/workspace"
)

// RunOptions are the inputs of Run.
type RunOptions struct {
	// File is the manifest ("" = the embedded default bottle).
	File string
	// Repo is a directory in the user's repository ("" = the current one).
	Repo string
	// Prompt runs Claude Code headless (-p) with output streamed; without
	// it Claude Code gets the caller's terminal.
	Prompt string
	// Keep leaves the bottle up after Claude Code exits.
	Keep bool
	// IncludeUncommitted takes the repository's uncommitted changes in, as
	// a commit on a branch of its own.
	IncludeUncommitted bool
	// ClaudeArgs are passed on to claude after run's own arguments.
	ClaudeArgs []string

	// Prepared, when set, may adjust the plan before it is staged (tests:
	// the stand-in internet's addresses and CA).
	Prepared func(*bottle.Plan) error
	// Ready, when set, runs once the bottle is up, before Claude Code.
	Ready func(context.Context, *bottle.Plan) error
	// Started, when set, is called right before Claude Code is executed.
	Started func(slug string)
}

// RunResult says how a run ended.
type RunResult struct {
	Slug string
	// Code is Claude Code's exit code.
	Code int
	// Pulled are the branches brought back into the user's repository.
	Pulled *workspace.PullResult
	// Unpushed counts the agent's commits that never reached git-gate
	// (the bottle then stays up).
	Unpushed int
	// Kept reports that the bottle is still up.
	Kept bool
}

// Run brings a bottle up on a clone of the user's repository, runs Claude
// Code in it, brings the agent's pushed branches back into the repository,
// and takes the bottle down (unless Keep, or the agent left commits it did
// not push).
func Run(ctx context.Context, eng *lifecycle.Backend, layout statedir.Layout, env LookupEnv, opts RunOptions, stdio Stdio) (res *RunResult, err error) {
	tty := opts.Prompt == "" && isTerminal(stdio.In) && isTerminal(stdio.Out)
	if opts.Prompt == "" && !tty {
		return nil, &UsageError{Msg: "run without -p needs a terminal on stdin and stdout; pass -p PROMPT to run Claude Code headless"}
	}
	r, err := runManifest(opts.File, env)
	if err != nil {
		return nil, err
	}
	repoDir := opts.Repo
	if repoDir == "" {
		if repoDir, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	sidecars := contract.SidecarImage(env)
	var plan *bottle.Plan
	var rec *workspace.Record
	user := claudecode.DefaultUser
	// Until Claude Code starts, a failure takes the bottle down again;
	// after that, the agent's work may be in it, so it stays.
	staged, started := false, false
	defer func() {
		if err != nil && staged && !started {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = eng.Down(cctx, layout, plan.Slug, opts.Keep)
		}
	}()
	// The mirror of the repository is made while the images are checked
	// and the plan staged, in a directory beside the state dirs, then moved
	// into the bottle's state dir.
	if err := os.MkdirAll(layout.StateRoot(), statedir.DirPerm); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(layout.Home, ".workspace-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	type created struct {
		rec *workspace.Record
		err error
	}
	mirrored := make(chan created, 1)
	go func() {
		rec, err := workspace.Create(ctx, workspace.Options{Repo: repoDir, StateDir: tmp, IncludeUncommitted: opts.IncludeUncommitted})
		mirrored <- created{rec, err}
	}()
	err = withProgress(stdio.Err, env, func(out io.Writer) error {
		for _, ref := range []string{sidecars, r.Image} {
			if _, err := images.Ensure(ctx, eng.Engine, ref, images.EnsureOptions{SidecarImage: sidecars, Lookup: env, Out: out}); err != nil {
				return err
			}
		}
		version, ok, err := eng.ClaudeCode(ctx, r.Image)
		if err != nil {
			return err
		}
		if !ok {
			return noClaudeError(r.Image)
		}
		fmt.Fprintf(out, "agent image %s: Claude Code %s\n", r.Image, version)
		img, err := eng.InspectImage(ctx, r.Image)
		if err != nil {
			return err
		}
		user = claudecode.User(img.User)
		plan, err = bottle.Prepare(bottle.Options{Bottle: r, Shape: contract.ShapeFromEnv(env), SidecarImage: sidecars, Layout: layout, User: compose.OperatorUser()})
		if err != nil {
			return err
		}
		if opts.Prepared != nil {
			if err := opts.Prepared(plan); err != nil {
				return err
			}
		}
		if err := plan.Stage(); err != nil {
			return err
		}
		staged = true
		c := <-mirrored
		if c.err != nil {
			return c.err
		}
		rec = c.rec
		dir := layout.StateDir(plan.Slug)
		for _, name := range []string{workspace.MirrorDir, workspace.RecordFile} {
			if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("move the workspace mirror into %s: %w", dir, err)
			}
		}
		if err := claudeSetup(plan, rec, user); err != nil {
			return err
		}
		fmt.Fprintf(out, "bottle %s: %s (branch %s) in, state in %s\n", plan.Slug, rec.Repo, rec.Branch, layout.StateDir(plan.Slug))
		return setupError(eng.Up(ctx, plan, r.TokenEnv(), out), r.Image)
	})
	if err != nil {
		return nil, err
	}
	res = &RunResult{Slug: plan.Slug}
	if opts.Ready != nil {
		if err := opts.Ready(ctx, plan); err != nil {
			return res, err
		}
	}
	argv := claudecode.Argv(opts.Prompt, opts.ClaudeArgs)
	so := engine.StreamOptions{User: user, WorkDir: claudecode.Workspace, Env: claudecode.Env(), Stdout: stdio.Out, Stderr: stdio.Err}
	started = true
	if opts.Started != nil {
		opts.Started(plan.Slug)
	}
	// Claude Code runs under a shell that records its PID: when run is
	// interrupted (SIGINT, SIGTERM), Claude Code gets SIGTERM in the agent
	// and run goes on as if it had exited, bringing back what was pushed.
	argv = append([]string{"sh", "-c", `echo $$ > ` + claudePIDFile + `; exec "$@"`, "sh"}, argv...)
	agent := contract.AgentContainer(plan.Slug)
	xctx, stopExec := context.WithCancel(context.WithoutCancel(ctx))
	defer stopExec()
	interrupted := context.AfterFunc(ctx, func() {
		fmt.Fprintf(stdio.Err, "\nclaude-bottle: interrupted: stopping Claude Code in bottle %s\n", plan.Slug)
		kctx, cancel := context.WithTimeout(xctx, 10*time.Second)
		defer cancel()
		_, _, _ = eng.ExecScript(kctx, agent, user, `kill -TERM "$(cat `+claudePIDFile+`)" 2>/dev/null`)
		// A Claude Code that ignores SIGTERM is left behind, not waited for.
		select {
		case <-xctx.Done():
		case <-time.After(15 * time.Second):
			stopExec()
		}
	})
	defer interrupted()
	if tty {
		so.Stdin = stdio.In
		res.Code, err = execTTY(xctx, eng, agent, argv, so, stdio)
	} else {
		res.Code, err = eng.ExecStream(xctx, agent, argv, so)
	}
	stopExec()
	if err != nil {
		return res, fmt.Errorf("claude: %w (the bottle stays up: claude-bottle down %s)", err, plan.Slug)
	}
	// Whatever happened, bring back what was pushed.
	wctx := context.WithoutCancel(ctx)
	res.Pulled, err = workspace.Pull(wctx, layout.StateDir(plan.Slug), plan.Slug, rec)
	if err != nil {
		return res, fmt.Errorf("bring back the agent's branches: %w (the bottle stays up; retry with claude-bottle pull %s)", err, plan.Slug)
	}
	printPulled(stdio.Err, rec.Repo, res.Pulled)
	res.Unpushed, err = unpushedCommits(wctx, eng, plan.Slug, user)
	if err != nil {
		fmt.Fprintf(stdio.Err, "claude-bottle: could not count the agent's unpushed commits: %v\n", err)
	}
	switch {
	case opts.Keep:
		res.Kept = true
		fmt.Fprintf(stdio.Err, "bottle %s stays up (--keep): claude-bottle shell %s, claude-bottle pull %s, claude-bottle down %s\n", plan.Slug, plan.Slug, plan.Slug, plan.Slug)
	case res.Unpushed > 0 || err != nil:
		res.Kept = true
		fmt.Fprintf(stdio.Err, "bottle %s stays up: the agent has %s in %s that it did not push.\n  push them: claude-bottle exec -w %s %s git push origin HEAD   then: claude-bottle pull %s\n  discard them: claude-bottle down --force %s\n",
			plan.Slug, plural(res.Unpushed, "commit"), claudecode.Workspace, claudecode.Workspace, plan.Slug, plan.Slug, plan.Slug)
	default:
		dctx, cancel := context.WithTimeout(wctx, time.Minute)
		defer cancel()
		if err := eng.Down(dctx, layout, plan.Slug, false); err != nil {
			return res, fmt.Errorf("take bottle %s down: %w", plan.Slug, err)
		}
	}
	return res, nil
}

// claudePIDFile is where the shell that starts Claude Code in the agent
// leaves its PID (the agent's own file: at worst it makes run signal
// another process of the agent user).
const claudePIDFile = "/tmp/.claude-bottle-claude.pid"

// runManifest loads the manifest, gives Claude Code its credential from the
// environment when it has no [claude] table, and adds the workspace repo.
func runManifest(path string, env LookupEnv) (*manifest.Resolved, error) {
	var m *manifest.Manifest
	var err error
	if path == "" {
		m, err = manifest.Default()
	} else {
		m, err = manifest.Load(path)
	}
	if err != nil {
		return nil, err
	}
	if m.Claude.Auth == "" {
		c, ok := manifest.ClaudeFromEnv(env)
		if !ok {
			return nil, fmt.Errorf("claude code needs a credential: export %s (an API key) or %s (from `claude setup-token`), or add a [claude] table to the manifest; only egress receives its value, the agent gets a placeholder", manifest.EnvAPIKey, manifest.EnvOAuthToken)
		}
		if err := m.SetClaude(c); err != nil {
			return nil, err
		}
	}
	for _, r := range m.Git.Repos {
		if r.Name == workspace.RepoName {
			return nil, fmt.Errorf("%s: git repo name %q is reserved for the repository run works on; rename it", m.Source, workspace.RepoName)
		}
	}
	m.Git.Repos = append(m.Git.Repos, manifest.Repo{Name: workspace.RepoName, URL: contract.WorkspaceMount + "/" + workspace.RepoName + ".git", Workspace: true})
	return m.Resolve(env)
}

// noClaudeError names the fix for an agent image without Claude Code.
func noClaudeError(image string) error {
	if image == images.AgentImage {
		return fmt.Errorf("agent image %s has no Claude Code (built with %s=none?): rebuild it where the npm registry is reachable: docker rmi %s && %s= go tool mage build:agent (or name another image with claude in the manifest)",
			image, images.ClaudeCodeVersionEnv, image, images.ClaudeCodeVersionEnv)
	}
	return fmt.Errorf("agent image %s has no claude command: install Claude Code in it (npm install -g @anthropic-ai/claude-code) or use %s", image, images.AgentImage)
}

// claudeSetup sets the agent setup of a run into plan: the checks and the
// workspace directory as uid 0, Claude Code's settings and the workspace
// clone as user, both run by up's provisioning.
func claudeSetup(plan *bottle.Plan, rec *workspace.Record, user string) error {
	setup := claudecode.Setup{Auth: plan.Bottle.Claude.Auth}
	if plan.Bottle.SuperviseEnabled() {
		setup.SuperviseURL = contract.URL(contract.Supervise) + "/"
	}
	us, err := claudecode.UserScript(setup, "git://"+contract.GitGate+"/"+workspace.RepoName+".git", rec.Branch)
	if err != nil {
		return err
	}
	plan.AgentSetup, plan.AgentUserSetup, plan.AgentUser = claudecode.RootScript(user), us, user
	return nil
}

// setupError explains a failed agent setup.
func setupError(err error, image string) error {
	var pe *lifecycle.ProvisionError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case claudecode.ExitNoClaude:
		return noClaudeError(image)
	case claudecode.ExitNoUser:
		return fmt.Errorf("set Claude Code up in the agent: %s", pe.Output)
	case claudecode.ExitClone:
		return fmt.Errorf("clone the workspace through git-gate: %s", pe.Output)
	}
	return err
}

// unpushedCommits counts the commits on the agent's branches in /workspace
// that git-gate never received. The agent controls /workspace: only a
// number is read back.
func unpushedCommits(ctx context.Context, eng *lifecycle.Backend, slug, user string) (int, error) {
	var out strings.Builder
	code, err := eng.ExecStream(ctx, contract.AgentContainer(slug), []string{"git", "-C", claudecode.Workspace, "rev-list", "--count", "--branches", "--not", "--remotes"},
		engine.StreamOptions{User: user, Stdout: &out})
	if err != nil {
		return 0, err
	}
	if code != 0 {
		return 0, fmt.Errorf("git rev-list in %s exited with %d", claudecode.Workspace, code)
	}
	s := strings.TrimSpace(out.String())
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || len(s) > 9 {
		return 0, errors.New("git rev-list printed no count")
	}
	return n, nil
}

func printPulled(w io.Writer, repo string, p *workspace.PullResult) {
	if p == nil {
		return
	}
	for _, b := range p.Fetched {
		fmt.Fprintf(w, "branch %s in %s: %s (%s)\n", b.Ref, repo, b.Commit[:12], plural(b.New, "new commit"))
	}
	for _, r := range p.Refused {
		fmt.Fprintf(w, "refused a branch with a name it may not have: %s\n", r)
	}
	if len(p.Fetched) == 0 && len(p.Refused) == 0 {
		fmt.Fprintln(w, "the agent pushed no branch")
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "ch") {
		return strconv.Itoa(n) + " " + what + "es"
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func newRunCmd(a *app) *cobra.Command {
	var opts RunOptions
	cmd := &cobra.Command{
		Use:   "run [-f bottle.toml] [--repo DIR] [-p PROMPT] [--keep] [--include-uncommitted] [-- CLAUDE_ARGS...]",
		Short: "start Claude Code in a fresh bottle on a clone of this repository",
		Long: `Brings a fresh bottle up on a clone of the git repository you are in (its
current branch), and runs Claude Code in it with full permissions
(--dangerously-skip-permissions): on your terminal, or headless with -p,
output streamed. Its credential is injected by egress; Claude Code holds a
placeholder. Branches it pushes pass git-gate's scan and come back into your
repository as claude-bottle/<slug>/<branch> when it exits; then the bottle
goes away (unless --keep, or it left commits unpushed). Exits with Claude
Code's exit code. Arguments after -- go to claude.`,
		Example: `  claude-bottle run
  claude-bottle run -p "fix the failing test, commit and git push origin HEAD:fix-test"
  claude-bottle run -f bottle.toml --keep -- --model opus`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := opts
			o.ClaudeArgs = args
			if o.Prompt == "" && !interactive(a.stdio, a.env) {
				return usagef("run without -p needs a terminal on stdin and stdout; pass -p PROMPT to run Claude Code headless")
			}
			ctx := cmd.Context()
			layout, eng, err := openEngine(ctx, a.env)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			res, err := Run(ctx, eng, layout, a.env, o, a.stdio)
			if err != nil {
				return err
			}
			return exitCode(res.Code)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "bottle manifest (default: the embedded default bottle)")
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "the git repository to work on (default: the current directory's)")
	cmd.Flags().StringVarP(&opts.Prompt, "prompt", "p", "", "run Claude Code headless with this prompt, output streamed")
	cmd.Flags().BoolVarP(&opts.Keep, "keep", "k", false, "leave the bottle up when Claude Code exits")
	cmd.Flags().BoolVar(&opts.IncludeUncommitted, "include-uncommitted", false, "take uncommitted changes in too, as a commit on the branch <branch>-uncommitted")
	return cmd
}
