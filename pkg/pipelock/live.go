package pipelock

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"unsafe"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// Scanning a body while it arrives. An uncompressed body of declared
// length over segmentBytes is read into one buffer of that length, and
// its segments (see bodySegment) are scanned as they become complete: a
// segment of the raw text as soon as its last byte has arrived, each view
// (the JSON view, a form's fields, a multipart body's parts) as far as
// what has arrived lets it read a token, a field or a part whole. When
// the last byte arrives only the last segment and the ends of the views
// remain to be scanned. Nothing is forwarded earlier than before: the
// request still waits for the verdict on the whole body, and a body that
// turns out not to be scanned in segments (shorter than declared, a
// JSON-RPC message) has its live scan dropped and is scanned whole.
//
// The scan of one body runs on at most scanLanes goroutines at once: the
// segments of the raw text and the views share the lanes, and a view
// gives its lane back while it waits for bytes.

// viewStep is how many new bytes wake a view waiting for more.
const viewStep = 64 << 10

type liveScan struct {
	s  *bodyScan
	ct string
	// buf is the body: its declared length; buf[:n] has arrived. The
	// reader writes buf[n:] only, and publishes n under mu.
	buf   []byte
	mu    sync.Mutex
	cond  sync.Cond
	n     int
	final bool
	lanes chan struct{}
	done  sync.WaitGroup
	// The values each view gives the split-secret window, merged in
	// inspect's order (the JSON view's, then the form's) when the scan
	// is over.
	jsonJoin, formJoin *valueJoin
	// join is where inspect files the request's other values, before
	// the views'.
	join *valueJoin
}

// startLive starts scanning buf as it arrives. Each of its goroutines
// holds a reference to l until it ends, so an abandoned scan keeps the
// budget of the memory it reads.
func (p *Proxy) startLive(ct, host string, buf []byte, l *lease) *liveScan {
	ls := &liveScan{
		s:     &bodyScan{p: p, blocking: p.cfg.Mode != "audit" && p.cfg.RequestBodyScanning.Action != "warn", lease: l},
		ct:    ct,
		buf:   buf,
		lanes: make(chan struct{}, scanLanes()),
	}
	ls.cond.L = &ls.mu
	// The views' joins and the request's (join) are bounded by one
	// look at the window.
	ls.jsonJoin = p.split.joinFor(host)
	ls.formJoin, ls.join = ls.jsonJoin.sibling(), ls.jsonJoin.sibling()
	start := func(fn func()) {
		l.ref()
		ls.done.Go(func() {
			defer l.unref()
			fn()
		})
	}
	start(ls.raw)
	start(ls.jsonView)
	mt, params, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/x-www-form-urlencoded":
		start(ls.formView)
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		start(func() {
			ls.lanes <- struct{}{}
			defer func() { <-ls.lanes }()
			lr := &liveReader{ls: ls}
			ls.s.multipart(lr, params["boundary"], 0, ls.buf, func() int { return lr.off }, func() int {
				n, _ := ls.wait(len(ls.buf), false)
				return n
			})
		})
	}
	return ls
}

// arrived publishes that buf[:n] has arrived; final: all of it.
func (ls *liveScan) arrived(n int, final bool) {
	ls.mu.Lock()
	ls.n, ls.final = n, ls.final || final
	ls.mu.Unlock()
	ls.cond.Broadcast()
}

// abort ends the scan: nothing more is scanned, and what waits for bytes
// is woken.
func (ls *liveScan) abort() {
	ls.s.stopped.Store(true)
	ls.mu.Lock()
	ls.final = true
	ls.mu.Unlock()
	ls.cond.Broadcast()
}

// wait blocks until need bytes have arrived or no more will, and returns
// how many have. A view (lane: it holds one) gives its lane back while it
// waits.
func (ls *liveScan) wait(need int, lane bool) (n int, final bool) {
	ls.mu.Lock()
	if ls.n >= need || ls.final {
		n, final = ls.n, ls.final
		ls.mu.Unlock()
		return n, final
	}
	if lane {
		<-ls.lanes
	}
	for ls.n < need && !ls.final {
		ls.cond.Wait()
	}
	n, final = ls.n, ls.final
	ls.mu.Unlock()
	if lane {
		ls.lanes <- struct{}{}
	}
	return n, final
}

