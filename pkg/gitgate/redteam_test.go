package gitgate

// Red-team attacks on git-gate, judged at the far side (the upstream bare
// repository). Naming:
//
//   - TestRedTeamNoLeak_*: encodings that once carried a secret to the
//     upstream; they now assert it does not get there, and FAIL (naming the
//     encoding and where to fix it) if it ever does again.
//   - TestRedTeamHolds_*: attacks the gate withstands today (regression
//     guards: they must keep passing).
//   - TestRedTeamBreak_*: resource blow-ups (no leak, but the gate breaks a
//     stated bound); regression guards now that the bounds hold.
//   - TestRedTeamLimit_*: encodings no byte scanner can be expected to undo
//     (compression, secrets split over several objects); opt-in with
//     CLAUDE_BOTTLE_REDTEAM_LIMITS=1, they document the residual risk.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	utf16pkg "unicode/utf16"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// pctAll percent-encodes every byte of s (what curl --data-urlencode or a
// "safe" URL encoder that escapes everything produces).
func pctAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func rtReverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func wrap(s string, w int) string {
	var b strings.Builder
	for len(s) > w {
		b.WriteString(s[:w] + "\n")
		s = s[w:]
	}
	return b.String() + s + "\n"
}

func utf16le(s string) string {
	var b strings.Builder
	for _, u := range utf16pkg.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

func utf16be(s string) string {
	var b strings.Builder
	for _, u := range utf16pkg.Encode([]rune(s)) {
		b.WriteByte(byte(u >> 8))
		b.WriteByte(byte(u))
	}
	return b.String()
}

// binTail is 120 bytes of non-text: appended to a secret before encoding,
// it makes the decoded reading "binary", which pkg/dlp never shows gitleaks.
var binTail = string(bytes.Repeat([]byte{0xff, 0x01, 0x80, 0x7f}, 30))

// leakCase is one encoded secret committed as data.txt; reveal recovers
// the secret from the blob the upstream holds (the reader's side of the
// exfiltration), proving the leak is real and reversible.
type leakCase struct {
	name, secret, content string
	reveal                func(blob string) string
	fix                   string
}

func leakCases() []leakCase {
	pctReveal := func(b string) string {
		// A lenient decoder: every valid %XX, invalid ones left as they are.
		var out strings.Builder
		for i := 0; i < len(b); i++ {
			if b[i] == '%' && i+2 < len(b) {
				if v, err := hex.DecodeString(b[i+1 : i+3]); err == nil {
					out.Write(v)
					i += 2
					continue
				}
			}
			out.WriteByte(b[i])
		}
		return out.String()
	}
	b64Lines := func(b string) string {
		d, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.TrimSpace(b), "\n", ""))
		return string(d)
	}
	firstB64 := func(b string) string {
		d, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(b))
		return string(d)
	}
	const decodeFix = "pkg/dlp/decode.go views()/decodedRuns()"
	return []leakCase{
		{"percent-encoded, one stray % elsewhere (canary)", canary,
			"discount: 100% off\nk=" + pctAll(canary) + "\n", pctReveal,
			decodeFix + ": url.QueryUnescape/PathUnescape fail on ANY invalid %-escape in the whole window, so no URL-decoded view is produced at all; decode valid %XX leniently"},
		{"percent-encoded, one stray % elsewhere (github)", ghToken,
			"50% done\nk=" + pctAll(ghToken) + "\n", pctReveal, decodeFix + " (same as above)"},
		{"base64 wrapped at 76 columns, MIME style (github)", ghToken,
			wrap(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 30)+"k = "+ghToken+"\n")), 76), b64Lines,
			decodeFix + ": eachRun stops at newlines, so a wrapped base64 body is decoded line by line and a secret across a line break is never whole; also decode runs joined over newlines/whitespace"},
		{"base64 wrapped at 20 columns (canary)", canary,
			wrap(base64.StdEncoding.EncodeToString([]byte("k = "+canary)), 20), b64Lines, decodeFix + " (as above)"},
		{"base64 of secret + binary tail (github)", ghToken,
			base64.StdEncoding.EncodeToString([]byte(ghToken+binTail)) + "\n", firstB64,
			"pkg/dlp/dlp.go collect(): a decoded view that is not mostlyText is never given to gitleaks; extract the printable runs of a binary decoded view and scan those"},
		{"hex of secret + binary tail (aws)", awsKey,
			hex.EncodeToString([]byte(awsKey+" "+binTail)) + "\n",
			func(b string) string { d, _ := hex.DecodeString(strings.TrimSpace(b)); return string(d) },
			"pkg/dlp/dlp.go collect() (as above)"},
		{"reversed (github)", ghToken, "k = " + rtReverse(ghToken) + "\n",
			func(b string) string { return rtReverse(b) },
			"pkg/dlp/dlp.go collect(): only known secrets are matched reversed; queue reverse(raw) for gitleaks too"},
		{"UTF-16LE inside a mostly-ASCII file (canary)", canary,
			strings.Repeat("# padding line of plain ascii text\n", 60) + utf16le("k = "+canary+"\n"),
			func(b string) string { return strings.ReplaceAll(b, "\x00", "") },
			"pkg/gitgate/scan.go scanBlob()/text(): NULs are stripped only when they are >= 1/8 of the window; strip (or decode UTF-16 runs) regardless of the ratio"},
		{"UTF-16BE inside base64, i.e. a UTF-7 body (canary)", canary,
			"+" + base64.RawStdEncoding.EncodeToString([]byte(utf16be(canary))) + "-\n",
			func(b string) string {
				d, _ := base64.RawStdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(b), "+"), "-"))
				return strings.ReplaceAll(string(d), "\x00", "")
			},
			decodeFix + ": decoded views are not NUL-stripped/UTF-16 decoded"},
		{"JSON \\u escapes in a .json file (canary)", canary,
			`{"token": "` + jsonEscapeAll(canary) + `"}` + "\n",
			func(b string) string { return strings.NewReplacer(jsonPairs()...).Replace(b) },
			"pkg/dlp: ScanFile has no JSON/\\u-escape view (ScanBody has one for HTTP only); add a backslash-escape view (\\uXXXX, \\xXX, octal)"},
		{"C \\x escapes (github)", ghToken,
			`static const char k[] = "` + cEscapeAll(ghToken) + `";` + "\n",
			func(b string) string { return strings.NewReplacer(cPairs()...).Replace(b) },
			"pkg/dlp decode.go: add a backslash-escape view"},
		{"hex with colons, fingerprint style (canary)", canary,
			"fp: " + colonHex(canary) + "\n",
			func(b string) string {
				d, _ := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(b), "fp: "), ":", ""))
				return string(d)
			},
			decodeFix + ": hex runs must allow ':' / ' ' / '-' separators"},
		{"AWS key glued into an identifier (aws)", awsKey,
			"x_" + awsKey + "_y\n",
			func(b string) string { return b },
			"gitleaks' aws-access-token regex is \\b-bounded; add a boundary-free AKIA/ASIA[A-Z2-7]{16} pattern (dlp.Options.Patterns) for the git scan"},
		{"zero-width joiners between characters (canary)", canary,
			"k = " + strings.Join(strings.Split(canary, ""), "\u200d") + "\n",
			func(b string) string { return strings.ReplaceAll(b, "\u200d", "") },
			"pkg/dlp: add a view with Unicode format characters (Cf) removed"},
		{"base64 nested three times (canary)", canary,
			b64x3(canary) + "\n",
			func(b string) string {
				s := strings.TrimSpace(b)
				for range 3 {
					d, _ := base64.StdEncoding.DecodeString(s)
					s = string(d)
				}
				return s
			},
			"pkg/dlp/decode.go maxNest = 2: any fixed depth is beaten by one more layer; keep decoding while the result is text (each layer is 3/4 the size, so the total cost stays bounded)"},
		{"base32 (canary)", canary, base32.StdEncoding.EncodeToString([]byte(canary)) + "\n",
			func(b string) string { d, _ := base32.StdEncoding.DecodeString(strings.TrimSpace(b)); return string(d) },
			decodeFix + ": no base32 view (internal/leakcheck, the suite's own judge, does search base32)"},
		{"AWS key lower-cased (aws; lossless: its alphabet is A-Z2-7)", awsKey,
			"aws_access_key_id = " + strings.ToLower(awsKey) + "\n",
			func(b string) string { return strings.ToUpper(b) },
			"gitleaks' aws-access-token rule is case-sensitive; scan an upper-cased view for single-case token alphabets (internal/leakcheck folds case too)"},
		{"fullwidth forms (github)", ghToken, "k = " + fullwidthOf(ghToken) + "\n",
			func(b string) string { return fromFullwidth(b) },
			"pkg/dlp: add an NFKC-normalised view (fullwidth ASCII folds to ASCII)"},
	}
}

