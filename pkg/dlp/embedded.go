package dlp

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"unsafe"
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
	n := len(text)
	if c.embed == 0 {
		n = max(n, c.rawLen) // a cut raw text: the whole body's budget
	}
	c.embed++
	defer func() { c.embed-- }()
	if hasWide(text) {
		if w := wideText(text); w != "" {
			s.collect(c, b, part, w)
		}
	}
	budget := embedBudget(n)
	read := func(plain string) bool {
		s.collect(c, b, part, plain)
		return len(c.out) >= maxFindings
	}
	eachInflated(text, &budget, read)
	if l, ok := latin1Stream(text); ok {
		eachInflated(l, &budget, read)
	}
}

// InflatedText is the content of the compressed streams in b (gzip, zlib
// and zip members, as bytes or at the start of a base64 or hex run), one
// stream after another on lines of their own, within embedBudget of b:
// for a reader of a download that is not text (pipelock reads it for
// instructions an archive carries to the agent that unpacks it).
func InflatedText(b []byte) string {
	var out strings.Builder
	budget := embedBudget(len(b))
	// Read in place: b is not kept, and not written while it is read.
	eachInflated(unsafe.String(unsafe.SliceData(b), len(b)), &budget, func(d string) bool { //nolint:gosec // G103: read only, not kept
		out.WriteString(d)
		out.WriteByte('\n')
		return false
	})
	return out.String()
}

var lineUnescape = map[byte]byte{'n': '\n', 'r': '\r', '"': '"', '\\': '\\'}

// latin1Stream is text with each character of U+0080–U+00FF read back as
// the byte it stands for, when text holds a compressed stream so written:
// binary bytes put in a JSON string as characters (Python's
// json.dumps(data.decode("latin-1")) writes \u008b, which the JSON
// reading turns into the character U+008B, two bytes of UTF-8, and
// writes on one line with its line breaks, quotes and backslashes escaped).
func latin1Stream(text string) (string, bool) {
	if !hasLatin1Stream(text) {
		return "", false
	}
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		if (c == 0xc2 || c == 0xc3) && i+1 < len(text) && text[i+1]&0xc0 == 0x80 {
			out = append(out, (c&0x03)<<6|text[i+1]&0x3f)
			i++
			continue
		}
		if c == '\\' && i+1 < len(text) {
			// The JSON reading writes a value on one line: its line
			// breaks, quotes and backslashes escaped.
			if d, ok := lineUnescape[text[i+1]]; ok {
				out = append(out, d)
				i++
				continue
			}
		}
		out = append(out, c)
	}
	return string(out), true
}

