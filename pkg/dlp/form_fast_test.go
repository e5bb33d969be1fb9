package dlp

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// formDecodeInputs are texts for the equivalence tests: crafted shapes
// (escapes at the edges, '+' and '%' runs, '=' inside base64, mixed
// alphabets, encoded secrets and text), the corpus' bodies and queries,
// slices of every benchmark body class, and random texts drawn from
// alphabets that reach the decoders' branches.
func formDecodeInputs(t *testing.T) []string {
	t.Helper()
	secret := "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7 password=hunter2hunter2"
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	in := []string{
		"", "&", "=", "&&==&", "a", "a=b", "%", "%4", "%41", "%zz", "+", "a+b=c+d", "%2B+%2b", "a=%41%42%43&b=%", "a=b=c&d", "x=%%41", "%41%",
		"a=" + url.QueryEscape(secret) + "&b=" + url.QueryEscape(b64),
		"token=" + b64, b64, b64[:len(b64)-2] + "=" + b64[3:], "field0=" + b64 + "&field1=" + url.QueryEscape(b64),
		strings.ReplaceAll(b64, "+", "-"), strings.ReplaceAll(b64, "/", "_") + "+" + b64,
		"id_" + b64, "+" + b64 + "-", strings.Join(strings.Split(b64, ""), "="),
		base64.StdEncoding.EncodeToString([]byte(b64)), base64.URLEncoding.EncodeToString([]byte("xx" + secret)),
		"the+of+and+to+in+is+that+for+it+as+was+with+be+by+on+not+this+are+or+from+at+which",
	}
	in = append(in, corpusTexts(t)...)
	for _, class := range benchload.ScanClasses {
		_, ce, body, err := benchload.ClassBody(class, 24<<10)
		assert.NilError(t, err)
		dec, err := undoEncoding(ce, body)
		assert.NilError(t, err)
		in = append(in, string(dec[:min(len(dec), 24<<10)]))
	}
	r := rand.New(rand.NewPCG(5, 6))
	alphabets := []string{
		"ab+%&=0123456789ABCDEF", "abcdefghijklmnopqrstuvwxyz+", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/", "0123456789abcdef \n", "AQgw+/=-_ \n%&\x00\xff",
	}
	for range 3000 {
		a := alphabets[r.IntN(len(alphabets))]
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = a[r.IntN(len(a))]
		}
		s := string(b)
		if r.IntN(3) == 0 {
			// An encoded text or secret inside.
			k := r.IntN(len(s) + 1)
			enc := base64.StdEncoding.EncodeToString([]byte(secret[:r.IntN(len(secret))]))
			if r.IntN(2) == 0 {
				enc = base64.RawURLEncoding.EncodeToString([]byte(secret[r.IntN(len(secret)):]))
			}
			s = s[:k] + enc + s[k:]
		}
		in = append(in, s)
	}
	return in
}

// TestFormTextMatchesOld: formText writes what it wrote through
// FormFields, byte for byte.
func TestFormTextMatchesOld(t *testing.T) {
	for _, s := range formDecodeInputs(t) {
		assert.Equal(t, formText(s), oldFormText(s), "%q", s)
	}
}

func collectViews(s string, exact bool, runs func(string, int, bool, func(view) bool) bool) []view {
	var out []view
	runs(s, 0, exact, func(v view) bool { out = append(out, v); return false })
	return out
}

// TestDecodedRunsMatchOld: decodedRuns with the run filter emits the same
// readings, in the same order, as without it (both exact and not).
func TestDecodedRunsMatchOld(t *testing.T) {
	for _, s := range formDecodeInputs(t) {
		for _, exact := range []bool{false, true} {
			got, want := collectViews(s, exact, decodedRuns), collectViews(s, exact, oldDecodedRuns)
			assert.Assert(t, slices.Equal(got, want), "exact %v: %q: %d readings, want %d", exact, s, len(got), len(want))
		}
	}
}

// TestB64RunFilterSound: whenever eachB64Decoding (not exact) calls fn
// for a run, b64RunMayHoldASCII lets the run through; runs of encoded
// text always pass.
func TestB64RunFilterSound(t *testing.T) {
	check := func(run string) {
		called := eachB64Decoding(run, false, func(string) bool { return true })
		if called {
			assert.Assert(t, b64RunMayHoldASCII(run), "%q", run)
		}
	}
	for _, s := range formDecodeInputs(t) {
		eachB64Run(s, func(run string) bool { check(run); return false })
		check(s)
	}
	r := rand.New(rand.NewPCG(7, 8))
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="
	for range 20000 {
		b := make([]byte, 12+r.IntN(80))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		check(string(b))
		text := make([]byte, 6+r.IntN(40))
		for i := range text {
			text[i] = byte(0x20 + r.IntN(0x5f))
		}
		for _, e := range []string{base64.StdEncoding.EncodeToString(text), base64.RawURLEncoding.EncodeToString(text)} {
			assert.Assert(t, b64RunMayHoldASCII(e), "%q", e)
			k := r.IntN(len(e))
			check(e[:k] + "=" + e[k:])
		}
	}
}

