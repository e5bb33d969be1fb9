package dlp

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BodyClass is one kind of request body the scanner's cost must not depend
// on (issue: DLP cost bounded for every body).
type bodyClass struct {
	name        string
	contentType string
	make        func(n int) []byte
}

func words(r *rand.Rand, n int) []byte {
	ws := strings.Fields("the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all would their we him if has when who will more no out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three")
	var b bytes.Buffer
	col := 0
	for b.Len() < n {
		w := ws[r.IntN(len(ws))]
		b.WriteString(w)
		col += len(w) + 1
		if col > 70 {
			b.WriteString(".\n")
			col = 0
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func wrapLines(s string, w int) []byte {
	var b bytes.Buffer
	for len(s) > w {
		b.WriteString(s[:w])
		b.WriteString("\r\n")
		s = s[w:]
	}
	b.WriteString(s)
	return b.Bytes()
}

// bodyClasses are the body classes of the cost budget: ordinary uploads and
// adversarial mixes built to hit a decoder's slow path.
var bodyClasses = []bodyClass{
	{"text", "text/plain", func(n int) []byte { return words(rand.New(rand.NewPCG(3, 4)), n) }},
	{"code", "text/x-go", func(n int) []byte { return codeBody(n) }},
	{"json", "application/json", func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`{"items":[`)
		for i := 0; b.Len() < n-64; i++ {
			fmt.Fprintf(&b, `{"id":%d,"sha":"%040x","name":"item-%d","note":"%s"},`, i, i*7919, i, words(rand.New(rand.NewPCG(uint64(i), 1)), 40))
		}
		b.WriteString(`{}]}`)
		return b.Bytes()
	}},
	{"base64-wrapped", "text/plain", func(n int) []byte {
		return wrapLines(base64.StdEncoding.EncodeToString(randomBytes(n*3/4)), 76)[:n]
	}},
	{"base64", "text/plain", func(n int) []byte { return []byte(base64.StdEncoding.EncodeToString(randomBytes(n * 3 / 4)))[:n] }},
	{"base64url", "text/plain", func(n int) []byte { return []byte(base64.RawURLEncoding.EncodeToString(randomBytes(n * 3 / 4)))[:n] }},
	{"base64-json", "application/json", func(n int) []byte {
		return []byte(`{"image":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(randomBytes(n*3/4-64)) + `"}`)
	}},
	{"hex", "text/plain", func(n int) []byte { return []byte(hex.EncodeToString(randomBytes(n / 2))) }},
	{"hex-delimited", "text/plain", func(n int) []byte {
		b := randomBytes(n / 3)
		var o bytes.Buffer
		for i, c := range b {
			if i > 0 {
				o.WriteByte(':')
			}
			fmt.Fprintf(&o, "%02x", c)
		}
		return o.Bytes()
	}},
	{"binary", "application/octet-stream", randomBytes},
	{"gzip", "application/octet-stream", func(n int) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		for b.Len() < n {
			_, _ = zw.Write(codeBody(64 << 10))
			_, _ = zw.Write(randomBytes(16 << 10))
		}
		_ = zw.Close()
		return b.Bytes()[:n]
	}},
	{"multipart", "", nil}, // filled in below
	{"form", "application/x-www-form-urlencoded", func(n int) []byte {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "field%d=%s&", i, url.QueryEscape(string(words(rand.New(rand.NewPCG(uint64(i), 9)), 60))))
		}
		return []byte(b.String()[:n])
	}},
	{"short-runs", "text/plain", func(n int) []byte {
		// Many short base64/hex/percent runs: every one is a decoder start.
		r := rand.New(rand.NewPCG(5, 6))
		var b bytes.Buffer
		for b.Len() < n {
			switch r.IntN(3) {
			case 0:
				b.WriteString(base64.StdEncoding.EncodeToString(randomBytes(12 + r.IntN(20))))
			case 1:
				b.WriteString(hex.EncodeToString(randomBytes(8 + r.IntN(16))))
			default:
				b.WriteString(url.QueryEscape(base64.StdEncoding.EncodeToString(randomBytes(12))))
			}
			b.WriteByte(' ')
		}
		return b.Bytes()[:n]
	}},
	{"deep-json", "application/json", func(n int) []byte {
		d := n / 16
		return []byte(strings.Repeat(`{"a":[`, d) + `"x"` + strings.Repeat(`]}`, d))
	}},
	{"one-line", "text/plain", func(n int) []byte {
		return bytes.ReplaceAll(words(rand.New(rand.NewPCG(7, 8)), n), []byte("\n"), []byte(" "))
	}},
	{"percent", "text/plain", func(n int) []byte {
		e := url.QueryEscape(url.QueryEscape(string(words(rand.New(rand.NewPCG(9, 9)), n/3))))
		return []byte(e[:min(len(e), n)])
	}},
	{"keyword-dense", "text/plain", func(n int) []byte {
		// Every line carries secret-field names with benign values.
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "token=abc%d password=changeme api_key=none secret=%d key=value github gitlab slack stripe aws\n", i, i)
		}
		return b.Bytes()[:n]
	}},
}

func init() {
	for i := range bodyClasses {
		if bodyClasses[i].name == "multipart" {
			bodyClasses[i].make = func(n int) []byte {
				var b bytes.Buffer
				mw := multipart.NewWriter(&b)
				mw.SetBoundary("benchboundary")
				_ = mw.WriteField("title", "release notes")
				fw, _ := mw.CreateFormFile("file", "image.png")
				_, _ = fw.Write(randomBytes(n / 2))
				fw, _ = mw.CreateFormFile("src", "main.go")
				_, _ = fw.Write(codeBody(n / 2))
				_ = mw.Close()
				return b.Bytes()
			}
			bodyClasses[i].contentType = "multipart/form-data; boundary=benchboundary"
		}
	}
}

// BenchmarkScanBodyClass measures the scanner per body class (budget:
// ≥ 50 MB/s per core on every class). Run:
// go test ./pkg/dlp -run '^$' -bench BodyClass -cpu 1
func BenchmarkScanBodyClass(b *testing.B) {
	s := scanner(b, Options{})
	for _, bc := range bodyClasses {
		body := bc.make(1 << 20)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			start := cpuTime()
			n := 0
			for b.Loop() {
				n++
				if _, err := s.ScanBody(bc.contentType, body); err != nil {
					b.Fatal(err)
				}
			}
			// The machine may be shared: CPU time of this process is the
			// per-core figure the budget is about; MB/s is wall time.
			if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
				b.ReportMetric(float64(n*len(body))/cpu/1e6, "cpuMB/s")
			}
		})
	}
}

// BenchmarkReferenceByteLoop is the speed of this machine for the
// simplest per-byte work (one table lookup per byte): the scanner's figures
// read against it on a shared or slow machine.
func BenchmarkReferenceByteLoop(b *testing.B) {
	buf := randomBytes(1 << 20)
	b.SetBytes(int64(len(buf)))
	n := 0
	for b.Loop() {
		for _, c := range buf {
			if isB64[c] {
				n++
			}
		}
	}
	if n < 0 {
		b.Fatal(n)
	}
}
