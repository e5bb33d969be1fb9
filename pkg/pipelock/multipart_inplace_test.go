package pipelock

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"testing"
	"unsafe"

	"gotest.tools/v3/assert"
)

// jsonPart is a JSON document of about n bytes whose last string holds
// tail.
func jsonPart(n int, tail string) []byte {
	return []byte(`{"items":[{"note":"` + string(prose(n)) + `"},{"last":"` + tail + `"}]}`)
}

// multipartOf writes parts (content type, content, quoted-printable or
// not) as a multipart body.
func multipartOf(parts ...struct {
	ct      string
	content []byte
	qp      bool
}) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="f`+string(rune('a'+i))+`"; filename="data.json"`)
		h.Set("Content-Type", p.ct)
		if p.qp {
			h.Set("Content-Transfer-Encoding", "quoted-printable")
		}
		w, _ := mw.CreatePart(h)
		if p.qp {
			q := quotedprintable.NewWriter(w)
			q.Binary = true
			_, _ = q.Write(p.content)
			_ = q.Close()
		} else {
			_, _ = w.Write(p.content)
		}
	}
	_ = mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

type mpPart = struct {
	ct      string
	content []byte
	qp      bool
}

// TestPartInPlace: a large part is read where it stands in the body when
// it is sent as it is, and copied when the reader decoded it or when a
// stretch equal to its head comes first; either way the content is the
// part's, byte for byte.
func TestPartInPlace(t *testing.T) {
	a := jsonPart(3<<20, "first")
	b := jsonPart(3<<20, "second") // the same head as a: found after a
	c := jsonPart(3<<20, "third=")
	ct, body := multipartOf(mpPart{"application/json", a, false}, mpPart{"application/json", b, false}, mpPart{"application/json", c, true})
	_ = ct
	boundary := ct[strings.Index(ct, "boundary=")+len("boundary="):]
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	from := 0
	inside := func(x []byte) bool {
		p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(x))), uintptr(unsafe.Pointer(unsafe.SliceData(body)))
		return p >= lo && p < lo+uintptr(len(body))
	}
	for i, want := range [][]byte{a, b, c} {
		p, err := mr.NextPart()
		assert.NilError(t, err)
		head := make([]byte, segmentBytes+1)
		n, _ := io.ReadFull(p, head)
		claimed := false
		got, end, err := partInPlace(p, head[:n], body, from, func() int { return len(body) }, func() { claimed = true })
		assert.NilError(t, err)
		assert.Assert(t, bytes.Equal(got, want), "part %d: content differs", i)
		if i < 2 {
			assert.Assert(t, end > from && inside(got) && !claimed, "part %d was not read in place", i)
			from = end
		} else {
			assert.Assert(t, end == 0 && !inside(got) && claimed, "a quoted-printable part was not copied")
		}
	}
	// A head that is found but a rest that differs (the body given is
	// not the one read): copied, equal to the part.
	other := bytes.Clone(body)
	k := bytes.Index(other, []byte(`"last":"first"`)) + len(`"last":"`)
	copy(other[k:], "FIRST")
	mr = multipart.NewReader(bytes.NewReader(body), boundary)
	p, err := mr.NextPart()
	assert.NilError(t, err)
	head := make([]byte, segmentBytes+1)
	n, _ := io.ReadFull(p, head)
	got, end, err := partInPlace(p, head[:n], other, 0, func() int { return len(other) }, func() {})
	assert.NilError(t, err)
	assert.Assert(t, end == 0 && bytes.Equal(got, a))
}

// A secret at the end of a large JSON part, read in place, or copied
// from quoted-printable, or after a part with the same head, is found,
// live and whole.
func TestMultipartLargeJSONPartsFindSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	secret := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	clean := jsonPart(3<<20, "nothing")
	for name, parts := range map[string][]mpPart{
		"in place":          {{"application/json", jsonPart(3<<20, secret), false}},
		"quoted-printable":  {{"application/json", jsonPart(3<<20, secret), true}},
		"after a same head": {{"application/json", clean, false}, {"application/json", jsonPart(3<<20, secret), false}},
		"octet-stream json": {{"application/octet-stream", clean, false}, {"application/octet-stream", jsonPart(3<<20, secret), false}},
	} {
		ct, body := multipartOf(parts...)
		seg, whole := inspectBoth(t, e, ct, body)
		assert.Assert(t, seg && whole, "%s: segmented %v, whole %v", name, seg, whole)
	}
	ct, body := multipartOf(mpPart{"application/json", clean, false}, mpPart{"application/json", clean, false})
	seg, whole := inspectBoth(t, e, ct, body)
	assert.Assert(t, !seg && !whole, "clean parts refused")
}

