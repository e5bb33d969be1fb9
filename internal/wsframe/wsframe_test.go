package wsframe

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{'x'}, n)
		for _, mask := range []bool{false, true} {
			f := Frame(true, OpBinary, false, mask, payload)
			h, raw, err := ReadHeader(bufio.NewReader(bytes.NewReader(f)))
			assert.NilError(t, err)
			assert.Equal(t, h.Length, uint64(n))
			assert.Equal(t, h.Masked, mask)
			got := append([]byte{}, f[len(raw):]...)
			if mask {
				MaskBytes(h.Mask, 0, got)
			}
			assert.DeepEqual(t, got, payload)
		}
	}
}

func TestReadHeaderRefuses(t *testing.T) {
	cases := map[string][]byte{
		"non-minimal 16-bit length": {0x82, 126, 0x00, 0x05},
		"non-minimal 64-bit length": {0x82, 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00},
		"top bit of 64-bit length":  {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0},
		"fragmented ping":           {0x09, 0x00},
		"long close":                {0x88, 126, 0x00, 0x80},
		"reserved opcode":           {0x83, 0x00},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := ReadHeader(bufio.NewReader(bytes.NewReader(b)))
			assert.ErrorIs(t, err, ErrProtocol)
		})
	}
}

func TestInflateContextTakeover(t *testing.T) {
	d := &Deflater{Takeover: true}
	in := NewInflater(Deflate{})
	msgs := []string{strings.Repeat("abc", 100), strings.Repeat("abc", 100) + "tail", "x"}
	for _, m := range msgs {
		got, err := in.Inflate(d.Deflate([]byte(m)), 1<<20)
		assert.NilError(t, err)
		assert.Equal(t, string(got), m)
	}
	// Without the window the second message would not decode to itself.
	fresh := NewInflater(Deflate{ClientNoContextTakeover: true})
	d2 := &Deflater{Takeover: true}
	_ = d2.Deflate([]byte(msgs[0]))
	got, err := fresh.Inflate(d2.Deflate([]byte(msgs[1])), 1<<20)
	assert.Assert(t, err != nil || string(got) != msgs[1])
}

func TestInflateBomb(t *testing.T) {
	c := (&Deflater{}).Deflate(make([]byte, 10<<20))
	_, err := NewInflater(Deflate{}).Inflate(c, 1<<20)
	assert.ErrorIs(t, err, ErrTooBig)
}

func TestParseExtensions(t *testing.T) {
	d, err := ParseExtensions([]string{"permessage-deflate; client_no_context_takeover; server_max_window_bits=10"})
	assert.NilError(t, err)
	assert.Assert(t, d.ClientNoContextTakeover)
	for _, bad := range []string{"x-webkit-deflate-frame", "permessage-deflate, permessage-deflate", "permessage-deflate; foo=1"} {
		_, err := ParseExtensions([]string{bad})
		assert.Assert(t, err != nil, bad)
	}
	assert.Equal(t, FilterOffer([]string{"foo, permessage-deflate; client_max_window_bits", "bar"}), "permessage-deflate; client_max_window_bits")
}

func TestClosePayloadFits(t *testing.T) {
	p := ClosePayload(1008, strings.Repeat("é", 200))
	assert.Assert(t, len(p) <= MaxControlPayload)
	_, r := ParseClose(p)
	assert.Assert(t, strings.ToValidUTF8(r, "?") == r)
}

func FuzzReadHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, raw, err := ReadHeader(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		assert.DeepEqual(t, AppendHeader(nil, h), raw)
	})
}

func FuzzInflate(f *testing.F) {
	f.Add((&Deflater{}).Deflate([]byte("hello hello hello")))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := NewInflater(Deflate{}).Inflate(b, 1<<16)
		if err == nil {
			assert.Assert(t, len(out) <= 1<<16)
		}
	})
}
