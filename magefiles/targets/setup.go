package targets

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"
)

// Setup builds everything (base image, binaries, images) and runs the harness smoke: network isolation and the sidecars image.
func Setup(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build.Base, Build.Binaries, Build.AgentTest, Build.Sidecars)
	fmt.Fprintln(progress, "smoke: an agent on an internal network reaches no host address, resolves no outside name, reaches its peer")
	if err := goCmd(ctx, []string{"CLAUDE_BOTTLE_INTEGRATION=1"},
		"test", "-count=1", "-tags=integration", "-run", "^(TestInternalNetwork|TestSidecarsNoDaemonsSmoke)", "-v", "./integration/..."); err != nil {
		return err
	}
	fmt.Fprintln(progress, "setup: done; run scripts/test.sh for the full test suite")
	return nil
}
