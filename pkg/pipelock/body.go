package pipelock

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/claude-bottle/claude-bottle/internal/logsafe"
	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// refusal is a request pipelock answers itself: an HTTP status, a reason
// for the block header and logs, and the message after "blocked: ".
type refusal struct {
	status int
	reason string
	msg    string
}

func (r *refusal) Error() string { return r.msg }

func refuse(status int, reason, format string, args ...any) *refusal {
	return &refusal{status: status, reason: reason, msg: fmt.Sprintf(format, args...)}
}

type requestBody struct {
	raw     []byte // as received, forwarded unchanged
	decoded []byte // Content-Encoding undone, for scanning (with stream: its first segment)
	// compressed: decoded is not raw (a Content-Encoding was undone).
	compressed bool
	// stream, when set, yields the rest of the decoding after decoded: a
	// compressed body that decodes to more than segmentBytes is decoded
	// while it is scanned, a segment at a time (inspectSegments), and
	// never held decoded whole. codings names its Content-Encodings.
	stream  io.Reader
	codings string
	closers []io.Closer
	// segmented: an uncompressed body over segmentBytes, scanned a
	// segment at a time (scanSegmented, or live while it arrived).
	segmented bool
	// live, for a segmented body read with its declared length, is its
	// scan begun while it arrived (readLive).
	live *liveScan
	// lease, for a segmented body, is the request's: a copy of a part
	// claims its spare room (partCopyNeed).
	lease *lease
}

// close releases the decoders of a streamed body.
func (b *requestBody) close() {
	for _, c := range b.closers {
		_ = c.Close()
	}
	b.closers = nil
}

// checkFraming refuses the framings that let two parsers disagree on where
// a body ends (request smuggling): a Transfer-Encoding other than exactly
// "chunked", and Transfer-Encoding beside Content-Length. net/http already
// rejects most of them; this is the belt to its braces.
func checkFraming(r *http.Request) *refusal {
	te := r.TransferEncoding
	if len(te) > 1 || len(te) == 1 && te[0] != "chunked" {
		return refuse(http.StatusBadRequest, "framing", "Transfer-Encoding %q is not accepted; send the body with Content-Length or plain chunked encoding", strings.Join(te, ", "))
	}
	if len(te) > 0 && len(r.Header.Values("Content-Length")) > 0 {
		return refuse(http.StatusBadRequest, "framing", "Transfer-Encoding and Content-Length together are ambiguous framing; send one of them")
	}
	return nil
}

// readBody buffers the body of a request to host within the request cap
// and the shared budget, then undoes every listed Content-Encoding for
// scanning. An uncompressed body of declared length over segmentBytes is
// scanned while it arrives (readLive).
func (p *Proxy) readBody(ctx context.Context, r *http.Request, host string, l *lease) (requestBody, *refusal) {
	if rf := checkFraming(r); rf != nil {
		return requestBody{}, rf
	}
	encs, rf := contentEncodings(r.Header)
	if rf != nil {
		return requestBody{}, rf
	}
	if r.Body == nil || r.Body == http.NoBody {
		return requestBody{}, nil
	}
	max := p.lim.MaxBody
	if r.ContentLength > max {
		return requestBody{}, tooLarge(max)
	}
	if len(encs) == 0 && r.ContentLength > segmentBytes {
		return p.readLive(ctx, r, host, l)
	}
	raw, rf := readCapped(ctx, r.Body, r.ContentLength, max, l, 0)
	if rf != nil {
		return requestBody{}, rf
	}
	b := requestBody{raw: raw, decoded: raw}
	if len(encs) == 0 {
		b.segmented = segmentedBody(r.Header.Get("Content-Type"), b)
		if b.segmented {
			b.lease = l
		}
		return b, nil
	}
	// Every listed coding undone in one chain of streaming decoders (no
	// intermediate layer is held); the first segmentBytes are read here.
	b.compressed, b.codings = true, strings.Join(encs, ", ")
	var src io.Reader = bytes.NewReader(raw)
	for i := len(encs) - 1; i >= 0; i-- {
		dec, err := streamDecoder(encs[i], src)
		if err != nil {
			b.close()
			return requestBody{}, refuse(http.StatusUnsupportedMediaType, "content-encoding", "the body does not decode as Content-Encoding %s: %v", encs[i], err)
		}
		if c, ok := dec.(io.Closer); ok {
			b.closers = append(b.closers, c)
		}
		src = dec
	}
	head, more, rf := readUpTo(ctx, src, int(min(segmentBytes, p.lim.MaxDecoded)), l, int64(len(raw)))
	if rf != nil {
		b.close()
		if rf.status == http.StatusBadRequest {
			rf = refuse(http.StatusUnsupportedMediaType, "content-encoding", "the body does not decode as Content-Encoding %s: %s", b.codings, strings.TrimPrefix(rf.msg, "reading the request body: "))
		}
		return requestBody{}, rf
	}
	b.decoded = head
	if more && p.lim.MaxDecoded <= segmentBytes {
		b.close()
		return requestBody{}, decodedTooLarge(b.codings, p.lim.MaxDecoded)
	}
	if !more {
		b.close()
		return b, nil
	}
	// A large decoding: hold the budget of one segment and its scan, for
	// as long as the segments are read.
	if err := l.grow(ctx, int64(len(raw))+(segmentBytes+segmentOverlap)*(1+scanFactor)); err != nil {
		b.close()
		return requestBody{}, refuse(http.StatusServiceUnavailable, "busy", "%v; retry shortly", err)
	}
	b.stream = src
	return b, nil
}