// A body of JSON lines, whole or cut short, is read through its view and
// its raw text only from near where its values end (rawFrom): a secret
// in a value, in a line that is a bare number, or in the rest after the
// values is found, scanned while it arrives, in segments and whole, and
// as a small body.
func TestJSONLinesBodiesFindSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	key := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	lines := func(n int) []byte {
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			b.WriteString(`{"path":"pkg/f.go","content":"package f\n\nfunc F() int { return 1 }\n","n":` + strings.Repeat("7", 1+i%5) + "}\n")
		}
		return b.Bytes()
	}
	for _, n := range []int{64 << 10, 5 << 20} {
		clean := lines(n)
		mid := bytes.IndexByte(clean[len(clean)/2:], '\n') + len(clean)/2 + 1
		insert := func(line string) []byte {
			return append(append(append([]byte{}, clean[:mid]...), line+"\n"...), clean[mid:]...)
		}
		for name, body := range map[string][]byte{
			"value":       insert(`{"note":"` + key + `"}`),
			"bare number": insert(`4111111111111111`),
			"rest":        append(append([]byte{}, clean...), `{"note":"`+key...),
			"raw rest":    append(append([]byte{}, clean...), "x "+key...),
		} {
			for _, ct := range []string{"application/json", "application/x-ndjson"} {
				if n > segmentBytes {
					seg, whole := inspectBoth(t, e, ct, body)
					assert.Assert(t, seg && whole, "%s/%s/%d: segmented %v, whole %v", name, ct, n, seg, whole)
				}
				r := e.post(body, "Content-Type", ct)
				assert.Equal(t, r.status, 403, "%s/%s/%d: %s", name, ct, n, r.body)
			}
		}
		for _, body := range [][]byte{clean, clean[:len(clean)-20]} {
			r := e.post(body, "Content-Type", "application/json")
			assert.Equal(t, r.status, 200, "clean JSON lines (%d): %s", n, r.body)
		}
	}
}

// A JSON body that is one value at the top level — a number, a string —
// is read: a card number sent as the whole body was let through before.
func TestTopLevelJSONValuesAreRead(t *testing.T) {
	e := newEnv(t, nil)
	for _, body := range []string{"4111111111111111", " 4111111111111111\n", `"aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"`, "{}\n4111111111111111"} {
		for _, ct := range []string{"application/json", "application/x-ndjson", "text/plain"} {
			r := e.post([]byte(body), "Content-Type", ct)
			assert.Equal(t, r.status, 403, "%q as %s: %s", body, ct, r.body)
		}
	}
}

// A multipart body's raw text leaves out the middle of each large part
// located in it (multipart): a secret anywhere in a part — at its ends,
// astride where the raw text's cut falls, in its middle — in the part's
// headers, between parts, in a quoted-printable part (not located), in
// repeated identical parts, and in a body the reader stops in, is found
// scanned while it arrives, in segments, and whole.
func TestMultipartCutKeepsFindings(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	key := "aws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD"
	file := func(at int) []byte { return around(prose(3<<20), key, at) }
	plain := prose(3 << 20)
	check := func(name, ct string, body []byte) {
		t.Helper()
		seg, whole := inspectBoth(t, e, ct, body)
		assert.Assert(t, seg && whole, "%s: segmented %v, whole %v", name, seg, whole)
	}
	for _, at := range []int{0, 100, partContext - 20, partContext + 100, 1 << 20, 3<<20 - partContext - 20, 3<<20 - partContext + 100, 3<<20 - 30} {
		for _, second := range []bool{false, true} {
			parts := []mpPart{{"application/octet-stream", file(at), false}}
			if second {
				parts = []mpPart{{"application/octet-stream", plain, false}, {"text/plain", file(at), false}}
			}
			ct, body := multipartOf(parts...)
			check(fmt.Sprintf("at %d (second part %v)", at, second), ct, body)
		}
	}
	// In a part's headers, between parts (a small field), in a
	// quoted-printable part, in the second of two identical parts.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile("a", "a.bin")
	_, _ = w.Write(plain)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="b"; filename="b.bin"`)
	h.Set("X-Note", key)
	w, _ = mw.CreatePart(h)
	_, _ = w.Write(plain)
	_ = mw.Close()
	check("in a header", mw.FormDataContentType(), b.Bytes())
	ct, body := multipartOf(mpPart{"application/octet-stream", plain, false}, mpPart{"text/plain", []byte(key), false}, mpPart{"application/octet-stream", plain, false})
	check("between parts", ct, body)
	ct, body = multipartOf(mpPart{"application/octet-stream", file(1 << 20), true})
	check("quoted-printable", ct, body)
	ct, body = multipartOf(mpPart{"application/octet-stream", plain, false}, mpPart{"application/octet-stream", plain, false}, mpPart{"application/octet-stream", file(1 << 20), false})
	check("after identical parts", ct, body)
	// The reader stops in a body cut short: what follows is read raw.
	ct, body = multipartOf(mpPart{"application/octet-stream", plain, false}, mpPart{"application/octet-stream", plain, false})
	cut := append(bytes.Clone(body[:len(body)-200]), "\r\n"+key...)
	check("cut short", ct, cut)
	// Clean parts pass.
	ct, body = multipartOf(mpPart{"application/octet-stream", plain, false}, mpPart{"application/json", jsonPart(3<<20, "x"), false})
	seg, whole := inspectBoth(t, e, ct, body)
	assert.Assert(t, !seg && !whole, "clean parts refused")
}
