package dlp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"strings"
)

// Embedded readings: text a part carries in a form the readings of
// decode.go do not undo, because it is not an encoding of characters but
// a file format an agent uploads every day.
//
//   - Wide text: UTF-16 (either byte order) or UTF-32 bytes, as iconv or
//     PowerShell write a file (`iconv -t UTF-16LE .env | curl --data-binary @-`):
//     the runs of printable ASCII interleaved with NUL bytes, NULs dropped.
//   - Compressed streams: gzip (`tar czf - ~/.ssh | base64`), zlib (git
//     objects, a git pack posted over HTTP, PDF streams) and the deflated
//     members of a zip file, found by their headers in the bytes as they
//     are, or at the start of a base64 or hex run that encodes them
//     (`H4sI…`, `UEsDB…`, `eJ…`, `1f8b08…`): inflated and read again by
//     every rule and reading.
//
// What is inflated per part is bounded (embedBudget): a part's readings
// stay linear in its size. Past the bound the rest of a stream is not
// read.

// maxEmbedDepth is how many embedded layers are read inside one another
// (a tar in a gzip in base64 is one: the tar's files are its bytes).
const maxEmbedDepth = 2

// embedBudget is how many inflated bytes one part's scan may read: eight
// times its size (source code compresses four to six times) plus 1 MiB.
func embedBudget(n int) int { return 8*n + 1<<20 }

// collectEmbedded reads text's wide text and compressed streams with
// collect, within the embedded depth and budget.
func (s *Scanner) collectEmbedded(c *collector, b *batch, part, text string) {
	if c.embed >= maxEmbedDepth || len(c.out) >= maxFindings {
		return
	}
	c.embed++
	defer func() { c.embed-- }()
	if strings.IndexByte(text, 0) >= 0 {
		if w := wideText(text); w != "" {
			s.collect(c, b, part, w)
		}
	}
	budget := embedBudget(len(text))
	eachInflated(text, &budget, func(plain string) bool {
		s.collect(c, b, part, plain)
		return len(c.out) >= maxFindings
	})
}

// wideText returns the runs of s that hold printable ASCII interleaved
// with NUL bytes (a quarter of the run NULs or more, 8 printable bytes or
// more), NULs dropped, one per line: UTF-16 and UTF-32 text of ASCII
// characters, in either byte order.
func wideText(s string) string {
	var b strings.Builder
	eachRun(s, printableOrNUL, 2*minDecodedIsland, func(run string) bool {
		nul := strings.Count(run, "\x00")
		if nul*4 >= len(run) && len(run)-nul >= minDecodedIsland {
			b.WriteString(strings.ReplaceAll(run, "\x00", ""))
			b.WriteByte('\n')
		}
		return false
	})
	return b.String()
}

// Signatures of compressed streams, as bytes and at the start of their
// base64 and hex encodings.
const (
	gzipMagic = "\x1f\x8b\x08"
	zipMagic  = "PK\x03\x04"
)

// b64Starts are the base64 encodings of the first bytes of a gzip stream,
// a zip file and a zlib stream of each compression level ('x' then 0x01,
// 0x5e, 0x9c or 0xda).
var b64Starts = []string{"H4sI", "UEsDB", "eAE", "eF4", "eJ", "eNo", "eNr", "eNp", "eNq"}

// hexStarts are the same in hex (either case, matched lower-cased).
var hexStarts = []string{"1f8b08", "504b0304", "7801", "785e", "789c", "78da"}

