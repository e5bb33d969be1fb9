package docker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Orphans are the leftovers of bottles that are not running: containers and
// networks labelled with a slug whose agent is not running, state and queue
// directories without any container, and half-staged directories.
type Orphans struct {
	Slugs      []string `json:"slugs"`        // bottles whose resources would be removed
	Containers []string `json:"containers"`   // names
	Networks   []string `json:"networks"`     // names
	StateDirs  []string `json:"state_dirs"`   // paths
	Staging    []string `json:"staging_dirs"` // paths
}

// Empty reports whether there is nothing to clean.
func (o Orphans) Empty() bool {
	return len(o.Slugs)+len(o.Containers)+len(o.Networks)+len(o.StateDirs)+len(o.Staging) == 0
}

// FindOrphans looks for leftovers by label, never by name.
func (e *Engine) FindOrphans(ctx context.Context, layout statedir.Layout) (Orphans, error) {
	var o Orphans
	args := filters.NewArgs(filters.Arg("label", names.LabelSlug))
	cs, err := e.api.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return o, err
	}
	live := map[string]bool{}
	// A bottle staged in the last two minutes may still be coming up (its
	// agent starts last): not an orphan yet.
	for _, ent := range mustReadDir(layout.StateRoot()) {
		if info, err := ent.Info(); err == nil && time.Since(info.ModTime()) < 2*time.Minute {
			live[ent.Name()] = true
		}
	}
	for _, c := range cs {
		slug := c.Labels[names.LabelSlug]
		if c.Labels[names.LabelRole] == "agent" && c.State == "running" {
			live[slug] = true
		}
	}
	for _, c := range cs {
		if slug := c.Labels[names.LabelSlug]; !live[slug] {
			o.Containers = append(o.Containers, strings.TrimPrefix(firstName(c.Names), "/"))
			o.Slugs = appendUnique(o.Slugs, slug)
		}
	}
	nets, err := e.api.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		return o, err
	}
	for _, n := range nets {
		slug := n.Labels[names.LabelSlug]
		if !live[slug] {
			o.Networks = append(o.Networks, n.Name)
			o.Slugs = appendUnique(o.Slugs, slug)
		}
	}
	for _, ent := range mustReadDir(layout.StateRoot()) {
		name := ent.Name()
		switch {
		case strings.HasPrefix(name, ".staging-"):
			o.Staging = append(o.Staging, filepath.Join(layout.StateRoot(), name))
		case names.ValidateSlug(name) == nil && !live[name]:
			o.StateDirs = append(o.StateDirs, layout.StateDir(name))
			o.Slugs = appendUnique(o.Slugs, name)
		}
	}
	slices.Sort(o.Slugs)
	return o, nil
}

// RemoveOrphans removes what FindOrphans found (logs of orphan containers
// are not kept: a bottle that is not running has nobody to read them).
func (e *Engine) RemoveOrphans(ctx context.Context, layout statedir.Layout, o Orphans) error {
	for _, slug := range o.Slugs {
		if err := e.removeBottle(ctx, layout, slug, true); err != nil {
			return err
		}
	}
	for _, d := range o.Staging {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

func mustReadDir(dir string) []os.DirEntry {
	entries, _ := os.ReadDir(dir)
	return entries
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
