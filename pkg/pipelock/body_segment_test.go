package pipelock

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// pieces is a reader that returns its bytes in pieces of varying sizes,
// as a body arriving over a connection: the live scan sees them arrive
// a piece at a time.
type pieces struct {
	b []byte
	k int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	sizes := []int{1, 7, 4096, 70000, 16 << 10, 3, 1 << 20, 65 << 10}
	p.k++
	n := copy(b[:min(len(b), sizes[p.k%len(sizes)])], p.b)
	p.b = p.b[n:]
	return n, nil
}

// inspectBoth reads a body as request does and inspects it twice:
// scanned in segments while it arrives (as served: readBody scans a body
// of declared length as it arrives, here in pieces of varying sizes),
// and whole (the path of a body under segmentBytes). It returns whether
// each blocked it.
func inspectBoth(t *testing.T, e *env, ct string, body []byte) (segmented, whole bool) {
	t.Helper()
	s, _, w := inspectThree(t, e, ct, body, false)
	return s, w
}

// inspectThree is inspectBoth inspecting a third way when after is set:
// a segment at a time once the body has arrived (the path of a body of
// unknown length).
func inspectThree(t *testing.T, e *env, ct string, body []byte, after bool) (live, segmented, whole bool) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", io.NopCloser(&pieces{b: body}))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", ct)
	l := e.p.newLease()
	defer l.unref()
	rb, rf := e.p.readBody(t.Context(), req, "allowed.example.com", l)
	assert.Assert(t, rf == nil)
	assert.Assert(t, rb.segmented && rb.live != nil, "a %d-byte %s body is scanned in segments as it arrives", len(body), ct)
	v := e.p.inspect(req, "allowed.example.com", rb)
	if after {
		rb.live = nil
		segmented = e.p.inspect(req, "allowed.example.com", rb).dlp != nil
	}
	rb.segmented = false
	w := e.p.inspect(req, "allowed.example.com", rb)
	return v.dlp != nil, segmented, w.dlp != nil
}

// segmentedBlocks is inspectBoth's segmented half.
func segmentedBlocks(t *testing.T, e *env, ct string, body []byte) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", io.NopCloser(&pieces{b: body}))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", ct)
	l := e.p.newLease()
	defer l.unref()
	rb, rf := e.p.readBody(t.Context(), req, "allowed.example.com", l)
	assert.Assert(t, rf == nil && rb.segmented && rb.live != nil)
	return e.p.inspect(req, "allowed.example.com", rb).dlp != nil
}

// encodings of a secret an agent may pick.
var segmentEncodings = map[string]func(string) string{
	"raw":    func(s string) string { return s },
	"base64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"hex":    func(s string) string { return hex.EncodeToString([]byte(s)) },
	"percent": func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
		return b.String()
	},
	"unicode-escape": func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, `\u%04x`, s[i])
		}
		return b.String()
	},
	"base64-of-reversed": func(s string) string {
		r := []byte(s)
		slices.Reverse(r)
		return base64.StdEncoding.EncodeToString(r)
	},
	"base64-twice": func(s string) string {
		return base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte(s))))
	},
}

// segmentBodies builds bodies of about 5 MiB (scanned in segments) of
// each structured kind with payload written so that it lies astride
// position at, inside a text, a JSON string, a form value, a multipart
// part.
var segmentBodies = map[string]func(payload string, at int) (string, []byte){
	"text": func(payload string, at int) (string, []byte) {
		return "text/plain", around(prose(4<<20+4<<18), payload, at)
	},
	"json": func(payload string, at int) (string, []byte) {
		return "application/json", append(around(append([]byte(`{"items":[{"note":"`), prose(4<<20+4<<18)...), payload, at), `"}]}`...)
	},
	"form": func(payload string, at int) (string, []byte) {
		p := bytes.ReplaceAll(prose(4<<20+4<<18), []byte(" "), []byte("+"))
		p = bytes.ReplaceAll(p, []byte("\n"), []byte("&field="))
		return "application/x-www-form-urlencoded", around(append([]byte("note="), p...), payload, at)
	},
	"multipart": func(payload string, at int) (string, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("title", "notes")
		fw, _ := mw.CreateFormFile("src", "notes.txt")
		head := b.Len()
		_, _ = fw.Write(around(prose(4<<20+4<<18), payload, at-head))
		_ = mw.Close()
		return mw.FormDataContentType(), b.Bytes()
	},
}

func prose(n int) []byte {
	_, _, b, _ := benchload.ClassBody("text", n)
	return b
}

// around writes payload into b so that it straddles position at.
func around(b []byte, payload string, at int) []byte {
	at = max(0, min(len(b), at-len(payload)/2))
	return append(append(append([]byte{}, b[:at]...), payload...), b[at:]...)
}

// A secret astride every kind of segment boundary — the end of a
// segment, the start of the overlap the next one is led by, the end of
// that overlap — in every encoding and every structured kind of body is
// found by the segmented scan, as by the whole one.
func TestSegmentedScanFindsAcrossBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	secretsToFind := map[string]string{
		"rule (AWS key id)":   "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD",
		"known secret":        secrets["GENERIC"],
		"private key (3 KiB)": pemKey(),
	}
	positions := []int{bodySegment, 2*bodySegment - segmentOverlap}
	for sname, secret := range secretsToFind {
		for ename, enc := range segmentEncodings {
			for kname, build := range segmentBodies {
				for _, at := range positions {
					name := fmt.Sprintf("%s/%s/%s/%d", sname, ename, kname, at)
					ct, body := build(enc(secret), at)
					if ename != "raw" {
						if !segmentedBlocks(t, e, ct, body) {
							// Missed in segments: only where the whole
							// scan misses it too (a key reversed is
							// looked for only when it is a known secret).
							_, whole := inspectBoth(t, e, ct, body)
							assert.Assert(t, !whole, "%s: found whole, missed in segments", name)
						}
						continue
					}
					seg, whole := inspectBoth(t, e, ct, body)
					assert.Assert(t, seg && whole, "%s: segmented %v, whole %v", name, seg, whole)
				}
			}
		}
	}
}

// pemKey is an RSA-4096-sized private key block (random body).
func pemKey() string {
	var b strings.Builder
	b.WriteString("-----BEGIN RSA PRIVATE KEY-----\n")
	body := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x30, 0x82, 0x09, 0x28, 0x02, 0x01, 0x00, 0x02, 0x82, 0x02, 0x01, 0x00, 0xc4, 0x1f, 0x7a}, 160))
	for len(body) > 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(body + "\n-----END RSA PRIVATE KEY-----\n")
	return b.String()
}

// The body classes the bench uploads get the same verdict scanned in
// segments as whole.
func TestSegmentedScanEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	for _, class := range benchload.BodyClasses {
		if class == "gzip" {
			continue // compressed: the streamed path
		}
		ct, _, body, err := benchload.ClassBody(class, 4<<20+4<<18)
		assert.NilError(t, err)
		live, seg, whole := inspectThree(t, e, ct, body, true)
		assert.Equal(t, live, whole, class)
		assert.Equal(t, seg, whole, class)
	}
}
