package dlp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// oldScanBody is scanBody as it was before scanMultipart cut large parts
// out of the body's raw text: a multipart body's raw text was read whole,
// then each part by its own type. It is the reference the cut is held to.
func (s *Scanner) oldScanBody(c *collector, contentType string, body []byte, depth int) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" || depth >= 3 {
		s.scanBody(c, contentType, body, depth)
		return
	}
	s.scan(c, "body", "", string(body))
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		data, err := io.ReadAll(io.LimitReader(p, MaxBody))
		if err != nil {
			break
		}
		s.scan(c, "body (multipart field name)", "", p.FormName()+"\n"+p.FileName())
		s.oldScanBody(c, p.Header.Get("Content-Type"), data, depth+1)
	}
}

// findingKeys are the findings as the collector tells them apart.
func findingKeys(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+"|"+f.Known+"|"+f.Part)
	}
	slices.Sort(out)
	return out
}

// checkCutKeeps scans a body with the cut and with the reference and
// fails when the cut lost a finding.
func checkCutKeeps(t *testing.T, s *Scanner, contentType string, body []byte) (got []Finding) {
	t.Helper()
	got, err := s.ScanBody(contentType, body)
	assert.NilError(t, err)
	var c collector
	s.oldScanBody(&c, contentType, body, 0)
	if len(c.out) >= maxFindings || len(got) >= maxFindings {
		return got // capped: which findings are kept depends on order
	}
	have := findingKeys(got)
	for _, k := range findingKeys(c.out) {
		if _, ok := slices.BinarySearch(have, k); !ok {
			t.Fatalf("the cut lost %s (got %v)", k, have)
		}
	}
	return got
}

// mpPart is one part of a test multipart body.
type mpPart struct {
	header textproto.MIMEHeader
	data   []byte
}

func mpBody(boundary string, close bool, parts ...mpPart) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary(boundary)
	for _, p := range parts {
		w, _ := mw.CreatePart(p.header)
		_, _ = w.Write(p.data)
	}
	if close {
		_ = mw.Close()
	}
	return b.Bytes()
}

func mpFile(name string, data []byte) mpPart {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="f%d"; filename=%q`, len(data)%97, name))
	h.Set("Content-Type", "application/octet-stream")
	return mpPart{h, data}
}

// planted returns n bytes of noise with secret written at off.
func planted(seed uint64, n, off int, secret []byte) []byte {
	b := rtNoise(seed, n)
	copy(b[off:], secret)
	return b
}

// TestMultipartCutKeepsFindings: secrets in a large file part, which the
// body's raw text no longer reads whole, at the cut's edges, in the
// part's middle and ends, encoded in every way a part's own scan must
// undo, and beside the part (its headers, a malformed or quoted-printable
// part the cut must leave alone). Each is found, and nothing the whole
// raw text found is lost.
func TestMultipartCutKeepsFindings(t *testing.T) {
	s := rtScanner(t)
	const n = 300 << 10
	canaryB64 := rtWrap(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("filler text ", 40)+rtCanary)), 76, "\r\n")
	encoded := map[string]string{
		"raw":        rtCanary,
		"github":     rtGitHub,
		"base64":     base64.StdEncoding.EncodeToString([]byte("x" + rtCanary + "y")),
		"percent":    rtPercent(rtCanary),
		"qp":         rtQP(rtCanary),
		"utf16":      string(rt6Wide(rtCanary, 2, false)),
		"gzip":       string(rt6Gzip([]byte(rtCanary))),
		"password":   "\ndb_password = " + rtPassword + "\n",
		"wrappedB64": canaryB64,
	}
	offsets := []int{0, 100, partContext - 7, partContext + 3, n / 2, n - partContext - 9, n - partContext + 2, -1}
	cut := 0
	for name, sec := range encoded {
		for _, off := range offsets {
			if off < 0 || off+len(sec) > n {
				off = n - len(sec)
			}
			data := planted(uint64(off)+7, n, off, []byte(sec))
			body := mpBody("b0undary", true, mpFile("small.txt", []byte("hello")), mpFile("image.png", data), mpFile("main.go", []byte(strings.Repeat("func main() {}\n", 20000))))
			if partAt(body, 0, data) >= 0 {
				cut++
			}
			secret := rtCanary
			switch name {
			case "github":
				secret = rtGitHub
			case "password":
				secret = rtPassword
			}
			got := checkCutKeeps(t, s, "multipart/form-data; boundary=b0undary", body)
			assert.Check(t, rtFoundIn(got, secret), "%s at %d: %v", name, off, got)
		}
	}
	assert.Assert(t, cut > 0, "no case was cut: the test proves nothing")

	// A secret in a part's headers, before and after a cut part's data;
	// a secret split between a part's end and the next part's headers is
	// read as the raw text holds it.
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="a"; filename="a.bin"`)
	h.Set("X-Api-Key", rtGitHub)
	h2 := textproto.MIMEHeader{}
	h2.Set("Content-Disposition", `form-data; name="b"`)
	h2.Set("X-Note", rtCanary)
	body := mpBody("B", true, mpPart{h, rtNoise(3, n)}, mpPart{h2, rtNoise(4, n)})
	got := checkCutKeeps(t, s, "multipart/form-data; boundary=B", body)
	assert.Check(t, rtFoundIn(got, rtGitHub) && rtFoundIn(got, rtCanary), "headers: %v", got)

	// A body whose last part never ends (no closing boundary): the
	// reader fails in it, so it is not cut, and the raw text holds it.
	body = mpBody("B", false, mpFile("a.bin", rtNoise(5, n)), mpFile("b.bin", planted(6, n, n/2, []byte(rtCanary))))
	got = checkCutKeeps(t, s, "multipart/form-data; boundary=B", body)
	assert.Check(t, rtFoundIn(got, rtCanary), "unterminated: %v", got)

	// A quoted-printable part, which the reader decodes: not found as it
	// is in the body, so not cut.
	qh := textproto.MIMEHeader{}
	qh.Set("Content-Disposition", `form-data; name="q"`)
	qh.Set("Content-Transfer-Encoding", "quoted-printable")
	qp := []byte(strings.Repeat("plain text line=20\r\n", n/20) + rtQP(rtCanary) + "\r\n" + strings.Repeat("more=\r\n text\r\n", 1000))
	body = mpBody("B", true, mpPart{qh, qp})
	got = checkCutKeeps(t, s, "multipart/form-data; boundary=B", body)
	assert.Check(t, rtFoundIn(got, rtCanary), "quoted-printable: %v", got)

	// A nested multipart part holding a large file part.
	inner := mpBody("inner", true, mpFile("x.bin", planted(8, n, n/3, []byte(rtGitHub))))
	nh := textproto.MIMEHeader{}
	nh.Set("Content-Disposition", `form-data; name="n"`)
	nh.Set("Content-Type", "multipart/mixed; boundary=inner")
	body = mpBody("outer", true, mpPart{nh, inner}, mpFile("y.bin", rtNoise(9, n)))
	got = checkCutKeeps(t, s, "multipart/form-data; boundary=outer", body)
	assert.Check(t, rtFoundIn(got, rtGitHub), "nested: %v", got)

	// The same bytes twice: the second part's data also occurs inside the
	// first part; whichever copy is cut, the bytes are read.
	same := planted(10, n, n/2, []byte(rtCanary))
	body = mpBody("B", true, mpFile("a.bin", append(append([]byte{}, same...), same...)), mpFile("b.bin", same))
	got = checkCutKeeps(t, s, "multipart/form-data; boundary=B", body)
	assert.Check(t, rtFoundIn(got, rtCanary), "repeated: %v", got)
}