// readUpTo reads at most limit bytes of src, growing the lease (on top of
// base bytes already held) in budgetStep steps; more reports that src holds
// more than limit bytes.
func readUpTo(ctx context.Context, src io.Reader, limit int, l *lease, base int64) (data []byte, more bool, rf *refusal) {
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	for {
		if int64(buf.Len()+len(chunk)) > l.heldLen()-base {
			if err := l.grow(ctx, base+min(int64(buf.Len())+budgetStep, int64(limit)+int64(len(chunk)))); err != nil {
				return nil, false, refuse(http.StatusServiceUnavailable, "busy", "%v; retry shortly", err)
			}
		}
		n, err := src.Read(chunk)
		buf.Write(chunk[:n])
		if buf.Len() > limit {
			return buf.Bytes(), true, nil
		}
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), false, nil
		}
		if err != nil {
			return nil, false, refuse(http.StatusBadRequest, "body", "reading the request body: %v", err)
		}
	}
}

func decodedTooLarge(codings string, max int64) *refusal {
	return refuse(http.StatusRequestEntityTooLarge, "body-too-large", "the body decodes (Content-Encoding %s) to more than the %d MiB pipelock inspects per request; send it smaller or uncompressed", codings, max>>20)
}

func tooLarge(max int64) *refusal {
	return refuse(http.StatusRequestEntityTooLarge, "body-too-large", "request body over %d MiB: pipelock inspects every byte before forwarding and holds at most %d MiB per request; split the upload", max>>20, max>>20)
}

// readCapped reads src up to max bytes, growing the lease (on top of base
// bytes already held) as it goes: by the declared length when it is known,
// in budgetStep steps otherwise.
func readCapped(ctx context.Context, src io.Reader, declared, max int64, l *lease, base int64) ([]byte, *refusal) {
	var buf bytes.Buffer
	if declared >= 0 {
		if err := l.grow(ctx, base+declared); err != nil {
			return nil, refuse(http.StatusServiceUnavailable, "busy", "%v; retry shortly", err)
		}
		buf.Grow(int(declared))
	}
	chunk := make([]byte, 32<<10)
	for {
		if declared < 0 && int64(buf.Len()+len(chunk)) > l.heldLen()-base {
			want := min(int64(buf.Len())+budgetStep, max+1)
			if err := l.grow(ctx, base+want); err != nil {
				return nil, refuse(http.StatusServiceUnavailable, "busy", "%v; retry shortly", err)
			}
		}
		n, err := src.Read(chunk)
		buf.Write(chunk[:n])
		if int64(buf.Len()) > max {
			return nil, tooLarge(max)
		}
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, refuse(http.StatusBadRequest, "body", "reading the request body: %v", err)
		}
	}
}

func (l *lease) heldLen() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// contentEncodings lists every coding of every Content-Encoding header
// (repeated headers and comma lists), in the order they were applied.
// "identity" is dropped; an unknown coding refuses the request.
func contentEncodings(h http.Header) ([]string, *refusal) {
	var out []string
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			switch c {
			case "", "identity":
			case "gzip", "x-gzip", "deflate", "br", "zstd":
				out = append(out, c)
			default:
				return nil, refuse(http.StatusUnsupportedMediaType, "content-encoding", "Content-Encoding %q cannot be inspected; use gzip, deflate, br, zstd or none", c)
			}
		}
	}
	if len(out) > 4 {
		return nil, refuse(http.StatusUnsupportedMediaType, "content-encoding", "%d stacked Content-Encodings; pipelock undoes at most 4", len(out))
	}
	return out, nil
}

