// Package sidecar is the dispatcher of the multi-call sidecar binary: one
// binary, one subcommand per daemon, so the image stays small and both shapes
// run the same code. A daemon is registered here only once it is implemented;
// asking for one that is not built in is an error, never a stand-in.
package sidecar

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Daemon is one daemon the binary can run.
type Daemon struct {
	Name string
	Run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// Registry holds the daemons built into the binary.
type Registry struct {
	daemons map[string]Daemon
}

// NewRegistry returns a registry of the given daemons.
func NewRegistry(ds ...Daemon) *Registry {
	r := &Registry{daemons: map[string]Daemon{}}
	for _, d := range ds {
		r.daemons[d.Name] = d
	}
	return r
}

// Names lists the built-in daemons in canonical order.
func (r *Registry) Names() []string {
	var out []string
	for _, n := range contract.Daemons() {
		if _, ok := r.daemons[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// UsageError is a bad invocation (exit code 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Main dispatches args[0] to its daemon.
func (r *Registry) Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	built := strings.Join(r.Names(), ", ")
	if built == "" {
		built = "none yet"
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, "usage: claude-bottle-sidecar <daemon> [flags]\n\nbuilt-in daemons: %s\n", built)
		return nil
	}
	if args[0] == "list" {
		for _, n := range r.Names() {
			fmt.Fprintln(stdout, n)
		}
		return nil
	}
	d, ok := r.daemons[args[0]]
	if !ok {
		if slices.Contains(contract.Daemons(), args[0]) {
			return &UsageError{Msg: fmt.Sprintf("daemon %q is not built into this binary (built in: %s)", args[0], built)}
		}
		return &UsageError{Msg: fmt.Sprintf("unknown daemon %q (daemons: %s; built in: %s)", args[0], strings.Join(contract.Daemons(), ", "), built)}
	}
	return d.Run(ctx, args[1:], stdout, stderr)
}
