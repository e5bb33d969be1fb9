package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

type logsOptions struct {
	follow, blocked, asJSON bool
}

func newLogsCmd(a *app) *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs SLUG [--follow] [--blocked]",
		Short: "show what egress and pipelock let through or blocked",
		Long: `Prints the decisions of a running bottle's egress and pipelock, one line each:
time, daemon, allow/deny, method, host, path, and why. Hosts and paths that
look like data are already masked by the daemons; everything is escaped for
the terminal.`,
		Example: `  claude-bottle logs default-abcde --blocked
  claude-bottle logs default-abcde -f
  claude-bottle logs default-abcde --json | jq 'select(.decision=="deny")'`,
		Args: exactArgs(1, "give the bottle's slug (claude-bottle ls)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := slugArg(cmd, args[0]); err != nil {
				return err
			}
			ctx := cmd.Context()
			eng, err := lifecycle.Connect(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			return eng.DaemonLogs(ctx, args[0], o.follow, func(line string) {
				d, ok := parseDecision(line)
				if !ok || (o.blocked && d["decision"] != "deny") {
					return
				}
				if o.asJSON {
					b, _ := json.Marshal(d)
					fmt.Fprintf(a.stdio.Out, "%s\n", b)
					return
				}
				fmt.Fprintln(a.stdio.Out, formatDecision(d))
			})
		},
	}
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new decisions")
	cmd.Flags().BoolVarP(&o.blocked, "blocked", "b", false, "only what was refused")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print each decision as the daemon logged it, one JSON object a line")
	return cmd
}

// parseDecision reads one log line of egress or pipelock (JSON, possibly
// after a "[daemon] " prefix added by the bundle's initd) and returns it
// when it is a decision.
func parseDecision(line string) (map[string]any, bool) {
	i := strings.IndexByte(line, '{')
	if i < 0 {
		return nil, false
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(line[i:]), &d); err != nil {
		return nil, false
	}
	if d["msg"] != "decision" {
		return nil, false
	}
	return d, true
}

// formatDecision is one readable line; every value is escaped.
func formatDecision(d map[string]any) string {
	get := func(k string) string {
		v, ok := d[k]
		if !ok || v == nil {
			return ""
		}
		if s, ok := v.(string); ok {
			return termtext.Escape(s)
		}
		return termtext.Escape(fmt.Sprint(v))
	}
	ts := get("time")
	if len(ts) >= 19 {
		ts = strings.Replace(ts[:19], "T", " ", 1)
	}
	target := get("host") + get("path")
	line := fmt.Sprintf("%s  %-8s %-5s %-6s %s", ts, get("daemon"), get("decision"), get("method"), target)
	var extra []string
	for _, k := range []string{"reason", "detail", "route", "mode"} {
		if v := get(k); v != "" {
			extra = append(extra, k+"="+v)
		}
	}
	var rest []string
	for k := range d {
		switch k {
		case "time", "level", "msg", "daemon", "decision", "method", "host", "path", "reason", "detail", "route", "mode":
		default:
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		extra = append(extra, termtext.Escape(k)+"="+get(k))
	}
	if len(extra) > 0 {
		line += "  " + strings.Join(extra, " ")
	}
	return line
}