func bufioReader(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReader(r)
}

// decoderStream returns a reader that undoes one coding of r. gzip and
// zlib are klauspost/compress's decoders: the standard library's, made
// faster (about a third less CPU on a large gzip upload's decoding),
// reading the same formats and refusing the same damage
// (TestDecoderStreamMatchesStdlib, FuzzDecoderStreamMatchesStdlib). Raw
// deflate stays the standard library's: klauspost's reads a stream that
// ends without its final block as complete, which the standard library
// refuses, and a raw stream has no checksum after it to catch that.
func decoderStream(coding string, r io.Reader) (io.Reader, error) {
	switch coding {
	case "gzip", "x-gzip":
		return gzip.NewReader(r)
	case "zlib":
		return zlib.NewReader(r)
	case "flate":
		return flate.NewReader(r), nil
	case "br":
		return brotli.NewReader(r), nil
	case "zstd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("unknown coding %q", coding)
}

// Segmented scanning of uncompressed bodies. A body over segmentBytes is
// held whole (nothing is forwarded before all of it is scanned), but the
// scanner's working copies — its readings, the JSON or form view — are
// made a segment at a time: the raw text in segments of bodySegment
// bytes, each led by the segmentOverlap bytes before it, and each view as
// it is written, in segments of the same shape. Every rule reads a
// stretch far shorter than segmentOverlap (the longest, a PEM private key
// or a nested encoding of one, is a few KiB; the rule with the widest
// context, the bulk-token one, looks 4 KiB either side), so whatever a
// scan of the whole text finds lies whole in one segment, at least half
// the overlap from both of its ends, and that segment's scan finds it
// (TestSegmentedScanFindsAcrossBoundaries, TestSegmentedScanEquivalence).
// The segments are scanned on up to scanLanes goroutines at once, so a
// large upload uses every core the daemon has.
const bodySegment = segmentBytes

// scanLanes is how many segments of one body are scanned at once.
func scanLanes() int { return max(1, min(2, runtime.GOMAXPROCS(0))) }

// segmentedBudget is the budget a segmented scan holds beside the body:
// per lane, a segment (of the raw text, or of a view being written) and
// the scan's working copies of it.
func segmentedBudget() int64 {
	return int64(scanLanes()) * (bodySegment + segmentOverlap) * (1 + scanFactor)
}

// segmentedBody reports whether inspect scans b a segment at a time:
// an uncompressed body over segmentBytes, unless it is a JSON-RPC
// message (its injection scan reads the whole JSON view) or declares
// JSON without looking like an object or array (the scanner's own JSON
// reading then applies, and it needs the whole body).
func segmentedBody(contentType string, b requestBody) bool {
	if b.compressed || b.stream != nil || len(b.decoded) <= segmentBytes {
		return false
	}
	if startsJSONView(b.decoded) {
		return !isJSONRPC(b.decoded)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt != "application/json" && !strings.HasSuffix(mt, "+json")
}

// scanNeed is the budget of a body while it is scanned: the raw body, its
// decoding if it is not the raw body, and the scan's working memory (a
// streamed body holds its segment's share already; a segmented one its
// lanes', and for a multipart body room for the copy of its largest part).
func (b requestBody) scanNeed(contentType string) int64 {
	need := int64(len(b.raw)) + scanFactor*int64(len(b.decoded))
	if b.compressed {
		need += int64(len(b.decoded))
	}
	if b.segmented {
		need = b.scanNeedFor(contentType, len(b.raw))
	}
	return need
}

// scanNeedFor is scanNeed of a segmented body of n bytes.
func (b requestBody) scanNeedFor(contentType string, n int) int64 {
	return int64(n) + segmentedBudget() + partCopyNeed(contentType, n)
}

// partCopyNeed is the room a segmented body of n bytes holds for a copy
// of one of its parts: a large JSON or structured part of a multipart
// body is copied whole to be read (a file part is not). A form's fields
// need no room: the split-secret window keeps the ends of a bounded
// number of them (valueJoin.watched). The room is in the lease's budget
// from the start, but counted by the soft memory limit only once a copy
// is made (lease.claim): a limit raised for a copy never made let the
// heap of a multipart upload grow by the size of its body.
func partCopyNeed(contentType string, n int) int64 {
	if mt, _, _ := mime.ParseMediaType(contentType); strings.HasPrefix(mt, "multipart/") {
		return int64(n)
	}
	return 0
}

// startsJSONView reports whether jsonView reads b as JSON.
func startsJSONView(b []byte) bool {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i < len(b) && (b[i] == '{' || b[i] == '[')
}

// segments calls fn with the bounds of each segment of a text of n bytes:
// bodySegment bytes, each after the first led by the segmentOverlap
// bytes before it.
func segments(n int, fn func(lo, hi int)) {
	for off := 0; off < n; off += bodySegment {
		fn(max(0, off-segmentOverlap), min(n, off+bodySegment))
	}
}

// bodyScan gathers the findings of a segmented scan from its lanes.
type bodyScan struct {
	p *Proxy
	// blocking: the first finding decides (the rest of the scan is
	// skipped); otherwise (audit, warn) every finding is gathered.
	blocking bool
	stopped  atomic.Bool
	mu       sync.Mutex
	findings []dlp.Finding
	// lease is the request's, whose spare room a copy of a part claims
	// (nil: none to claim).
	lease *lease
}

// text scans one segment of one part; true: the scan is over.
func (s *bodyScan) text(part, text string) bool { return s.textWithin(part, text, 0) }

// textWithin is text scanned with dlp.ScanWithin (n: the length of the
// text whose budget its streams are inflated within).
func (s *bodyScan) textWithin(part, text string, n int) bool {
	if s.stopped.Load() {
		return true
	}
	var fs []dlp.Finding
	if n > len(text) {
		fs = s.p.scan.ScanWithin(part, text, n)
	} else {
		fs = s.p.scan.Scan(part, text)
	}
	if len(fs) == 0 {
		return false
	}
	s.mu.Lock()
	s.findings = append(s.findings, fs...)
	s.mu.Unlock()
	if s.blocking {
		s.stopped.Store(true)
	}
	return s.blocking
}

// joinedText is text for a JSONJoiner's lines (ScanJoined).
func (s *bodyScan) joinedText(_, text string) bool {
	if s.stopped.Load() {
		return true
	}
	s.add(s.p.scan.ScanJoined(text))
	return s.blocking && s.stopped.Load()
}

func (s *bodyScan) add(fs []dlp.Finding) {
	if len(fs) == 0 {
		return
	}
	s.mu.Lock()
	s.findings = append(s.findings, fs...)
	s.mu.Unlock()
	if s.blocking {
		s.stopped.Store(true)
	}
}

// run runs the tasks on scanLanes goroutines, in order.
func (s *bodyScan) run(tasks []func()) {
	next := make(chan func())
	var wg sync.WaitGroup
	for range min(scanLanes(), len(tasks)) {
		wg.Go(func() {
			for t := range next {
				if !s.stopped.Load() {
					t()
				}
			}
		})
	}
	for _, t := range tasks {
		next <- t
	}
	close(next)
	wg.Wait()
}

// segmentWriter scans a view as it is written, a segment at a time, each
// segment led by the last segmentOverlap bytes of the one before; once the
// scan is over, what is written is dropped.
type segmentWriter struct {
	s     *bodyScan
	part  string
	buf   []byte
	fresh int // bytes of buf not scanned yet
	// joined: the text is a JSONJoiner's, read with ScanJoined.
	joined bool
}

// joiners are the two segmentWriters a JSONJoiner writes to.
type joiners [2]*segmentWriter

// newJoiner is a JSONJoiner whose lines are scanned a segment at a time
// as they are written; finish scans the rest once it is flushed.
func (s *bodyScan) newJoiner() (*dlp.JSONJoiner, joiners) {
	a, b := newSegmentWriter(s, dlp.PartJSONJoined), newSegmentWriter(s, dlp.PartJSONJoined)
	a.joined, b.joined = true, true
	return dlp.NewJSONJoiner(a, b), joiners{a, b}
}

func (j joiners) finish() {
	for _, w := range j {
		w.flush()
		w.release()
	}
}

// segmentBuffers are the buffers of segmentWriters: a large upload
// writing its views reuses those of the uploads before it.
var segmentBuffers = sync.Pool{New: func() any { b := make([]byte, 0, segmentOverlap+bodySegment); return &b }}

func newSegmentWriter(s *bodyScan, part string) *segmentWriter {
	return &segmentWriter{s: s, part: part, buf: (*segmentBuffers.Get().(*[]byte))[:0]}
}

// release returns the buffer of a writer whose text is scanned (the scan
// keeps nothing of it) to the pool; the writer is not used after.
func (w *segmentWriter) release() {
	b := w.buf[:0]
	w.buf = nil
	segmentBuffers.Put(&b)
}

func (w *segmentWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		k := min(cap(w.buf)-len(w.buf), len(b))
		w.buf = append(w.buf, b[:k]...)
		w.fresh += k
		b = b[k:]
		if len(w.buf) == cap(w.buf) {
			w.flush()
		}
	}
	return n, nil
}

func (w *segmentWriter) WriteString(s string) (int, error) {
	return w.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func (w *segmentWriter) WriteByte(c byte) error {
	w.buf = append(w.buf, c)
	w.fresh++
	if len(w.buf) == cap(w.buf) {
		w.flush()
	}
	return nil
}

// flush scans what is buffered and keeps its last segmentOverlap bytes.
func (w *segmentWriter) flush() {
	if w.fresh == 0 {
		return
	}
	scan := w.s.text
	if w.joined {
		scan = w.s.joinedText
	}
	if !scan(w.part, unsafe.String(unsafe.SliceData(w.buf), len(w.buf))) {
		// The scan keeps nothing of the text it read (findings hold no
		// text): the buffer is reused.
		w.buf = w.buf[:copy(w.buf, w.buf[max(0, len(w.buf)-segmentOverlap):])]
	} else {
		w.buf = w.buf[:0]
	}
	w.fresh = 0
}

// scanSegmented scans a body a segment at a time (see bodySegment): its
// raw text always, and its view by the declared type, as inspect does
// for a body scanned whole: for a body that looks like JSON, the JSON
// view (jsonView); otherwise what the scanner's ScanBody reads, a form's
// fields and a multipart body's parts, each part by its own type. The
// values the split-secret window joins go to join; a copy of a part
// claims the spare room of l, the request's lease.
func (p *Proxy) scanSegmented(contentType string, raw []byte, join *valueJoin, l *lease) []dlp.Finding {
	s := &bodyScan{p: p, blocking: p.cfg.Mode != "audit" && p.cfg.RequestBodyScanning.Action != "warn", lease: l}
	var tasks []func()
	if startsJSONView(raw) {
		tasks = append(tasks, func() {
			w := newSegmentWriter(s, "body (json)")
			jn, ja := s.newJoiner()
			jsonViewTo(w, raw, func(k, v string) { join.add("json/"+k, v) }, jn)
			w.flush()
			w.release()
			ja.finish()
		})
	}
	// A form or multipart body is read by its type even when it starts
	// like JSON ('{' the name of its first field), as inspect reads one
	// scanned whole.
	view := s.structure(contentType, raw, join, 0)
	if view != nil {
		tasks = append(tasks, view)
	}
	// (A multipart body's view reads its raw text too: multipart.)
	if from := rawFrom(raw, view != nil); from < len(raw) && !isMultipart(contentType) {
		tasks = append(tasks, rawTasks(s, "body", raw[from:])...)
	}
	s.run(tasks)
	join.add("body", unsafe.String(unsafe.SliceData(raw), len(raw)))
	return s.findings
}

// rawFrom is where the raw text of a body is read from, as dlp.ScanBody
// reads it: nowhere (len(raw)) in a body read through its JSON view
// alone: valid JSON (it holds nothing outside its keys and scalars, all
// in the view — FuzzJSONViewHoldsEveryToken — as dlp.ScanBody and inspect
// read it) that no other structure reads (a form or multipart type reads
// its raw text its own way), or JSON lines (values one after another,
// each in the view as a valid body is); from dlp.JSONTailOverlap bytes before
// the values end in JSON lines cut short (what follows them is read
// raw, a secret astride their end whole in it); everywhere (0) in any
// other body.
func rawFrom(raw []byte, structured bool) int {
	if structured || !startsJSONView(raw) {
		return 0
	}
	if dlp.ValidJSON(raw) {
		return len(raw)
	}
	seq := dlp.JSONSeqPrefix(raw)
	if seq == len(raw) {
		return len(raw)
	}
	return max(0, seq-dlp.JSONTailOverlap)
}

// rawTasks are the scans of the segments of raw as part.
func rawTasks(s *bodyScan, part string, raw []byte) []func() {
	return rawTasksWithin(s, part, raw, 0)
}

// rawTasksWithin is rawTasks whose segments inflate their compressed
// streams within the budget of within bytes of text when it is more than
// theirs (dlp.ScanWithin).
func rawTasksWithin(s *bodyScan, part string, raw []byte, within int) []func() {
	text := unsafe.String(unsafe.SliceData(raw), len(raw))
	var tasks []func()
	segments(len(text), func(lo, hi int) {
		if within > hi-lo {
			tasks = append(tasks, func() { s.textWithin(part, text[lo:hi], within) })
			return
		}
		tasks = append(tasks, func() { s.text(part, text[lo:hi]) })
	})
	return tasks
}

// structure returns the task that reads what the scanner's ScanBody reads
// in a body of contentType beside its raw text (nil: nothing): a form's
// keys and values, a multipart body's field names and parts. It runs
// on one lane, segmenting what it writes.
func (s *bodyScan) structure(contentType string, raw []byte, join *valueJoin, depth int) func() {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		return func() {
			w := newSegmentWriter(s, "body (form)")
			formView(w, raw, func(k, v string) { join.add("form/"+k, v) })
			w.flush()
			w.release()
		}
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" && depth < 3:
		return func() {
			n := func() int { return len(raw) }
			s.multipart(bytes.NewReader(raw), params["boundary"], depth, raw, n, n)
		}
	}
	return nil
}

// multipart reads the parts of a multipart body as the scanner's
// ScanBody does: each field's name and file name, each part by its own
// type, a part over segmentBytes a segment at a time, and the body's raw
// text. all is the body raw reads, of which raw has read avail() bytes so
// far and which is rest() bytes long once it has all arrived (rest waits
// for that).
//
// The raw text of the body is read here, not beside: a large part whose
// own scan reads its raw text whole, and which stands in the body as the
// reader yields it (every byte compared as it is read: located), is left
// out of the body's raw text but for partContext bytes at each of its
// ends. A body is mostly its file parts, and they were read twice. Why
// nothing is lost: a finding rests on a stretch a few KiB long at most
// (the bound segmentOverlap is for); a stretch inside a part's data is
// read by the part's own scan as an upload of that part alone would be,
// and one that reaches outside it reaches less than partContext into it,
// so it lies whole in what the body's raw text keeps (dlp's scanMultipart
// reads a body scanned whole the same way). A part not located (the
// reader decoded it from quoted-printable, or it is not where it was
// looked for), one whose raw text its scan does not read whole (valid
// JSON, JSON lines cut short), a small one, and everything after a part
// the reader stops in, are read in the body's raw text.
func (s *bodyScan) multipart(raw io.Reader, boundary string, depth int, all []byte, avail, rest func() int) {
	rawDone := 0 // all[:rawDone] is read: raw, or by a located part's scan
	// A stretch of the raw text read apart from the rest inflates its
	// streams within the budget of a whole segment, as it did when the
	// raw text was read whole in segments (a small part's stream that
	// inflates far: TestAttack8StreamBudgetAfterCut).
	readRaw := func(lo, hi int) {
		if hi <= lo {
			return
		}
		for _, t := range rawTasksWithin(s, "body", all[lo:hi], bodySegment+segmentOverlap) {
			if s.stopped.Load() {
				return
			}
			t()
		}
	}
	var cuts, parts [][2]int // left out of the raw text; the data of their parts
	defer func() {
		if s.stopped.Load() {
			return
		}
		n := rest()
		readRaw(rawDone, n)
		if len(cuts) == 0 {
			return
		}
		// A compressed stream that runs into a cut from outside its
		// part's data (its first bytes in a small part, a stored block
		// carrying the boundary and headers) is read again from its
		// start, a segment's worth, as the raw text read whole in
		// segments read it (TestAttack8StreamAcrossParts).
		starts, whole := dlp.StreamsIntoCuts(all[:n], cuts, parts)
		if whole {
			readRaw(0, n) // rare (dlp.StreamsIntoCuts): read it all again
			return
		}
		for _, p := range starts {
			readRaw(p, min(n, p+bodySegment))
		}
	}()
	located := func(start, end int) {
		if end-start < minPartCut {
			return
		}
		readRaw(rawDone, start+partContext)
		rawDone = end - partContext
		cuts = append(cuts, [2]int{start + partContext, end - partContext})
		parts = append(parts, [2]int{start, end})
	}
	mr := multipart.NewReader(raw, boundary)
	from := 0 // the parts located end at or before all[from]
	for !s.stopped.Load() {
		part, err := mr.NextPart()
		if err != nil {
			return
		}
		// A part's first segment, and the rest only if the part must be
		// read whole (below). The first segment is read into the buffer
		// of the writer that scans a large part's raw text (io.ReadAll
		// grew one to twice its size for every large part, and the
		// writer copied it again); the scan keeps nothing of it.
		body := io.LimitReader(part, dlp.MaxBody)
		w := newSegmentWriter(s, "body")
		n, err := io.ReadFull(body, w.buf[:segmentBytes+1])
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			w.release()
			return
		}
		data := w.buf[:n]
		s.text("body (multipart field name)", part.FormName()+"\n"+part.FileName())
		ct := part.Header.Get("Content-Type")
		if len(data) <= segmentBytes {
			fs, err := s.p.scan.ScanBody(ct, data)
			w.release()
			if err != nil {
				fs = []dlp.Finding{{Rule: err.Error(), Part: "body"}}
			}
			s.add(fs)
			continue
		}
		// A large part: its raw text, and what ScanBody would read in it
		// (a JSON part's view beside its raw text, which ScanBody skips
		// when the part is valid JSON).
		mt, params, _ := mime.ParseMediaType(ct)
		isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
		structured := mt == "application/x-www-form-urlencoded" || strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" && depth+1 < 3
		if !isJSON && !structured && !mayStartJSON(data) {
			// Only its raw text is read: scanned as it is read, never
			// held whole (a file part is most of an upload), and
			// compared with the body as it goes.
			m := &matchReader{r: body, all: all, avail: avail, pos: locate(all, from, avail(), data)}
			if m.pos >= 0 {
				m.start = m.pos
				m.pos += len(data)
			}
			w.buf, w.fresh = data, len(data)
			if _, err := io.Copy(w, m); err != nil {
				w.release()
				return
			}
			w.flush()
			w.release()
			if m.pos >= 0 {
				from = m.pos
				located(m.start, m.pos)
			} else {
				from = max(from, avail()-64<<10)
			}
			continue
		}
		// Read whole: where it stands in the body, or else copied (the
		// copy the lease's spare room is for).
		content, end, err := partInPlace(body, data, all, from, avail, s.lease.claim)
		w.release() // (data, read into w's buffer, is not read after this)
		if err != nil {
			return
		}
		if end > 0 {
			from = end
		} else {
			// Copied: the next part starts after what the reader has
			// read, less what it may have buffered (a start guessed too
			// late only costs the next part a copy).
			from = max(from, avail()-64<<10)
		}
		data = content
		// Read through its JSON view when declared JSON, valid JSON or
		// JSON lines, and raw from where rawFrom says (every byte of
		// any other part).
		viewed := isJSON || startsJSONView(data) && dlp.ValidJSON(data)
		rawAt := 0
		if !structured {
			if at := rawFrom(data, false); at == len(data) || viewed {
				viewed, rawAt = true, at
			}
		}
		if viewed {
			w := newSegmentWriter(s, "body (json)")
			jn, ja := s.newJoiner()
			jsonViewTo(w, data, nil, jn)
			w.flush()
			w.release()
			ja.finish()
		} else if view := s.structure(ct, data, nil, depth+1); view != nil {
			view()
		}
		for _, t := range rawTasks(s, "body", data[rawAt:]) {
			if s.stopped.Load() {
				return
			}
			t()
		}
		if end > 0 && rawAt == 0 {
			located(end-len(data), end)
		}
	}
}

