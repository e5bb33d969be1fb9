package engine

import (
	"context"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// ImageInfo is what claude-bottle reads of a local image's configuration.
type ImageInfo struct {
	ID         string
	User       string
	Env        []string
	WorkingDir string
	Entrypoint []string
	Cmd        []string
	StopSignal string
	Labels     map[string]string
}

// InspectImage returns the configuration of a local image.
func (e *Engine) InspectImage(ctx context.Context, ref string) (ImageInfo, error) {
	info, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return ImageInfo{}, err
	}
	out := ImageInfo{ID: info.ID}
	if c := info.Config; c != nil {
		out.User, out.Env, out.WorkingDir = c.User, c.Env, c.WorkingDir
		out.Entrypoint, out.Cmd, out.StopSignal, out.Labels = c.Entrypoint, c.Cmd, c.StopSignal, c.Labels
	}
	return out, nil
}

// Image is a local image as a listing shows it.
type Image struct {
	ID   string
	Tags []string
}

// ListImages lists the local images carrying label (a key, or key=value).
func (e *Engine) ListImages(ctx context.Context, label string) ([]Image, error) {
	imgs, err := e.api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, Image{ID: img.ID, Tags: img.RepoTags})
	}
	return out, nil
}

// RemoveImageOptions say how RemoveImage removes.
type RemoveImageOptions struct {
	// Force removes an image a container still uses.
	Force bool
	// PruneChildren removes the untagged parents only this image used.
	PruneChildren bool
}

// RemoveImage removes an image by reference.
func (e *Engine) RemoveImage(ctx context.Context, ref string, opts RemoveImageOptions) error {
	_, err := e.api.ImageRemove(ctx, ref, image.RemoveOptions{Force: opts.Force, PruneChildren: opts.PruneChildren})
	return err
}