func htmlEntities(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "&#%d;", s[i])
	}
	return b.String()
}

func quotedPrintable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "=%02X", s[i])
	}
	return b.String()
}

func rot13(r rune) rune {
	switch {
	case r >= 'a' && r <= 'z':
		return 'a' + (r-'a'+13)%26
	case r >= 'A' && r <= 'Z':
		return 'A' + (r-'A'+13)%26
	}
	return r
}

func b64x3(s string) string {
	for range 3 {
		s = base64.StdEncoding.EncodeToString([]byte(s))
	}
	return s
}

func jsonEscapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\u%04x`, s[i])
	}
	return b.String()
}

func jsonPairs() []string {
	var p []string
	for c := 0x20; c < 0x7f; c++ {
		p = append(p, fmt.Sprintf(`\u%04x`, c), string(rune(c)))
	}
	return p
}

func cEscapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\x%02x`, s[i])
	}
	return b.String()
}

func cPairs() []string {
	var p []string
	for c := 0x20; c < 0x7f; c++ {
		p = append(p, fmt.Sprintf(`\x%02x`, c), string(rune(c)))
	}
	return p
}

func colonHex(s string) string {
	var parts []string
	for i := 0; i < len(s); i++ {
		parts = append(parts, hex.EncodeToString([]byte{s[i]}))
	}
	return strings.Join(parts, ":")
}

func fullwidthOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0x20 && r < 0x7f {
			return r - 0x21 + 0xFF01
		}
		return r
	}, s)
}

func fromFullwidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			return r - 0xFF01 + 0x21
		}
		return r
	}, s)
}

// pushedAndHolds pushes branch and reports whether the upstream got it.
func pushedAndHolds(t *testing.T, r *gateRig, dir, branch string) (string, bool) {
	t.Helper()
	out, err := r.push(t, dir, "origin", "HEAD:refs/heads/"+branch)
	_, rerr := gitOut(r.upstream, "rev-parse", "--verify", "-q", "refs/heads/"+branch)
	return out, err == nil && rerr == nil
}

// TestRedTeamNoLeak_EncodedBlob: each case commits data.txt holding a secret
// in an encoding a reader undoes in one line of code. The gate must refuse
// every one; a case that fails names the fix location.
func TestRedTeamNoLeak_EncodedBlob(t *testing.T) {
	for _, c := range leakCases() {
		t.Run(c.name, func(t *testing.T) {
			// The case's reveal really recovers the secret (the attack is
			// sound, not a test artefact).
			assert.Assert(t, strings.Contains(c.reveal(c.content), c.secret), "reveal does not recover the secret")
			r := newGateRig(t, nil)
			dir := r.clone(t)
			addCommit(t, dir, "data", map[string]string{"data.txt": c.content})
			out, ok := pushedAndHolds(t, r, dir, "enc")
			if ok {
				blob := run(t, r.upstream, "cat-file", "blob", "refs/heads/enc:data.txt")
				if strings.Contains(c.reveal(blob+"\n"), c.secret) || strings.Contains(c.reveal(blob), c.secret) {
					t.Fatalf("LEAK: the upstream holds the secret (%s); fix: %s\npush output:\n%s", c.name, c.fix, out)
				}
			}
			assert.Assert(t, !ok, "push went through: %s", out)
			assert.Assert(t, is.Contains(out, "git-gate: gitleaks rejected push"))
		})
	}
}

