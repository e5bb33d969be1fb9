package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Check is one line of `claude-bottle doctor` (and one element of its
// --json "checks").
type Check struct {
	OK     bool   `json:"ok"`
	What   string `json:"what"`
	Detail string `json:"detail"`
}

func newDoctorCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor [--json]",
		Short: "check the engine, the images and that internal networks isolate",
		Long: `Checks the state root, the Docker engine, the sidecar and agent-test images,
and that a container on an internal network reaches neither the host nor the
outside. Exits 1 when any check fails.`,
		Example: "  claude-bottle doctor\n  claude-bottle doctor --json | jq '.checks[] | select(.ok|not)'",
		Args:    exactArgs(0, "takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := doctor(cmd.Context(), a.env)
			problems := 0
			for _, c := range checks {
				if !c.OK {
					problems++
				}
			}
			if asJSON {
				if err := writeJSON(a.stdio.Out, map[string]any{"ok": problems == 0, "checks": checks}); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(a.stdio.Out, "%s %-28s %s\n", mark, c.What, c.Detail)
				}
			}
			if problems > 0 {
				return fmt.Errorf("doctor: %d problem(s)", problems)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: {ok, checks: [{ok, what, detail}]}")
	return cmd
}

func doctor(ctx context.Context, env LookupEnv) []Check {
	var checks []Check
	report := func(ok bool, what, detail string) { checks = append(checks, Check{ok, what, detail}) }
	layout, err := statedir.FromEnv(env)
	if err != nil {
		report(false, "state root", err.Error())
	} else if err := os.MkdirAll(layout.StateRoot(), statedir.DirPerm); err != nil {
		report(false, "state root", err.Error())
	} else {
		report(true, "state root", layout.Home)
	}
	eng, err := lifecycle.Connect(ctx)
	if err != nil {
		report(false, "docker engine", err.Error())
		return checks
	}
	defer func() { _ = eng.Close() }()
	v, err := eng.Version(ctx)
	report(err == nil, "docker engine", v)
	agentTest := images.AgentTestImage
	for _, img := range []struct{ ref, fix string }{
		{contract.SidecarImage(env), "go tool mage build:sidecars"},
		{agentTest, "go tool mage build:agentTest"},
	} {
		labels, ok, err := eng.ImageLabels(ctx, img.ref)
		switch {
		case err != nil:
			report(false, "image "+img.ref, err.Error())
		case !ok:
			report(false, "image "+img.ref, "missing: "+img.fix)
		case images.Stale(labels, BuildVersion().Version):
			// Not a broken sidecar: an image of another claude-bottle,
			// which up replaces.
			report(true, "image "+img.ref, fmt.Sprintf("present but built by claude-bottle %q: up rebuilds it for %s", labels[images.LabelVersion], BuildVersion().Version))
		default:
			report(true, "image "+img.ref, "present")
		}
	}
	claudeCodeReport(ctx, eng, report)
	if ver, err := eng.ServerVersion(ctx); err == nil {
		if bugs := lifecycle.KnownBugs(ver); len(bugs) > 0 {
			for _, b := range bugs {
				report(true, "known engine bug "+b.ID, "engine "+ver+" has it by version: "+b.Summary+" (fixed in "+b.FixedIn+"); bottles are mitigated (agent DNS "+compose.AgentDNS+"), proven below")
			}
		} else {
			report(true, "known engine bugs", "none for "+ver)
		}
	}
	if _, ok, _ := eng.ImageLabels(ctx, agentTest); ok {
		rep, err := eng.CheckIsolation(ctx, agentTest)
		switch {
		case err != nil:
			report(false, "internal network isolation", err.Error())
		default:
			if e := rep.Engine.Err(); e != nil {
				report(false, "internal network (engine)", e.Error())
			} else {
				report(true, "internal network (engine)", "no host, metadata or gateway address answers, no outside resolver answers")
			}
			if e := rep.Bottle.Err(); e != nil {
				report(false, "agent isolation (full)", e.Error())
			} else {
				report(true, "agent isolation (full)", "as above, and no IPv6 address, no capability, no_new_privs set")
			}
		}
	} else {
		report(false, "internal network isolation", "not checked: needs "+agentTest)
	}
	if layout.Home != "" {
		bs, err := eng.Bottles(ctx, layout)
		if err != nil {
			report(false, "bottles", err.Error())
		}
		for _, b := range bs {
			detail := b.Status + ", restarts " + restartsText(b.Restarts)
			if len(b.Problems) > 0 {
				detail += ": " + strings.Join(b.Problems, "; ")
			}
			if b.Fix != "" {
				detail += "; fix: " + b.Fix
			}
			report(b.Status == lifecycle.BottleOK || b.Status == lifecycle.BottleStarting, "bottle "+b.Slug, detail)
		}
	}
	return checks
}

// claudeCodeReport says whether the default agent image can serve
// `claude-bottle run`: present, and with Claude Code in it.
func claudeCodeReport(ctx context.Context, eng *lifecycle.Backend, report func(ok bool, what, detail string)) {
	what := "claude code in " + images.AgentImage
	if _, ok, err := eng.ImageLabels(ctx, images.AgentImage); err != nil || !ok {
		report(true, what, "image not built yet: run builds it on first use (go tool mage build:agent builds it now)")
		return
	}
	v, ok, err := eng.ClaudeCode(ctx, images.AgentImage)
	switch {
	case err != nil:
		report(false, what, err.Error())
	case !ok:
		// Not a failure of the machine: an image built without Claude Code
		// (offline CI) serves up, selftest and the tests; only run needs it.
		report(true, what, "not installed; claude-bottle run refuses this image: "+noClaudeError(images.AgentImage).Error())
	default:
		report(true, what, "version "+v)
	}
}
