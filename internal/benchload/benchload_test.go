package benchload

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
)

func TestLoadAgainstLocalTLS(t *testing.T) {
	var got int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got++ }))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	assert.NilError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	res, err := Load(context.Background(), LoadOptions{URL: srv.URL, CACert: ca, Requests: 50, Conc: 1, UploadBytes: 4096})
	assert.NilError(t, err)
	assert.Equal(t, res.Errors, 0)
	assert.Equal(t, got, 51, "warm-up plus the requests")
	assert.Assert(t, res.P50us > 0 && res.P99us >= res.P50us && res.MiBps > 0, "%+v", res)
}

func TestStartupMeasuresAccept(t *testing.T) {
	_, err := Startup(context.Background(), "127.0.0.1:1", []string{"true"})
	assert.ErrorContains(t, err, "exited before accepting")
}