// TestRedTeamNoLeak_PercentEncodedNames: the same stray-% bypass in the
// scanned texts that are not blobs: a ref name, a file name and a commit
// message each carry the percent-encoded canary.
func TestRedTeamNoLeak_PercentEncodedNames(t *testing.T) {
	enc := pctAll(canary)
	t.Run("ref name", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		ref := "refs/heads/100%-" + enc
		out, err := r.push(t, dir, "origin", "HEAD:"+ref)
		if err == nil {
			refs := strings.Join(r.upstreamRefs(t), "\n")
			if u, _ := url.PathUnescape(strings.TrimPrefix(ref, "refs/heads/100%-")); strings.Contains(refs, ref) && u == canary {
				t.Fatalf("LEAK: the upstream has a branch whose name is the percent-encoded canary; fix: pkg/dlp/decode.go views() (lenient %%XX decoding)")
			}
		}
		assert.Assert(t, err != nil, out)
	})
	t.Run("file name", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		addCommit(t, dir, "names", map[string]string{"100%-" + enc: "x\n"})
		out, ok := pushedAndHolds(t, r, dir, "name")
		if ok {
			t.Fatalf("LEAK: the upstream holds a tree entry named with the percent-encoded canary; fix: pkg/dlp/decode.go views()\n%s", out)
		}
	})
	t.Run("commit message", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		addCommit(t, dir, "ship it 100%\n\nref "+enc, nil)
		out, ok := pushedAndHolds(t, r, dir, "msg")
		if ok {
			t.Fatalf("LEAK: the upstream holds a commit message with the percent-encoded canary; fix: pkg/dlp/decode.go views()\n%s", out)
		}
	})
}

// TestRedTeamHolds_UTF16CommitMessage: a commit whose message is UTF-16
// behind a long ASCII first paragraph, so NULs stay under the 1/8 ratio
// that text() needs to strip them. It holds only because receive-pack's
// fsck refuses NULs in a commit (nulInCommit); blobs have no such guard
// (see the UTF-16LE case of TestRedTeamNoLeak_EncodedBlob).
func TestRedTeamHolds_UTF16CommitMessage(t *testing.T) {
	r := newGateRig(t, nil)
	dir := r.clone(t)
	msg := strings.Repeat("Refactor the parser and tidy the tests. ", 40) + "\n\n" + utf16le("deploy "+canary) + "\n"
	c := rawCommit(t, dir, "", msg)
	out, err := r.push(t, dir, "origin", c+":refs/heads/u16")
	if err == nil {
		body := run(t, r.upstream, "cat-file", "commit", "refs/heads/u16")
		if strings.Contains(strings.ReplaceAll(body, "\x00", ""), canary) {
			t.Fatalf("LEAK: upstream commit message holds the canary as UTF-16; fix: pkg/gitgate/scan.go text() (strip NULs whatever their ratio)")
		}
	}
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "nulInCommit"), out)
}

// --- Attacks on the git side that the gate withstands -------------------

// TestRedTeamHolds_ConcurrentPushes: many pushes at once, half carrying the
// secret in a commit that shares its parent with a clean one; every
// secret-carrying push must be refused and nothing secret must arrive,
// whatever the interleaving of scans and forwards.
func TestRedTeamHolds_ConcurrentPushes(t *testing.T) {
	r := newGateRig(t, nil)
	var wg sync.WaitGroup
	type res struct {
		bad bool
		out string
		err error
	}
	results := make(chan res, 8)
	for i := range 8 {
		dir := r.clone(t)
		bad := i%2 == 0
		content := fmt.Sprintf("clean %d\n", i)
		if bad {
			content = "k = " + ghToken + "\n"
		}
		addCommit(t, dir, "c", map[string]string{"f.txt": content})
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := gitOut(dir, "push", "origin", fmt.Sprintf("HEAD:refs/heads/b%d", i))
			results <- res{bad, out, err}
		}()
	}
	wg.Wait()
	close(results)
	for x := range results {
		if x.bad {
			assert.Assert(t, x.err != nil, "a secret push went through: %s", x.out)
		}
	}
	r.assertNoLeak(t)
}