// raw scans the segments of the raw text as each becomes complete, each
// on a lane of its own: the segments segments() gives for the final
// length (a segment whose end has arrived ends there whatever follows),
// except that the last one, which only the body's last byte completes,
// is scanned as two halves on two lanes, the second led by the
// segmentOverlap bytes before it as every segment is: the scan left
// after the last byte (the verdict waits for it) then takes half as long
// when the lanes have kept up with the body. The halves hold whatever
// the one segment held whole: a finding and the context its rule reads
// are shorter than segmentOverlap, and so lie whole in one of them (see
// bodySegment).
func (ls *liveScan) raw() {
	if isMultipart(ls.ct) {
		return // the multipart view reads the raw text (multipart)
	}
	from := ls.rawStart()
	if from >= len(ls.buf) {
		return
	}
	text := unsafe.String(unsafe.SliceData(ls.buf), len(ls.buf))
	var wg sync.WaitGroup
	scan := func(lo, hi int) {
		ls.lanes <- struct{}{}
		wg.Go(func() {
			defer func() { <-ls.lanes }()
			ls.s.text("body", text[lo:hi])
		})
	}
	for off := from; ; off += bodySegment {
		n, final := ls.wait(off+bodySegment, false)
		if off >= n || ls.s.stopped.Load() {
			break
		}
		lo, hi := max(from, off-segmentOverlap), min(n, off+bodySegment)
		if final && hi == n {
			if mid := off + (hi-off)/2; cap(ls.lanes) > 1 && mid-off >= 2*segmentOverlap {
				scan(lo, mid)
				scan(mid-segmentOverlap, hi)
			} else {
				scan(lo, hi)
			}
			break
		}
		scan(lo, hi)
	}
	wg.Wait()
}

// rawStart is where the raw segments are scanned from (rawFrom). It
// waits, for a body that starts like JSON and that no form or multipart
// type reads, until all of it has arrived: valid JSON or JSON lines have
// their view hold everything they hold, and their raw segments are not
// scanned, or only from near where the values of JSON lines cut short
// end. Any other body's segments are scanned as they arrive (0 at once);
// a JSON-looking one that is neither has all of its segments scanned
// after its last byte.
func (ls *liveScan) rawStart() int {
	mt, _, _ := mime.ParseMediaType(ls.ct)
	if mt == "application/x-www-form-urlencoded" || strings.HasPrefix(mt, "multipart/") {
		return 0
	}
	n, _ := ls.wait(min(len(ls.buf), 256), false)
	if !startsJSONView(ls.buf[:n]) {
		return 0
	}
	n, _ = ls.wait(len(ls.buf), false)
	if n != len(ls.buf) {
		return 0
	}
	return rawFrom(ls.buf[:n], false)
}

// lastSplit is where raw cuts the last segment of a body of n bytes in
// two (0: it does not), for the tests.
func lastSplit(n int) int {
	off := (n - 1) / bodySegment * bodySegment
	if mid := off + (n-off)/2; scanLanes() > 1 && mid-off >= 2*segmentOverlap {
		return mid
	}
	return 0
}

// jsonView writes the JSON view of a body that starts like JSON as it
// arrives, scanning it a segment at a time.
func (ls *liveScan) jsonView() {
	ls.lanes <- struct{}{}
	defer func() { <-ls.lanes }()
	// Whether the body starts like JSON: its first byte that is not
	// white space decides.
	have := 0
	for {
		n, final := ls.wait(have+1, true)
		i := have
		for i < n && (ls.buf[i] == ' ' || ls.buf[i] == '\t' || ls.buf[i] == '\r' || ls.buf[i] == '\n') {
			i++
		}
		if i < n {
			if ls.buf[i] != '{' && ls.buf[i] != '[' {
				return
			}
			break
		}
		if final {
			return
		}
		have = n
	}
	w := newSegmentWriter(ls.s, "body (json)")
	defer w.release()
	j := ls.jsonJoin
	jn, ja := ls.s.newJoiner()
	defer ja.finish()
	jw := jsonWalker{b: w, emit: func(k, v string) { j.add("json/"+k, v) }, join: jn}
	have = 0
	for !ls.s.stopped.Load() {
		n, final := ls.wait(have+viewStep, true)
		jw.walk(ls.buf[:n], final)
		if final {
			jn.Flush()
			w.flush()
			return
		}
		have = n
	}
}

