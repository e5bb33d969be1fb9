package dlp

// The scanner's fast paths (branch-free runs, pair-set prefilters, the
// field rule driven by name cores, fused known-secret hashing, windowed
// decoding) must find exactly what the straightforward code they replace
// found. Each test runs both on random and adversarial inputs and compares.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// fragments mixes what the detectors look for with what they must skip.
var fragments = []string{
	" ", " ", "\n", "=", ":", "\"", "'", "-", "_", ".", "/", "+", ",", "%", "\t",
	"password", "PASSWORD", "api_key", "token", "secret", "Authorization", "key", "passage", "monkey", "x-api-key",
	"akia", "AKIA", "ghp_", "sk-ant-", "xoxb-", "eyJ", "AIza", "glpat-", "ASIA", "asia", "abia", "acca",
	"abcdefghijklmnop", "qrstuvwxyz234567", "Zk8qXv9Lm2Tq7Rw4", "Pn6Yb3Hc5Jd1Ke0A", "0123456789", "4111", "1111",
	"GB82", "WEST", "1234", "5698", "7654", "32", "DE89", "3704", "0044", "0532", "0130", "00",
	"abandon", "ability", "able", "about", "zoo", "the", "and", "1.", "2)", "word",
	"5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn",
}

func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		switch r.IntN(8) {
		case 0:
			b.WriteByte(byte(r.IntN(256)))
		case 1:
			b.WriteString(bip39List[r.IntN(len(bip39List))])
			b.WriteByte(" ,\n-"[r.IntN(4)])
		default:
			b.WriteString(fragments[r.IntN(len(fragments))])
		}
	}
	return b.String()
}

func refEachRun(s string, set *byteSet, min int) []string {
	var out []string
	for i := 0; i < len(s); {
		if !set[s[i]] {
			i++
			continue
		}
		start := i
		for i < len(s) && set[s[i]] {
			i++
		}
		if i-start >= min {
			out = append(out, s[start:i])
		}
	}
	return out
}

func TestEachRunMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		s := randomText(r, r.IntN(300))
		for _, set := range []*byteSet{isB64, isHex, printable, tokenSet} {
			min := 1 + r.IntN(20)
			var got []string
			eachRun(s, set, min, func(run string) bool { got = append(got, run); return false })
			assert.DeepEqual(t, got, refEachRun(s, set, min))
		}
	}
}

// findings runs one detector and returns its findings' rules, sorted.
func findings(s *Scanner, f func(r *ruleScan)) []string {
	c := &collector{}
	f(&ruleScan{s: s, c: c, part: "body", enc: EncRaw})
	var out []string
	for _, x := range c.out {
		out = append(out, x.Rule)
	}
	slices.Sort(out)
	return out
}

func (r *ruleScan) refFieldPass(text string) {
	for i := 0; i < len(text) && !r.stop; i++ {
		if c := text[i]; c == '=' || c == ':' || c == ' ' {
			r.fieldAt(text, i)
		}
	}
}

