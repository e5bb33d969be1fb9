package gitgate

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// Benchmarks of git-gate's budgets (reported by `mage bench`): scan
// throughput of blob content on one core, peak RSS while scanning a 256 MB
// push, and a clean push of a 10,000-file repository through a real gate.
// Run: go test ./pkg/gitgate -run '^$' -bench . -cpu 1 -count 1

// codeLike writes n bytes of source-like text, different for every seed
// (git stores identical blobs once).
func codeLike(w io.Writer, seed uint64, n int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := []string{"func", "return", "err", "if", "nil", "ctx", "context.Context", "string", "int", "for", "range", "package", "import", "struct", "type", "var", "const",
		"config", "request", "response", "handler", "options", "value", "name", "path", "buffer", "reader", "writer", "fmt.Errorf", "strings.Builder", "len", "append", "make", "map"}
	bw := bufio.NewWriterSize(w, 64<<10)
	written := 0
	for written < n {
		var line strings.Builder
		line.WriteString(strings.Repeat("\t", rng.IntN(4)))
		for k := 3 + rng.IntN(9); k > 0; k-- {
			line.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(5) == 0 {
				line.WriteString(strconv.Itoa(rng.IntN(100000)))
			}
			line.WriteByte(" (){}.,=:"[rng.IntN(9)])
		}
		line.WriteByte('\n')
		s := line.String()
		if written+len(s) > n {
			s = s[:n-written]
		}
		_, _ = bw.WriteString(s)
		written += len(s)
	}
	_ = bw.Flush()
}

// fastImport builds a repository with one commit holding files of the given
// sizes (code-like content, paths spread over directories) and returns the
// repo and the commit.
func fastImport(tb testing.TB, sizes []int) (dir, commit string) {
	tb.Helper()
	dir = tb.TempDir()
	run(tb, dir, "init", "-q", "--bare")
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null")
	in, err := cmd.StdinPipe()
	assert.NilError(tb, err)
	var errb strings.Builder
	cmd.Stderr = &errb
	assert.NilError(tb, cmd.Start())
	w := bufio.NewWriterSize(in, 1<<20)
	for i, n := range sizes {
		fmt.Fprintf(w, "blob\nmark :%d\ndata %d\n", i+1, n)
		codeLike(w, uint64(i)+1, n)
		w.WriteString("\n")
	}
	fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@bottle> 1700000000 +0000\ndata 6\nbench\n")
	for i := range sizes {
		fmt.Fprintf(w, "M 100644 :%d dir%03d/sub%02d/file%05d.go\n", i+1, i%100, i%7, i)
	}
	w.WriteString("\n")
	assert.NilError(tb, w.Flush())
	assert.NilError(tb, in.Close())
	assert.NilError(tb, cmd.Wait(), errb.String())
	return dir, run(tb, dir, "rev-parse", "refs/heads/main")
}

func scanAll(tb testing.TB, dir, tip string, lim Limits) (*ObjectScan, int64) {
	return scanAllWith(tb, scanner(tb), dir, tip, lim)
}

func scanAllWith(tb testing.TB, s *dlp.Scanner, dir, tip string, lim Limits) (*ObjectScan, int64) {
	tb.Helper()
	env := gateEnv()
	ids, err := revList(tb.Context(), dir, env, []string{tip}, nil)
	assert.NilError(tb, err)
	objs, err := batchCheck(tb.Context(), dir, env, ids)
	assert.NilError(tb, err)
	var blobBytes int64
	for _, o := range objs {
		if o.typ == "blob" {
			blobBytes += o.size
		}
	}
	sc := &ObjectScan{Dir: dir, Env: env, Scanner: s, Limits: lim, Refs: "refs/heads/main"}
	assert.NilError(tb, sc.Scan(tb.Context(), ids))
	return sc, blobBytes
}

// BenchmarkGateScan is the scan of a push's objects (64 MiB of source-like
// blob content in 256 files): MB/s of blob content.
func BenchmarkGateScan(b *testing.B) {
	sizes := make([]int, 256)
	for i := range sizes {
		sizes[i] = 256 << 10
	}
	dir, tip := fastImport(b, sizes)
	_, n := scanAll(b, dir, tip, Limits{})
	b.SetBytes(n)
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		scanAll(b, dir, tip, Limits{})
	}
	reportCPURate(b, n, cpu)
}

