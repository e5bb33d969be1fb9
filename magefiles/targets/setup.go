package targets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/claude-bottle/claude-bottle/pkg/cli"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Setup builds everything (base image, binaries, images) and runs the harness smoke: network isolation and the sidecars image.
func Setup(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build.Base, Build.Binaries, Build.AgentTest, Build.Sidecars)
	fmt.Fprintln(progress, "smoke: an agent on an internal network reaches no host address, resolves no outside name, reaches its peer")
	if err := goCmd(ctx, []string{"CLAUDE_BOTTLE_INTEGRATION=1"},
		"test", "-count=1", "-tags=integration", "-run", "^(TestInternalNetwork|TestSidecarsNoDaemonsSmoke)", "-v", "./integration/..."); err != nil {
		return err
	}
	if err := Demo(ctx); err != nil {
		return err
	}
	fmt.Fprintln(progress, "setup: done; run scripts/test.sh for the full test suite")
	return nil
}

// Demo brings the embedded default bottle up with the CLI (building its agent image if missing), shows it blocking a request from inside, and takes it down.
func Demo(ctx context.Context) error {
	stdio := cli.Stdio{In: strings.NewReader(""), Out: os.Stdout, Err: os.Stderr}
	var upOut bytes.Buffer
	fmt.Fprintln(progress, "demo: claude-bottle up --detach (the embedded default bottle)")
	if code := cli.Main(ctx, []string{"up", "--detach"}, cli.Stdio{In: stdio.In, Out: io.MultiWriter(os.Stdout, &upOut), Err: os.Stderr}, os.LookupEnv); code != 0 {
		return fmt.Errorf("demo: claude-bottle up failed (exit %d)", code)
	}
	slug := ""
	for _, f := range strings.Fields(upOut.String()) {
		if s := strings.TrimSuffix(f, ":"); strings.HasPrefix(s, "default-") && contract.ValidateSlug(s) == nil {
			slug = s
			break
		}
	}
	if slug == "" {
		return fmt.Errorf("demo: no slug in up's output")
	}
	defer func() {
		fmt.Fprintf(progress, "demo: claude-bottle down %s\n", slug)
		cli.Main(context.WithoutCancel(ctx), []string{"down", slug}, stdio, os.LookupEnv)
	}()
	fmt.Fprintf(progress, "demo: from inside the agent, curl https://example.com/ (not on the allowlist):\n")
	var out bytes.Buffer
	cli.Main(ctx, []string{"exec", slug, "curl", "-sS", "--max-time", "10", "https://example.com/"}, cli.Stdio{In: stdio.In, Out: &out, Err: os.Stderr}, os.LookupEnv)
	fmt.Fprint(os.Stdout, out.String())
	if !strings.Contains(out.String(), "egress: host example.com is not on this bottle's allowlist") {
		return fmt.Errorf("demo: the default bottle did not block example.com: %s", out.String())
	}
	cli.Main(ctx, []string{"ls"}, stdio, os.LookupEnv)
	return nil
}