// FuzzFormDecodeMatchesOld: formText and decodedRuns agree with the old
// code on any input, and the run filter never drops a run that decodes.
func FuzzFormDecodeMatchesOld(f *testing.F) {
	for _, s := range []string{"a=b&c=%41+d", "field0=the+of+and%0Aword", "dG9rZW49c2VjcmV0c2VjcmV0", "dG9r=ZW49c2Vj-cmV0c2VjcmV0", "+/-_="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		if got, want := formText(s), oldFormText(s); got != want {
			t.Fatalf("formText(%q) = %q, want %q", s, got, want)
		}
		if got, want := repeatedJoined(s), oldRepeatedJoined(s); got != want {
			t.Fatalf("repeatedJoined(%q) = %q, want %q", s, got, want)
		}
		if got, want := lenientUnescape(s), oldLenientUnescape(s); got != want {
			t.Fatalf("lenientUnescape(%q) = %q, want %q", s, got, want)
		}
		if got, want := qpDecode(s), oldQPDecode(s); got != want {
			t.Fatalf("qpDecode(%q) = %q, want %q", s, got, want)
		}
		for _, exact := range []bool{false, true} {
			if got, want := collectViews(s, exact, decodedRuns), collectViews(s, exact, oldDecodedRuns); !slices.Equal(got, want) {
				t.Fatalf("decodedRuns(%q, exact %v): %d readings, want %d", s, exact, len(got), len(want))
			}
		}
		eachB64Run(s, func(run string) bool {
			if eachB64Decoding(run, false, func(string) bool { return true }) && !b64RunMayHoldASCII(run) {
				t.Fatalf("run %q decodes but was filtered", run)
			}
			return false
		})
	})
}

// corpusTexts are the bodies, queries, paths and header values of the DLP
// corpus (internal/dlpcorpus, read as a file: that package imports this one).
func corpusTexts(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../internal/dlpcorpus/testdata/corpus.jsonl")
	assert.NilError(t, err)
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var c struct {
			Body, Query, Path string
			Headers           map[string]string
		}
		assert.NilError(t, json.Unmarshal(line, &c))
		out = append(out, c.Body, c.Query, c.Path)
		for _, v := range c.Headers {
			out = append(out, v)
		}
	}
	assert.NilError(t, sc.Err())
	assert.Assert(t, len(out) > 250*3)
	return out
}

// TestEntropyTokenShortPartsMatchOld: tokens of short parts joined by
// '+' or '/' (a form's prose), some starting like media in base64, give
// what the old entropyToken gave.
func TestEntropyTokenShortPartsMatchOld(t *testing.T) {
	s := scanner(t, Options{})
	rs := &ruleScan{s: s, c: &collector{}}
	r := rand.New(rand.NewPCG(11, 12))
	for range 20000 {
		var b strings.Builder
		if r.IntN(2) == 0 {
			m := base64.RawStdEncoding.EncodeToString([]byte(mediaMagic[r.IntN(len(mediaMagic))] + "abcdefghijkl"))
			b.WriteString(m[:min(len(m), 12+r.IntN(10))])
		}
		for range 1 + r.IntN(20) {
			b.WriteByte("+/"[r.IntN(2)])
			for range r.IntN(24) {
				b.WriteByte("aZ09xQkT7"[r.IntN(9)])
			}
		}
		tok := b.String()
		a, e := rs.entropyToken("xx"+tok, 2, tok)
		oa, oe := rs.oldEntropyToken("xx"+tok, 2, tok)
		assert.Equal(t, [2]int{a, e}, [2]int{oa, oe}, "%q", tok)
	}
}

// TestSecretKindCacheMatches: the per-reading cache of secretKind gives
// secretKind's answer for names that repeat, collide in the cache and
// differ by case or by one byte.
func TestSecretKindCacheMatches(t *testing.T) {
	names := []string{"token", "password", "api_key", "secret", "key", "Key", "KEY", "keys", "monkey", "db_pw", "pw", "x", "dbPwd", "private_key", "seed", "page_token", "passage", "a", "b", "tokenizer", "AUTH", "x-auth-token"}
	r := rand.New(rand.NewPCG(13, 14))
	rs := &ruleScan{}
	for range 50000 {
		name := names[r.IntN(len(names))]
		if r.IntN(4) == 0 {
			b := []byte(name)
			b[r.IntN(len(b))] = "_-.aZ9"[r.IntN(6)]
			name = string(b)
		}
		assert.Equal(t, rs.secretKind(name), secretKind(name), name)
	}
	assert.Equal(t, rs.secretKind(""), secretKind(""))
}

