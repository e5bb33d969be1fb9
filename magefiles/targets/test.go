package targets

import (
	"context"
	"fmt"
	"strings"

	"github.com/magefile/mage/mg"
)

// Test runs the test suites.
type Test mg.Namespace

// Unit runs the unit tests and compiles the integration tests so they cannot rot.
func (Test) Unit(ctx context.Context) error {
	if err := goCmd(ctx, nil, "test", "-count=1", "./..."); err != nil {
		return err
	}
	return goCmd(ctx, nil, "test", "-count=1", "-tags=integration", "-run", "^$", "./...")
}

// Integration runs the Docker-backed tests for one shape: bundle=0 (legacy) or bundle=1.
func (Test) Integration(ctx context.Context, bundle string) error {
	on, err := ParseBundleArg(bundle)
	if err != nil {
		return err
	}
	mg.SerialCtxDeps(ctx, Build.AgentTest, Build.GitUpstreamTest, Build.Sidecars)
	return runIntegration(ctx, on)
}

// Matrix runs the integration tests with the bundle flag off and on.
func (Test) Matrix(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build.AgentTest, Build.GitUpstreamTest, Build.Sidecars)
	for _, on := range []bool{false, true} {
		if err := runIntegration(ctx, on); err != nil {
			return err
		}
	}
	return nil
}

// All runs the unit tests, then the integration matrix; it is what CI runs.
func (Test) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Test.Unit, Test.Matrix)
	return nil
}

func runIntegration(ctx context.Context, bundle bool) error {
	flag := "0"
	if bundle {
		flag = "1"
	}
	fmt.Fprintf(progress, "integration: CLAUDE_BOTTLE_SIDECAR_BUNDLE=%s\n", flag)
	return goCmd(ctx, []string{"CLAUDE_BOTTLE_SIDECAR_BUNDLE=" + flag},
		"test", "-count=1", "-tags=integration", "-v", "-timeout=30m", "./integration/...")
}

// ParseBundleArg parses the argument of test:integration: "bundle=0" or
// "bundle=1" (a bare "0" or "1" is accepted too).
func ParseBundleArg(arg string) (bool, error) {
	v := strings.TrimSpace(arg)
	if k, val, ok := strings.Cut(v, "="); ok {
		if strings.TrimSpace(k) != "bundle" {
			return false, fmt.Errorf("test:integration: unknown argument %q: want bundle=0 (legacy shape) or bundle=1 (bundle shape)", arg)
		}
		v = strings.TrimSpace(val)
	}
	switch v {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("test:integration: invalid value %q: want bundle=0 (legacy shape) or bundle=1 (bundle shape)", arg)
}