func (r *ruleScan) refSeedPhrase(text string) {
	var words [][2]int // the current run of list words
	flush := func() {
		defer func() { words = words[:0] }()
		if len(words) < seedWords {
			return
		}
		// Words that touch (CamelCase) must be half distinct.
		varied := func(ws [][2]int) bool {
			glued, seen := false, map[string]bool{}
			for i, w := range ws {
				glued = glued || i > 0 && ws[i-1][1] == w[0]
				seen[strings.ToLower(text[w[0]:w[1]])] = true
			}
			return !glued || 2*len(seen) >= len(ws)
		}
		if len(words) >= seedLongRun {
			if varied(words[:seedLongRun]) {
				r.hit("seed-phrase")
			}
			return
		}
		if !varied(words) {
			return
		}
		if !refRecur(text, words) {
			r.hit("seed-phrase")
			return
		}
		for _, n := range []int{12, 15, 18, 21, 24} {
			for i := 0; i+n <= len(words); i++ {
				w := words[i : i+n]
				if refChecksum(text, w) && !refRecur(text, w) {
					r.hit("seed-phrase")
					return
				}
			}
		}
	}
	for i := 0; i < len(text) && !r.stop; {
		c := text[i]
		letter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
		// The letter after a backslash in "\n", "\t", "\r" separates.
		esc := func(k int) bool { return k > 0 && text[k-1] == '\\' && strings.IndexByte("ntr", text[k]) >= 0 }
		if letter(c) && !esc(i) {
			// A word ends before a capital after a small letter, and
			// before an escape's letter.
			j := i + 1
			for j < len(text) && letter(text[j]) && !(text[j-1] >= 'a' && text[j-1] <= 'z' && text[j] >= 'A' && text[j] <= 'Z') && !esc(j) {
				j++
			}
			if j-i >= 3 && j-i <= 8 && slices.Contains(bip39List, strings.ToLower(text[i:j])) {
				words = append(words, [2]int{i, j})
			} else {
				flush()
			}
			i = j
			continue
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '-' || c == '"' || c == '\'' || c == '+' || c == '_':
		case isDigit(c) || c == '.' || c == ')' || c == ':':
		case c == '|' || c == ';' || c == '/' || c == '\\' || letter(c): // letter: an escape's
		default:
			flush()
		}
		i++
	}
	if !r.stop {
		flush()
	}
}

// refChecksum: the BIP-39 checksum, spelled out as a string of bits.
func refChecksum(text string, words [][2]int) bool {
	var bits strings.Builder
	for _, w := range words {
		fmt.Fprintf(&bits, "%011b", slices.Index(bip39List, strings.ToLower(text[w[0]:w[1]])))
	}
	b := bits.String()
	cs := len(b) / 33
	ent := make([]byte, (len(b)-cs)/8)
	for i := range ent {
		v, _ := strconv.ParseUint(b[i*8:i*8+8], 2, 8)
		ent[i] = byte(v)
	}
	h := sha256.Sum256(ent)
	want := fmt.Sprintf("%08b", h[0])[:cs]
	return b[len(b)-cs:] == want
}

// refRecur: more than half of the phrase's distinct words appear as
// whole words within seedNeighbourhood bytes before or after it.
func refRecur(text string, words [][2]int) bool {
	lo, hi := words[0][0], words[len(words)-1][1]
	var around []string
	for _, s := range []string{text[max(0, lo-seedNeighbourhood):lo], text[hi:min(len(text), hi+seedNeighbourhood)]} {
		around = append(around, strings.FieldsFunc(s, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') })...)
	}
	seen := map[string]bool{}
	recur := 0
	for _, w := range words {
		lw := strings.ToLower(text[w[0]:w[1]])
		if seen[lw] {
			continue
		}
		seen[lw] = true
		if slices.ContainsFunc(around, func(a string) bool { return strings.EqualFold(a, lw) }) {
			recur++
		}
	}
	return recur*2 > len(seen)
}

func (r *ruleScan) refPrefixPass(text string) {
	for i := 0; i+1 < len(text) && !r.stop; i++ {
		if i > 0 && setNotBoundary[text[i-1]] && !afterEscape(text, i) {
			continue
		}
		for k := range prefixRules {
			if m := matchPrefix(&prefixRules[k], text[i:]); m > 0 {
				r.hit(prefixRules[k].id)
				i += m - 1
				break
			}
		}
	}
	for _, run := range refEachRun(text, setWord, 12) {
		if len(run) > 512 {
			continue
		}
		rev := reverse(run)
		for k := range prefixRules {
			if strings.HasSuffix(run, reverse(prefixRules[k].prefix)) && matchPrefix(&prefixRules[k], rev) > 0 {
				r.hit(prefixRules[k].id)
				break
			}
		}
	}
	for _, p := range awsLowerPrefixes {
		for off := 0; ; {
			k := strings.Index(text[off:], p)
			if k < 0 {
				break
			}
			i := off + k
			off = i + len(p)
			if i > 0 && isAlnum(text[i-1]) {
				continue
			}
			j := off
			for j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] >= '2' && text[j] <= '7') {
				j++
			}
			if j-off == 16 && (j == len(text) || !isAlnum(text[j])) {
				r.hit("aws-access-token")
			}
		}
	}
}

