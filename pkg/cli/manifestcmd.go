package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/manifest"
)

// ManifestFile is the name up (and run) look for from the current
// directory upward when -f is not given.
const ManifestFile = "bottle.toml"

// findManifest returns the first bottle.toml in dir or one of its parents
// ("" when there is none).
func findManifest(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ManifestFile)
		st, err := os.Stat(p)
		switch {
		case err == nil && st.Mode().IsRegular():
			return p, nil
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("look for %s: %w", ManifestFile, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// manifestPath is the manifest a command uses: -f when given, else the
// nearest bottle.toml from the current directory upward, else "" (the
// embedded default bottle).
func manifestPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return findManifest(wd)
}

// describeSource is what up prints about the manifest it uses.
func describeSource(path string) string {
	if path == "" {
		return "manifest: the embedded default bottle (no " + ManifestFile + " here or above; claude-bottle init writes one)"
	}
	return "manifest: " + path
}

// initTemplate is what `claude-bottle init` writes: the default bottle,
// with every table explained. It must parse (a test checks it).
const initTemplate = `# bottle.toml: one sandboxed agent. claude-bottle up (in this directory or
# below) uses it; claude-bottle validate bottle.toml checks it.
# The schema is docs/bottle.schema.json; the reference, docs/operations.md.

# The bottle's name: lowercase letters, digits and dashes. Running bottles
# are <name>-<5 random characters>.
name = "%s"

# The agent image. claude-bottle-agent:latest (Claude Code) is built by up.
image = "claude-bottle-agent:latest"

# Extra environment of the agent; ${VAR} takes a variable of the shell that
# runs up, $$ is a literal $.
[env]
# LOG_LEVEL = "debug"

# Egress is the agent's only way to the internet: a host is reachable only
# when it has a route here (exact host names; paths limit it to prefixes).
# A route can carry a credential egress adds; the agent never sees it:
#   auth = { scheme = "Bearer", token_ref = "NAME_OF_A_HOST_VARIABLE" }
[[egress.routes]]
host = "api.anthropic.com"

[[egress.routes]]
host = "statsig.anthropic.com"

# [[egress.routes]]
# host = "api.github.com"
# paths = ["/repos/your-org/"]
# auth = { scheme = "token", token_ref = "GH_PAT" }

# Pipelock scans every request for secrets. Route hosts are on its allowlist
# already; hosts listed here must also have a route (egress refuses the
# rest). tls_passthrough lists hosts it does not decrypt (not scanned).
# injection: what to do with prompt injection in responses (block, warn, off).
[pipelock]
allowlist = []
# tls_passthrough = []
# injection = "block"

# Repositories the agent may fetch and push through git-gate
# (git://git-gate/<name>.git); pushes are scanned for secrets first.
# [[git.repos]]
# name = "app"
# url = "ssh://git@github.com/your-org/app.git"
# identity = "~/.ssh/bottle_key"
# host_key = "ssh-ed25519 AAAA..."

# Supervise lets a blocked agent ask you (claude-bottle supervise) for a
# host, a route or a tool. wait is how long it waits for your answer.
[supervise]
enabled = true
wait = "10m"

# Host variables whose values must never leave the bottle in any encoding.
# [dlp]
# canaries = ["AWS_SECRET_ACCESS_KEY"]
`

func newInitCmd(a *app) *cobra.Command {
	var name string
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR] [--name NAME] [--force]",
		Short: "write a commented bottle.toml to start from",
		Long: `Writes DIR/bottle.toml (DIR defaults to the current directory): the default
bottle with every table explained. An existing file is kept unless --force.`,
		Example: "  claude-bottle init\n  claude-bottle init ~/src/app --name app",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("init: at most one directory")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if name == "" {
				name = "default"
			}
			p := filepath.Join(dir, ManifestFile)
			data := []byte(fmt.Sprintf(initTemplate, name))
			if _, err := manifest.Parse(data, p); err != nil {
				return usagef("init: --name: %v", err)
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(p, flags, 0o644) //nolint:gosec // a manifest holds no secrets (only names of variables)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("init: %s exists; edit it, or run again with --force to overwrite it", p)
			}
			if err != nil {
				return fmt.Errorf("init: %w", err)
			}
			if _, err := f.Write(data); err != nil {
				_ = f.Close()
				return fmt.Errorf("init: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("init: %w", err)
			}
			fmt.Fprintf(a.stdio.Out, "wrote %s: edit it, then claude-bottle validate %s and claude-bottle up\n", p, p)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the bottle's name (default \"default\")")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing bottle.toml")
	return cmd
}

// ValidateResult is what `claude-bottle validate --json` prints.
type ValidateResult struct {
	File     string          `json:"file"`
	OK       bool            `json:"ok"`
	Name     string          `json:"name,omitempty"`
	Problems []ProblemResult `json:"problems"`
}

// ProblemResult is one problem of a manifest.
type ProblemResult struct {
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

func newValidateCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "check a bottle.toml and report every problem with its line",
		Long: `Parses and checks a manifest (default: the bottle.toml up would use) without
touching the engine, and reports every problem at once with the line and
key it concerns and how to fix it. Exits 1 when the manifest is invalid.`,
		Example: "  claude-bottle validate\n  claude-bottle validate bottle.toml --json",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("validate: one file at a time")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			flag := ""
			if len(args) == 1 {
				flag = args[0]
			}
			path, err := manifestPath(flag)
			if err != nil {
				return err
			}
			if path == "" {
				return fmt.Errorf("validate: no %s in this directory or above; give the file", ManifestFile)
			}
			res := ValidateResult{File: path, Problems: []ProblemResult{}}
			m, err := manifest.Load(path)
			var ve *manifest.ValidationError
			switch {
			case err == nil:
				res.OK, res.Name = true, m.Name
			case errors.As(err, &ve):
				for _, p := range ve.Problems {
					res.Problems = append(res.Problems, ProblemResult{Line: p.Line, Key: p.Key, Message: p.Msg})
				}
			default:
				return err
			}
			if asJSON {
				if err := writeJSON(a.stdio.Out, res); err != nil {
					return err
				}
				if !res.OK {
					return fmt.Errorf("validate: %s: %d problem(s)", path, len(res.Problems))
				}
				return nil
			}
			if !res.OK {
				return err
			}
			fmt.Fprintf(a.stdio.Out, "%s: ok (bottle %q)\n", path, m.Name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {file, ok, name, problems: [{line, key, message}]}")
	return cmd
}
