package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// LabelInputs is the image label holding the digest of everything an image was
// built from; a build whose inputs hash to the label's value is skipped.
const LabelInputs = "dev.claude-bottle.inputs"

// pingTimeout bounds the engine check: a dead socket must fail fast, never hang.
const pingTimeout = 5 * time.Second

// ErrNoEngine is wrapped by the error Connect returns when no engine answers.
var ErrNoEngine = errors.New("no Docker engine answers")

// Engine is the small slice of the Docker API claude-bottle uses.
type Engine struct {
	api *client.Client
}

// Connect dials the engine named by DOCKER_HOST (default: the local socket),
// negotiates the API version down to what the engine speaks, and pings it.
// When nothing answers, the error says what to run.
func Connect(ctx context.Context) (*Engine, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := api.Ping(pctx); err != nil {
		_ = api.Close()
		return nil, &NoEngineError{Host: api.DaemonHost(), Err: err}
	}
	api.NegotiateAPIVersion(ctx)
	return &Engine{api: api}, nil
}

// NoEngineError reports an engine that did not answer, with what to do about it.
type NoEngineError struct {
	Host string
	Err  error
}

func (e *NoEngineError) Error() string {
	return fmt.Sprintf("%v at %s (%v)\n"+
		"  start it:   sudo systemctl start docker   (or: sudo dockerd >/var/log/dockerd.log 2>&1 &)\n"+
		"  install it: sudo apt-get install -y docker.io   (Debian/Ubuntu), then start it\n"+
		"  or point DOCKER_HOST at a running engine; scripts/setup.sh does all of this as root on Debian",
		ErrNoEngine, e.Host, e.Err)
}

// Unwrap lets errors.Is(err, ErrNoEngine) match.
func (e *NoEngineError) Unwrap() []error { return []error{ErrNoEngine, e.Err} }

// Close releases the client's connections.
func (e *Engine) Close() error { return e.api.Close() }

// ImageLabels returns the labels of a local image and whether it exists.
func (e *Engine) ImageLabels(ctx context.Context, ref string) (map[string]string, bool, error) {
	info, err := e.api.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	var labels map[string]string
	if info.Config != nil {
		labels = info.Config.Labels
	}
	return labels, true, nil
}

// ImageID returns the ID of a local image.
func (e *Engine) ImageID(ctx context.Context, ref string) (string, error) {
	info, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return info.ID, nil
}

// Pull fetches ref from its registry, streaming progress to out.
func (e *Engine) Pull(ctx context.Context, ref string, out io.Writer) error {
	rc, err := e.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, out, 0, false, nil); err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	return nil
}

// Import creates image ref from a root filesystem tar stream.
func (e *Engine) Import(ctx context.Context, rootfs io.Reader, ref string, changes []string) error {
	rc, err := e.api.ImageImport(ctx, image.ImportSource{Source: rootfs, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	return nil
}

// BuildSpec describes one image build. The context holds exactly Files, so the
// inputs are known precisely and hash to a stable digest.
type BuildSpec struct {
	// Tag names the image built, e.g. "claude-bottle-sidecars:latest".
	Tag string
	// Dockerfile is the host path of the Dockerfile.
	Dockerfile string
	// Files maps a path inside the build context to the host file it comes from.
	Files map[string]string
	// Args are the build arguments.
	Args map[string]string
	// Labels are added to the image beside LabelInputs.
	Labels map[string]string
	// Salt is hashed with the inputs: what else the image depends on, such as
	// the ID of its base image.
	Salt []string
	// Force rebuilds even when the inputs did not change.
	Force bool
	// NetworkMode is the network the RUN lines run on (the classic
	// builder's --network); empty: the engine's default bridge.
	NetworkMode string
}

// BuildResult says what Build did.
type BuildResult struct {
	Tag     string
	Digest  string // of the inputs
	Skipped bool   // inputs unchanged, image already present
}

// Build builds spec with the classic builder (the engine's CLI here has no
// buildx), unless an image with the same input digest already carries the tag.
// Build output goes to out.
func (e *Engine) Build(ctx context.Context, spec BuildSpec, out io.Writer) (BuildResult, error) {
	ctxTar, digest, err := buildContext(spec)
	if err != nil {
		return BuildResult{}, fmt.Errorf("build %s: %w", spec.Tag, err)
	}
	res := BuildResult{Tag: spec.Tag, Digest: digest}
	labels, had, err := e.ImageLabels(ctx, spec.Tag)
	if err != nil {
		return res, err
	}
	if had && !spec.Force && labels[LabelInputs] == digest {
		res.Skipped = true
		return res, nil
	}
	var oldID string
	if had {
		oldID, _ = e.ImageID(ctx, spec.Tag)
	}
	args := make(map[string]*string, len(spec.Args))
	for k, v := range spec.Args {
		args[k] = &v
	}
	newLabels := map[string]string{LabelInputs: digest}
	for k, v := range spec.Labels {
		newLabels[k] = v
	}
	resp, err := e.api.ImageBuild(ctx, bytes.NewReader(ctxTar), build.ImageBuildOptions{
		Tags:        []string{spec.Tag},
		Dockerfile:  "Dockerfile",
		BuildArgs:   args,
		Labels:      newLabels,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
		NetworkMode: spec.NetworkMode,
	})
	if err != nil {
		return res, fmt.Errorf("build %s: %w", spec.Tag, err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, out, 0, false, nil); err != nil {
		return res, fmt.Errorf("build %s: %w", spec.Tag, err)
	}
	// The image the tag used to name is now dangling; drop it unless a
	// container still uses it (then the engine refuses, which is fine).
	if newID, err := e.ImageID(ctx, spec.Tag); err == nil && oldID != "" && oldID != newID {
		_, _ = e.api.ImageRemove(ctx, oldID, image.RemoveOptions{PruneChildren: true})
	}
	return res, nil
}

// buildContext tars the Dockerfile and files of spec (sorted, fixed times and
// owners so the same inputs give the same bytes) and digests the inputs.
func buildContext(spec BuildSpec) ([]byte, string, error) {
	files := map[string]string{"Dockerfile": spec.Dockerfile}
	for name, src := range spec.Files {
		if name == "Dockerfile" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
			return nil, "", fmt.Errorf("context path %q: must be relative, without '..', and not Dockerfile", name)
		}
		files[name] = src
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h := sha256.New()
	for _, name := range names {
		data, err := os.ReadFile(files[name])
		if err != nil {
			return nil, "", fmt.Errorf("read build input: %w", err)
		}
		st, err := os.Stat(files[name])
		if err != nil {
			return nil, "", fmt.Errorf("read build input: %w", err)
		}
		mode := int64(0o644)
		if st.Mode()&0o111 != 0 {
			mode = 0o755
		}
		hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "file %q %o %d\n", name, mode, len(data))
		h.Write(data)
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	argNames := make([]string, 0, len(spec.Args))
	for k := range spec.Args {
		argNames = append(argNames, k)
	}
	slices.Sort(argNames)
	for _, k := range argNames {
		fmt.Fprintf(h, "arg %q=%q\n", k, spec.Args[k])
	}
	labelNames := make([]string, 0, len(spec.Labels))
	for k := range spec.Labels {
		labelNames = append(labelNames, k)
	}
	slices.Sort(labelNames)
	for _, k := range labelNames {
		fmt.Fprintf(h, "label %q=%q\n", k, spec.Labels[k])
	}
	for _, s := range spec.Salt {
		fmt.Fprintf(h, "salt %q\n", s)
	}
	return buf.Bytes(), hex.EncodeToString(h.Sum(nil)), nil
}
