package pipelock

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Red team, round 6, through the proxy: a known secret split over two
// headers of the first request to a host, a secret as a header name, and
// secrets in compressed files and UTF-16 text.

func rt6Gzip(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func rt6TarGz(name string, b []byte) []byte {
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	_ = w.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b))})
	_, _ = w.Write(b)
	_ = w.Close()
	return rt6Gzip(out.Bytes())
}

func rt6Req(t *testing.T, method, u string, body []byte, hdr ...string) *http.Request {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	assert.NilError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return req
}

// TestRedteam6SplitInOneRequest: the pieces of a known secret in two
// headers (or a header and a query value next to each other in the
// request's values) of the first request to a host: the request's values
// run together are scanned without a tail before them (split.go check).
func TestRedteam6SplitInOneRequest(t *testing.T) {
	v := secrets["PASSPHRASE"]
	for name, req := range map[string]func(t *testing.T) *http.Request{
		"two headers": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-A", v[:20], "X-B", v[20:])
		},
		"three headers": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-A", v[:10], "X-B", v[10:25], "X-C", v[25:])
		},
		"path segments": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/"+v[:20]+"/"+v[20:], nil)
		},
		"query values": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x?a="+v[:20]+"&b="+v[20:], nil)
		},
		// Far from both ends of everything the request carried (the slot
		// of everything keeps its first and last keep bytes).
		"two headers after a long query, before a long header": func(t *testing.T) *http.Request {
			long := strings.Repeat("q", 2000)
			return rt6Req(t, "GET", "https://allowed.example.com/x?a="+long, nil, "X-A", v[:20], "X-B", v[20:], "X-C", long)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.do(req(t), e.proxyURL)
			assert.Equal(t, r.status, http.StatusForbidden, r.body)
			assert.Equal(t, len(e.seenAll()), 0, "a refused request reached upstream")
		})
	}
	// Ordinary first requests with several headers still pass.
	e := newEnv(t, nil)
	r := e.do(rt6Req(t, "GET", "https://allowed.example.com/x?page=2", nil, "X-A", "alpha", "X-B", "beta"), e.proxyURL)
	assert.Equal(t, r.status, http.StatusOK, r.body)
}

// TestRedteam6HeaderName: a secret as a header name; the server reads it
// in canonical case (X-Zebra-Quartz-…), the agent's reader lower-cases it.
func TestRedteam6HeaderName(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"X-" + secrets["PASSPHRASE"], strings.ToLower(secrets["AWS"])} {
		r := e.do(rt6Req(t, "GET", "https://allowed.example.com/x", nil, name, "1"), e.proxyURL)
		assert.Check(t, r.status == http.StatusForbidden, "%.12s…: %d %s", name, r.status, r.body)
	}
	r := e.do(rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-Request-Source", "cli"), e.proxyURL)
	assert.Equal(t, r.status, http.StatusOK, r.body)
}

// TestRedteam6EmbeddedBodies: compressed files and UTF-16 text in bodies
// (pkg/dlp embedded.go).
func TestRedteam6EmbeddedBodies(t *testing.T) {
	e := newEnv(t, nil)
	v := secrets["PASSPHRASE"]
	env := []byte("# saved\nVALUE=" + v + "\n")
	tgz := rt6TarGz(".env", env)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "backup.tgz")
	_, _ = fw.Write(tgz)
	_ = mw.Close()
	for name, b := range map[string]struct {
		ct   string
		body []byte
	}{
		"base64 of gzip in JSON": {"application/json", []byte(`{"f":"` + base64.StdEncoding.EncodeToString(rt6Gzip(env)) + `"}`)},
		"raw gzip":               {"application/gzip", rt6Gzip(env)},
		"tar.gz":                 {"application/octet-stream", tgz},
		"multipart tar.gz":       {mw.FormDataContentType(), mp.Bytes()},
		"UTF-16LE":               {"text/plain", utf16Bytes(string(env), false, false)},
		"UTF-16 with BOM":        {"text/plain", utf16Bytes(string(env), true, true)},
	} {
		r := e.post(b.body, "Content-Type", b.ct)
		assert.Check(t, r.status == http.StatusForbidden, "%s: %d %s", name, r.status, r.body)
	}
	assert.Equal(t, len(e.seenAll()), 0, "a refused body reached upstream")
	r := e.post(rt6TarGz("main.go", []byte("package main\n\nfunc main() {}\n")), "Content-Type", "application/gzip")
	assert.Equal(t, r.status, http.StatusOK, r.body)
}

