package gitgate

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// Limits bound what one push may carry. Both are checked on the sizes git
// records for each object before any content is read.
type Limits struct {
	// MaxObject is the largest inflated object (blob, tree, commit or tag).
	MaxObject int64
	// MaxPush bounds the sum of the inflated sizes of the objects a push
	// brings; it is also the mirror's receive.maxInputSize (the pack as
	// sent).
	MaxPush int64
}

// Default limits: GitHub refuses files over 100 MiB; a push of 1 GiB of new
// content is far beyond what an agent's work produces.
const (
	DefaultMaxObject = 100 << 20
	DefaultMaxPush   = 1 << 30
)

// WithDefaults fills zero limits.
func (l Limits) WithDefaults() Limits {
	if l.MaxObject <= 0 {
		l.MaxObject = DefaultMaxObject
	}
	if l.MaxPush <= 0 {
		l.MaxPush = DefaultMaxPush
	}
	return l
}

// Blobs are scanned in windows of scanChunk bytes that overlap by
// scanOverlap, so memory stays flat whatever the blob's size and any secret
// up to scanOverlap bytes long (an RSA-4096 PEM key is about 3.3 KB) lies
// whole inside one window.
const (
	scanChunk   = 1 << 20
	scanOverlap = 8 << 10
)

// ObjectScan scans a set of objects.
type ObjectScan struct {
	Dir     string
	Env     []string // gateEnv(), with the quarantine when in the hook
	Scanner *dlp.Scanner
	Limits  Limits
	// Refs names the refs of the push in rejection messages (already
	// checked to be clean and well-formed).
	Refs string

	paths   map[string]string // object id -> path, from the scanned trees
	scanned map[string]struct{}
	buf     []byte
}

// Scanned reports whether id was scanned.
func (o *ObjectScan) Scanned(id string) bool {
	_, ok := o.scanned[id]
	return ok
}

// Count is the number of objects scanned so far.
func (o *ObjectScan) Count() int { return len(o.scanned) }

// Scan scans every object in ids, whatever its type, path or size class:
// commits and annotated tags whole (every header, the message, any
// signature), trees entry by entry (every name, full paths, gitlink ids),
// blobs streamed. Sizes are checked against the limits first. The first
// finding or limit rejects.
func (o *ObjectScan) Scan(ctx context.Context, ids []string) error {
	if o.paths == nil {
		o.paths, o.scanned = map[string]string{}, map[string]struct{}{}
	}
	var todo []string
	for _, id := range ids {
		if _, ok := o.scanned[id]; !ok {
			todo = append(todo, id)
		}
	}
	objs, err := batchCheck(ctx, o.Dir, o.Env, todo)
	if err != nil {
		return err
	}
	lim := o.Limits.WithDefaults()
	var total int64
	for _, ob := range objs {
		switch ob.typ {
		case "blob", "tree", "commit", "tag":
		default:
			return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: object %s is %s; the push is incomplete or corrupt", o.Refs, ob.id, ob.typ)}
		}
		if ob.size > lim.MaxObject {
			return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: %s %s is %s, over the per-object limit of %s; nothing was sent (find it with `git log --all --find-object=%s`; the limit is max_object_mib in the manifest's [git] table or the repo's [[git.repos]] entry)",
				o.Refs, ob.typ, ob.id, mib(ob.size), mib(lim.MaxObject), ob.id)}
		}
		if total += ob.size; total > lim.MaxPush {
			return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: it brings more than %s of new objects, over the per-push limit; nothing was sent (push in smaller steps, or raise max_push_mib in the manifest's [git] table or the repo's [[git.repos]] entry)",
				o.Refs, mib(lim.MaxPush))}
		}
	}
	// cat-file --batch holds each object whole in memory; a large blob is
	// read on its own by `git cat-file blob`, which streams it (git keeps
	// such blobs undeltified: core.bigFileThreshold in gateEnv). They come
	// last, when every tree, and so every path, has been seen.
	var small, large []object
	for _, ob := range objs {
		if ob.typ == "blob" && ob.size > streamThreshold {
			large = append(large, ob)
		} else {
			small = append(small, ob)
		}
	}
	if len(small) > 0 {
		smallIDs := make([]string, len(small))
		for i, ob := range small {
			smallIDs[i] = ob.id
		}
		rd, err := newObjectReader(ctx, o.Dir, o.Env, smallIDs)
		if err != nil {
			return err
		}
		for _, ob := range small {
			body, err := rd.next(ob)
			if err != nil {
				_ = rd.close()
				return err
			}
			if err := o.scanObject(ob, body); err != nil {
				_ = rd.close()
				return err
			}
			o.scanned[ob.id] = struct{}{}
		}
		if err := rd.close(); err != nil {
			return err
		}
	}
	for _, ob := range large {
		if err := o.scanLarge(ctx, ob); err != nil {
			return err
		}
		o.scanned[ob.id] = struct{}{}
	}
	return nil
}