func (r *ruleScan) refIBANs(text string) {
	for i := 0; i+15 <= len(text) && !r.stop; i++ {
		if i > 0 && isAlnum(text[i-1]) || !(text[i] >= 'A' && text[i] <= 'Z' && text[i+1] >= 'A' && text[i+1] <= 'Z' && isDigit(text[i+2]) && isDigit(text[i+3])) {
			continue
		}
		want := ibanLen[text[i:i+2]]
		if want == 0 {
			continue
		}
		var b []byte
		j := i
		for j < len(text) && len(b) < want {
			c := text[j]
			if strings.IndexByte(" +-._", c) >= 0 && len(b)%4 == 0 && len(b) > 0 && j+1 < len(text) && isAlnum(text[j+1]) {
				j++
				continue
			}
			if !isDigit(c) && (c < 'A' || c > 'Z') {
				break
			}
			b = append(b, c)
			j++
		}
		if len(b) == want && (j == len(text) || !isAlnum(text[j])) && ibanValid(string(b)) {
			r.hit("iban")
			i = j
		}
	}
}

func (r *ruleScan) refCards(text string) {
	var digits [19]byte
	for i := 0; i < len(text) && !r.stop; i++ {
		if !isDigit(text[i]) || i > 0 && (text[i-1] == '.' || isAlnum(text[i-1])) {
			continue
		}
		n, j, seps := 0, i, 0
		for j < len(text) && n < 19 {
			if isDigit(text[j]) {
				digits[n] = text[j]
				n++
				j++
				continue
			}
			if (text[j] == ' ' || text[j] == '-') && j+1 < len(text) && isDigit(text[j+1]) && j > i {
				seps++
				j++
				continue
			}
			break
		}
		if j < len(text) && (isAlnum(text[j]) || text[j] == '.' && j+1 < len(text) && isDigit(text[j+1])) {
			i = j
			continue
		}
		if n < 13 || seps > 4 || seps == 0 && n != 15 && n != 16 {
			continue
		}
		if num := string(digits[:n]); cardIssuer(num) && luhn(num) {
			r.hit("payment-card")
		}
		i = j
	}
}

func (r *ruleScan) refWIF(text string) {
	for i := 0; i < len(text) && !r.stop; {
		if !b58Set[text[i]] {
			i++
			continue
		}
		start := i
		for i < len(text) && b58Set[text[i]] {
			i++
		}
		if n := i - start; (n == 51 || n == 52) && strings.IndexByte("5KL9c", text[start]) >= 0 && (start == 0 || !isAlnum(text[start-1])) && base58Check(text[start:i]) {
			r.hit("bitcoin-wif")
		}
	}
}