// TestRedteam6OpenPiecesApart: a known secret in pieces with other data
// between them in one request — two cookies (their names between), a
// cookie header's two values, two header names, a path segment and a
// header, the body and a header, two JSON keys — passes: the split window
// joins a slot's values and the values of a request run together, not
// pieces with other values between (docs/threat-model.md).
func TestRedteam6OpenPiecesApart(t *testing.T) {
	if os.Getenv("CLAUDE_BOTTLE_REDTEAM_OPEN") != "1" {
		t.Skip("open: pieces of one request with other data between them (CLAUDE_BOTTLE_REDTEAM_OPEN=1 runs it)")
	}
	v := secrets["PASSPHRASE"]
	h1, h2 := v[:20], v[20:]
	for name, req := range map[string]func(t *testing.T) *http.Request{
		"two cookies": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "Cookie", "a="+h1, "Cookie", "b="+h2)
		},
		"one cookie header": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "Cookie", "a="+h1+"; b="+h2)
		},
		"two header names": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-"+h1, "1", "X-"+h2, "1")
		},
		"path and header": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/"+h1, nil, "X-A", h2)
		},
		"body and header": func(t *testing.T) *http.Request {
			return rt6Req(t, "POST", "https://allowed.example.com/x", []byte(h1), "X-A", h2)
		},
		"two JSON keys": func(t *testing.T) *http.Request {
			return rt6Req(t, "POST", "https://allowed.example.com/x", []byte(`{"`+h1+`":1,"`+h2+`":2}`), "Content-Type", "application/json")
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.do(req(t), e.proxyURL)
			assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)
		})
	}
}

// TestRedteam6OpenCompressedAcrossSegments: a body over a segment
// (2 MiB) holding a gzip stream that starts before a segment boundary,
// its secret compressed past it: the first segment inflates the stream
// only up to the boundary, and a segment starting inside a deflate
// stream cannot inflate it (a stream is read from its header, with the
// 32 KiB window before). Reading it would need the body's streams found
// and inflated over the whole body, not per segment (body.go).
func TestRedteam6OpenCompressedAcrossSegments(t *testing.T) {
	if os.Getenv("CLAUDE_BOTTLE_REDTEAM_OPEN") != "1" {
		t.Skip("open: a compressed stream across a segment boundary of a large body (CLAUDE_BOTTLE_REDTEAM_OPEN=1 runs it)")
	}
	e := newEnv(t, nil)
	rnd := rand.New(rand.NewPCG(6, 6))
	noise := make([]byte, 900<<10)
	for i := range noise {
		noise[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n"[rnd.IntN(64)]
	}
	gz := rt6Gzip(append(noise, []byte("\nVALUE="+secrets["PASSPHRASE"]+"\n")...))
	pad := prose(bodySegment - 100<<10)
	body := append(append(pad, ' '), gz...)
	r := e.post(body, "Content-Type", "application/octet-stream")
	assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)
}

// TestRedteam6PinnedRequestParts: parts of a request found before round
// 6, kept found: userinfo in the URL (sent as Basic credentials), matrix
// parameters, a WebSocket subprotocol list, a Content-Type parameter, a
// lower-cased AWS key id in Accept-Language, a header given twice.
func TestRedteam6PinnedRequestParts(t *testing.T) {
	v := secrets["PASSPHRASE"]
	for name, req := range map[string]func(t *testing.T) *http.Request{
		"userinfo": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://u:"+v+"@allowed.example.com/x", nil)
		},
		"matrix": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x;k="+v+"/y", nil)
		},
		"subprotocol": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "Sec-WebSocket-Protocol", "chat, "+v)
		},
		"content-type parameter": func(t *testing.T) *http.Request {
			return rt6Req(t, "POST", "https://allowed.example.com/x", []byte("x"), "Content-Type", "text/plain; x="+v)
		},
		"accept-language": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "Accept-Language", "en;q=0.9, "+strings.ToLower(secrets["AWS"]))
		},
		"a header twice": func(t *testing.T) *http.Request {
			return rt6Req(t, "GET", "https://allowed.example.com/x", nil, "X-A", v[:20], "X-A", v[20:])
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.do(req(t), e.proxyURL)
			assert.Check(t, r.status == http.StatusForbidden, "%d %s", r.status, r.body)
		})
	}
}
