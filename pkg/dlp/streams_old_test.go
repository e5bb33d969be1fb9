package dlp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// embedStart marks the bytes a signature starts with: one table lookup a
// byte finds every candidate in one pass.
var embedStart = func() (t [256]bool) {
	for _, c := range []byte{0x1f, 'P', 'x', 'H', 'U', 'e', '1', '5', '7'} {
		t[c] = true
	}
	return t
}()

// embedSecond marks the bytes a signature's second byte is.
var embedSecond = func() (t [256]bool) {
	for _, c := range []byte{0x8b, 'K', 0x01, 0x5e, 0x9c, 0xda, '4', 'E', 'A', 'F', 'J', 'N', 'f', '0', '8'} {
		t[c] = true
	}
	return t
}()

// oldStreams is streams as it was before its candidates were found by
// pairs of bytes (streamPairs): the reference streams is held to. It
// inflates every gzip, zlib and zip-deflate stream in s, and
// when encoded, those written in base64 or hex at the start of a run.
func oldStreams(s string, encoded bool, budget *int, stop *bool, emit func(string)) {
	// The loop stops at the second byte of a signature (rarer in text
	// than the first: 'e' is one letter in ten of English).
	for k := 1; k < len(s) && !*stop && *budget > 0; k++ {
		for k < len(s) && !embedSecond[s[k]] {
			k++
		}
		if k >= len(s) {
			return
		}
		i := k - 1
		c := s[i]
		if !embedStart[c] {
			continue
		}
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

// streamsOf returns what streams (or oldStreams) emits on s, in order,
// and the budget left.
func streamsOf(s string, old bool) ([]string, int) {
	var out []string
	budget := embedBudget(len(s))
	stop := false
	emit := func(d string) { out = append(out, d) }
	if old {
		oldStreams(s, true, &budget, &stop, emit)
	} else {
		streams(s, true, &budget, &stop, emit)
	}
	return out, budget
}

func checkStreams(t *testing.T, s string) {
	t.Helper()
	got, gb := streamsOf(s, false)
	want, wb := streamsOf(s, true)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	assert.Assert(t, bytes.Equal(g, w) && gb == wb, "streams differ on %q", s)
}

// TestStreamPairsMatchOld: streams finds every stream the old one did,
// in every form, glued to text, in base64 runs, upper- and lower-case
// hex, on random bytes and base64 noise.
func TestStreamPairsMatchOld(t *testing.T) {
	env := []byte("VALUE=" + rtCanary + "\n")
	z := rt6Zlib(env)
	var zipped bytes.Buffer
	fw, _ := flate.NewWriter(&zipped, 5)
	_, _ = fw.Write(env)
	_ = fw.Close()
	var gzb bytes.Buffer
	gw := gzip.NewWriter(&gzb)
	_, _ = gw.Write(env)
	_ = gw.Close()
	forms := []string{
		string(rt6Gzip(env)), string(z), string(rt6Zip(".env", env, 8)),
		base64.StdEncoding.EncodeToString(rt6Gzip(env)), base64.StdEncoding.EncodeToString(z),
		base64.URLEncoding.EncodeToString(rt6Zip("a", env, 8)),
		hex.EncodeToString(z), strings.ToUpper(hex.EncodeToString(rt6Gzip(env))),
		hex.EncodeToString(rt6Zip("b", env, 8)), gzb.String(),
	}
	n := 0
	for i, f := range forms {
		for _, glue := range []string{"", " ", "x", "=", "\n", "A"} {
			for _, noise := range []string{string(rtNoise(uint64(i), 300)), base64.StdEncoding.EncodeToString(rtNoise(uint64(i)+1, 300))} {
				checkStreams(t, f)
				checkStreams(t, noise+glue+f+glue+noise)
				got, _ := streamsOf(glue+f, false)
				n += len(got)
			}
		}
	}
	assert.Assert(t, n > 50, "only %d streams found: the comparison means little", n)
	for seed := range uint64(20) {
		checkStreams(t, string(rtNoise(seed, 64<<10)))
		checkStreams(t, base64.StdEncoding.EncodeToString(rtNoise(seed, 48<<10)))
		checkStreams(t, hex.EncodeToString(rtNoise(seed, 32<<10)))
	}
}

// FuzzStreamsMatchOld: go test ./pkg/dlp -run '^$' -fuzz FuzzStreamsMatchOld
func FuzzStreamsMatchOld(f *testing.F) {
	env := []byte("VALUE=" + rtCanary + "\n")
	f.Add(string(rt6Gzip(env)))
	f.Add(base64.StdEncoding.EncodeToString(rt6Gzip(env)))
	f.Add(hex.EncodeToString(rt6Zlib(env)))
	f.Add("1F8B08" + strings.ToUpper(hex.EncodeToString(rt6Gzip(env))[6:]))
	f.Add(string(rt6Zip(".env", env, 8)))
	f.Add("x\x9c" + string(rtNoise(64, 200)))
	f.Fuzz(func(t *testing.T, s string) {
		checkStreams(t, s)
	})
}