// TestRedTeamHolds_UnreachableObjectInPack speaks receive-pack by hand:
// the pack holds a clean commit and, unreachable from it, a blob with the
// secret. The blob must not be forwarded; it lands in the mirror's store,
// and a later push that makes it reachable must still be scanned.
func TestRedTeamHolds_UnreachableObjectInPack(t *testing.T) {
	r := newGateRig(t, nil)
	dir := r.clone(t)
	base := run(t, dir, "rev-parse", "HEAD")
	c := addCommit(t, dir, "clean", map[string]string{"ok.txt": "ok\n"})
	secretBlob := gitIn(t, dir, "k = "+ghToken+"\n", "hash-object", "-w", "--stdin")
	ids := []string{c, run(t, dir, "rev-parse", "HEAD^{tree}"), run(t, dir, "rev-parse", "HEAD:ok.txt"), secretBlob}
	pack := packOf(t, dir, ids)
	resp := rawReceivePack(t, r.addr, []string{ZeroID + " " + c + " refs/heads/hand"}, "report-status side-band-64k", nil, pack)
	assert.Assert(t, is.Contains(resp, "ok refs/heads/hand"), resp)
	r.assertNoLeak(t)
	_, err := gitOut(r.upstream, "cat-file", "-e", secretBlob)
	assert.Assert(t, err != nil, "the unreachable secret blob was forwarded")
	// Now a commit (built in a fresh repo, so the push sends only the
	// commit and tree) that uses the blob the mirror already holds.
	_ = base
	run(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+secretBlob+",k.txt")
	run(t, dir, "commit", "-q", "-m", "use it")
	c2 := run(t, dir, "rev-parse", "HEAD")
	pack2 := packOf(t, dir, []string{c2, run(t, dir, "rev-parse", "HEAD^{tree}")})
	resp = rawReceivePack(t, r.addr, []string{c + " " + c2 + " refs/heads/hand"}, "report-status side-band-64k", nil, pack2)
	assert.Assert(t, findingRE("github-token in blob").MatchString(resp), resp)
	r.assertNoLeak(t)
}

// TestRedTeamHolds_ProtocolByHand: push options and a push certificate
// forced onto the wire although not advertised.
func TestRedTeamHolds_ProtocolByHand(t *testing.T) {
	r := newGateRig(t, nil)
	dir := r.clone(t)
	c := addCommit(t, dir, "c "+awsKey, map[string]string{"x.txt": "x\n"})
	pack := packOf(t, dir, []string{c, run(t, dir, "rev-parse", "HEAD^{tree}"), run(t, dir, "rev-parse", "HEAD:x.txt")})
	resp := rawReceivePack(t, r.addr, []string{ZeroID + " " + c + " refs/heads/po"}, "report-status side-band-64k push-options", []string{"secret=" + ghToken}, pack)
	t.Logf("push-options forced: %q", tail(resp, 300))
	for _, ref := range []string{"refs/heads/a b", "refs/heads/x\x01y", "refs/heads/" + strings.Repeat("a", 4000), "refs/heads/a..b", "refs/heads/x@{1}", "HEAD", "refs/heads/\u00e9"} {
		// A clean commit on top of the upstream's main: only it, its tree
		// and its blob travel.
		b := gitIn(t, dir, fmt.Sprintf("clean %d\n", len(ref)), "hash-object", "-w", "--stdin")
		tr := gitIn(t, dir, "100644 blob "+b+"\ty.txt\n", "mktree")
		clean := gitIn(t, dir, "clean", "commit-tree", tr, "-p", run(t, dir, "rev-parse", "origin/main"))
		p := packOf(t, dir, []string{clean, tr, b})
		resp := rawReceivePack(t, r.addr, []string{ZeroID + " " + clean + " " + ref}, "report-status side-band-64k", nil, p)
		t.Logf("ref %.40q: %q", ref, tail(resp, 200))
		assert.Assert(t, !strings.Contains(resp, "\nok "), "ref %q accepted: %s", ref, resp)
	}
	assert.Assert(t, !strings.Contains(resp, "ok refs/heads/po"), resp)
	r.assertNoLeak(t)
	assert.DeepEqual(t, r.upstreamRefs(t), []string{"refs/heads/main"})
}

