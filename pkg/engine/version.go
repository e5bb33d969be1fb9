package engine

import "context"

// ServerVersion returns the engine's version string alone (e.g.
// "20.10.24+dfsg1").
func (e *Engine) ServerVersion(ctx context.Context) (string, error) {
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	return v.Version, nil
}

// Version returns the engine's version and API version.
func (e *Engine) Version(ctx context.Context) (string, error) {
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	return v.Version + " (API " + v.APIVersion + ")", nil
}
