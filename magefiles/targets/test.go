package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/claude-bottle/claude-bottle/internal/itest"
)

// Test runs the test suites.
type Test mg.Namespace

// Unit runs the unit tests and compiles the integration tests so they cannot rot.
// pkg/pipelock's tests run whole proxy chains with 10 MiB bodies: on a loaded
// 2-core machine they take 7-12 minutes, past go test's default 10.
func (Test) Unit(ctx context.Context) error {
	if err := goCmd(ctx, nil, "test", "-count=1", "-timeout=30m", "./..."); err != nil {
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
	if !integrationRuns(progress, os.LookupEnv, buildTestImages(ctx)) {
		return nil
	}
	leg, err := runIntegration(ctx, on, nil)
	fmt.Fprint(progress, leg.String())
	return err
}

// ShapeIndependent are the integration tests that do the same thing in
// both legs: their containers do not take the leg's shape (they fix it, or
// run both shapes themselves, or run no bottle). Matrix runs them in its
// first leg only; test:integration, one leg, runs them. A test belongs
// here only if nothing it runs reads CLAUDE_BOTTLE_SIDECAR_BUNDLE
// (TestShapeIndependentReadNoShape checks the test functions' own code).
var ShapeIndependent = []string{
	"TestBottleShapes",             // brings the same manifest up in both shapes
	"TestBundleAllDaemons",         // the bundle's initd, by itself
	"TestDoctor",                   // engine checks, no bottle
	"TestEgressInImage",            // egress in the sidecars image, no bottle
	"TestImageBuildCacheHit",       // image builds
	"TestInternalNetworkIsolation", // a bare internal network
	"TestIsolationProbeControl",    // the probe on bare containers
	"TestSidecarsImageProbe",       // the image's contents
	"TestSidecarsNoDaemonsSmoke",   // initd with no daemon
}

// skipArgs are go test's arguments that leave out tests (-skip matches
// top-level names exactly).
func skipArgs(tests []string) []string {
	if len(tests) == 0 {
		return nil
	}
	return []string{"-skip", "^(" + strings.Join(tests, "|") + ")$"}
}

// Matrix runs the integration tests with the bundle flag off and on.
func (Test) Matrix(ctx context.Context) error {
	if !integrationRuns(progress, os.LookupEnv, buildTestImages(ctx)) {
		return nil
	}
	var legs []LegSummary
	var errs []error
	for i, on := range []bool{false, true} {
		var skip []string
		if i > 0 {
			skip = ShapeIndependent // they ran in the first leg
		}
		leg, err := runIntegration(ctx, on, skip)
		legs = append(legs, leg)
		if err != nil {
			errs = append(errs, err)
		}
	}
	fmt.Fprintln(progress, "\n=== integration matrix summary ===")
	for _, l := range legs {
		fmt.Fprint(progress, l.String())
	}
	return errors.Join(errs...)
}

// All runs the unit tests, then the integration matrix; it is what CI runs.
// The integration tests' images are built while the unit tests run: on a
// cold machine the base image's debootstrap and the images' apt-get steps
// wait on the network and the disk for minutes, the unit tests on the CPU.
func (Test) All(ctx context.Context) error {
	mg.CtxDeps(ctx, Test.Unit, testImages)
	mg.CtxDeps(ctx, Test.Matrix)
	return nil
}

// testImages builds the integration tests' images unless the integration
// tests will not run here (Matrix then says why, before building anything).
func testImages(ctx context.Context) error {
	if itest.SkipReason(os.LookupEnv) != "" {
		return nil
	}
	buildTestImages(ctx)()
	return nil
}

// buildTestImages builds what the integration tests use (TestARPSpoofingSniffer
// still builds its image itself when run alone; it is up to date then).
func buildTestImages(ctx context.Context) func() {
	return func() {
		mg.SerialCtxDeps(ctx, Build.AgentTest, Build.GitUpstreamTest, Build.SnifferTest, Build.Sidecars)
	}
}

// integrationRuns decides, before any image is built, whether the
// integration tests run here: under Gitea act_runner (GITEA_ACTIONS=true
// or ACT=true, unless CLAUDE_BOTTLE_INTEGRATION=1 forces them) they would
// only skip, so building their images first is wasted minutes. It says why
// on w when they do not run, and calls build when they do.
func integrationRuns(w io.Writer, lookup func(string) (string, bool), build func()) bool {
	if reason := itest.SkipReason(lookup); reason != "" {
		fmt.Fprintf(w, "integration: skipped before building any image: %s\n", reason)
		return false
	}
	build()
	return true
}

// runIntegration runs one leg, without the tests in skip.
func runIntegration(ctx context.Context, bundle bool, skip []string) (LegSummary, error) {
	flag := "0"
	if bundle {
		flag = "1"
	}
	fmt.Fprintf(progress, "integration: CLAUDE_BOTTLE_SIDECAR_BUNDLE=%s\n", flag)
	var out bytes.Buffer
	start := time.Now()
	args := append([]string{"test", "-count=1", "-tags=integration", "-v", "-timeout=40m"}, skipArgs(skip)...)
	err := goCmdTee(ctx, &out, []string{"CLAUDE_BOTTLE_SIDECAR_BUNDLE=" + flag}, append(args, "./integration/...")...)
	leg := Summarize(out.String())
	leg.Bundle, leg.Wall, leg.NotRun = flag, time.Since(start), len(skip)
	return leg, err
}

// LegSummary counts the top-level results of one matrix leg.
type LegSummary struct {
	Bundle           string
	Wall             time.Duration
	Pass, Fail, Skip []string
	// NotRun counts the shape-independent tests left to the first leg.
	NotRun int
	Notes  []string // the escape suite's per-attack lines
}

var (
	reTop    = regexp.MustCompile(`(?m)^--- (PASS|FAIL|SKIP): (\S+) \(`)
	reEscape = regexp.MustCompile(`(?m)escape summary \(\w+\): (.*)$`)
)

// Summarize reads `go test -v` output.
func Summarize(out string) LegSummary {
	var l LegSummary
	for _, m := range reTop.FindAllStringSubmatch(out, -1) {
		switch m[1] {
		case "PASS":
			l.Pass = append(l.Pass, m[2])
		case "FAIL":
			l.Fail = append(l.Fail, m[2])
		case "SKIP":
			l.Skip = append(l.Skip, m[2])
		}
	}
	for _, m := range reEscape.FindAllStringSubmatch(out, -1) {
		l.Notes = append(l.Notes, m[1])
	}
	return l
}

func (l LegSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "leg CLAUDE_BOTTLE_SIDECAR_BUNDLE=%s: %d passed, %d failed, %d skipped in %s\n", l.Bundle, len(l.Pass), len(l.Fail), len(l.Skip), l.Wall.Round(time.Second))
	if l.NotRun > 0 {
		fmt.Fprintf(&b, "  %d shape-independent tests ran in the first leg only\n", l.NotRun)
	}
	for _, n := range l.Notes {
		fmt.Fprintf(&b, "  escape suite: %s\n", n)
	}
	for _, f := range l.Fail {
		fmt.Fprintf(&b, "  FAIL %s\n", f)
	}
	for _, s := range l.Skip {
		fmt.Fprintf(&b, "  SKIP %s\n", s)
	}
	return b.String()
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