// b64Runs are base64 runs for TestWindowedB64FitsMatchesOld: encodings of
// random bytes with ASCII stretches of every length set in, of text, of
// bytes just above and below 0x80, in both alphabets, with stray other
// characters.
func b64Runs(r *rand.Rand) string {
	data := make([]byte, r.IntN(1500))
	for i := range data {
		switch r.IntN(4) {
		case 0:
			data[i] = byte(r.Uint32())
		case 1:
			data[i] = byte(0x20 + r.IntN(0x5f))
		default:
			data[i] = byte(0x7c + r.IntN(8))
		}
	}
	for range r.IntN(6) {
		k := r.IntN(len(data) + 1)
		n := min(len(data)-k, r.IntN(20))
		for i := k; i < k+n; i++ {
			data[i] = byte(0x20 + r.IntN(0x5f))
		}
	}
	enc := base64.RawStdEncoding
	if r.IntN(2) == 0 {
		enc = base64.RawURLEncoding
	}
	run := strings.Repeat("A", r.IntN(4)) + enc.EncodeToString(data)
	if r.IntN(5) == 0 && len(run) > 0 {
		b := []byte(run)
		b[r.IntN(len(b))] = "+/-_=!\x00\xff"[r.IntN(8)]
		run = string(b)
	}
	return run
}

// TestWindowedB64FitsMatchesOld: the bit-set windowed decoding gives what
// the group-by-group one gave, at every alignment, in both alphabets.
func TestWindowedB64FitsMatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for range 3000 {
		checkWindowedB64(t, b64Runs(r))
	}
	for _, s := range formDecodeInputs(t) {
		eachB64Run(s, func(run string) bool { checkWindowedB64(t, run); return false })
	}
}

func checkWindowedB64(t testing.TB, run string) {
	t.Helper()
	fits := groupFits(run)
	for _, alpha := range []struct {
		enc *base64.Encoding
		val *[256]uint8
	}{{base64.RawStdEncoding, &b64StdValue}, {base64.RawURLEncoding, &b64URLValue}} {
		for off := 0; off < 4 && off < len(run); off++ {
			rr := run[off:]
			if len(rr)%4 == 1 {
				rr = rr[:len(rr)-1]
			}
			if got, want := windowedB64Fits(rr, fits, off, alpha.enc), windowedB64(rr, alpha.enc, alpha.val); got != want {
				t.Fatalf("run %q at %d: %q, want %q", run, off, got, want)
			}
		}
	}
}

// FuzzWindowedB64FitsMatchesOld: as TestWindowedB64FitsMatchesOld, on
// any run.
func FuzzWindowedB64FitsMatchesOld(f *testing.F) {
	r := rand.New(rand.NewPCG(17, 18))
	for range 8 {
		f.Add(b64Runs(r))
	}
	f.Fuzz(func(t *testing.T, run string) {
		if len(run) > 8192 {
			return
		}
		checkWindowedB64(t, run)
	})
}

// TestDecodesToMediaFirstByte: the first-character filter of
// decodesToMedia keeps every media header, in both alphabets, and
// agrees with the old decodesToMedia whatever the first byte.
func TestDecodesToMediaFirstByte(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, m := range mediaMagic {
		for range 50 {
			tail := make([]byte, r.IntN(30))
			for i := range tail {
				tail[i] = byte(r.Uint32())
			}
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.URLEncoding} {
				tok := enc.EncodeToString(append([]byte(m), tail...))
				assert.Equal(t, decodesToMedia(tok), oldDecodesToMedia(tok), "%q", tok)
				if len(tok) >= 16 && (enc == base64.RawStdEncoding || enc == base64.RawURLEncoding) {
					assert.Assert(t, decodesToMedia(tok), "%q", tok)
				}
			}
		}
	}
	for c := range 256 {
		for range 40 {
			b := []byte{byte(c)}
			for range r.IntN(24) {
				b = append(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="[r.IntN(67)])
			}
			tok := string(b)
			assert.Equal(t, decodesToMedia(tok), oldDecodesToMedia(tok), "%q", tok)
		}
	}
}

