package pipelock

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"mime/multipart"
	"testing"

	"gotest.tools/v3/assert"
)

// a8StreamAcrossParts is a multipart body whose first, small part starts
// a gzip stream that a stored deflate block carries over the boundary
// and the next part's headers into a large second part (tail bytes of
// prose after the stream), in whose middle secret is compressed.
func a8StreamAcrossParts(t *testing.T, secret string, tail int) (string, []byte) {
	t.Helper()
	const boundary = "a8bound4ry"
	sep := "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"b\"; filename=\"b.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	fill := prose(65535 - len(sep))
	stored := append([]byte(sep), fill...)
	a := []byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(a[11:], uint16(len(stored)))
	binary.LittleEndian.PutUint16(a[13:], ^uint16(len(stored)))
	plain := bytes.Repeat([]byte("x = \""+secret+"\"\n"), 8)
	var z bytes.Buffer
	zw, err := flate.NewWriter(&z, flate.BestCompression)
	assert.NilError(t, err)
	_, _ = zw.Write(plain)
	assert.NilError(t, zw.Close())
	assert.Assert(t, !bytes.Contains(z.Bytes(), []byte(secret[:8])))
	whole := append(bytes.Clone(stored), plain...)
	trailer := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(whole)), uint32(len(whole)))
	b := append(append(append(bytes.Clone(fill), z.Bytes()...), trailer...), prose(tail)...)
	body := append(append(append(append([]byte(head), a...), sep...), b...), "\r\n--"+boundary+"--\r\n"...)
	return "multipart/form-data; boundary=" + boundary, body
}

// TestAttack8StreamAcrossParts: a gzip stream started in a small part and
// carried into the middle of a large one holds a secret that the body's
// raw text inflates whole (as it did before large parts were cut out of
// it) and neither part's own scan reaches, scanned whole or in segments.
func TestAttack8StreamAcrossParts(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	key := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	ct, body := a8StreamAcrossParts(t, key, 200<<10)
	r := e.post(body, "Content-Type", ct)
	assert.Assert(t, r.status == 403, "whole: %d", r.status)
	ct, body = a8StreamAcrossParts(t, key, 3<<20)
	seg, whole := inspectBoth(t, e, ct, body)
	assert.Assert(t, seg && whole, "segmented %v, whole %v", seg, whole)
}

// TestAttack8StreamBudgetAfterCut: a small gzip part whose secret lies
// after 10 MiB of inflated text, before a 3 MiB file part. Read raw in
// segments of the uncut body, the stream was inflated within a whole
// segment's budget (8 bytes a byte of it, plus 1 MiB); the kept stretch
// before the cut file part is a few KiB, and so is its budget.
func TestAttack8StreamBudgetAfterCut(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	key := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 10<<20/44))
	_, _ = zw.Write([]byte("x = \"" + key + "\"\n"))
	assert.NilError(t, zw.Close())
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile("notes", "notes.gz")
	_, _ = w.Write(gz.Bytes())
	w, _ = mw.CreateFormFile("src", "notes.txt")
	_, _ = w.Write(prose(3 << 20))
	_ = mw.Close()
	ct, body := mw.FormDataContentType(), b.Bytes()
	seg, whole := inspectBoth(t, e, ct, body)
	assert.Assert(t, seg && whole, "segmented %v, whole %v", seg, whole)
}
