package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/selftest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

type selftestOptions struct {
	asJSON                                     bool
	secretEnv, allowedURL                      string
	attackerHost, attackerIP, resolver, expect string
	cleanPush                                  bool
}

func newSelftestCmd(a *app) *cobra.Command {
	var o selftestOptions
	cmd := &cobra.Command{
		Use:   "selftest SLUG [flags]",
		Short: "run the sandbox-escape attacks against a running bottle",
		Long: `Runs the sandbox-escape attacks inside the bottle's agent and prints what the
bottle answered. The secrets are fresh synthetic ones the bottle has never
been told about: the run measures the bottle's default defences, not canaries.

Exit status:
  0  every attack got a permissions answer and every control got through
  1  the bottle failed: an attack got through, or a control was refused or
     broken by the bottle
  3  no bottle failure, but a control's allowed host is unreachable from this
     machine (result UNREACHABLE: the bottle forwarded the request, the
     network is at fault)`,
		Example: "  claude-bottle selftest default-abcde\n  claude-bottle selftest default-abcde --json --secret-env GH_PAT",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("usage: claude-bottle selftest SLUG: give the bottle's slug (claude-bottle ls)")
			}
			if err := contract.ValidateSlug(args[0]); err != nil {
				return usagef("usage: claude-bottle selftest SLUG: %v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runSelftest(cmd.Context(), a, args[0], o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	f.StringVar(&o.secretEnv, "secret-env", "", "comma-separated variables of the agent's environment to use as the secrets (default: fresh synthetic secrets)")
	f.StringVar(&o.allowedURL, "allowed-url", "", "https URL on an allowed route to aim the secret attacks at (default: from the bottle's routes)")
	f.StringVar(&o.attackerHost, "attacker-host", selftest.DefaultAttackerHost, "a host name on no allowlist")
	f.StringVar(&o.attackerIP, "attacker-ip", selftest.DefaultAttackerIP, "an address outside the bottle (IP-literal and spoof attacks)")
	f.StringVar(&o.resolver, "outside-resolver", selftest.DefaultOutsideResolver, "the outside DNS resolver the agent tries to query directly")
	f.BoolVar(&o.cleanPush, "clean-push", false, "also push a clean branch (writes claude-bottle-selftest-clean to the real upstream)")
	f.StringVar(&o.expect, "expect", "", "text the allowed GET must return")
	return cmd
}

func runSelftest(ctx context.Context, a *app, slug string, o selftestOptions) error {
	stdio := a.stdio
	layout, err := statedir.FromEnv(a.env)
	if err != nil {
		return err
	}
	target, err := selftest.FromState(layout, slug)
	if err != nil {
		return err
	}
	if o.allowedURL != "" {
		if !strings.HasPrefix(o.allowedURL, "https://") {
			return &UsageError{Msg: "--allowed-url must be an https:// URL"}
		}
		target.AllowedURL = strings.TrimRight(o.allowedURL, "/")
	}
	target.AttackerHost, target.AttackerIP, target.OutsideResolver = o.attackerHost, o.attackerIP, o.resolver
	target.CleanPush, target.Expect = o.cleanPush, o.expect
	if o.secretEnv != "" {
		for _, v := range strings.Split(o.secretEnv, ",") {
			v = strings.TrimSpace(v)
			if !envNameOK(v) {
				return &UsageError{Msg: fmt.Sprintf("--secret-env: %q is not a variable name", v)}
			}
			target.Secrets = append(target.Secrets, selftest.Secret{Name: strings.ToLower(v), Env: v})
		}
	} else {
		target.Secrets = selftest.Synthetic()
	}

	eng, err := lifecycle.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	agent := contract.AgentContainer(slug)
	cs, err := eng.BottleContainers(ctx, slug)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(cs, func(c lifecycle.BottleContainer) bool { return strings.TrimPrefix(c.Name, "/") == agent }) {
		return fmt.Errorf("bottle %s: its agent %s is not running (claude-bottle ls)", slug, agent)
	}
	run := func(ctx context.Context, script string) (string, error) {
		out, _, err := eng.ExecScript(ctx, agent, "", script)
		return out, err
	}
	out, err := run(ctx, selftest.Preflight)
	if err != nil {
		return err
	}
	if err := selftest.CheckPreflight(out); err != nil {
		return err
	}
	cases := selftest.Cases(target)
	if !o.asJSON {
		fmt.Fprintf(stdio.Err, "running %d cases in %s (allowed: %s)\n", len(cases), agent, target.AllowedURL)
	}
	results := selftest.Run(ctx, run, cases, target.Secrets)
	failed, unreachable := 0, 0
	for _, r := range results {
		switch r.Outcome {
		case selftest.OutcomeFail:
			failed++
		case selftest.OutcomeUnreachable:
			unreachable++
		}
	}
	if o.asJSON {
		if err := writeJSON(stdio.Out, map[string]any{"slug": slug, "target": map[string]string{"allowed_url": target.AllowedURL, "attacker_host": target.AttackerHost, "attacker_ip": target.AttackerIP}, "results": results, "failed": failed, "unreachable": unreachable}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CASE\tRESULT\tBOTTLE'S ANSWER")
		for _, r := range results {
			verdict := "blocked"
			if r.Attack == 0 {
				verdict = "reached"
			}
			switch r.Outcome {
			case selftest.OutcomeFail:
				verdict = "FAIL"
			case selftest.OutcomeUnreachable:
				verdict = "UNREACHABLE"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, verdict, r.Answer)
		}
		_ = tw.Flush()
		fmt.Fprintf(stdio.Out, "%d case(s), %d failed, %d unreachable\n", len(results), failed, unreachable)
	}
	if failed > 0 {
		return fmt.Errorf("selftest: %d of %d case(s) failed", failed, len(results))
	}
	if unreachable > 0 {
		return &ExitCodeError{Code: ExitUnreachable, Err: fmt.Errorf("selftest: the bottle passed, but %d control(s) could not reach their allowed host from this machine (check this machine's internet access)", unreachable)}
	}
	return nil
}

func envNameOK(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