// TestRedTeamHolds_GitShapes: history shapes that could make the scan set
// differ from what is forwarded.
func TestRedTeamHolds_GitShapes(t *testing.T) {
	t.Run("thin pack: delta against a base the upstream has", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		big := strings.Repeat("line of clean text that deltas well\n", 2000)
		addCommit(t, dir, "base", map[string]string{"big.txt": big})
		out, err := r.push(t, dir, "origin", "HEAD:refs/heads/main")
		assert.NilError(t, err, out)
		addCommit(t, dir, "delta", map[string]string{"big.txt": big[:len(big)/2] + "k = " + ghToken + "\n" + big[len(big)/2:]})
		out, err = r.push(t, dir, "--thin", "origin", "HEAD:refs/heads/main")
		assert.Assert(t, err != nil, out)
		r.assertNoLeak(t)
	})
	t.Run("branch -> tag -> tag -> blob", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		b := gitIn(t, dir, "k = "+ghToken+"\n", "hash-object", "-w", "--stdin")
		t1 := gitIn(t, dir, "object "+b+"\ntype blob\ntag t1\ntagger a <a@b> 1700000000 +0000\n\nclean\n", "hash-object", "-t", "tag", "-w", "--stdin")
		t2 := gitIn(t, dir, "object "+t1+"\ntype tag\ntag t2\ntagger a <a@b> 1700000000 +0000\n\nclean\n", "hash-object", "-t", "tag", "-w", "--stdin")
		out, err := r.push(t, dir, "origin", t2+":refs/heads/tb")
		assert.Assert(t, err != nil, out)
		assert.Assert(t, is.Contains(out, "peels to a blob"), out)
		r.assertNoLeak(t)
	})
	t.Run("shallow clone pushes a secret", func(t *testing.T) {
		r := newGateRig(t, nil)
		full := r.clone(t)
		for i := range 3 {
			addCommit(t, full, fmt.Sprintf("c%d", i), map[string]string{"f.txt": fmt.Sprint(i)})
		}
		out, err := r.push(t, full, "origin", "HEAD:refs/heads/main")
		assert.NilError(t, err, out)
		sh := t.TempDir() + "/sh"
		out, err = gitOut(t.TempDir(), "clone", "-q", "--depth", "1", r.url(), sh)
		assert.NilError(t, err, out)
		run(t, sh, "config", "user.name", "A")
		run(t, sh, "config", "user.email", "a@b")
		addCommit(t, sh, "s", map[string]string{"k.txt": "k = " + ghToken + "\n"})
		out, err = r.push(t, sh, "origin", "HEAD:refs/heads/main")
		assert.Assert(t, err != nil, out)
		r.assertNoLeak(t)
	})
	t.Run("delete then recreate a branch (allow_delete)", func(t *testing.T) {
		r := newGateRig(t, func(repo *daemoncfg.Repo) { repo.AllowDelete = true; repo.AllowForcePush = true })
		dir := r.clone(t)
		addCommit(t, dir, "s", map[string]string{"k.txt": "k = " + ghToken + "\n"})
		out, err := r.push(t, dir, "origin", ":refs/heads/main", "HEAD:refs/heads/main2")
		assert.Assert(t, err != nil, out)
		r.assertNoLeak(t)
	})
	t.Run(".gitattributes filter/textconv and a pushed config file", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		addCommit(t, dir, "attrs", map[string]string{
			".gitattributes": "* filter=hide diff=hide -text\n",
			"config":         "[filter \"hide\"]\n\tclean = cat /dev/null\n[diff \"hide\"]\n\ttextconv = true\n[core]\n\thooksPath = /tmp\n",
			"k.txt":          "k = " + ghToken + "\n",
		})
		out, err := r.push(t, dir, "origin", "HEAD:refs/heads/attrs")
		assert.Assert(t, err != nil, out)
		r.assertNoLeak(t)
	})
	t.Run("huge single-line blob with the secret at the end", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		addCommit(t, dir, "big", map[string]string{"one.txt": strings.Repeat("abcdefghij", 2<<20) + " " + ghToken})
		out, err := r.push(t, dir, "origin", "HEAD:refs/heads/line")
		assert.Assert(t, err != nil, out)
		assert.Assert(t, findingRE("github-token in blob").MatchString(out), out)
		r.assertNoLeak(t)
	})
	t.Run("blob exactly at and one byte over the per-object limit", func(t *testing.T) {
		r := newGateRig(t, func(repo *daemoncfg.Repo) { repo.MaxObjectMiB = 1 })
		dir := r.clone(t)
		addCommit(t, dir, "at", map[string]string{"at.bin": strings.Repeat("z", 1<<20)})
		out, err := r.push(t, dir, "origin", "HEAD:refs/heads/at")
		assert.NilError(t, err, out)
		addCommit(t, dir, "over", map[string]string{"over.bin": strings.Repeat("z", 1<<20+1)})
		out, err = r.push(t, dir, "origin", "HEAD:refs/heads/at")
		assert.Assert(t, err != nil, out)
		assert.Assert(t, is.Contains(out, "over the per-object limit of 1 MiB"), out)
	})
}