// hasLatin1Stream reports whether latin1Stream reads text.
func hasLatin1Stream(text string) bool {
	if strings.IndexByte(text, 0xc2) < 0 && strings.IndexByte(text, 0xc3) < 0 {
		return false // no such character
	}
	return strings.Contains(text, "\x1f\xc2\x8b\x08") || strings.Contains(text, "x\xc2\x9c") || strings.Contains(text, "x\xc3\x9a") ||
		strings.Contains(text, zipMagic) && strings.IndexByte(text, 0xc2) >= 0
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

// hasWide reports whether s holds a NUL byte followed by NULs two bytes
// apart (UTF-16) or four apart (UTF-32), as wide text does and random
// bytes almost never do: wideText's pass is made only then.
func hasWide(s string) bool {
	for i := 0; ; {
		k := strings.IndexByte(s[i:], 0)
		if k < 0 {
			return false
		}
		i += k
		if i+12 < len(s) && (s[i+2] == 0 && s[i+4] == 0 && s[i+6] == 0 || s[i+4] == 0 && s[i+8] == 0 && s[i+12] == 0) {
			return true
		}
		i++
	}
}

// zlibPool keeps zlib readers for reuse: a zlib header is two bytes, so
// random binary holds one in 16 KiB, and a new reader allocates its
// inflater's tables (tens of KiB) each time.
var zlibPool sync.Pool

// pooledZlib is a zlib reader of r, reused when one is free; nil when r
// does not start with a zlib header.
func pooledZlib(r io.Reader) io.ReadCloser {
	if v, ok := zlibPool.Get().(io.ReadCloser); ok {
		if v.(zlib.Resetter).Reset(r, nil) == nil {
			return v
		}
		zlibPool.Put(v)
		return nil
	}
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil
	}
	return zr
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
var b64Starts = []string{"H4sI", "UEsDB", "eAE", "eF4", "eJ", "eN"}

// hexStarts are the same in hex (matched either case).
var hexStarts = []string{"1f8b08", "504b0304", "7801", "785e", "789c", "78da"}

// streamPairs is the set (a bit per pair of bytes, first<<8|second) of the
// first two bytes of every signature streams acts on: a gzip, zip or zlib
// stream's, and the base64 (b64Starts) and hex (hexStarts, either case)
// encodings'. At any other pair streams does nothing.
var streamPairs = func() *[1 << 10]uint64 {
	t := rawPairBits()
	add := func(a, b byte) { addPair(&t, a, b) }
	for _, st := range b64Starts {
		add(st[0], st[1])
	}
	for _, st := range hexStarts {
		for _, a := range []byte{st[0], upperASCII(st[0])} {
			for _, b := range []byte{st[1], upperASCII(st[1])} {
				add(a, b)
			}
		}
	}
	return &t
}()

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// nextStreamPair returns the first k' >= k (k >= 1) where s[k'-1], s[k']
// is a pair of streamPairs, or len(s). Eight pairs are tested at a time,
// their bits ORed without a branch, and only a group with a hit is looked
// at pair by pair: text, base64 and binary all pass at the same speed.
func nextStreamPair(s string, k int) int { return nextPair(s, k, streamPairs) }

// rawStreamPairs is streamPairs of the streams written as bytes only
// (gzip, zip, zlib): streamsIntoCuts follows no encoded stream, and
// binary holds the encoded ones' pairs often.
var rawStreamPairs = func() *[1 << 10]uint64 {
	t := rawPairBits()
	return &t
}()

// rawPairBits is the set of the first two bytes of a gzip, zip or zlib
// stream's signature, a bit per pair.
func rawPairBits() [1 << 10]uint64 {
	var t [1 << 10]uint64
	addPair(&t, gzipMagic[0], gzipMagic[1])
	addPair(&t, zipMagic[0], zipMagic[1])
	for _, b := range []byte{0x01, 0x5e, 0x9c, 0xda} {
		addPair(&t, 'x', b)
	}
	return t
}

// addPair adds the pair a, b to the set t.
func addPair(t *[1 << 10]uint64, a, b byte) {
	p := uint16(a)<<8 | uint16(b)
	t[p>>6] |= 1 << (p & 63)
}

// nextPair is nextStreamPair of the pairs of t.
func nextPair(s string, k int, t *[1 << 10]uint64) int {
	for ; k+8 <= len(s); k += 8 {
		w := s[k-1 : k+8]
		p0 := uint16(w[0])<<8 | uint16(w[1])
		p1 := uint16(w[1])<<8 | uint16(w[2])
		p2 := uint16(w[2])<<8 | uint16(w[3])
		p3 := uint16(w[3])<<8 | uint16(w[4])
		p4 := uint16(w[4])<<8 | uint16(w[5])
		p5 := uint16(w[5])<<8 | uint16(w[6])
		p6 := uint16(w[6])<<8 | uint16(w[7])
		p7 := uint16(w[7])<<8 | uint16(w[8])
		hit := t[p0>>6]>>(p0&63) | t[p1>>6]>>(p1&63) | t[p2>>6]>>(p2&63) | t[p3>>6]>>(p3&63) |
			t[p4>>6]>>(p4&63) | t[p5>>6]>>(p5&63) | t[p6>>6]>>(p6&63) | t[p7>>6]>>(p7&63)
		if hit&1 != 0 {
			break
		}
	}
	for ; k < len(s); k++ {
		if p := uint16(s[k-1])<<8 | uint16(s[k]); t[p>>6]>>(p&63)&1 != 0 {
			return k
		}
	}
	return len(s)
}

// eachInflated calls fn with the inflated content of every compressed
// stream in s (bytes, base64 or hex), while budget lasts.
func eachInflated(s string, budget *int, fn func(string) bool) {
	stop := false
	emit := func(d string) {
		if !stop && len(d) >= minKnownLen {
			stop = fn(d)
		}
	}
	streams(s, true, budget, &stop, emit)
}

// streams inflates every gzip, zlib and zip-deflate stream in s, and
// when encoded, those written in base64 or hex at the start of a run.
func streams(s string, encoded bool, budget *int, stop *bool, emit func(string)) {
	// The loop stops only where a signature's first two bytes are
	// (streamPairs), not at every second byte (base64 holds one every
	// few characters).
	for k := 1; k < len(s) && !*stop && *budget > 0; k++ {
		k = nextStreamPair(s, k)
		if k >= len(s) {
			return
		}
		i := k - 1
		c := s[i]
		rest := s[i:]
		switch {
		case c == 0x1f:
			if strings.HasPrefix(rest, gzipMagic) {
				if zr, err := gzip.NewReader(strings.NewReader(rest)); err == nil {
					zr.Multistream(false)
					emit(inflate(zr, budget))
				}
			}
		case c == 'P':
			// A zip member compressed with deflate (method 8); a stored
			// one is its bytes, read as they are.
			if strings.HasPrefix(rest, zipMagic) && len(rest) >= 30 && binary.LittleEndian.Uint16([]byte(rest[8:10])) == 8 {
				off := 30 + int(binary.LittleEndian.Uint16([]byte(rest[26:28]))) + int(binary.LittleEndian.Uint16([]byte(rest[28:30])))
				if off < len(rest) {
					emit(inflate(flate.NewReader(strings.NewReader(rest[off:])), budget))
				}
			}
		}
		if c == 'x' && len(rest) > 2 {
			// zlib: deflate with a 32 KiB window, and a flag byte of a
			// valid header check without a preset dictionary.
			switch rest[1] {
			case 0x01, 0x5e, 0x9c, 0xda:
				if zr := pooledZlib(strings.NewReader(rest)); zr != nil {
					emit(inflate(zr, budget))
					zlibPool.Put(zr)
				}
			}
		}
		if !encoded {
			continue
		}
		// Encoded: decoded as the inflater reads, so a run that only
		// starts like a stream costs the few bytes read before the
		// inflater gives up, not the run.
		switch c {
		case 'H', 'U', 'e':
			if len(rest) >= 4 && (rest[1] == '4' || rest[1] == 'E' || rest[1] == 'A' || rest[1] == 'F' || rest[1] == 'J' || rest[1] == 'N') &&
				(i == 0 || !b64Char(s[i-1])) && hasAnyPrefix(rest, b64Starts, false) {
				emit(inflate(decompressor(base64.NewDecoder(base64.StdEncoding, &b64Run{s: rest})), budget))
			}
		case '1', '5', '7':
			if len(rest) >= 4 && (rest[1]|0x20 == 'f' || rest[1] == '0' || rest[1] == '8') &&
				(i == 0 || !isHexByte(s[i-1])) && hasAnyPrefix(rest, hexStarts, true) {
				end := 0
				for end < len(rest) && isHexByte(rest[end]) {
					end++
				}
				emit(inflate(decompressor(hex.NewDecoder(strings.NewReader(rest[:end/2*2]))), budget))
				k = i + max(end, 1)
			}
		}
	}
}

// decompressor reads the stream r starts with: gzip, a zip member
// (deflated) or zlib, told by its first bytes; nil when it is none.
func decompressor(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64)
	head, _ := br.Peek(30)
	switch {
	case bytes.HasPrefix(head, []byte(gzipMagic)):
		if zr, err := gzip.NewReader(br); err == nil {
			zr.Multistream(false)
			return zr
		}
	case bytes.HasPrefix(head, []byte(zipMagic)) && len(head) >= 30 && binary.LittleEndian.Uint16(head[8:10]) == 8:
		skip := 30 + int(binary.LittleEndian.Uint16(head[26:28])) + int(binary.LittleEndian.Uint16(head[28:30]))
		if n, _ := br.Discard(skip); n == skip {
			return flate.NewReader(br)
		}
	case len(head) >= 2 && head[0] == 'x' && (head[1] == 0x01 || head[1] == 0x5e || head[1] == 0x9c || head[1] == 0xda):
		if zr, err := zlib.NewReader(br); err == nil {
			return zr
		}
	}
	return nil
}

