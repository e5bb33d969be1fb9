package pipelock

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// stringsViewRef is the first stringsView, kept verbatim: a plain pass
// per reading (UTF-8, then UTF-16 in each byte order at each alignment).
// stringsView must give the same text.
func stringsViewRef(w []byte, _ int64) string {
	var b strings.Builder
	runs := func(emit func(lo, hi int)) {
		start, n := -1, 0
		for i := 0; i < len(w); {
			r, size := rune(w[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRune(w[i:])
			}
			if printable(r) && !(r == utf8.RuneError && size == 1) {
				if start < 0 {
					start, n = i, 0
				}
				n++
			} else {
				if start >= 0 && n >= minRun {
					emit(start, i)
				}
				start = -1
			}
			i += size
		}
		if start >= 0 && n >= minRun {
			emit(start, len(w))
		}
	}
	runs(func(lo, hi int) { b.Write(w[lo:hi]); b.WriteByte('\n') })
	for _, big := range []bool{false, true} {
		for align := 0; align < 2; align++ {
			start, n := -1, 0
			flush := func(i int) {
				if start >= 0 && n >= minRun {
					for j := start; j < i; j += 2 {
						if big {
							b.WriteByte(w[j+1])
						} else {
							b.WriteByte(w[j])
						}
					}
					b.WriteByte('\n')
				}
				start = -1
			}
			i := align
			for ; i+2 <= len(w); i += 2 {
				c, z := w[i], w[i+1]
				if big {
					c, z = z, c
				}
				if z == 0 && c < utf8.RuneSelf && printable(rune(c)) {
					if start < 0 {
						start, n = i, 0
					}
					n++
					continue
				}
				flush(i)
			}
			flush(i)
		}
	}
	return b.String()
}

func TestStringsViewMatchesReference(t *testing.T) {
	for _, in := range []string{
		"", "short", "exactly six", "\x00\x01binary\x00 then text here\xff\xfe",
		string(utf16Bytes("wide little endian text", false, true)),
		string(utf16Bytes("wide big endian text", true, true)),
		"x" + string(utf16Bytes("odd aligned wide text", false, false)),
		"caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9e \xe2\x80\x8b\xf0\x9f\x98\x80 ok",
		"\xc0\x80\xc1\xbf\xed\xa0\x80\xf4\x90\x80\x80\xf5 invalid sequences mixed in",
		"a\x00b\x00c\x00d\x00e\x00f\x00\x00\x00g\x00h\x00i\x00j\x00k\x00l\x00m\x00",
		"\x00a\x00b\x00c\x00d\x00e\x00f\x00g",
	} {
		if got, want := stringsView([]byte(in), 0), stringsViewRef([]byte(in), 0); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func FuzzStringsViewMatchesReference(f *testing.F) {
	f.Add([]byte("\x00\x01binary\x00 then text here\xff\xfe"))
	f.Add(utf16Bytes("wide little endian text", false, true))
	f.Add(append([]byte("x"), utf16Bytes("odd aligned wide text", true, false)...))
	f.Add([]byte("caf\xc3\xa9 cr\xc3\xa8me \xf0\x9f\x98\x80 \xed\xa0\x80 ok"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if got, want := stringsView(in, 0), stringsViewRef(in, 0); got != want {
			t.Fatalf("%q: got %q, want %q", in, got, want)
		}
	})
}

func TestUTF7(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"1 +- 1":                 "1 + 1",
		"caf+AOk-":               "café",
		"+AEkAZwBu-ore":          "Ignore",
		"+AEk-+AGc- x":           "Ig x",
		"+AEkAZw.":               "Ig.",
		"+2D3eAA-":               "😀",
		"end+":                   "end",
		"+AEk-+AGc-+AG4-+AG8-re": "Ignore",
	} {
		if got := utf7([]byte(in)); got != want {
			t.Errorf("utf7(%q) = %q, want %q", in, got, want)
		}
	}
}