// formView writes a form's fields as they arrive (formView's reading:
// a field ends at '&', so the fields before the last '&' that has
// arrived are read as the whole body's reading reads them).
func (ls *liveScan) formView() {
	ls.lanes <- struct{}{}
	defer func() { <-ls.lanes }()
	w := newSegmentWriter(ls.s, "body (form)")
	defer w.release()
	j := ls.formJoin
	text := unsafe.String(unsafe.SliceData(ls.buf), len(ls.buf))
	pos, searched, have := 0, 0, 0
	for !ls.s.stopped.Load() {
		n, final := ls.wait(have+viewStep, true)
		have = n
		end := n
		if !final {
			k, from := strings.LastIndexByte(text[searched:n], '&'), searched
			searched = n
			if k < 0 {
				continue
			}
			end = from + k
		}
		formFieldsTo(w, text[pos:end], func(k, v string) { j.add("form/"+k, v) })
		if final {
			w.flush()
			return
		}
		pos = end + 1
	}
}

// liveReader reads the body as it arrives, for the multipart reader.
type liveReader struct {
	ls  *liveScan
	off int
}

func (r *liveReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _ := r.ls.wait(r.off+1, true)
	if r.ls.s.stopped.Load() {
		return 0, errors.New("scan over")
	}
	if r.off >= n {
		return 0, io.EOF
	}
	k := copy(p, r.ls.buf[r.off:n])
	r.off += k
	return k, nil
}

// result waits for the scan to end and returns its findings, and the
// values it joins for the split-secret window: join (the request's
// values before its body's) followed by the views' and the body's.
func (ls *liveScan) result(join *valueJoin) []dlp.Finding {
	ls.done.Wait()
	join.merge(ls.jsonJoin)
	join.merge(ls.formJoin)
	ls.mu.Lock()
	n := ls.n
	ls.mu.Unlock()
	join.add("body", unsafe.String(unsafe.SliceData(ls.buf), n))
	return ls.s.findings
}

// readLive reads a body of declared length into one buffer while it is
// scanned (see startLive). The lease is grown first to what the body and
// its scan hold.
func (p *Proxy) readLive(ctx context.Context, r *http.Request, host string, l *lease) (requestBody, *refusal) {
	ct := r.Header.Get("Content-Type")
	declared := int(r.ContentLength)
	need := requestBody{raw: make([]byte, 0), segmented: true}.scanNeedFor(ct, declared)
	if err := l.growSpare(ctx, need, partCopyNeed(ct, declared)); err != nil {
		return requestBody{}, refuse(http.StatusServiceUnavailable, "busy", "%v; retry shortly", err)
	}
	buf := make([]byte, declared)
	ls := p.startLive(ct, host, buf, l)
	got := 0
	for {
		if got == len(buf) {
			// The whole declared length has arrived: the body must end.
			var one [1]byte
			k, err := r.Body.Read(one[:])
			if k > 0 {
				ls.abort()
				return requestBody{}, refuse(http.StatusBadRequest, "body", "the request body is longer than its Content-Length")
			}
			if err == nil {
				continue
			}
			if !errors.Is(err, io.EOF) {
				ls.abort()
				return requestBody{}, refuse(http.StatusBadRequest, "body", "reading the request body: %v", err)
			}
			break
		}
		k, err := r.Body.Read(buf[got:])
		got += k
		if k > 0 {
			ls.arrived(got, false)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ls.abort()
			return requestBody{}, refuse(http.StatusBadRequest, "body", "reading the request body: %v", err)
		}
	}
	ls.arrived(got, true)
	b := requestBody{raw: buf[:got], decoded: buf[:got]}
	if b.segmented = segmentedBody(ct, b); b.segmented {
		b.live, b.lease = ls, l
	} else {
		// Shorter than declared and not over a segment, or a JSON-RPC
		// message, or declared JSON that is not: scanned whole, which
		// may copy any part.
		ls.abort()
		l.claim()
	}
	return b, nil
}
