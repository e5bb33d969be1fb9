package benchreport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestFaultBudgets(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"reload-under-load-bundle.json": `{"duration_s":60,"concurrency":64,"reloads":11,"allowed_ok":100,"allowed_failed":0,"blocked_refused":100,"blocked_admitted":0,"p99_ms_during_reload":30,"p99_ms_otherwise":20}`,
		"reload-under-load-legacy.json": `{"duration_s":60,"concurrency":64,"reloads":11,"allowed_ok":100,"allowed_failed":1,"blocked_refused":100,"blocked_admitted":0,"p99_ms_during_reload":30,"p99_ms_otherwise":20}`,
		"kill-under-load-bundle.json":   `{"recovery_s":{"pipelock":[0.5,1.5],"egress":[0.2,0.3]},"blocked_admitted":0}`,
		"kill-under-load-legacy.json":   `{"recovery_s":{"pipelock":[3,4],"egress":[2.5,5]},"blocked_admitted":0}`,
	}
	for n, c := range files {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644))
	}
	f, err := ReadFaults(dir)
	assert.NilError(t, err)
	assert.Equal(t, f.Kill["bundle"].RecoveryP50(), 0.5)
	r := Report{Docker: Results{Faults: f}}
	r.Evaluate()
	met := map[string]bool{}
	for _, b := range r.Budgets {
		met[b.Name] = b.Met
	}
	assert.Assert(t, met["allowlist change every 5 s under load, bundle"])
	assert.Assert(t, !met["allowlist change every 5 s under load, legacy"], "a failed allowed request misses the budget")
	assert.Assert(t, met["kill -9 of a daemon under load: serves again, bundle"])
	assert.Assert(t, !met["kill -9 of a daemon under load: serves again, legacy"])
	assert.Assert(t, strings.Contains(r.Markdown(), "allowlist change every 5 s under load"))
	_, err = ReadFaults(t.TempDir())
	assert.Assert(t, err != nil, "missing figures are an error, not zeros")
}
