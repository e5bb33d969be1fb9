package dlp

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
	"os"
	"testing"

	"gotest.tools/v3/assert"
)

// Attack round 8: the narrowings of this session (JSON lines read through
// their view, the joined readings' runs, large multipart parts cut out of
// the body's raw text) against a body built to slip through them.

// a8Filler is benign text of n bytes.
func a8Filler(n int) []byte {
	return bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), n/44+1)[:n]
}

// a8StreamAcrossParts builds a multipart body whose first part (pre, then
// the stream's first bytes) starts a compressed stream (kind: gzip, zlib
// or zip) that a stored deflate block carries over the boundary and the
// next part's headers into a large second part, in whose middle the
// secret is compressed (not there as its bytes). The whole body's raw
// text inflates to the secret; neither part's data does.
func a8StreamAcrossParts(t *testing.T, kind string, pre []byte, inA int, secret []byte) (contentType string, body []byte) {
	t.Helper()
	const boundary = "a8bound4ry"
	sep := "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"b\"; filename=\"b.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	fill := a8Filler(65535 - len(sep))
	stored := append([]byte(sep), fill...)
	// Stored block, not final: its LEN and NLEN.
	blk := []byte{0x00, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(blk[1:], uint16(len(stored)))
	binary.LittleEndian.PutUint16(blk[3:], ^uint16(len(stored)))
	var sig []byte
	switch kind {
	case "gzip":
		sig = []byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff}
	case "zlib":
		sig = []byte{0x78, 0x01}
	case "zip":
		sig = make([]byte, 30)
		copy(sig, "PK\x03\x04")
		sig[8] = 8 // deflate
	}
	a := append(append([]byte{}, pre...), sig...)
	// inA bytes of text in stored blocks in the first part, after the
	// stream's first bytes (its start then lies far from its end).
	var inner []byte
	for n := inA; n > 0; n -= 60000 {
		f := a8Filler(min(n, 60000))
		a = append(a, 0x00, 0, 0, 0, 0)
		binary.LittleEndian.PutUint16(a[len(a)-4:], uint16(len(f)))
		binary.LittleEndian.PutUint16(a[len(a)-2:], ^uint16(len(f)))
		a = append(a, f...)
		inner = append(inner, f...)
	}
	a = append(a, blk...)
	// The secret compressed, a final block of its own (its back
	// references reach only into its own text).
	plain := bytes.Repeat(append(append([]byte("x = \""), secret...), "\"\n"...), 8)
	var z bytes.Buffer
	zw, err := flate.NewWriter(&z, flate.BestCompression)
	assert.NilError(t, err)
	_, _ = zw.Write(plain)
	assert.NilError(t, zw.Close())
	assert.Assert(t, !bytes.Contains(z.Bytes(), secret[:8]), "the secret is there as its bytes")
	whole := append(append(inner, stored...), plain...)
	var trailer []byte
	switch kind {
	case "gzip":
		trailer = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(whole)), uint32(len(whole)))
	case "zlib":
		trailer = binary.BigEndian.AppendUint32(nil, adler32.Checksum(whole))
	}
	b := append(append(append(append([]byte{}, fill...), z.Bytes()...), trailer...), a8Filler(100<<10)...)
	body = append(append(append(append([]byte(head), a...), stored[:len(sep)]...), b...), "\r\n--"+boundary+"--\r\n"...)
	return "multipart/form-data; boundary=" + boundary, body
}

