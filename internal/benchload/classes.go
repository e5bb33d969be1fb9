package benchload

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/url"
	"strings"
)

// BodyClasses are the upload body classes the DLP cost budget covers:
// each must cross the chain at the same rate whatever its bytes look like.
var BodyClasses = []string{"text", "code", "json", "base64", "base64-wrapped", "hex", "binary", "gzip", "multipart", "form", "mixed"}

// AdversarialClasses are further body classes built to reach a decoder's
// or a detector's slow path; the scanner's micro-benchmark runs them
// beside BodyClasses (ScanClasses).
var AdversarialClasses = []string{"base64url", "base64-json", "hex-delimited", "deflate", "short-runs", "deep-json", "long-lines", "one-line", "percent", "keyword-dense"}

// ScanClasses are every body class the DLP cost budget covers.
var ScanClasses = append(append([]string{}, BodyClasses...), AdversarialClasses...)

// ClassBody returns n bytes (about) of one body class, with the
// Content-Type and Content-Encoding to send it with.
func ClassBody(class string, n int) (contentType, contentEncoding string, body []byte, err error) {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	random := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	prose := func(k int) []byte {
		ws := strings.Fields("the of and to in is that for it as was with be by on not this are or from at which but have an they you were there been one all would their we if has when who will more no out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see work long get here between both life being under never day same another know while last might great old year off come since against go came right used take three")
		var b bytes.Buffer
		for b.Len() < k {
			b.WriteString(ws[r.IntN(len(ws))])
			if r.IntN(12) == 0 {
				b.WriteString(".\n")
			} else {
				b.WriteByte(' ')
			}
		}
		return b.Bytes()[:k]
	}
	switch class {
	case "text":
		return "text/plain", "", prose(n), nil
	case "code", "":
		return "application/json", "", Body(n), nil
	case "json":
		var b bytes.Buffer
		b.WriteString(`{"items":[`)
		for i := 0; b.Len() < n-64; i++ {
			fmt.Fprintf(&b, `{"id":%d,"sha":"%040x","name":"item-%d","note":%q},`, i, r.Uint64(), i, prose(60))
		}
		b.WriteString(`{}]}`)
		return "application/json", "", b.Bytes(), nil
	case "base64":
		return "text/plain", "", []byte(base64.StdEncoding.EncodeToString(random(n * 3 / 4))), nil
	case "base64-wrapped":
		e := base64.StdEncoding.EncodeToString(random(n * 3 / 4))
		var b bytes.Buffer
		for len(e) > 76 {
			b.WriteString(e[:76] + "\r\n")
			e = e[76:]
		}
		b.WriteString(e)
		return "text/plain", "", b.Bytes(), nil
	case "hex":
		return "text/plain", "", []byte(hex.EncodeToString(random(n / 2))), nil
	case "binary":
		return "application/octet-stream", "", random(n), nil
	case "gzip":
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		return "application/json", "gzip", compressed(&b, zw, n, Body, random), nil
	case "multipart":
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("title", "release notes")
		fw, _ := mw.CreateFormFile("image", "image.png")
		_, _ = fw.Write(random(n / 2))
		fw, _ = mw.CreateFormFile("src", "main.go")
		_, _ = fw.Write(Body(n / 2))
		_ = mw.Close()
		return mw.FormDataContentType(), "", b.Bytes(), nil
	case "form":
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "field%d=%s&", i, url.QueryEscape(string(prose(60))))
		}
		return "application/x-www-form-urlencoded", "", []byte(b.String()), nil
	case "mixed":
		// Many short encoded runs, long lines, percent-encoding: every
		// decoder gets work all the time.
		var b bytes.Buffer
		for b.Len() < n {
			switch r.IntN(4) {
			case 0:
				b.WriteString(base64.StdEncoding.EncodeToString(random(12 + r.IntN(24))))
			case 1:
				b.WriteString(hex.EncodeToString(random(8 + r.IntN(16))))
			case 2:
				b.WriteString(url.QueryEscape(base64.StdEncoding.EncodeToString(random(12))))
			default:
				b.Write(prose(80))
			}
			b.WriteByte(' ')
		}
		return "text/plain", "", b.Bytes(), nil
	case "base64url":
		return "text/plain", "", []byte(base64.RawURLEncoding.EncodeToString(random(n * 3 / 4))), nil
	case "base64-json":
		// An image inside JSON, as a data: URL.
		return "application/json", "", []byte(`{"image":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(random(max(0, n*3/4-64))) + `"}`), nil
	case "hex-delimited":
		var b bytes.Buffer
		for i, c := range random(n / 3) {
			if i > 0 {
				b.WriteByte(':')
			}
			fmt.Fprintf(&b, "%02x", c)
		}
		return "text/plain", "", b.Bytes(), nil
	case "deflate":
		var b bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
		return "text/plain", "deflate", compressed(&b, zw, n, prose, random), nil
	case "short-runs":
		// Nothing but short encoded runs: every one is a decoder start.
		var b bytes.Buffer
		for b.Len() < n {
			switch r.IntN(3) {
			case 0:
				b.WriteString(base64.StdEncoding.EncodeToString(random(12 + r.IntN(20))))
			case 1:
				b.WriteString(hex.EncodeToString(random(8 + r.IntN(16))))
			default:
				b.WriteString(url.QueryEscape(base64.StdEncoding.EncodeToString(random(12))))
			}
			b.WriteByte(' ')
		}
		return "text/plain", "", b.Bytes()[:n], nil
	case "deep-json":
		d := n / 8
		return "application/json", "", []byte(strings.Repeat(`{"a":[`, d) + `"x"` + strings.Repeat(`]}`, d)), nil
	case "long-lines":
		// Code in lines of 64 KiB.
		b := bytes.ReplaceAll(Body(n), []byte("\n"), []byte(" "))
		for i := 64 << 10; i < len(b); i += 64 << 10 {
			b[i] = '\n'
		}
		return "text/x-go", "", b, nil
	case "one-line":
		return "text/plain", "", bytes.ReplaceAll(prose(n), []byte("\n"), []byte(" ")), nil
	case "percent":
		// Prose percent-encoded twice.
		e := url.QueryEscape(url.QueryEscape(string(prose(n / 3))))
		return "text/plain", "", []byte(e[:min(len(e), n)]), nil
	case "keyword-dense":
		// Every line carries secret-field names and rule keywords with
		// benign values.
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "token=abc%d password=changeme api_key=none secret=%d key=value github gitlab slack stripe aws\n", i, i)
		}
		return "text/plain", "", b.Bytes()[:n], nil
	}
	return "", "", nil, fmt.Errorf("unknown body class %q (known: %s)", class, strings.Join(ScanClasses, ", "))
}

// compressed writes 64 KiB of fill and 32 KiB of random bytes alternately
// through zw until b, its output, holds n bytes; it returns b's bytes.
func compressed(b *bytes.Buffer, zw io.WriteCloser, n int, fill, random func(int) []byte) []byte {
	for b.Len() < n {
		_, _ = zw.Write(fill(64 << 10))
		_, _ = zw.Write(random(32 << 10))
	}
	_ = zw.Close()
	return b.Bytes()
}
