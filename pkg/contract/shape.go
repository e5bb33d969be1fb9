package contract

// The two environment variables that choose how a bottle's sidecars run:
// BundleEnv (four containers or one bundle) and ImageEnv (the image they
// run).

import "strings"

// DefaultSidecarImage is the sidecars image when ImageEnv is unset or blank.
const DefaultSidecarImage = "claude-bottle-sidecars:latest"

// Shape is how the sidecar daemons are deployed.
type Shape string

// Shapes.
const (
	Legacy Shape = "legacy" // one container per daemon (five services)
	Bundle Shape = "bundle" // one container running every daemon under initd
)

// ParseBundle interprets a value of CLAUDE_BOTTLE_SIDECAR_BUNDLE: unset, empty,
// "0", "false", "no" or "off" (any case, surrounding space ignored) mean the
// legacy shape; anything else means the bundle.
func ParseBundle(value string, set bool) Shape {
	if !set {
		return Legacy
	}
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "", "0", "false", "no", "off":
		return Legacy
	}
	return Bundle
}

// ShapeFromEnv returns the shape chosen by the environment seen through lookup
// (os.LookupEnv in production).
func ShapeFromEnv(lookup func(string) (string, bool)) Shape {
	v, ok := lookup(BundleEnv)
	return ParseBundle(v, ok)
}

// SidecarImage returns the sidecars image: CLAUDE_BOTTLE_SIDECAR_IMAGE when set and
// not blank, else DefaultImage.
func SidecarImage(lookup func(string) (string, bool)) string {
	if v, ok := lookup(ImageEnv); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return DefaultSidecarImage
}