// TestHasNonASCIIWords: the word-at-a-time hasNonASCII finds a byte of
// 0x80 or more at every position and length.
func TestHasNonASCIIWords(t *testing.T) {
	for n := range 40 {
		b := []byte(strings.Repeat("a", n))
		assert.Assert(t, !hasNonASCII(string(b)))
		for i := range b {
			for _, c := range []byte{0x80, 0xff, 0xc3} {
				b[i] = c
				assert.Assert(t, hasNonASCII(string(b)), "%q", b)
				assert.Assert(t, !hasNonASCII(string(b[:i])), "%q", b[:i])
				b[i] = 0x7f
				assert.Assert(t, !hasNonASCII(string(b)), "%q", b)
				b[i] = 'a'
			}
		}
	}
}

// TestHitRepeatsAddNothing: a rule hit again by the same scan leaves the
// collector as adding it again would (the first finding kept, the scan
// stopped once the collector is full), whatever was in it before.
func TestHitRepeatsAddNothing(t *testing.T) {
	s := scanner(t, Options{})
	for _, pre := range []int{0, 1, maxFindings - 2, maxFindings - 1, maxFindings} {
		seq := []string{"a", "a", "b", "a", "b", "b", "c", "a", "d", "d", "e"}
		var got, want collector
		stopAt := -1
		for i := range pre {
			f := Finding{Rule: fmt.Sprint("pre", i), Part: "p"}
			got.add(f)
			want.add(f)
		}
		r := &ruleScan{s: s, c: &got, part: "body", enc: EncRaw}
		for i, rule := range seq {
			r.hit(rule)
			if stopAt < 0 && want.add(Finding{Rule: rule, Part: "body", Encoding: EncRaw}) {
				stopAt = i
			}
		}
		assert.DeepEqual(t, got.out, want.out)
		assert.Equal(t, r.stop, stopAt >= 0, "pre %d", pre)
	}
}

// TestFieldValueAndNameSepsMatchOld: fieldValue's end table and the
// name-separator test agree with the comparisons they replace, for
// every byte.
func TestFieldValueAndNameSepsMatchOld(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for c := range 256 {
		for range 20 {
			b := []byte("  Bearer abc")[:r.IntN(13)]
			for range r.IntN(12) {
				b = append(b, "aZ9_-.=:"[r.IntN(8)])
			}
			b = append(b, byte(c))
			for range r.IntN(600) {
				b = append(b, byte(0x21+r.IntN(0x5e)))
			}
			s := string(b)
			assert.Equal(t, fieldValue(s), oldFieldValue(s), "%q", s)
			assert.Equal(t, hasSetByte(s[:min(len(s), 20)], nameSepSet), strings.ContainsAny(s[:min(len(s), 20)], "_-."), "%q", s)
		}
	}
}

// TestUnescapesMatchOld: lenientUnescape and qpDecode, copying the
// stretches between escapes, give what the byte-at-a-time versions gave:
// escapes at both ends, cut short, doubled, soft line breaks of every
// kind.
func TestUnescapesMatchOld(t *testing.T) {
	in := formDecodeInputs(t)
	in = append(in, "%", "%4", "%41", "%%41", "%41%", "=", "=4", "=41", "==41", "=41=", "=\n", "=\r", "=\r\n", "a=\r\nb", "==\n", "=\n=\r=", "%2541", "=3D41")
	r := rand.New(rand.NewPCG(23, 24))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = "%=\r\n0aF9gz+"[r.IntN(11)]
		}
		in = append(in, string(b))
	}
	for _, s := range in {
		assert.Equal(t, lenientUnescape(s), oldLenientUnescape(s), "%q", s)
		assert.Equal(t, qpDecode(s), oldQPDecode(s), "%q", s)
	}
}

// TestRepeatedJoinedMatchesOld: the hashed name test gives the joins the
// map of names gave: forms with and without repeated names (escaped,
// '+' for spaces, empty), many fields, and the benchmark's form.
func TestRepeatedJoinedMatchesOld(t *testing.T) {
	in := formDecodeInputs(t)
	r := rand.New(rand.NewPCG(25, 26))
	for range 5000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString([]string{"a", "b", "p", "%70", "a+b", "a%20b", "", "tok", "x%2"}[r.IntN(9)])
			if r.IntN(5) > 0 {
				b.WriteString("=" + []string{"ghp_", "Zk8q", "Xv9L", "", "%41", "+"}[r.IntN(6)])
			}
			b.WriteByte('&')
		}
		in = append(in, b.String())
	}
	_, _, body, err := benchload.ClassBody("form", 1<<20)
	assert.NilError(t, err)
	in = append(in, string(body), string(body)+"field7=x")
	for _, s := range in {
		assert.Equal(t, repeatedJoined(s), oldRepeatedJoined(s), "%q", s)
	}
}
