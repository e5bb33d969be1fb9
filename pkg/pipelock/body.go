package pipelock

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
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

// readBody buffers the body within the request cap and the shared budget,
// then undoes every listed Content-Encoding for scanning.
func (p *Proxy) readBody(ctx context.Context, r *http.Request, l *lease) (requestBody, *refusal) {
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
	raw, rf := readCapped(ctx, r.Body, r.ContentLength, max, l, 0)
	if rf != nil {
		return requestBody{}, rf
	}
	b := requestBody{raw: raw, decoded: raw}
	if len(encs) == 0 {
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

// decoderStream returns a reader that undoes one coding of r.
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
