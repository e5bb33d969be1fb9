package gitgate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/internal/sidecar"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// DefaultWorkDir holds the mirrors inside the sidecars image.
const DefaultWorkDir = "/var/lib/claude-bottle/work/git-gate"

// Run is `claude-bottle-sidecar git-gate [--listen ADDR] [--config-dir DIR]
// [--work-dir DIR]`, and `claude-bottle-sidecar git-gate pre-receive` for the
// hook that receive-pack runs.
func Run(ctx context.Context, args []string, _, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "pre-receive" {
		return runHook(ctx, stderr)
	}
	fs := flag.NewFlagSet("git-gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9418", "address to listen on")
	configDir := fs.String("config-dir", contract.ConfigDir(contract.GitGate), "directory with repos.yaml, known_hosts and identities")
	workDir := fs.String("work-dir", DefaultWorkDir, "writable directory for the mirrors")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("git-gate: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("daemon", contract.GitGate)
	sidecar.OneProc() // the daemon only; the pre-receive hook that scans keeps every core
	g, err := Load(*configDir, *workDir, self, log)
	if err != nil {
		return err
	}
	// Fail at start, not at the first push, if the fingerprints are bad.
	// (The gitleaks rules load in the short-lived hook process only, so
	// the resident daemon stays small.)
	if _, err := dlp.New(dlp.Options{Known: g.Known, NoGitleaks: true}); err != nil {
		return fmt.Errorf("git-gate: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("git-gate: listen %s: %w", *listen, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "repos", g.Order)
	return g.Serve(ctx, ln)
}

func runHook(ctx context.Context, stderr io.Writer) error {
	repo, cfg, work := os.Getenv(EnvRepo), os.Getenv(EnvConfigDir), os.Getenv(EnvWorkDir)
	if repo == "" || cfg == "" || work == "" {
		return errors.New("git-gate pre-receive: run by git-gate's receive-pack only")
	}
	g, err := Load(cfg, work, "", nil)
	if err != nil {
		return err
	}
	s, err := dlp.New(dlp.Options{Known: g.Known, NoEntropy: true})
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	if err := g.PreReceive(ctx, repo, dir, s, os.Stdin, stderr); err != nil {
		fmt.Fprintln(stderr, err.Error())
		return &silent{err}
	}
	return nil
}

// silent is an error already reported to the user; main exits non-zero
// without printing it again.
type silent struct{ error }

// Silent reports whether err was already shown to the user.
func Silent(err error) bool {
	var s *silent
	return errors.As(err, &s)
}