func TestRulePassesMatchReference(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(2, 2))
	// Valid shapes the random text rarely builds on its own.
	extra := []string{
		"password = hunter2xyz", "API_KEY: 'Zk8qXv9Lm2Tq7Rw4Pn6Yb3'", "akiaq7r2xnplw3jkd5vt ", "ghp_" + strings.Repeat("Zk8qXv9Lm2", 4),
		"4111 1111 1111 1111", "4111111111111111", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
		strings.Repeat("abandon ", 11) + "about", "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
		strings.Repeat("Abandon", 11) + "About", strings.Repeat(`abandon\n`, 11) + "about", strings.Repeat("abandon|", 11) + "about",
	}
	hits := map[string]int{}
	defer func() {
		if e := recover(); e != nil {
			t.Fatalf("panic: %v\n%s", e, debug.Stack())
		}
		// The comparison means something only if both sides find things.
		for _, p := range []string{"field", "seed", "prefix", "cards", "wif"} {
			assert.Assert(t, hits[p] > 5, "%s: %d findings in all", p, hits[p])
		}
	}()
	for n := range 3000 {
		text := randomText(r, 50+r.IntN(400))
		if n%3 == 0 {
			text += extra[r.IntN(len(extra))] + randomText(r, 20)
		}
		for _, p := range []struct {
			name     string
			got, ref func(*ruleScan)
		}{
			{"field", func(rs *ruleScan) { rs.fieldPass(text) }, func(rs *ruleScan) { rs.refFieldPass(text) }},
			{"seed", func(rs *ruleScan) { rs.seedPhrase(text) }, func(rs *ruleScan) { rs.refSeedPhrase(text) }},
			{"prefix", func(rs *ruleScan) { rs.prefixPass(text) }, func(rs *ruleScan) { rs.refPrefixPass(text); rs.refIBANs(text) }},
			{"cards", func(rs *ruleScan) { rs.cards(text) }, func(rs *ruleScan) { rs.refCards(text) }},
			{"wif", func(rs *ruleScan) { rs.wif(text) }, func(rs *ruleScan) { rs.refWIF(text) }},
		} {
			got := findings(s, p.got)
			assert.Equal(t, strings.Join(got, ","), strings.Join(findings(s, p.ref), ","), "%s in %q", p.name, text)
			hits[p.name] += len(got)
		}
	}
}

func TestKnownFindMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	found := 0
	defer func() { assert.Assert(t, found > 100, found) }()
	for range 300 {
		// Secrets of a few lengths, several of one length, token and not.
		vals := map[string]string{}
		var fps []Fingerprint
		for k := range 1 + r.IntN(6) {
			n := 8 + r.IntN(4)*7
			v := randomText(r, n)[:n]
			if r.IntN(2) == 0 {
				v = base64.RawURLEncoding.EncodeToString([]byte(v))[:n]
			}
			name := fmt.Sprintf("s%d", k)
			fp, err := FingerprintOf(name, v)
			if err != nil {
				continue
			}
			vals[name] = v
			fps = append(fps, fp)
		}
		ks, err := newKnownSet(fps)
		assert.NilError(t, err)
		text := randomText(r, r.IntN(500))
		for _, v := range vals {
			if r.IntN(3) == 0 {
				at := r.IntN(len(text) + 1)
				text = text[:at] + v + text[at:]
			}
			if r.IntN(3) == 0 {
				at := r.IntN(len(text) + 1)
				text = text[:at] + reverse(v) + text[at:]
			}
		}
		var want []string
		for name, v := range vals {
			if strings.Contains(text, v) {
				want = append(want, name)
			}
		}
		got := ks.find(text)
		found += len(got)
		slices.Sort(got)
		slices.Sort(want)
		assert.DeepEqual(t, got, want)
		// Reversed: the same search over the text read backwards.
		rtext := reverse(text)
		var rwant []string
		for name, v := range vals {
			if strings.Contains(rtext, v) {
				rwant = append(rwant, name)
			}
		}
		rgot := ks.findReversed(text)
		found += len(rgot)
		slices.Sort(rgot)
		slices.Sort(rwant)
		assert.DeepEqual(t, rgot, rwant)
	}
}

// asciiStretches are the runs of at least minWindowBytes bytes below 0x80
// that hold text (holdsText).
func asciiStretches(b []byte) []string {
	var out []string
	for i := 0; i < len(b); {
		if b[i] >= 0x80 {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] < 0x80 {
			j++
		}
		if j-i >= minWindowBytes && holdsText(b[i:j]) {
			out = append(out, string(b[i:j]))
		}
		i = j
	}
	return out
}

func split(w string) []string {
	if w == "" {
		return nil
	}
	return strings.Split(w, "\xff")
}