// --- Resource bounds ------------------------------------------------------

// TestRedTeamBreak_HugeCommitMessageMemory: commits and trees are read whole
// (io.ReadAll) and handed to the scanner as one string, and pkg/dlp decodes
// a long base64-alphabet run at four alignments; a commit whose message is
// one 6 MiB base64-alphabet line drives the gate's heap far past the
// 128 MB the issue allows for a 256 MB push.
func TestRedTeamBreak_HugeCommitMessageMemory(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a", "a", "a")
	msg := strings.Repeat("QUJDRA", 1<<20) + "\n" // 6 MiB, valid base64
	c := rawCommit(t, dir, "", msg)
	sc := &ObjectScan{Dir: dir, Env: gateEnv(), Scanner: scanner(t), Refs: "refs/heads/x"}
	start := time.Now()
	peak, err := peakHeap(func() error { return sc.Scan(t.Context(), []string{c}) })
	t.Logf("scan of a 6 MiB commit message: err=%v, took %s, peak heap in use %d MiB", err, time.Since(start), peak>>20)
	// A blob of the same size is scanned in ~1 MiB windows; a commit is
	// not, so its cost grows with max_object_mib (measured: 94 MiB heap and
	// 69 s for 6 MiB, 393 MiB and 6 min 12 s for 24 MiB; 100 MiB is allowed).
	assert.Assert(t, peak < 64<<20, "peak heap %d MiB scanning one 6 MiB commit; fix: pkg/gitgate/scan.go scanObject() reads commits/tags/trees whole and pkg/dlp scans them as one string — bound their size (e.g. 1 MiB like CheckTarget does for tags) or window them like blobs", peak>>20)
}

// TestRedTeamBreak_HugeTreeMemory: one tree of ~120k entries with long
// names (~30 MiB, under the 100 MiB per-object default). scanTree reads it
// whole and builds several full-size texts (paths, joined paths, all names
// run together) before scanning them as one string.
func TestRedTeamBreak_HugeTreeMemory(t *testing.T) {
	dir := newRepo(t)
	blob := gitIn(t, dir, "x\n", "hash-object", "-w", "--stdin")
	var in strings.Builder
	pad := strings.Repeat("~", 240)
	for i := range 120000 {
		fmt.Fprintf(&in, "100644 blob %s\t%s%07d\n", blob, pad, i)
	}
	tree := gitIn(t, dir, in.String(), "mktree")
	size := run(t, dir, "cat-file", "-s", tree)
	sc := &ObjectScan{Dir: dir, Env: gateEnv(), Scanner: scanner(t), Refs: "refs/heads/x"}
	peak, err := peakHeap(func() error { return sc.Scan(t.Context(), []string{tree}) })
	t.Logf("scan of a %s-byte tree: err=%v, peak heap in use %d MiB", size, err, peak>>20)
	assert.Assert(t, peak < 128<<20, "peak heap %d MiB scanning one %s-byte tree; fix: pkg/gitgate/scan.go scanTree(): stream entries and scan names in bounded batches (or bound tree size)", peak>>20, size)
}

