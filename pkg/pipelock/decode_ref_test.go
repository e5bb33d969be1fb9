package pipelock

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	stdzlib "compress/zlib"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// stdDecoderStream is decoderStream as it was with the standard library's
// gzip, zlib and flate decoders: the reference the faster ones are held to.
func stdDecoderStream(coding string, r io.Reader) (io.Reader, error) {
	switch coding {
	case "gzip", "x-gzip":
		return stdgzip.NewReader(r)
	case "zlib":
		return stdzlib.NewReader(r)
	case "flate":
		return stdflate.NewReader(r), nil
	}
	return decoderStream(coding, r)
}

// decodeAll undoes coding on data with dec, reading at most limit bytes
// of the decoding; ok: it decoded without error.
func decodeAll(dec func(string, io.Reader) (io.Reader, error), coding string, data []byte, limit int64) ([]byte, bool) {
	r, err := dec(coding, bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	out, err := io.ReadAll(io.LimitReader(r, limit))
	return out, err == nil || errors.Is(err, io.EOF)
}

// sameDecoding fails when the two decoders disagree on data: one refuses
// what the other reads, or they read different bytes.
func sameDecoding(t testing.TB, coding string, data []byte) {
	t.Helper()
	sameDecodingTo(t, coding, data, 4<<20)
}

// sameDecodingTo is sameDecoding on the first limit bytes of the decodings.
func sameDecodingTo(t testing.TB, coding string, data []byte, limit int64) {
	t.Helper()
	want, wantOK := decodeAll(stdDecoderStream, coding, data, limit)
	got, gotOK := decodeAll(decoderStream, coding, data, limit)
	if wantOK && !gotOK && (coding == "gzip" || coding == "x-gzip") && len(data) > 3 && data[3]&0xe0 != 0 {
		// A reserved flag bit of the gzip header set: RFC 1952 has a
		// decoder refuse the stream, as klauspost's does; the standard
		// library ignores the bit. Refused, the body is never forwarded.
		return
	}
	if wantOK != gotOK {
		t.Fatalf("%s on %d bytes: stdlib ok=%v, decoderStream ok=%v", coding, len(data), wantOK, gotOK)
	}
	if wantOK && !bytes.Equal(want, got) {
		t.Fatalf("%s on %d bytes: the decodings differ (%d vs %d bytes)", coding, len(data), len(want), len(got))
	}
}

// encodings of plain by every coding decoderStream reads with a decoder
// that replaced the standard library's, at several levels.
func encodings(t testing.TB, plain []byte) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, level := range []int{stdflate.NoCompression, stdflate.BestSpeed, stdflate.DefaultCompression, stdflate.BestCompression, stdflate.HuffmanOnly} {
		var g, z, f bytes.Buffer
		gw, _ := stdgzip.NewWriterLevel(&g, level)
		zw, _ := stdzlib.NewWriterLevel(&z, level)
		fw, _ := stdflate.NewWriter(&f, level)
		for _, w := range []io.WriteCloser{gw, zw, fw} {
			_, _ = w.Write(plain)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		out["gzip"] = append(out["gzip"], g.Bytes())
		out["zlib"] = append(out["zlib"], z.Bytes())
		out["flate"] = append(out["flate"], f.Bytes())
	}
	return out
}

// The faster decoders read what the standard library's read and refuse
// what they refuse: every body class and a secret, at every level, whole,
// cut short, with a byte flipped, with bytes after the stream, as two
// gzip members, and as an empty stream.
func TestDecoderStreamMatchesStdlib(t *testing.T) {
	var plains [][]byte
	for _, class := range benchload.BodyClasses {
		_, ce, body, err := benchload.ClassBody(class, 256<<10)
		if err != nil {
			t.Fatal(err)
		}
		if ce != "" {
			continue // already compressed: its bytes are read as they are
		}
		plains = append(plains, body)
	}
	plains = append(plains, []byte{}, []byte("token="+secrets["GENERIC"]), bytes.Repeat([]byte("a"), 1<<20))
	r := rand.New(rand.NewPCG(3, 4))
	for _, plain := range plains {
		encs := encodings(t, plain)
		for _, coding := range []string{"gzip", "zlib", "flate"} { // in order: the flips below are drawn from one seed
			for _, enc := range encs[coding] {
				sameDecoding(t, coding, enc)
				sameDecoding(t, coding, enc[:len(enc)/2])
				sameDecoding(t, coding, enc[:max(0, len(enc)-1)])
				sameDecoding(t, coding, append(append([]byte{}, enc...), "trailing"...))
				sameDecoding(t, coding, append(append([]byte{}, enc...), enc...))
				for range 8 {
					bad := append([]byte{}, enc...)
					if len(bad) > 0 {
						bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
					}
					sameDecoding(t, coding, bad)
				}
			}
		}
	}
	for _, coding := range []string{"gzip", "zlib", "flate"} {
		sameDecoding(t, coding, nil)
		sameDecoding(t, coding, []byte{0x1f, 0x8b})
	}
}

// FuzzDecoderStreamMatchesStdlib: on any bytes, under any coding, the
// faster decoders decode what the standard library's decode, byte for
// byte, and refuse what they refuse.
// Run: go test ./pkg/pipelock -run '^$' -fuzz FuzzDecoderStreamMatchesStdlib -fuzztime 60s
func FuzzDecoderStreamMatchesStdlib(f *testing.F) {
	for _, plain := range [][]byte{[]byte("hello, world"), []byte("token=" + secrets["GENERIC"]), bytes.Repeat([]byte("ab"), 5000)} {
		for coding, encs := range encodings(f, plain) {
			for _, enc := range encs {
				f.Add(coding == "gzip", coding == "zlib", enc)
			}
		}
	}
	f.Fuzz(func(t *testing.T, gz, zl bool, data []byte) {
		coding := "flate"
		switch {
		case gz:
			coding = "gzip"
		case zl:
			coding = "zlib"
		}
		// A bounded decoding: the fuzzer's inputs may be bombs.
		sameDecodingTo(t, coding, data, 256<<10)
		if gz {
			// The body read as every coding.
			sameDecodingTo(t, "zlib", data, 256<<10)
			sameDecodingTo(t, "flate", data, 256<<10)
		}
	})
}

// BenchmarkDecoderStream decodes the gzip class's 10 MiB body with the
// standard library's decoder and with decoderStream's.
// Run: go test ./pkg/pipelock -run '^$' -bench DecoderStream -cpu 1
func BenchmarkDecoderStream(b *testing.B) {
	_, _, body, err := benchload.ClassBody("gzip", 10<<20)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []struct {
		name string
		dec  func(string, io.Reader) (io.Reader, error)
	}{{"stdlib", stdDecoderStream}, {"decoderStream", decoderStream}} {
		b.Run(d.name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				r, err := d.dec("gzip", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				n, _ = io.Copy(io.Discard, r)
			}
			b.SetBytes(n)
		})
	}
}