// TestWindowedDecodingKeepsASCII: a windowed decoding holds exactly the
// ASCII stretches of the full decoding, at every alignment and in both
// alphabets, whatever binary surrounds them; a run that decodes to ASCII
// alone decodes whole; and the short-run test never drops a run whose
// decoding holds a stretch.
func TestWindowedDecodingKeepsASCII(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	stretches := 0
	defer func() { assert.Assert(t, stretches > 1000, stretches) }()
	for range 1500 {
		var data []byte
		for len(data) < 100+r.IntN(3000) {
			if r.IntN(3) == 0 {
				data = append(data, randomText(r, 1+r.IntN(40))...)
			} else {
				for range 1 + r.IntN(40) {
					data = append(data, byte(r.IntN(256)))
				}
			}
		}
		if r.IntN(10) == 0 {
			data = []byte(randomText(r, 300+r.IntN(500)))
			for i := range data {
				data[i] &= 0x7f
			}
		}
		enc, val := base64.RawStdEncoding, &b64StdValue
		if r.IntN(2) == 0 {
			enc, val = base64.RawURLEncoding, &b64URLValue
		}
		run := strings.Repeat("A", r.IntN(4)) + enc.EncodeToString(data)
		for off := range 4 {
			rr := run[off:]
			if len(rr)%4 == 1 {
				rr = rr[:len(rr)-1]
			}
			full, err := enc.DecodeString(rr)
			assert.NilError(t, err)
			want := asciiStretches(full)
			stretches += len(want)
			assert.DeepEqual(t, split(windowedB64(rr, enc, val)), want)
			assert.Equal(t, windowedB64Fits(rr, groupFits(run), off, enc), windowedB64(rr, enc, val))
			if len(want) > 0 {
				assert.Assert(t, b64MayHoldASCII(rr, val))
			}
			if len(want) == 1 && len(want[0]) == len(full) {
				assert.Equal(t, windowedB64(rr, enc, val), string(full))
			}
		}
		hx := hex.EncodeToString(data)
		for off := range 2 {
			rr := hx[off:]
			rr = rr[:len(rr)/2*2]
			full, err := hex.DecodeString(rr)
			assert.NilError(t, err)
			want := asciiStretches(full)
			assert.DeepEqual(t, split(windowedHex(rr)), want)
			if len(want) > 0 {
				assert.Assert(t, hexMayHoldASCII(rr))
			}
		}
	}
}

// TestHoldsText: holdsText is "an island of eight printable bytes once
// NULs are removed" without the copy.
func TestHoldsText(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for range 20000 {
		b := []byte(randomText(r, r.IntN(40)))
		for i := range b {
			if r.IntN(5) == 0 {
				b[i] = 0
			}
		}
		// Removing NULs joins printable runs only where NULs were all
		// that separated them, which is what holdsText allows.
		assert.Equal(t, holdsText(b), refHoldsTextStrict(b), "%q", b)
	}
}

// refHoldsTextStrict: some maximal run of printable-or-NUL bytes has at
// least eight printable bytes.
func refHoldsTextStrict(b []byte) bool {
	for _, run := range refEachRun(string(b), printableOrNUL, 1) {
		if len(strings.ReplaceAll(run, "\x00", "")) >= 8 {
			return true
		}
	}
	return false
}

// TestWindowedViewsFindSecrets: a secret inside a long random base64 or
// hex upload, at any offset, is still found.
func TestWindowedViewsFindSecrets(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 40 {
		pre, post := randomBytes(1000+r.IntN(5000)), randomBytes(1000+r.IntN(5000))
		pre = pre[r.IntN(7):]
		body := slices.Concat(pre, []byte(secrets["aws"]), post)
		var text string
		switch i % 3 {
		case 0:
			text = base64.StdEncoding.EncodeToString(body)
		case 1:
			text = string(wrap(base64.StdEncoding.EncodeToString(body), 76))
		default:
			text = hex.EncodeToString(body)
		}
		fs, err := s.ScanBody("text/plain", []byte(text))
		assert.NilError(t, err)
		found := false
		for _, f := range fs {
			found = found || f.Rule == "known-secret" && f.Known == "aws"
		}
		assert.Assert(t, found, "case %d: %v", i, fs)
	}
}

