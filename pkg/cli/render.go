package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
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

func newRenderCmd(a *app) *cobra.Command {
	var file, slug string
	cmd := &cobra.Command{
		Use:   "render [-f bottle.toml] [--slug SLUG]",
		Short: "print the compose YAML of a bottle",
		Long: `Prints the compose YAML of a bottle without bringing it up or writing anything.
The shape follows CLAUDE_BOTTLE_SIDECAR_BUNDLE; the image, CLAUDE_BOTTLE_SIDECAR_IMAGE.`,
		Example: "  claude-bottle render\n  CLAUDE_BOTTLE_SIDECAR_BUNDLE=1 claude-bottle render -f bottle.toml --slug demo-abcde",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("render: unexpected argument %q (the manifest goes after -f)", args[0])
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			env := a.env
			path, err := manifestPath(file)
			if err != nil {
				return err
			}
			if file == "" && path != "" {
				fmt.Fprintln(a.stdio.Err, describeSource(path))
			}
			r, err := loadManifest(path, env)
			if err != nil {
				return err
			}
			layout, err := statedir.FromEnv(env)
			if err != nil {
				return err
			}
			s := slug
			if s == "" {
				if s, err = bottle.NewSlug(r.Name); err != nil {
					return err
				}
			} else if err := contract.ValidateSlug(s); err != nil {
				return usagef("render: --slug: %v", err)
			}
			out, err := compose.Render(compose.Options{
				Bottle: r, Slug: s, Shape: contract.ShapeFromEnv(env), SidecarImage: contract.SidecarImage(env), Layout: layout,
				User: compose.OperatorUser(),
			})
			if err != nil {
				return err
			}
			_, err = a.stdio.Out.Write(out)
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "bottle manifest (default: the nearest bottle.toml upward, else the embedded default bottle)")
	cmd.Flags().StringVar(&slug, "slug", "", "slug to render for (default: a fresh <name>-xxxxx)")
	return cmd
}
