package targets

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// golangciLint is the pinned linter, run with `go run` so it stays out of the
// module's dependency graph (it is large and only the lint target needs it).
const golangciLint = "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"

// Lint checks formatting (gofmt), runs go vet (also on integration-tagged files) and golangci-lint with .golangci.yml.
func Lint(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "gofmt", "-l", ".").CombinedOutput()
	if err != nil {
		return fmt.Errorf("gofmt: %w\n%s", err, out)
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		return fmt.Errorf("gofmt would change these files (run gofmt -w):\n%s", files)
	}
	if err := goCmd(ctx, nil, "vet", "./..."); err != nil {
		return err
	}
	if err := goCmd(ctx, nil, "vet", "-tags=integration", "./..."); err != nil {
		return err
	}
	if err := goCmd(ctx, nil, "run", golangciLint, "run", "--build-tags=integration", "./..."); err != nil {
		return fmt.Errorf("golangci-lint: %w", err)
	}
	return nil
}