func wrap(s string, w int) []byte {
	var b strings.Builder
	for len(s) > w {
		b.WriteString(s[:w] + "\r\n")
		s = s[w:]
	}
	b.WriteString(s)
	return []byte(b.String())
}

// TestWindowedReadingsFindSecrets: in a long body with a few escapes, the
// percent- and quoted-printable readings hold only the stretches around
// them; a secret encoded there is still found, and so is one encoded
// otherwise far from them (read from the raw text).
func TestWindowedReadingsFindSecrets(t *testing.T) {
	s := scanner(t, Options{})
	token := "ghp_" + strings.Repeat("Zk8qXv9Lm2", 4)[:36]
	percentAll := func(v string) string {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			fmt.Fprintf(&b, "%%%02X", v[i])
		}
		return b.String()
	}
	qpAll := func(v string) string {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			fmt.Fprintf(&b, "=%02X", v[i])
		}
		return b.String()
	}
	r := rand.New(rand.NewPCG(7, 7))
	filler := func(n int) string {
		if r.IntN(2) == 0 {
			return string(randomBytes(n))
		}
		return randomText(r, n)[:n]
	}
	for i := range 60 {
		var hidden string
		switch i % 6 {
		case 0:
			hidden = percentAll(token)
		case 1:
			hidden = qpAll(token)
		case 2:
			hidden = percentAll(qpAll(token))
		case 3:
			hidden = percentAll(secrets["aws"])
		case 4:
			hidden = "x%20y" + filler(20000) + qpAll(token) // a stray escape far away
		default:
			hidden = qpAll(secrets["aws"]) + filler(30000) + "%41%42"
		}
		body := filler(10000+r.IntN(40000)) + " " + hidden + " " + filler(10000+r.IntN(40000))
		fs, err := s.ScanBody("application/octet-stream", []byte(body))
		assert.NilError(t, err)
		found := false
		for _, f := range fs {
			found = found || f.Rule == "github-token" || f.Rule == "known-secret" && f.Known == "aws"
		}
		assert.Assert(t, found, "case %d: %v", i, fs)
	}
}

// TestEscapeWindows: a windowed decoding is the decodings of the stretches
// around the escapes; a dense one is the whole decoding.
func TestEscapeWindows(t *testing.T) {
	long := strings.Repeat("a", 20000) + "%41" + strings.Repeat("b", 20000)
	w, windowed := escapeWindows(long, percentEscapeAt, lenientUnescape)
	assert.Assert(t, windowed)
	assert.Equal(t, w, strings.Repeat("a", escapeContext)+"A"+strings.Repeat("b", escapeContext))
	dense := strings.Repeat("ab%41", 4000)
	w, windowed = escapeWindows(dense, percentEscapeAt, lenientUnescape)
	assert.Assert(t, !windowed)
	assert.Equal(t, w, lenientUnescape(dense))
	two := strings.Repeat("a", 10000) + "%41" + strings.Repeat("b", 10000) + "=42" + strings.Repeat("c", 1500) + "=43" + strings.Repeat("d", 10000)
	w, windowed = escapeWindows(two, qpEscapeAt, qpDecode)
	assert.Assert(t, windowed)
	assert.Equal(t, strings.Count(w, windowSepText), 0) // the two escapes' stretches overlap: one stretch
	assert.Assert(t, strings.Contains(w, "bbB"+strings.Repeat("c", 1500)+"Cdd"))
}

// TestInvalidJSONEscapedSecret: a body declared JSON that is not valid
// JSON is read raw and, where escapes were undone, as JSON: a secret
// hidden behind JSON escapes or written plainly is found either way.
func TestInvalidJSONEscapedSecret(t *testing.T) {
	s := scanner(t, Options{})
	token := "ghp_" + strings.Repeat("Zk8qXv9Lm2", 4)[:36]
	escaped := strings.ReplaceAll(token, "p", `\u0070`)
	filler := strings.Repeat(`{"path":"a.go","content":"package a\n\nfunc f() {}\n"}`+"\n", 2000)
	for _, body := range []string{
		filler + `{"token":"` + escaped + `"}` + "\n" + filler,
		filler + `{"token":"` + token + `"}` + "\n" + filler,
		filler + `{"token":"` + escaped, // truncated
	} {
		fs, err := s.ScanBody("application/json", []byte(body))
		assert.NilError(t, err)
		found := false
		for _, f := range fs {
			found = found || f.Rule == "github-token" || f.Rule == "github-pat"
		}
		assert.Assert(t, found, "%v", fs)
	}
}

