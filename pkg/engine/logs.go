package engine

import (
	"bytes"
	"context"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// LogOptions say which part of a container's output LogStream reads.
type LogOptions struct {
	// Follow keeps reading until ctx ends or the container stops.
	Follow bool
	// Timestamps prefixes each line with the time it was written.
	Timestamps bool
}

// LogStream returns a container's stdout and stderr, interleaved as
// written. The caller closes it.
func (e *Engine) LogStream(ctx context.Context, id string, opts LogOptions) (io.ReadCloser, error) {
	rc, err := e.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: opts.Timestamps})
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		_ = rc.Close()
		_ = pw.CloseWithError(err)
	}()
	return &logReader{PipeReader: pr, rc: rc}, nil
}

// logReader closes the engine's stream with the pipe, so the copy ends.
type logReader struct {
	*io.PipeReader
	rc io.Closer
}

func (l *logReader) Close() error {
	_ = l.rc.Close()
	return l.PipeReader.Close()
}

// Logs returns the whole stdout of a container (by name or id), then its
// whole stderr.
func (e *Engine) Logs(ctx context.Context, id string) (string, error) {
	rc, err := e.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, rc); err != nil {
		return "", err
	}
	return out.String() + errb.String(), nil
}