// b64Run reads the base64 run s starts with, in the standard alphabet:
// the URL alphabet's '-' and '_' mapped, line breaks (raw or written
// "\n" as in a JSON string) and '=' skipped; it ends where the run does.
type b64Run struct {
	s string
	i int
}

func (r *b64Run) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case b64Char(c):
			switch c {
			case '-':
				c = '+'
			case '_':
				c = '/'
			}
			p[n] = c
			n++
		case c == '=' || c == '\r' || c == '\n':
		case c == '\\' && r.i+1 < len(r.s) && (r.s[r.i+1] == 'n' || r.s[r.i+1] == 'r'):
			r.i++
		default:
			r.i = len(r.s)
			continue
		}
		r.i++
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// hasAnyPrefix reports whether s starts with one of ps (ASCII case folded
// when fold).
func hasAnyPrefix(s string, ps []string, fold bool) bool {
	for _, p := range ps {
		if len(s) >= len(p) && (s[:len(p)] == p || fold && strings.EqualFold(s[:len(p)], p)) {
			return true
		}
	}
	return false
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func b64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

// inflate reads r to its end, an error or the budget, and returns what it
// read: a truncated or corrupt stream gives what came before the damage.
// A stream whose first 4 KiB hold no run of text (image pixels, machine
// code) is not read further.
func inflate(r io.Reader, budget *int) string {
	if r == nil {
		return ""
	}
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

// keepStreams returns cuts (spans of a multipart body left out of its raw
// text, cuts[i] inside the data of a part, parts[i]) without those a
// compressed stream read in the body's raw text runs into from outside
// that data: inflated from the whole raw text, such a stream reaches its
// end (its first bytes in one part, a stored block carrying the boundary
// and the next part's headers, the rest in the middle of a large part);
// inflated from the cut text, or from either part's data alone, it stops
// short of it. A stream that lies within a cut part's data is read whole
// by that part's own scan and keeps the cut. Streams are found and
// followed as streams reads raw bytes (where inflate stops reading a
// stream, so does this), a stream written as latin-1 characters keeps
// every cut (latin1Stream, found rarely enough not to be followed).
func keepStreams(body []byte, cuts, parts []cutSpan) []cutSpan {
	drop := make([]bool, len(cuts))
	if streamsIntoCuts(body, cuts, parts, func(int, int) {}, drop) {
		return nil
	}
	kept := cuts[:0:0]
	for i, cut := range cuts {
		if !drop[i] {
			kept = append(kept, cut)
		}
	}
	return kept
}

// StreamsIntoCuts returns where the compressed streams start that the raw
// text of body, uncut, inflates into one of cuts (spans left out of the
// raw text, cuts[i] inside parts[i], the data of a multipart part) from
// outside that part's data (keepStreams); all is true when every cut
// must be kept (a stream written as latin-1 characters, or streams
// inflating past the budget of body). Pipelock reads such a stream again
// from its start.
func StreamsIntoCuts(body []byte, cuts, parts [][2]int) (starts []int, all bool) {
	cs := make([]cutSpan, len(cuts))
	ps := make([]cutSpan, len(parts))
	for i := range cuts {
		cs[i], ps[i] = cutSpan{cuts[i][0], cuts[i][1]}, cutSpan{parts[i][0], parts[i][1]}
	}
	all = streamsIntoCuts(body, cs, ps, func(p, _ int) { starts = append(starts, p) }, nil)
	return starts, all
}

// streamsIntoCuts calls fn with the start and end of each stream of body
// that runs into one of cuts from outside the data of its part, and,
// when drop is not nil, sets drop[i] for each cut such a stream reads
// into. It returns true when every cut must be kept.
func streamsIntoCuts(body []byte, cuts, parts []cutSpan, fn func(p, end int), drop []bool) bool {
	if len(cuts) == 0 {
		return false
	}
	s := unsafe.String(unsafe.SliceData(body), len(body)) //nolint:gosec // G103: read only, not kept
	if hasLatin1Stream(s) {
		return true
	}
	last := cuts[len(cuts)-1].hi
	budget := embedBudget(len(s))
	for k := 1; k < last && budget > 0; k++ {
		k = nextPair(s, k, rawStreamPairs)
		if k >= last {
			break
		}
		p := k - 1
		end := rawStreamEnd(s, p, &budget)
		if end <= p+1 {
			continue
		}
		inside, into := false, false
		for _, d := range parts {
			if d.lo <= p && end <= d.hi {
				inside = true
				break
			}
		}
		if inside {
			continue
		}
		for i, cut := range cuts {
			if cut.lo < end && p < cut.hi {
				into = true
				if drop != nil {
					drop[i] = true
				}
			}
		}
		if into {
			fn(p, end)
		}
	}
	return budget <= 0 // not followed to the end: keep every cut
}

// rawStreamEnd returns where the raw stream streams inflates from s[p]
// (a gzip, zip-deflate or zlib signature) stops being read: its end, the
// byte its damage is found at, where inflate gives up on a stream that
// holds no text, or len(s) when it runs to the end of s. It returns p
// when no stream starts there.
func rawStreamEnd(s string, p int, budget *int) int {
	rest := s[p:]
	src := strings.NewReader(rest) // a ByteReader: the inflaters read no further than they need
	var zr io.Reader
	switch c := rest[0]; {
	case c == 0x1f && strings.HasPrefix(rest, gzipMagic):
		if r, err := gzip.NewReader(src); err == nil {
			r.Multistream(false)
			zr = r
		}
	case c == 'P' && strings.HasPrefix(rest, zipMagic) && len(rest) >= 30 && binary.LittleEndian.Uint16([]byte(rest[8:10])) == 8:
		off := 30 + int(binary.LittleEndian.Uint16([]byte(rest[26:28]))) + int(binary.LittleEndian.Uint16([]byte(rest[28:30])))
		if off < len(rest) {
			src = strings.NewReader(rest[off:])
			zr = flate.NewReader(src)
			p += off
		}
	}
	end := p
	if zr != nil {
		end = max(end, p+streamRead(zr, src, budget))
	}
	if rest[0] == 'x' && len(rest) > 2 {
		switch rest[1] {
		case 0x01, 0x5e, 0x9c, 0xda:
			src := strings.NewReader(rest)
			if r := pooledZlib(src); r != nil {
				end = max(end, p+streamRead(r, src, budget))
				zlibPool.Put(r)
			}
		}
	}
	return end
}

// streamRead reads r (inflating src) as inflate does, keeping none of it,
// and returns how much of src it read; all of src when r wanted more.
func streamRead(r io.Reader, src *strings.Reader, budget *int) int {
	var head []byte
	buf := make([]byte, 4<<10)
	for *budget > 0 {
		n, err := r.Read(buf[:min(len(buf), *budget)])
		*budget -= n
		if len(head) < len(buf) {
			head = append(head, buf[:n]...)
			if len(head) >= len(buf) && !holdsText(head) {
				break
			}
		}
		if err == io.ErrUnexpectedEOF {
			return int(src.Size())
		}
		if err != nil {
			break
		}
	}
	if *budget <= 0 {
		return int(src.Size())
	}
	return int(src.Size()) - src.Len()
}
