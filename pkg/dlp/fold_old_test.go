package dlp

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
	"gotest.tools/v3/assert"
)

// oldFoldUnicode is foldUnicode as it was before text that is not valid
// UTF-8 was folded a valid stretch at a time: the reference it is held to.
func oldFoldUnicode(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if invisible(r) {
			continue
		}
		if c, ok := confusables[r]; ok {
			r = c
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldCases put what NFKC composes, decomposes or reorders (combining
// marks, Hangul jamo, fullwidth and compatibility forms, invisibles,
// confusables) next to bytes that start no valid sequence, truncated
// sequences and U+FFFD itself.
var foldCases = []string{
	"",
	"plain ascii",
	"\xff",
	"e\u0301",
	"e\xff\u0301",
	"\u0301\xff",
	"\u1100\xff\u1161",
	"\u1100\u1161\xff\u11a8",
	"a\u0323\xff\u0307",
	"a\u0307\u0323\xfe",
	"ｇｈｐ＿\xc0ＡＢＣ",
	"\xe2\x82ｇ\xe2",
	"\xf0\x9f\x98",
	"\ufffd\xff\ufffd",
	"\u200bsecret\xff\u200d",
	"раураl\x80key",
	"ﬁ\xffﬀ\u2460\x81\u00bd",
	"\xed\xa0\x80\u0301",
	"A\u030a\xc3\xc5",
	"\u0041\u0308\u0304\xff\u0308",
	"\u0f73\xff\u0f75\u0f81",
	"\u3099\xff\u304b\u3099",
}

func TestFoldUnicodeMatchesOld(t *testing.T) {
	for _, c := range foldCases {
		assert.Equal(t, foldUnicode(c), oldFoldUnicode(c), "%q", c)
	}
	// Every pair and triple of the cases, glued: each boundary case meets
	// every other.
	for _, a := range foldCases {
		for _, b := range foldCases {
			assert.Equal(t, foldUnicode(a+b), oldFoldUnicode(a+b), "%q", a+b)
			for _, c := range foldCases[:8] {
				assert.Equal(t, foldUnicode(a+b+c), oldFoldUnicode(a+b+c), "%q", a+b+c)
			}
		}
	}
	for seed := range uint64(8) {
		noise := string(rtNoise(seed, 16<<10))
		assert.Assert(t, foldUnicode(noise) == oldFoldUnicode(noise), "noise %d", seed)
		mixed := noise[:5000] + "ｇｈｐ＿ＡＢＣ\u0301" + noise[5000:9000] + "e\u0301\u1100\u1161" + noise[9000:]
		assert.Assert(t, foldUnicode(mixed) == oldFoldUnicode(mixed), "mixed %d", seed)
	}
}

// FuzzFoldUnicodeMatchesOld: go test ./pkg/dlp -run '^$' -fuzz FuzzFoldUnicodeMatchesOld
func FuzzFoldUnicodeMatchesOld(f *testing.F) {
	for _, c := range foldCases {
		f.Add(c)
	}
	f.Add(string(rtNoise(1, 300)))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := foldUnicode(s), oldFoldUnicode(s); got != want {
			t.Fatalf("foldUnicode(%q) = %q, was %q", s, got, want)
		}
	})
}

// TestFoldTablesHaveNoASCII: appendFolded writes ASCII as it is.
func TestFoldTablesHaveNoASCII(t *testing.T) {
	for r := range rune(0x80) {
		_, ok := confusables[r]
		assert.Assert(t, !ok && !invisible(r), "%q", r)
	}
}