// TestDelimitedHexAndDespaceMatchReference: the cheap pre-tests of the
// delimited-hex and despaced readings change nothing they produce.
func TestDelimitedHexAndDespaceMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	parts := []string{"73", "6b", ":", " ", ", ", "0x", "\\x", "-", "ab", "de ad", "s k - a n t", "A.K.I.A", "_", "\n", "7", "zz", "0x6b0x", "\t", " ;;; ; "}
	hexes, spaced := 0, 0
	defer func() { assert.Assert(t, hexes > 100 && spaced > 100, "%d %d", hexes, spaced) }()
	for range 5000 {
		var b strings.Builder
		n := r.IntN(300)
		for b.Len() < n {
			switch r.IntN(6) {
			case 0:
				b.WriteString(randomText(r, 5))
			case 1: // a delimited hex run
				delim := []string{":", " ", ", ", "-", "", "\\x", " 0x", "0x", ",\n  0x", "\n", " ;; ", "\r\n", ",\n\n\n"}[r.IntN(13)]
				for k := range 4 + r.IntN(12) {
					if k > 0 || delim == "\\x" {
						b.WriteString(delim)
					}
					fmt.Fprintf(&b, "%02x", r.IntN(256))
				}
			case 2: // a spaced-out run
				sep := string(" .-_,|/"[r.IntN(7)])
				for range 10 + r.IntN(12) {
					b.WriteByte("abcXYZ019"[r.IntN(9)])
					b.WriteString(sep)
				}
			default:
				b.WriteString(parts[r.IntN(len(parts))])
			}
		}
		s := b.String()
		h1, ok1 := delimitedHex(s)
		h2, ok2 := refDelimitedHex(s)
		hexes += b2i(ok1)
		assert.Equal(t, h1, h2, "%q", s)
		assert.Equal(t, ok1, ok2)
		d1, ok1 := despace(s)
		d2, ok2 := refDespace(s)
		spaced += b2i(ok1)
		assert.Equal(t, d1, d2, "%q", s)
		assert.Equal(t, ok1, ok2)
	}
}

func refDelimitedHex(s string) (string, bool) {
	var out []byte
	var cur []byte
	flush := func() {
		if len(cur) >= minKnownLen {
			out = append(out, cur...)
			out = append(out, '\n')
		}
		cur = cur[:0]
	}
	i := 0
	for i < len(s) {
		// Skip an optional 0x / \x prefix.
		j := i
		if j+1 < len(s) && (s[j] == '0' || s[j] == '\\') && (s[j+1] == 'x' || s[j+1] == 'X') {
			j += 2
		}
		if hexPairAt(s, i, j) {
			cur = append(cur, unhex(s[j])<<4|unhex(s[j+1]))
			i = j + 2
			// A delimiter (or none before a \x or 0x).
			k := hexDelimEnd(s, i)
			if k == i && !(k+1 < len(s) && (s[k] == '\\' || s[k] == '0') && (s[k+1] == 'x' || s[k+1] == 'X')) {
				flush()
				continue
			}
			i = k
			continue
		}
		flush()
		i++
	}
	flush()
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}
func refDespace(s string) (string, bool) {
	var out []byte
	for i := 0; i+3 < len(s); {
		sep := s[i+1]
		if sep < 0x20 || sep >= 0x7f || s[i] == sep || s[i] == ' ' || s[i+2] == sep || s[i+2] == ' ' || s[i+3] != sep {
			i++
			continue
		}
		// Count first, copy only runs long enough.
		j, n := i, 0
		for j+1 < len(s) && s[j+1] == sep && s[j] != sep && s[j] != ' ' {
			n++
			j += 2
		}
		last := j < len(s) && s[j] != sep && s[j] != ' '
		if last {
			n++
		}
		if n >= 16 {
			for k := i; k < j; k += 2 {
				out = append(out, s[k])
			}
			if last {
				out = append(out, s[j])
			}
			out = append(out, '\n')
		}
		i = j + 1
	}
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

// TestTokenAfterWrittenEscape: a token right after a written-out \n or \t
// (inside a JSON string, a shell string) is found by our own rules, in the
// raw text too.
func TestTokenAfterWrittenEscape(t *testing.T) {
	s := scanner(t, Options{NoGitleaks: true})
	tok := "ghp_" + strings.Repeat("Zk8qXv9Lm2", 4)[:36]
	for _, body := range []string{`{"x":"\n` + tok + `"}`, `{"x":"\t` + tok + `"}`, `echo "a\n` + tok + `"`} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		found := false
		for _, f := range fs {
			found = found || f.Rule == "github-token"
		}
		assert.Assert(t, found, "%s: %v", body, fs)
	}
}

