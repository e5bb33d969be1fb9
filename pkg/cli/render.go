package cli

import (
	"context"
	"fmt"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/sidecarflag"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// loadManifest reads the manifest at path, or the embedded default when path
// is empty, and binds it to the caller's environment.
func loadManifest(path string, env LookupEnv) (*manifest.Resolved, error) {
	var m *manifest.Manifest
	var err error
	if path == "" {
		m, err = manifest.Default()
	} else {
		m, err = manifest.Load(path)
	}
	if err != nil {
		return nil, err
	}
	return m.Resolve(env)
}

func runRender(_ context.Context, args []string, stdio Stdio, env LookupEnv) error {
	fs := newFlags("render", stdio)
	file := fs.String("f", "", "bottle manifest (default: the embedded default bottle)")
	slug := fs.String("slug", "", "slug to render for (default: a fresh <name>-xxxxx)")
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: claude-bottle render [-f bottle.toml] [--slug SLUG]")
		fmt.Fprintln(stdio.Err, "\nPrints the compose YAML of a bottle without bringing it up or writing anything.")
		fmt.Fprintln(stdio.Err, "The shape follows CLAUDE_BOTTLE_SIDECAR_BUNDLE; the image, CLAUDE_BOTTLE_SIDECAR_IMAGE.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: fmt.Sprintf("render: unexpected argument %q (the manifest goes after -f)", fs.Arg(0))}
	}
	r, err := loadManifest(*file, env)
	if err != nil {
		return err
	}
	layout, err := statedir.FromEnv(env)
	if err != nil {
		return err
	}
	s := *slug
	if s == "" {
		if s, err = bottle.NewSlug(r.Name); err != nil {
			return err
		}
	} else if err := names.ValidateSlug(s); err != nil {
		return &UsageError{Msg: "render: --slug: " + err.Error()}
	}
	out, err := compose.Render(compose.Options{
		Bottle: r, Slug: s, Shape: sidecarflag.FromEnv(env), SidecarImage: sidecarflag.Image(env), Layout: layout,
		User: compose.OperatorUser(),
	})
	if err != nil {
		return err
	}
	_, err = stdio.Out.Write(out)
	return err
}