// eachInflated calls fn with the inflated content of every compressed
// stream in s (bytes, base64 or hex), while budget lasts.
func eachInflated(s string, budget *int, fn func(string) bool) {
	stop := false
	emit := func(d string) {
		if !stop && len(d) >= minKnownLen {
			stop = fn(d)
		}
	}
	rawStreams(s, budget, emit)
	for _, p := range b64Starts {
		for i := 0; !stop && *budget > 0; {
			k := strings.Index(s[i:], p)
			if k < 0 {
				break
			}
			at := i + k
			i = at + len(p)
			if at > 0 && b64Char(s[at-1]) {
				continue // not the start of a run
			}
			if d := decodeB64Stream(s[at:], budget); d != "" {
				rawStreams(d, budget, emit)
			}
		}
	}
	if stop {
		return
	}
	for _, p := range hexStarts {
		for _, q := range []string{p, strings.ToUpper(p)} {
			for i := 0; !stop && *budget > 0; {
				k := strings.Index(s[i:], q)
				if k < 0 {
					break
				}
				at := i + k
				end := at
				for end < len(s) && isHexByte(s[end]) {
					end++
				}
				i = max(end, at+1)
				if at > 0 && isHexByte(s[at-1]) {
					continue // not the start of a run
				}
				n := min((end-at)/2, *budget)
				d, err := hex.DecodeString(s[at : at+2*n])
				if err == nil {
					*budget -= len(d)
					rawStreams(string(d), budget, emit)
				}
			}
		}
	}
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func b64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

// decodeB64Stream decodes the base64 run s starts with (either alphabet,
// wrapped lines and '=' padding skipped), at most budget bytes of it.
func decodeB64Stream(s string, budget *int) string {
	var run []byte
	for i := 0; i < len(s) && len(run)/4*3 < *budget; i++ {
		c := s[i]
		switch {
		case b64Char(c):
			switch c {
			case '-':
				c = '+'
			case '_':
				c = '/'
			}
			run = append(run, c)
		case c == '=' || c == '\r' || c == '\n':
		case c == '\\' && i+1 < len(s) && (s[i+1] == 'n' || s[i+1] == 'r'):
			i++ // a wrapped run written in a JSON or shell string
		default:
			i = len(s)
		}
	}
	run = run[:len(run)/4*4]
	d := make([]byte, base64.StdEncoding.DecodedLen(len(run)))
	n, err := base64.StdEncoding.Decode(d, run)
	if err != nil {
		return ""
	}
	*budget -= n
	return string(d[:n])
}

// rawStreams inflates every gzip, zlib and zip-deflate stream in s.
func rawStreams(s string, budget *int, emit func(string)) {
	// gzip: its header, then raw deflate.
	for i := 0; *budget > 0; {
		k := strings.Index(s[i:], gzipMagic)
		if k < 0 {
			break
		}
		at := i + k
		i = at + 1
		if zr, err := gzip.NewReader(strings.NewReader(s[at:])); err == nil {
			zr.Multistream(false)
			emit(inflate(zr, budget))
		}
	}
	// zip members compressed with deflate (method 8); stored ones are
	// their bytes and read as they are.
	for i := 0; *budget > 0; {
		k := strings.Index(s[i:], zipMagic)
		if k < 0 {
			break
		}
		at := i + k
		i = at + 1
		h := s[at:]
		if len(h) < 30 || binary.LittleEndian.Uint16([]byte(h[8:10])) != 8 {
			continue
		}
		off := 30 + int(binary.LittleEndian.Uint16([]byte(h[26:28]))) + int(binary.LittleEndian.Uint16([]byte(h[28:30])))
		if off < len(h) {
			emit(inflate(flate.NewReader(strings.NewReader(h[off:])), budget))
		}
	}
	// zlib: 'x' (deflate, 32 KiB window) and a flag byte of a valid
	// header check without a preset dictionary.
	for i := 0; *budget > 0; {
		k := strings.IndexByte(s[i:], 'x')
		if k < 0 {
			break
		}
		at := i + k
		i = at + 1
		if at+2 >= len(s) {
			break
		}
		switch s[at+1] {
		case 0x01, 0x5e, 0x9c, 0xda:
		default:
			continue
		}
		if zr, err := zlib.NewReader(strings.NewReader(s[at:])); err == nil {
			emit(inflate(zr, budget))
		}
	}
}

// inflate reads r to its end, an error or the budget, and returns what it
// read: a truncated or corrupt stream gives what came before the damage.
// A stream whose first 4 KiB hold no run of text (image pixels, machine
// code) is not read further.
func inflate(r io.Reader, budget *int) string {
	var out bytes.Buffer
	buf := make([]byte, 4<<10)
	for *budget > 0 {
		n, err := r.Read(buf[:min(len(buf), *budget)])
		out.Write(buf[:n])
		*budget -= n
		if out.Len() >= len(buf) && out.Len()-n < len(buf) && !holdsText(out.Bytes()) {
			return ""
		}
		if err != nil {
			break
		}
	}
	if c, ok := r.(io.Closer); ok {
		_ = c.Close()
	}
	return out.String()
}