// rtFoundIn is rtFound's test on findings already made.
func rtFoundIn(fs []Finding, secret string) bool {
	for _, f := range fs {
		if secret == rtCanary && f.Rule == "known-secret" && f.Known == "canary" ||
			secret == rtPassword && f.Rule == "known-secret" && f.Known == "password" ||
			secret == rtGitHub && (f.Rule == "github-token" || f.Rule == "github-pat") {
			return true
		}
	}
	return false
}

// TestCutParts: the kept text is the body with each span replaced by the
// separator line.
func TestCutParts(t *testing.T) {
	body := []byte("0123456789abcdefghij")
	assert.Equal(t, cutParts(body, nil), string(body))
	assert.Equal(t, cutParts(body, []cutSpan{{2, 5}, {10, 12}}), "01"+windowSepText+"56789"+windowSepText+"cdefghij")
	assert.Equal(t, partAt(body, 3, []byte("abc")), 10)
	assert.Equal(t, partAt(body, 11, []byte("abc")), -1)
}

// FuzzMultipartCutMatchesOld: go test ./pkg/dlp -run '^$' -fuzz FuzzMultipartCutMatchesOld
// The fuzzer's text is written into a large file part at a place near a
// cut's edge, in its middle or at its ends, and into a small field and
// the part's headers; the cut must lose nothing the whole raw text found.
func FuzzMultipartCutMatchesOld(f *testing.F) {
	f.Add(rtCanary, uint16(0), uint8(0))
	f.Add(rtGitHub, uint16(7), uint8(1))
	f.Add("db_password = "+rtPassword, uint16(3), uint8(2))
	f.Add(base64.StdEncoding.EncodeToString([]byte(rtCanary)), uint16(1), uint8(3))
	f.Add(string(rt6Gzip([]byte(rtCanary))), uint16(9), uint8(4))
	fp, err := FingerprintOf("canary", rtCanary)
	assert.NilError(f, err)
	pw, err := FingerprintOf("password", rtPassword)
	assert.NilError(f, err)
	s, err := New(Options{Known: []Fingerprint{fp, pw}})
	assert.NilError(f, err)
	const n = minPartCut + 4<<10
	f.Fuzz(func(t *testing.T, text string, jitter uint16, where uint8) {
		if len(text) > 4<<10 {
			text = text[:4<<10]
		}
		anchors := []int{0, partContext, n / 2, n - partContext, n - len(text)}
		off := anchors[int(where)%len(anchors)] + int(jitter%64) - 32
		off = max(0, min(off, n-len(text)))
		data := planted(uint64(jitter), n, off, []byte(text))
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="f"; filename="f.bin"`)
		if where&0x80 != 0 {
			h.Set("X-Extra", strings.Map(func(r rune) rune {
				if r < 0x20 || r >= 0x7f {
					return 'x'
				}
				return r
			}, text[:min(len(text), 200)]))
		}
		small := textproto.MIMEHeader{}
		small.Set("Content-Disposition", `form-data; name="s"`)
		body := mpBody("Zz", where&0x40 == 0, mpPart{small, []byte(text)}, mpPart{h, data})
		checkCutKeeps(t, s, "multipart/form-data; boundary=Zz", body)
	})
}