// refQuotedPrintableWindows is quotedPrintableWindows as it was: every
// byte offered to qpEscapeAt.
func refQuotedPrintableWindows(s string) (string, bool) {
	if !qpEscaped(s) {
		return "", false
	}
	d, _ := escapeWindowsLead(s, 0, qpEscapeAt, qpDecode)
	return d, true
}

// qpText mixes quoted-printable escapes, soft line breaks and near misses
// into long text, so that both the whole and the windowed decodings run.
func qpText(r *rand.Rand, n int) string {
	parts := []string{"=41", "=3D", "=\n", "=\r\n", "=\r", "=", "==", "=4", "=G1", "=ab", "=FF", "= ", "x", "\n"}
	var b strings.Builder
	for b.Len() < n {
		switch r.IntN(4) {
		case 0:
			b.WriteString(parts[r.IntN(len(parts))])
		case 1:
			b.WriteString(strings.Repeat("lorem ipsum ", r.IntN(300)))
		default:
			b.WriteString(randomText(r, r.IntN(64)))
		}
	}
	return b.String()
}

// TestQuotedPrintableWindowsMatchReference: looking only at '=' bytes
// gives the same reading as offering every byte to qpEscapeAt.
func TestQuotedPrintableWindowsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	for range 300 {
		s := qpText(r, r.IntN(40000))
		got, ok := quotedPrintableWindows(s)
		want, wok := refQuotedPrintableWindows(s)
		assert.Equal(t, ok, wok)
		assert.Equal(t, got, want)
	}
}

func TestEachLongRunMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 1))
	for n := range 20000 {
		s := randomText(r, r.IntN(400))
		if n%4 == 0 {
			// Runs of every length around min.
			var b strings.Builder
			for b.Len() < 300 {
				b.WriteString(strings.Repeat("a", r.IntN(30)))
				b.WriteByte(" \x00!"[r.IntN(3)])
			}
			s = b.String()
		}
		for _, set := range []*byteSet{isB64, isHex, printable, tokenSet, setWord, setEntTokNoPad, b58Set, letterSet} {
			min := 1 + r.IntN(60)
			var got [][2]int
			eachLongRun(s, set, min, func(a, b int) bool { got = append(got, [2]int{a, b}); return false })
			var want [][2]int
			eachRunAt(s, set, min, func(a, b int) bool { want = append(want, [2]int{a, b}); return false })
			assert.DeepEqual(t, got, want)
			// Stopping at the k-th run.
			if len(want) > 0 {
				k, seen := r.IntN(len(want)), 0
				eachLongRun(s, set, min, func(a, b int) bool { seen++; return seen > k })
				assert.Equal(t, seen, k+1)
			}
		}
	}
}
