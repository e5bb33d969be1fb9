package sidecar

import (
	"bytes"
	"context"
	"io"
	"testing"

	"gotest.tools/v3/assert"
)

func TestRegistry(t *testing.T) {
	var out bytes.Buffer
	empty := NewRegistry()
	assert.NilError(t, empty.Main(t.Context(), []string{"list"}, &out, io.Discard))
	assert.Equal(t, out.String(), "")
	err := empty.Main(t.Context(), []string{"egress"}, io.Discard, io.Discard)
	assert.Error(t, err, `daemon "egress" is not built into this binary (built in: none yet)`)
	err = empty.Main(t.Context(), []string{"mitmdump"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, `unknown daemon "mitmdump"`)

	ran := ""
	r := NewRegistry(Daemon{Name: "pipelock", Run: func(_ context.Context, args []string, _, _ io.Writer) error {
		ran = args[0]
		return nil
	}})
	out.Reset()
	assert.NilError(t, r.Main(t.Context(), []string{"list"}, &out, io.Discard))
	assert.Equal(t, out.String(), "pipelock\n")
	assert.NilError(t, r.Main(t.Context(), []string{"pipelock", "run"}, io.Discard, io.Discard))
	assert.Equal(t, ran, "run")
}