// A located part of at least minPartCut bytes is left out of the body's
// raw text but for partContext bytes at each of its ends (multipart).
const (
	minPartCut  = 128 << 10
	partContext = 32 << 10
)

// locate returns where head stands in all[from:avail] (its first
// occurrence there, head compared whole), or -1.
func locate(all []byte, from, avail int, head []byte) int {
	if len(head) == 0 || all == nil {
		return -1
	}
	probe := head[:min(len(head), 64)]
	for tries, at := 0, from; tries < 8 && at < avail; tries++ {
		i := bytes.Index(all[at:avail], probe)
		if i < 0 {
			return -1
		}
		if o := at + i; o+len(head) <= avail && bytes.Equal(all[o:o+len(head)], head) {
			return o
		}
		at += i + 1
	}
	return -1
}

// matchReader reads r and compares what it reads with all from pos on:
// pos ends up where the bytes read end in all, or -1 from the first
// difference (or when pos is -1 from the start).
type matchReader struct {
	r          io.Reader
	all        []byte
	avail      func() int
	start, pos int
}

func (m *matchReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if m.pos >= 0 && n > 0 {
		if m.pos+n > m.avail() || !bytes.Equal(m.all[m.pos:m.pos+n], p[:n]) {
			m.pos = -1
		} else {
			m.pos += n
		}
	}
	return n, err
}