// streamThreshold is the blob size above which a blob is streamed by its
// own cat-file (see Scan); it matches core.bigFileThreshold in gateEnv.
const streamThreshold = 8 << 20

// scanLarge streams one large blob through `git cat-file blob`, checking it
// delivers exactly the size batch-check reported.
func (o *ObjectScan) scanLarge(ctx context.Context, ob object) error {
	cmd := gitCmd(ctx, o.Dir, o.Env, "cat-file", "blob", ob.id)
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	counted := &countingReader{r: out}
	serr := o.scanBlob(ob, io.LimitReader(counted, ob.size))
	if serr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return serr
	}
	_, _ = io.Copy(io.Discard, counted)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file blob %s: %w: %s", ob.id, err, strings.TrimSpace(errb.String()))
	}
	if counted.n != ob.size {
		return fmt.Errorf("git cat-file blob %s: %d bytes, want %d", ob.id, counted.n, ob.size)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func mib(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func (o *ObjectScan) reject(f dlp.Finding, where string) error {
	return &Rejection{Msg: fmt.Sprintf("git-gate: gitleaks rejected push to %s: %s in %s; nothing was sent (remove it from every commit of the push and push again)", o.Refs, ruleOf(f), where)}
}

func short(id string) string { return id[:12] }

func (o *ObjectScan) scanObject(ob object, body io.Reader) error {
	if ob.typ == "blob" {
		return o.scanBlob(ob, body)
	}
	// Sized from git's record (already within the object limit), so a
	// large tree is not copied over and over while read.
	var rb bytes.Buffer
	if ob.size > 0 && ob.size < 1<<31 {
		rb.Grow(int(ob.size) + bytes.MinRead)
	}
	if _, err := rb.ReadFrom(body); err != nil {
		return err
	}
	raw := rb.Bytes()
	switch ob.typ {
	case "commit":
		// The whole object: tree, parents, author, committer, encoding,
		// gpgsig, mergetag and any other header, and the message.
		if f, ok := o.textWindows("commit", raw); ok {
			return o.reject(f, "commit "+short(ob.id)+" (its message or headers)")
		}
	case "tag":
		// Name, tagger, message, signature; the object it points at is in
		// the scan set too (rev-list lists the whole chain).
		if f, ok := o.textWindows("tag", raw); ok {
			return o.reject(f, "annotated tag "+short(ob.id))
		}
	case "tree":
		return o.scanTree(ob, raw)
	}
	return nil
}

// text scans one text, and when it is mostly NULs (UTF-16 or UTF-32 text,
// which a commit's encoding header may declare and a file may use) the same
// text with the NULs removed.
func (o *ObjectScan) text(part string, raw []byte) (dlp.Finding, bool) {
	if fs := o.Scanner.Scan(part, string(raw)); len(fs) > 0 {
		return fs[0], true
	}
	if n := bytes.Count(raw, []byte{0}); n > 0 && n*8 >= len(raw) {
		if fs := o.Scanner.Scan(part, string(bytes.ReplaceAll(raw, []byte{0}, nil))); len(fs) > 0 {
			return fs[0], true
		}
	} else if n > 0 {
		// A few NULs: UTF-16 runs inside ASCII text.
		if u := dlp.UTF16Runs(string(raw)); u != "" {
			if fs := o.Scanner.Scan(part, u); len(fs) > 0 {
				return fs[0], true
			}
		}
	}
	return dlp.Finding{}, false
}

func (o *ObjectScan) scanBlob(ob object, body io.Reader) error {
	if o.buf == nil {
		o.buf = make([]byte, scanChunk+scanOverlap)
	}
	path := o.paths[ob.id]
	where := "blob " + short(ob.id)
	if path != "" {
		where += fmt.Sprintf(" (%q)", path)
	}
	keep := 0
	for first := true; ; first = false {
		n, err := io.ReadFull(body, o.buf[keep:])
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		data := o.buf[:keep+n]
		if n > 0 || first {
			if fs := o.Scanner.ScanFile(path, string(data)); len(fs) > 0 {
				return o.reject(fs[0], where)
			}
			if z := bytes.Count(data, []byte{0}); z > 0 && z*8 >= len(data) {
				if fs := o.Scanner.ScanFile(path, string(bytes.ReplaceAll(data, []byte{0}, nil))); len(fs) > 0 {
					return o.reject(fs[0], where+" (as UTF-16/32 text)")
				}
			} else if z > 0 {
				// A few NULs: UTF-16 text inside an ASCII or binary
				// file; read its runs, not the whole window again.
				if u := dlp.UTF16Runs(string(data)); u != "" {
					if fs := o.Scanner.ScanFile(path, u); len(fs) > 0 {
						return o.reject(fs[0], where+" (its UTF-16 text)")
					}
				}
			}
		}
		if err != nil {
			// The body reader checks the object's terminator on EOF.
			if _, err := body.Read(o.buf[:0]); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		keep = copy(o.buf, data[len(data)-scanOverlap:])
	}
}

// TreeEntry is one entry of a raw tree object.
type TreeEntry struct {
	Mode string
	Name string
	ID   []byte // raw, hashLen bytes
}

// treeMode returns m as a string, without allocating for the modes git
// writes.
func treeMode(m []byte) string {
	for _, k := range []string{"100644", "100755", "40000", "120000", "160000"} {
		if string(m) == k {
			return k
		}
	}
	return string(m)
}

// ParseTree parses a raw tree object with ids of hashLen bytes.
func ParseTree(raw []byte, hashLen int) ([]TreeEntry, error) {
	var out []TreeEntry
	err := eachTreeEntry(raw, hashLen, func(e TreeEntry) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachTreeEntry calls fn with each entry of a raw tree object, in order,
// without holding them all (a tree may have hundreds of thousands).
func eachTreeEntry(raw []byte, hashLen int, fn func(TreeEntry) error) error {
	return walkTree(raw, hashLen, func(mode string, name, id []byte) error {
		return fn(TreeEntry{Mode: mode, Name: string(name), ID: id})
	})
}

// walkTree is eachTreeEntry with the name a view into raw (no copy).
func walkTree(raw []byte, hashLen int, fn func(mode string, name, id []byte) error) error {
	for len(raw) > 0 {
		sp := bytes.IndexByte(raw, ' ')
		if sp <= 0 || sp > 7 {
			return errors.New("malformed tree entry mode")
		}
		for _, c := range raw[:sp] {
			if c < '0' || c > '7' {
				return fmt.Errorf("malformed tree entry mode %q", raw[:sp])
			}
		}
		mode := treeMode(raw[:sp])
		raw = raw[sp+1:]
		nul := bytes.IndexByte(raw, 0)
		if nul <= 0 {
			return errors.New("malformed tree entry name")
		}
		name := raw[:nul:nul]
		raw = raw[nul+1:]
		if len(raw) < hashLen {
			return errors.New("truncated tree entry")
		}
		if err := fn(mode, name, raw[:hashLen:hashLen]); err != nil {
			return err
		}
		raw = raw[hashLen:]
	}
	return nil
}

// scanTree scans every entry name (alone and as a full path, with and
// without the slashes, so a secret split over directories is whole in one
// reading), the names of the tree run together, and every gitlink id in hex
// and raw, alone and run together: a gitlink's 20 bytes are whatever the
// pusher wants them to be.
//
// The readings are scanned as they are built, in overlapping windows like
// a blob's, so a tree of any size costs its raw bytes and a few windows.
func (o *ObjectScan) scanTree(ob object, raw []byte) error {
	// Parse it all first: a malformed tree is refused as malformed
	// whatever its names hold.
	if err := walkTree(raw, len(ob.id)/2, func(string, []byte, []byte) error { return nil }); err != nil {
		return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: tree %s: %v", o.Refs, short(ob.id), err)}
	}
	base := o.paths[ob.id]
	text := &windowScan{o: o, part: "tree"}
	names := &windowScan{o: o, part: "tree"}
	links := &windowScan{o: o, part: "tree"}
	linksHex := &windowScan{o: o, part: "tree"}
	var idHex [64]byte
	_ = walkTree(raw, len(ob.id)/2, func(mode string, name, rawID []byte) error {
		if base != "" {
			p := base + "/" + string(name)
			text.write(p, "\n")
			text.write(strings.ReplaceAll(p, "/", ""), "\n")
		} else {
			text.writeBytes(name, "\n")
			if bytes.IndexByte(name, '/') >= 0 {
				text.write(strings.ReplaceAll(string(name), "/", ""), "\n")
			}
		}
		names.writeBytes(name, "")
		id := idHex[:hex.Encode(idHex[:], rawID)]
		if mode == "160000" {
			text.write(string(id), "\n")
			links.write(string(rawID), "")
			linksHex.write(string(id), "")
		}
		if _, ok := o.paths[string(id)]; !ok {
			p := string(name)
			if base != "" {
				p = base + "/" + p
			}
			o.paths[string(id)] = p
		}
		return nil
	})
	where := "tree " + short(ob.id) + " (an entry name or submodule id"
	if base != "" {
		where += fmt.Sprintf(" under %q", base)
	}
	where += ")"
	// A tree of ordinary size is one scan of its paths and names and
	// one of its gitlink ids, raw and hex.
	if !names.flushed {
		text.write(string(names.buf), "\n")
		names.buf, names.fresh = nil, false
	}
	if !links.flushed && !linksHex.flushed && links.fresh {
		links.write("\n", string(linksHex.buf))
		linksHex.buf, linksHex.fresh = nil, false
	}
	for _, w := range []*windowScan{text, names, links, linksHex} {
		if f, ok := w.finish(); ok {
			return o.reject(f, where)
		}
	}
	return nil
}

// textWindows scans a text that may be huge (a commit message of many
// MiB) in the overlapping windows blobs are scanned in, so the memory of
// its readings stays bounded whatever its size; a text of ordinary size is
// one window.
func (o *ObjectScan) textWindows(part string, raw []byte) (dlp.Finding, bool) {
	for start := 0; ; start += scanChunk {
		end := min(len(raw), start+scanChunk+scanOverlap)
		if f, ok := o.text(part, raw[start:end]); ok {
			return f, true
		}
		if end == len(raw) {
			return dlp.Finding{}, false
		}
	}
}

// windowScan scans a text as it is written, in windows of scanChunk bytes
// that overlap by scanOverlap (a secret up to that long lies whole in one
// window), and remembers the first finding.
type windowScan struct {
	o       *ObjectScan
	part    string
	buf     []byte
	fresh   bool // bytes written since the last scan
	flushed bool // a full window was scanned
	hit     dlp.Finding
	found   bool
}

func (w *windowScan) write(s, sep string) {
	if w.found {
		return
	}
	w.buf = append(w.buf, s...)
	w.wrote(sep)
}

func (w *windowScan) writeBytes(b []byte, sep string) {
	if w.found {
		return
	}
	w.buf = append(w.buf, b...)
	w.wrote(sep)
}

// wrote ends a write: the separator, and a scan when a window is full.
func (w *windowScan) wrote(sep string) {
	w.buf = append(w.buf, sep...)
	w.fresh = true
	if len(w.buf) >= scanChunk+scanOverlap {
		w.scan()
		w.flushed = true
		n := copy(w.buf, w.buf[len(w.buf)-scanOverlap:])
		w.buf = w.buf[:n]
		w.fresh = false
	}
}

func (w *windowScan) scan() {
	if f, ok := w.o.text(w.part, w.buf); ok {
		w.hit, w.found = f, true
	}
}

func (w *windowScan) finish() (dlp.Finding, bool) {
	if !w.found && w.fresh {
		w.scan()
	}
	return w.hit, w.found
}