// TestAttack8StreamAcrossParts: a compressed stream that starts outside
// a large part (in a small part before it, in the kept head, middle or
// tail of a large one) and runs on into its middle is read by no part's
// own scan; the body's raw text must still inflate it whole.
func TestAttack8StreamAcrossParts(t *testing.T) {
	s := rtScanner(t)
	for _, kind := range []string{"gzip", "zlib", "zip"} {
		for _, tc := range []struct {
			name string
			pre  int
			inA  int
		}{
			{"small part", 0, 0},
			{"large part's head", 0, 200 << 10},
			{"large part's middle", 100 << 10, 100 << 10},
			{"large part's tail", 300 << 10, 0},
		} {
			name := tc.name
			check := func(t *testing.T, s *Scanner, name, ct string, body []byte) {
				t.Helper()
				var c collector
				s.oldScanBody(&c, ct, body, 0)
				if !hasKnown(c.out, "canary") {
					t.Logf("%s: the reference misses it", name)
					return
				}
				got, err := s.ScanBody(ct, body)
				assert.NilError(t, err)
				if !hasKnown(got, "canary") {
					t.Errorf("%s: lost (%v)", name, got)
				}
			}
			ct, body := a8StreamAcrossParts(t, kind, a8Filler(tc.pre), tc.inA, []byte(rtCanary))
			if kind == "gzip" && tc.pre == 0 && tc.inA == 0 {
				// Written as latin-1 characters (latin1Stream).
				var l []byte
				for _, c := range body {
					if c >= 0x80 {
						l = append(l, 0xc0|c>>6, 0x80|c&0x3f)
					} else {
						l = append(l, c)
					}
				}
				check(t, s, "latin-1 "+tc.name, ct, l)
			}
			var c collector
			s.oldScanBody(&c, ct, body, 0)
			assert.Assert(t, hasKnown(c.out, "canary"), "%s %s: the reference misses it: %v", kind, name, c.out)
			got, err := s.ScanBody(ct, body)
			assert.NilError(t, err)
			if !hasKnown(got, "canary") {
				t.Errorf("%s, stream from a %s: lost (%v)", kind, name, got)
			}
		}
	}
}

// TestAttack8StreamBudgetAfterCut: a gzip stream in a small part that
// inflates far (a secret after 10 MiB of repeated text, a few KiB
// compressed) is read to its secret within the budget of the whole raw
// text of a body with a large file part (8 bytes a byte of it); cutting
// the file part out of the raw text must not shrink that budget.
func TestAttack8StreamBudgetAfterCut(t *testing.T) {
	s := rtScanner(t)
	plain := append(bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 10<<20/44), "x = \""+rtCanary+"\"\n"...)
	gz := rt6Gzip(plain)
	body := mpBody("a8b0undary", true, mpFile("notes.gz", gz), mpFile("image.png", rtNoise(9, 1536<<10)))
	ct := "multipart/form-data; boundary=a8b0undary"
	var c collector
	s.oldScanBody(&c, ct, body, 0)
	if !hasKnown(c.out, "canary") {
		t.Skipf("the reference misses it too (%d bytes compressed)", len(gz))
	}
	got, err := s.ScanBody(ct, body)
	assert.NilError(t, err)
	assert.Assert(t, hasKnown(got, "canary"), "lost (%d bytes compressed): %v", len(gz), got)
}

// TestAttack8Open lists what round 8 found open that no change of this
// session made so (the same before JSON lines were read through their
// view): a known secret cut over top-level JSON values, which the joined
// readings join only inside one container, and over quoted characters a
// line (Python's implicit concatenation of adjacent literals reads the
// first; the raw text holds quotes between the pieces).
func TestAttack8Open(t *testing.T) {
	if os.Getenv("CLAUDE_BOTTLE_REDTEAM_OPEN") == "" {
		t.Skip("open: set CLAUDE_BOTTLE_REDTEAM_OPEN=1")
	}
	s := rtScanner(t)
	quoted := ""
	for _, c := range rtCanary {
		quoted += `"` + string(c) + "\"\n"
	}
	for name, b := range map[string]string{
		"adjacent strings":     `"` + rtCanary[:12] + `" "` + rtCanary[12:] + `"`,
		"objects, one key":     `{"x":"` + rtCanary[:13] + `"}{"x":"` + rtCanary[13:] + `"}`,
		"a character a string": quoted,
	} {
		for _, ct := range []string{"text/plain", "application/json", "application/x-ndjson"} {
			fs, err := s.ScanBody(ct, []byte(b))
			assert.NilError(t, err)
			if !hasKnown(fs, "canary") {
				t.Errorf("%s as %s: missed", name, ct)
			}
		}
	}
}