// partInPlace reads the rest of a part whose first bytes, head, have been
// read from body, and returns the part's content whole. A part without a
// transfer encoding is a stretch of the multipart body as it was sent:
// when the content is found in all (the body, of which avail() bytes have
// been read so far) at or after from, the content returned is that
// stretch of all, not a copy, and end is where it ends. Every byte of the
// content is compared with the stretch as it is read, so what is returned
// is the content byte for byte whatever the part holds (a head repeated
// earlier in the body, a part the reader decoded from quoted-printable):
// on a difference, or when head is not found, the content is copied as
// io.ReadAll would (claim first takes the room for the copy), and end is
// 0. A copy of a 10 MiB upload's JSON part cost its size again in the
// proxy's memory.
func partInPlace(body io.Reader, head, all []byte, from int, avail func() int, claim func()) (content []byte, end int, err error) {
	start := locate(all, from, avail(), head)
	copied := func(prefix []byte) ([]byte, int, error) {
		claim()
		rest, err := io.ReadAll(body)
		if err != nil {
			return nil, 0, err
		}
		return append(append(make([]byte, 0, len(prefix)+len(rest)), prefix...), rest...), 0, nil
	}
	if start < 0 {
		return copied(head)
	}
	pos := start + len(head)
	var buf [32 << 10]byte
	for {
		n, rerr := body.Read(buf[:])
		if n > 0 {
			if pos+n > avail() || !bytes.Equal(all[pos:pos+n], buf[:n]) {
				// Not the stretch after all: what was read so far (equal
				// to all[start:pos]), this read, and the rest, copied.
				prefix := append(append(make([]byte, 0, pos-start+n), all[start:pos]...), buf[:n]...)
				return copied(prefix)
			}
			pos += n
		}
		if errors.Is(rerr, io.EOF) {
			return all[start:pos:pos], pos, nil
		}
		if rerr != nil {
			return nil, 0, rerr
		}
	}
}