// peakHeap runs f and samples the heap in use while it runs.
func peakHeap(f func() error) (uint64, error) {
	runtime.GC()
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err := f()
	close(stop)
	<-done
	return peak, err
}

// --- Residual risk (opt-in) ----------------------------------------------

// TestRedTeamLimit_Unscannable documents what no content scanner at the
// gate catches: compressed archives, and a secret split over two objects
// (commit message + file name).
func TestRedTeamLimit_Unscannable(t *testing.T) {
	if os.Getenv("CLAUDE_BOTTLE_REDTEAM_LIMITS") == "" {
		t.Skip("residual-risk documentation; set CLAUDE_BOTTLE_REDTEAM_LIMITS=1")
	}
	t.Run("gzip", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte("k = " + ghToken + "\n"))
		_ = w.Close()
		addCommit(t, dir, "gz", map[string]string{"a.gz": b.String()})
		out, ok := pushedAndHolds(t, r, dir, "gz")
		assert.Assert(t, !ok, "gzip-compressed secret arrived: %s", out)
	})
	for name, content := range map[string]string{
		"HTML entities":    htmlEntities(ghToken),
		"quoted-printable": quotedPrintable(canary),
		"spaced letters":   strings.Join(strings.Split(ghToken, ""), " "),
		"string concat":    `k = "` + ghToken[:10] + `" + "` + ghToken[10:] + `"`,
		"rot13":            strings.Map(rot13, ghToken),
	} {
		t.Run(name, func(t *testing.T) {
			r := newGateRig(t, nil)
			dir := r.clone(t)
			addCommit(t, dir, name, map[string]string{"d.txt": content + "\n"})
			out, ok := pushedAndHolds(t, r, dir, "lim")
			assert.Assert(t, !ok, "%s arrived: %s", name, out)
		})
	}
	t.Run("split over message and file name", func(t *testing.T) {
		r := newGateRig(t, nil)
		dir := r.clone(t)
		addCommit(t, dir, "part one: "+ghToken[:20], map[string]string{ghToken[20:] + ".txt": "x\n"})
		out, ok := pushedAndHolds(t, r, dir, "split")
		assert.Assert(t, !ok, "split secret arrived: %s", out)
	})
}

// --- helpers: receive-pack spoken by hand -------------------------------

func packOf(t *testing.T, dir string, ids []string) []byte {
	t.Helper()
	cmd := gitCmd(t.Context(), dir, os.Environ(), "pack-objects", "--stdout")
	cmd.Stdin = strings.NewReader(strings.Join(ids, "\n") + "\n")
	out, err := cmd.Output()
	assert.NilError(t, err)
	return out
}

// rawReceivePack pushes over git:// by hand: commands, capabilities on the
// first, optional push options, then the pack. It returns every byte the
// gate answered (side-band included, so hook messages are in it).
func rawReceivePack(t *testing.T, addr string, cmds []string, caps string, opts []string, pack []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	assert.NilError(t, err)
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	_, err = io.WriteString(c, pktLine("git-receive-pack /app.git\x00host=gate\x00"))
	assert.NilError(t, err)
	br := bufio.NewReader(c)
	for { // advertisement up to the flush
		var hdr [4]byte
		_, err := io.ReadFull(br, hdr[:])
		assert.NilError(t, err)
		if string(hdr[:]) == "0000" {
			break
		}
		var n int
		_, err = fmt.Sscanf(string(hdr[:]), "%04x", &n)
		assert.NilError(t, err)
		_, err = io.ReadFull(br, make([]byte, n-4))
		assert.NilError(t, err)
	}
	var req bytes.Buffer
	for i, cmd := range cmds {
		if i == 0 {
			cmd += "\x00" + caps
		}
		req.WriteString(pktLine(cmd + "\n"))
	}
	req.WriteString("0000")
	if len(opts) > 0 {
		for _, o := range opts {
			req.WriteString(pktLine(o + "\n"))
		}
		req.WriteString("0000")
	}
	req.Write(pack)
	_, _ = c.Write(req.Bytes())
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	resp, _ := io.ReadAll(br)
	return string(resp)
}
