package lifecycle

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
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

// Resource is a labelled container or network as cleanup sees it.
type Resource struct {
	Name, Slug, Role string
	Running          bool
}

// StateEntry is one entry of the state root.
type StateEntry struct {
	Name    string
	ModTime time.Time
}

// OrphanGrace is how long a freshly staged bottle counts as coming up.
const OrphanGrace = 2 * time.Minute

// PlanCleanup decides what is an orphan: a bottle is live while its agent
// container runs, or for OrphanGrace after its state directory was written
// (its agent starts last); every container, network and state directory
// of any other slug is an orphan, and so is every half-staged directory.
// Entries that are neither slugs nor staging directories are left alone.
func PlanCleanup(containers, networks []Resource, state []StateEntry, stateRoot string, now time.Time) Orphans {
	var o Orphans
	live := map[string]bool{}
	for _, e := range state {
		if now.Sub(e.ModTime) < OrphanGrace {
			live[e.Name] = true
		}
	}
	for _, c := range containers {
		if c.Role == contract.RoleAgent && c.Running {
			live[c.Slug] = true
		}
	}
	for _, c := range containers {
		if !live[c.Slug] {
			o.Containers = append(o.Containers, c.Name)
			o.Slugs = appendUnique(o.Slugs, c.Slug)
		}
	}
	for _, n := range networks {
		if !live[n.Slug] {
			o.Networks = append(o.Networks, n.Name)
			o.Slugs = appendUnique(o.Slugs, n.Slug)
		}
	}
	for _, e := range state {
		switch {
		case strings.HasPrefix(e.Name, ".staging-"):
			o.Staging = append(o.Staging, filepath.Join(stateRoot, e.Name))
		case contract.ValidateSlug(e.Name) == nil && !live[e.Name]:
			o.StateDirs = append(o.StateDirs, filepath.Join(stateRoot, e.Name))
			o.Slugs = appendUnique(o.Slugs, e.Name)
		}
	}
	slices.Sort(o.Slugs)
	return o
}

// FindOrphans looks for leftovers by label, never by name.
func (e *Backend) FindOrphans(ctx context.Context, layout statedir.Layout) (Orphans, error) {
	cs, err := e.ListContainers(ctx, contract.LabelSlug, true)
	if err != nil {
		return Orphans{}, err
	}
	nets, err := e.ListNetworks(ctx, contract.LabelSlug)
	if err != nil {
		return Orphans{}, err
	}
	var containers, networks []Resource
	for _, c := range cs {
		containers = append(containers, Resource{Name: c.Name, Slug: c.Labels[contract.LabelSlug],
			Role: c.Labels[contract.LabelRole], Running: c.State == "running"})
	}
	for _, n := range nets {
		networks = append(networks, Resource{Name: n.Name, Slug: n.Labels[contract.LabelSlug]})
	}
	var state []StateEntry
	for _, ent := range mustReadDir(layout.StateRoot()) {
		if info, err := ent.Info(); err == nil {
			state = append(state, StateEntry{Name: ent.Name(), ModTime: info.ModTime()})
		}
	}
	return PlanCleanup(containers, networks, state, layout.StateRoot(), time.Now()), nil
}

// RemoveOrphans removes what FindOrphans found (logs of orphan containers
// are not kept: a bottle that is not running has nobody to read them).
func (e *Backend) RemoveOrphans(ctx context.Context, layout statedir.Layout, o Orphans) error {
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