// mayStartJSON reports whether a text whose first bytes are head may
// start like JSON (startsJSONView): head does, or is all white space.
func mayStartJSON(head []byte) bool {
	t := bytes.TrimLeft(head, " \t\r\n")
	return len(t) == 0 || t[0] == '{' || t[0] == '['
}

// formView writes the keys and values of a form body, each on a line of
// its own, and gives each pair to emit: the scanner's form reading
// (dlp.FormFields, the fields formText writes), written pair by pair as
// they come instead of as one text. A field url.ParseQuery refuses (a
// ';', a bad escape) is read too: skipping it let a large form hide a
// private key whose spaces the form wrote as '+' behind one stray byte.
func formView(w *segmentWriter, raw []byte, emit func(k, v string)) {
	formFieldsTo(w, unsafe.String(unsafe.SliceData(raw), len(raw)), emit)
}

// formFieldsTo is formView of the fields of text.
func formFieldsTo(w *segmentWriter, text string, emit func(k, v string)) {
	dlp.FormFields(text, func(k, v string) {
		_, _ = w.WriteString(k)
		_ = w.WriteByte('\n')
		_, _ = w.WriteString(v)
		_ = w.WriteByte('\n')
		emit(k, v)
	})
}

// judgeFindings ends inspect for a segmented body: the values joined to
// what recently went to the same host, then the verdict.
func (p *Proxy) judgeFindings(host string, findings []dlp.Finding, join *valueJoin) verdict {
	if len(findings) == 0 && p.split != nil {
		if f, ok := p.split.check(p.windowKey(host), join.values()); ok {
			findings = append(findings, f)
		}
	}
	if len(findings) > 0 {
		if p.cfg.Mode != "audit" && p.cfg.RequestBodyScanning.Action != "warn" {
			return verdict{dlp: &findings[0]}
		}
		for _, f := range findings {
			p.log.Warn("dlp finding (not blocking: audit/warn)", "host", logsafe.Host(host), "finding", f.String())
		}
	}
	return verdict{}
}

// reuseSegment is the buffer inspectSegments reads a streamed decoding's
// later segments into: the first segment's own memory when it is large
// enough (its bytes are scanned before the buffer is written, and the
// overlap is moved to its start first), so a streamed body holds one
// segment, not two.
func reuseSegment(first []byte) []byte {
	if cap(first) >= segmentOverlap+segmentBytes {
		return first[:segmentOverlap+segmentBytes]
	}
	return make([]byte, segmentOverlap+segmentBytes)
}

// isMultipart reports whether a body of contentType is read by the
// multipart view (which reads its raw text too).
func isMultipart(contentType string) bool {
	mt, params, _ := mime.ParseMediaType(contentType)
	return strings.HasPrefix(mt, "multipart/") && params["boundary"] != ""
}
