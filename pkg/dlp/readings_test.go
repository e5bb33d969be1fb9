package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func utf16Of(s string, bigEndian bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if bigEndian {
			b.WriteByte(0)
			b.WriteByte(s[i])
		} else {
			b.WriteByte(s[i])
			b.WriteByte(0)
		}
	}
	return b.String()
}

func TestUTF16Runs(t *testing.T) {
	const secret = "k = ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg"
	for _, be := range []bool{false, true} {
		in := strings.Repeat("plain ascii line\n", 20) + utf16Of(secret, be) + "\xff\xfe tail"
		// Each byte order is read at both alignments: the runs hold the
		// whole secret once.
		assert.Check(t, is.Contains(UTF16Runs(in), secret+"\n"), "big-endian %v", be)
	}
	// Short UTF-16 runs (a few characters in a binary header) are not text.
	assert.Check(t, is.Equal(UTF16Runs("ab"+utf16Of("short", false)+"\x00\x01"), ""))
	assert.Check(t, is.Equal(UTF16Runs(""), ""))
	assert.Check(t, is.Equal(UTF16Runs(strings.Repeat("\x00", 100)), ""))
	// Linear: a long alternating input is read once per alignment.
	long := utf16Of(strings.Repeat("abcdefgh", 1<<14), false)
	assert.Check(t, len(UTF16Runs(long)) <= 2*(8<<14+1))
}

// TestDecodedBinaryTail: a secret encoded together with binary bytes
// decodes to a reading that is not mostly text; its printable runs are read.
func TestDecodedBinaryTail(t *testing.T) {
	s, err := New(Options{NoGitleaks: true})
	assert.NilError(t, err)
	tail := string(bytes.Repeat([]byte{0xff, 0x01, 0x80, 0x7f}, 30))
	for name, tok := range map[string]string{"aws": "AKIAQ7R2XNPLW3JKD5VT", "github": "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg"} {
		for form, enc := range map[string]string{
			"base64":      base64.StdEncoding.EncodeToString([]byte(tok + tail)),
			"hex":         hex.EncodeToString([]byte(tok + " " + tail)),
			"b64-utf16be": base64.RawStdEncoding.EncodeToString([]byte(utf16Of(tok, true))),
			"b64-utf16le": base64.RawStdEncoding.EncodeToString([]byte(utf16Of(tok, false) + tail)),
		} {
			assert.Check(t, len(s.Scan("body", "data: "+enc+"\n")) > 0, "%s as %s passed", name, form)
		}
	}
	// Binary noise decoded from ordinary identifiers and random base64
	// stays clean.
	noise := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x00, 0x9c, 0xff, 0x10, 0x80, 0x7f, 0x01}, 40))
	assert.Check(t, is.Len(s.Scan("body", "blob: "+noise+"\n"), 0))
}

func TestDecodedTextKnownSecretUTF16(t *testing.T) {
	const canary = "CANARY-7f3c9a1e5b2d4f60"
	fp, err := FingerprintOf("canary", canary)
	assert.NilError(t, err)
	s, err := New(Options{NoGitleaks: true, Known: []Fingerprint{fp}})
	assert.NilError(t, err)
	enc := "+" + base64.RawStdEncoding.EncodeToString([]byte(utf16Of(canary, true))) + "-"
	fs := s.Scan("body", enc)
	assert.Assert(t, len(fs) > 0, "UTF-7 style UTF-16BE in base64 passed")
	assert.Check(t, is.Equal(fs[0].Known, "canary"))
}

func TestAWSKeyLowerCase(t *testing.T) {
	s, err := New(Options{NoGitleaks: true})
	assert.NilError(t, err)
	for _, in := range []string{
		"aws_access_key_id = akiaq7r2xnplw3jkd5vt",
		"key=asiaq7r2xnplw3jkd5vt\n",
		`"abiaq7r2xnplw3jkd5vt"`,
		"acca" + "q7r2xnplw3jkd5vt",
	} {
		assert.Check(t, hasRule(s.Scan("body", in), "aws-access-token"), "%q passed", in)
	}
	for _, in := range []string{
		"akiaq7r2xnplw3jkd5v",   // 15 after the prefix
		"akiaq7r2xnplw3jkd5vtx", // 17
		"xakiaq7r2xnplw3jkd5vt", // inside a longer word
		"akiaq7r2xnplw3jkd5vt9", // a digit outside the alphabet runs on
		"akiaq7r2xnplw3jkd5v1",  // '1' is not in the alphabet
		"the asiatic continent is large and old",
	} {
		assert.Check(t, !hasRule(s.Scan("body", in), "aws-access-token"), "%q flagged", in)
	}
}

func wrapAt(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	return b.String() + s + "\n"
}

func TestShortWrappedBase64(t *testing.T) {
	s, err := New(Options{NoGitleaks: true})
	assert.NilError(t, err)
	const tok = "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg"
	for _, w := range []int{8, 12, 20, 32, 39} {
		e := base64.StdEncoding.EncodeToString([]byte("k = " + tok))
		assert.Check(t, len(s.Scan("body", "begin\n"+wrapAt(e, w)+"end\n")) > 0, "wrapped at %d passed", w)
		assert.Check(t, len(s.Scan("body", "begin\n"+strings.ReplaceAll(wrapAt(e, w), "\n", "\n    ")+"end\n")) > 0, "indented, wrapped at %d passed", w)
	}
	var got []string
	shortWrapped("prose line\nabcdefghij\nklmnopqrst\nuvw\nmore prose here\nsingleline12345\n", func(r string) bool {
		got = append(got, r)
		return false
	})
	assert.Check(t, is.DeepEqual(got, []string{"abcdefghijklmnopqrstuvw"}))
}

// TestNearCopyReadingsEachFindSomething: the percent- and
// quoted-printable-decoded readings of a text with dense escapes are
// near copies of it, but each finds what no other reading does, so none
// of them is skipped. A token glued behind a quoted-printable escape
// stands alone only once the escape is undone (one byte, not three
// letters, before it); a token whose end is written with a
// twice-encoded escape has its length only in the once-decoded text (too
// short raw, too long decoded twice).
func TestNearCopyReadingsEachFindSomething(t *testing.T) {
	s := scanner(t, Options{NoGitleaks: true})
	tok := "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Aq7W"
	has := func(fs []Finding, enc string) bool {
		for _, f := range fs {
			if f.Rule == "github-token" && f.Encoding == enc {
				return true
			}
		}
		return false
	}

	glued := "note=AB" + tok + " and=CD more words"
	fs := s.Scan("body", glued)
	assert.Assert(t, has(fs, EncQuotedPrintable) && !has(fs, EncRaw), "%v", fs)

	var pct strings.Builder
	for i := 4; i < len(tok); i++ {
		fmt.Fprintf(&pct, "%%%02X", tok[i])
	}
	cut := "ghp_" + pct.String() + "%2541" + "Qw3Er5Ty7Ui9Op1As2Df"
	fs = s.Scan("body", cut)
	assert.Assert(t, has(fs, EncURL) && !has(fs, EncRaw), "%v", fs)
	twice := lenientUnescape(lenientUnescape(cut))
	assert.Assert(t, !has(s.Scan("body", twice), EncRaw), "decoded twice: %q", twice)
}