// cpuTime is the process's CPU time so far (user + system): on a shared
// machine, MB per CPU-second is the per-core rate wall-clock MB/s hides.
func cpuTime(tb testing.TB) float64 {
	var ru syscall.Rusage
	assert.NilError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// reportCPURate reports the scanner's MB per CPU-second since start (the
// Go process only; git's inflating runs in its own processes).
func reportCPURate(b *testing.B, perOp int64, start float64) {
	if used := cpuTime(b) - start; used > 0 {
		b.ReportMetric(float64(perOp)*float64(b.N)/used/1e6, "MB/cpu-s")
	}
}

// BenchmarkGateScanOverhead is BenchmarkGateScan with only the known-secret
// matcher (no gitleaks rules): the gate's own cost — rev-list, cat-file,
// streaming, tree parsing — and pkg/dlp's decoding views, without the rule
// regexes.
func BenchmarkGateScanOverhead(b *testing.B) {
	sizes := make([]int, 256)
	for i := range sizes {
		sizes[i] = 256 << 10
	}
	dir, tip := fastImport(b, sizes)
	s, err := dlp.New(dlp.Options{NoGitleaks: true, NoEntropy: true})
	assert.NilError(b, err)
	_, n := scanAllWith(b, s, dir, tip, Limits{})
	b.SetBytes(n)
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		scanAllWith(b, s, dir, tip, Limits{})
	}
	reportCPURate(b, n, cpu)
}

// BenchmarkGateScan256MB scans a 256 MiB push (four 32 MiB files and 2,048
// of 64 KiB) in a separate process, as the hook does, and reports that
// process's peak RSS (peak-RSS-MiB) and that of the git processes it ran
// (git-RSS-MiB: cat-file holds one whole object at a time).
func BenchmarkGateScan256MB(b *testing.B) {
	sizes := []int{32 << 20, 32 << 20, 32 << 20, 32 << 20}
	for range 2048 {
		sizes = append(sizes, 64<<10)
	}
	dir, tip := fastImport(b, sizes)
	var rss, gitRSS float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperScanProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GITGATE_HELPER_REPO="+dir, "GITGATE_HELPER_TIP="+tip)
		out, err := cmd.CombinedOutput()
		assert.NilError(b, err, string(out))
		f := strings.Fields(string(out))
		assert.Assert(b, len(f) >= 3 && f[0] == "RSS", string(out))
		self, _ := strconv.ParseFloat(f[1], 64)
		kids, _ := strconv.ParseFloat(f[2], 64)
		rss, gitRSS = max(rss, self/1024), max(gitRSS, kids/1024)
	}
	b.SetBytes(256 << 20)
	b.ReportMetric(rss, "peak-RSS-MiB")
	b.ReportMetric(gitRSS, "git-RSS-MiB")
}

// TestHelperScanProcess is BenchmarkGateScan256MB's child: it scans the
// repository named in its environment as the hook would (the same scanner
// with gitleaks' rules) and prints its own peak RSS and its children's, in
// KiB.
func TestHelperScanProcess(t *testing.T) {
	dir := os.Getenv("GITGATE_HELPER_REPO")
	if dir == "" {
		t.Skip("run by BenchmarkGateScan256MB only")
	}
	scanAll(t, dir, os.Getenv("GITGATE_HELPER_TIP"), Limits{})
	var self, kids syscall.Rusage
	assert.NilError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &self))
	assert.NilError(t, syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids))
	fmt.Printf("RSS %d %d\n", self.Maxrss, kids.Maxrss)
}

// BenchmarkGateCleanPush10k pushes a 10,000-file repository (1 KiB files
// in 100 directories) through a real gate (git:// server, the sidecar
// binary as hook) to a real upstream: the time of one first push.
func BenchmarkGateCleanPush10k(b *testing.B) {
	sizes := make([]int, 10000)
	for i := range sizes {
		sizes[i] = 1 << 10
	}
	src, _ := fastImport(b, sizes)
	for b.Loop() {
		b.StopTimer()
		r := newGateRig(b, nil)
		work := filepath.Join(b.TempDir(), "w")
		run(b, b.TempDir(), "clone", "-q", "--bare", src, work)
		b.StartTimer()
		out, err := gitOut(work, "push", "-q", r.url(), "main:refs/heads/big")
		b.StopTimer()
		assert.NilError(b, err, out)
		b.StartTimer()
	}
}
