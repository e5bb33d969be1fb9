package dlp

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// randMnemonic returns a BIP-39 mnemonic of n words (12, 15, 18, 21 or 24)
// with a valid checksum.
func randMnemonic(r *rand.Rand, n int) []string {
	ent := make([]byte, n*11*32/33/8)
	for i := range ent {
		ent[i] = byte(r.Uint32())
	}
	h := sha256.Sum256(ent)
	var bits strings.Builder
	for _, b := range ent {
		fmt.Fprintf(&bits, "%08b", b)
	}
	fmt.Fprintf(&bits, "%08b", h[0])
	b := bits.String()
	words := make([]string, n)
	for i := range words {
		var v int
		fmt.Sscanf(b[i*11:i*11+11], "%b", &v)
		words[i] = bip39List[v]
	}
	return words
}

// cardNumber returns a Luhn-valid number of an issuer cardIssuer knows.
func cardNumber(r *rand.Rand) string {
	pre := []string{"4", "4", "51", "55", "2221", "34", "37", "6011", "65", "3530", "36", "300", "62", "50", "67"}[r.IntN(15)]
	n := []int{13, 15, 16, 16, 16, 19, 14}[r.IntN(7)]
	if len(pre) >= n {
		n = 16
	}
	d := []byte(pre)
	for len(d) < n-1 {
		d = append(d, byte('0'+r.IntN(10)))
	}
	for c := byte('0'); c <= '9'; c++ {
		if luhn(string(d) + string(c)) {
			return string(d) + string(c)
		}
	}
	panic("no check digit")
}

// seedCardText builds text dense in what the seed-phrase and card rules
// look at: list words and mnemonics with every separator, short and long
// words, punctuation, digit groups and card numbers in every grouping,
// and random bytes.
func seedCardText(r *rand.Rand, n int) string {
	seps := []string{" ", " ", ", ", "\n", "\t", "-", "_", "\"", "'", "+", " 1. ", " 2) ", ":", ".", "  ", "\r\n"}
	var b strings.Builder
	for b.Len() < n {
		switch r.IntN(14) {
		case 0:
			words := randMnemonic(r, []int{12, 15, 18, 21, 24}[r.IntN(5)])
			for i, w := range words {
				if r.IntN(8) == 0 {
					w = strings.ToUpper(w)
				}
				if i > 0 {
					b.WriteString(seps[r.IntN(len(seps))])
				}
				b.WriteString(w)
			}
		case 1, 2, 3:
			b.WriteString(bip39List[r.IntN(len(bip39List))])
		case 4:
			b.WriteString([]string{"the", "of", "a", "is", "Ab", "x", "wordsmithing", "abandonabandon", "zoo", "Zoo", "ZOO", "abandonz"}[r.IntN(12)])
		case 5:
			const punct = "!?;(){}[]<>=/@#$%^&*|~`\x00\xff\xe2"
			b.WriteByte(punct[r.IntN(len(punct))])
		case 6:
			num := cardNumber(r)
			sep := []string{"", " ", "-", ".", "/", "_", "  ", "--", ". "}[r.IntN(9)]
			var g []int
			switch r.IntN(3) {
			case 0:
				g = []int{4, 4, 4, 4, 4}
			case 1:
				g = []int{4, 6, 5}
			default:
				g = []int{1 + r.IntN(6), 1 + r.IntN(6), 1 + r.IntN(6), 1 + r.IntN(6), 1 + r.IntN(6)}
			}
			for i := 0; num != ""; i++ {
				k := min(len(num), g[i%len(g)])
				if i > 0 {
					b.WriteString(sep)
				}
				b.WriteString(num[:k])
				num = num[k:]
			}
		case 7:
			for range 1 + r.IntN(20) {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		case 8:
			b.WriteByte(byte(r.IntN(256)))
		case 9:
			b.WriteString(strings.Repeat(bip39List[r.IntN(len(bip39List))]+" ", seedWords+r.IntN(seedLongRun)))
		default:
			b.WriteString(seps[r.IntN(len(seps))])
		}
	}
	return b.String()
}

// prefilteredRules pairs each pre-filtered detector with its old form.
var prefilteredRules = []struct {
	name     string
	got, old func(r *ruleScan, text string)
}{
	{"seed", (*ruleScan).seedPhrase, (*ruleScan).oldSeedPhrase},
	{"cards", (*ruleScan).cards, (*ruleScan).oldCards},
}

func checkPrefiltered(t *testing.T, s *Scanner, text string, hits map[string]int) {
	t.Helper()
	for _, p := range prefilteredRules {
		got := findings(s, func(r *ruleScan) { p.got(r, text) })
		want := findings(s, func(r *ruleScan) { p.old(r, text) })
		assert.Equal(t, strings.Join(got, ","), strings.Join(want, ","), "%s in %q", p.name, text)
		hits[p.name] += len(got)
	}
}

// TestPrefilteredRulesMatchOld: the pre-filtered detectors find exactly
// what their old forms (rules_old_test.go) find.
func TestPrefilteredRulesMatchOld(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(7, 7))
	hits := map[string]int{}
	for n := range 6000 {
		var text string
		switch n % 3 {
		case 0:
			text = seedCardText(r, r.IntN(600))
		case 1:
			text = randomText(r, r.IntN(600))
		default:
			// A phrase or a card inside prose: the neighbourhood test
			// and the probe's skips over long clean text.
			text = randomText(r, r.IntN(3000)) + seedCardText(r, 200) + randomText(r, r.IntN(3000))
		}
		checkPrefiltered(t, s, text, hits)
	}
	// Crafted: phrases of exactly 12 shortest words, runs at seedSpan
	// bytes and one short of it, breaks at every position.
	short := []string{}
	for _, w := range bip39List {
		if len(w) == 3 {
			short = append(short, w)
		}
	}
	for range 2000 {
		ws := make([]string, 11+r.IntN(3))
		for i := range ws {
			ws[i] = short[r.IntN(len(short))]
		}
		text := strings.Join(ws, " ")
		if r.IntN(2) == 0 {
			at := r.IntN(len(text) + 1)
			text = text[:at] + string("!a1.xZ"[r.IntN(6)]) + text[at:]
		}
		text = randomText(r, r.IntN(80)) + text + randomText(r, r.IntN(80))
		checkPrefiltered(t, s, text, hits)
	}
	t.Logf("findings: %v", hits)
	for _, w := range []string{"seed", "cards"} {
		assert.Assert(t, hits[w] > 100, "%s: %d findings in all", w, hits[w])
	}
}

// FuzzPrefilteredRules: go test ./pkg/dlp -run '^$' -fuzz FuzzPrefilteredRules
func FuzzPrefilteredRules(f *testing.F) {
	r := rand.New(rand.NewPCG(8, 8))
	for range 20 {
		f.Add(seedCardText(r, 300))
	}
	f.Add(strings.Repeat("abandon ", 11) + "about")
	f.Add("4111 1111 1111 1111")
	f.Add("x://a:b@ abc8Q~" + strings.Repeat("Zk8qXv9Lm2", 4) + " DB_Password=x")
	s, err := New(Options{NoGitleaks: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkPrefiltered(t, s, text, map[string]int{})
		got := findings(s, func(r *ruleScan) { r.structurePass(text) })
		want := findings(s, func(r *ruleScan) { r.oldStructurePass(text) })
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("structure: %v, was %v", got, want)
		}
		if len(text) <= 64 && secretKind(text) != oldSecretKind(text) {
			t.Fatalf("secretKind: %q, was %q", secretKind(text), oldSecretKind(text))
		}
		var kg, kw []int
		secretNameCores().each(text, func(i int) bool { kg = append(kg, i); return false })
		secretNameCores().oldEach(text, func(i int) bool { kw = append(kw, i); return false })
		if fmt.Sprint(kg) != fmt.Sprint(kw) {
			t.Fatalf("keywords: %v, was %v", kg, kw)
		}
		rs := &ruleScan{s: s, c: &collector{}}
		eachRunAt(text, setEntTokNoPad, 20, func(a, b int) bool {
			x, y := rs.entropyToken(text, a, text[a:b])
			ox, oy := rs.oldEntropyToken(text, a, text[a:b])
			if x != ox || y != oy || decodesToMedia(text[a:b]) != oldDecodesToMedia(text[a:b]) {
				t.Fatalf("entropy token %q", text[a:b])
			}
			return false
		})
	})
}

// TestSecretKindMatchesOld: names built from secret and excluded names,
// their case changed, glued with separators and random letters.
func TestSecretKindMatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	parts := append(append([]string{"_", "-", ".", "x", "Db", "9", "API", "Pw", "PWD", "pW", "Key", "KEY"}, secretNames...), excludedNames...)
	kinds := map[string]int{}
	for range 200000 {
		var b strings.Builder
		for range 1 + r.IntN(4) {
			p := parts[r.IntN(len(parts))]
			switch r.IntN(4) {
			case 0:
				p = strings.ToUpper(p)
			case 1:
				p = strings.ToUpper(p[:1]) + p[1:]
			}
			b.WriteString(p)
			if r.IntN(2) == 0 {
				b.WriteByte("_-.aZ0"[r.IntN(6)])
			}
		}
		name := b.String()
		got := secretKind(name)
		if got == "session" {
			// The old function named a session name's kind "secret"; the
			// new one tells it apart (its values may be server ids).
			got = "secret"
		}
		assert.Equal(t, got, oldSecretKind(name), name)
		kinds[got]++
	}
	t.Logf("kinds: %v", kinds)
	for _, k := range []string{"", "password", "crypto", "secret"} {
		assert.Assert(t, kinds[k] > 1000, "%q: %d", k, kinds[k])
	}
}

// entropyTokenText: runs of the entropy rule's token bytes — random
// base64, words joined by '+' and '/', media headers in base64, parts of
// every length around 20.
func entropyTokens(r *rand.Rand) string {
	var b strings.Builder
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for range 1 + r.IntN(6) {
		switch r.IntN(5) {
		case 0:
			b.WriteString(base64.RawStdEncoding.EncodeToString([]byte(mediaMagic[r.IntN(len(mediaMagic))] + "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b")))
		case 1:
			b.WriteString(bip39List[r.IntN(len(bip39List))])
		default:
			for range r.IntN(45) {
				b.WriteByte(b64[r.IntN(len(b64))])
			}
		}
		if r.IntN(3) > 0 {
			b.WriteByte("/+-_~="[r.IntN(6)])
		}
	}
	return b.String()
}

// TestEntropyTokenMatchesOld: entropyToken and decodesToMedia as they were.
func TestEntropyTokenMatchesOld(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(10, 10))
	found, media := 0, 0
	for range 100000 {
		tok := entropyTokens(r)
		if r.IntN(20) == 0 {
			tok = strings.Repeat(tok, 1+r.IntN(300))
		}
		rs := &ruleScan{s: s, c: &collector{}}
		a, b := rs.entropyToken("xx"+tok, 2, tok)
		oa, ob := rs.oldEntropyToken("xx"+tok, 2, tok)
		assert.Equal(t, [2]int{a, b}, [2]int{oa, ob}, "%q", tok)
		m := decodesToMedia(tok)
		assert.Equal(t, m, oldDecodesToMedia(tok), "%q", tok)
		if b > a {
			found++
		}
		if m {
			media++
		}
	}
	assert.Assert(t, found > 1000 && media > 1000, "%d tokens, %d media", found, media)
}

// TestKeywordEachMatchesOld: the keyword sets (the field rule's name
// cores, the gitleaks keywords) report the same positions as before.
func TestKeywordEachMatchesOld(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(11, 11))
	sets := []*keywordSet{secretNameCores(), newKeywordSet([]string{"a", "pw", "Ab", "xyz", "\x00q"})}
	if s.gl != nil {
		sets = append(sets, s.gl.keywords)
	}
	hits := 0
	for n := range 30000 {
		text := randomText(r, r.IntN(200))
		if n%2 == 0 {
			text = seedCardText(r, r.IntN(100)) + text
		}
		if n%5 == 0 && len(text) > 0 {
			text = text[:r.IntN(len(text))] + []string{"pw", "PW", "Pw", "ab", "a"}[r.IntN(5)]
		}
		for _, k := range sets {
			var got, want []int
			k.each(text, func(i int) bool { got = append(got, i); return false })
			k.oldEach(text, func(i int) bool { want = append(want, i); return false })
			assert.DeepEqual(t, got, want)
			hits += len(got)
			if len(want) > 0 {
				stop, seen := r.IntN(len(want)), 0
				k.each(text, func(int) bool { seen++; return seen > stop })
				assert.Equal(t, seen, stop+1)
			}
		}
	}
	assert.Assert(t, hits > 10000, hits)
}

// TestStructurePassMatchesOld: the structure shapes, each looked for only
// when structureNeedles says its string occurs, are found as before.
func TestStructurePassMatchesOld(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(12, 12))
	shapes := []string{
		"-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat("MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2", 5),
		"-----BEGIN PGP private key BLOCK", "openssh-key-v1", "https://user:hunter2pass@host.example/", "postgres://u:p@db", "://", "x://a:b@",
		"https://hooks.slack.com/services/T0000/B000/XXXX", "hooks.slack.com/workflows/", "hooks.slack.com/",
		"AccountKey=" + strings.Repeat("Zk8qXv9Lm2Tq7Rw4", 4), "AccountKey=", "SharedAccessKey=abc", "SharedAccessSignature=sv",
		"abc8Q~" + strings.Repeat("Zk8qXv9Lm2", 4), "Q~", "Q", "~", "123456789:AA" + strings.Repeat("Zk8qXv9Lm2", 4), ":AA", ":A",
		`{"type": "service_account", "private_key": "x"}`, `"service_account"`, "private_key", "PRIVATE KEY", "private key",
	}
	hits, rules := 0, map[string]bool{}
	for n := range 30000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(randomText(r, r.IntN(60)))
			sh := shapes[r.IntN(len(shapes))]
			if r.IntN(4) == 0 {
				sh = sh[:r.IntN(len(sh)+1)]
			}
			b.WriteString(sh)
		}
		text := b.String()
		if n%7 == 0 {
			text += []string{"Q~", ":AA", "://", "Q"}[r.IntN(4)]
		}
		got := findings(s, func(r *ruleScan) { r.structurePass(text) })
		want := findings(s, func(r *ruleScan) { r.oldStructurePass(text) })
		assert.Equal(t, strings.Join(got, ","), strings.Join(want, ","), "%q", text)
		hits += len(got)
		for _, g := range got {
			rules[g] = true
		}
	}
	assert.Assert(t, hits > 5000, hits)
	assert.Equal(t, len(rules), 9, "%v", rules)
}

// TestScanGroupsMatchesOld: skipping the lengths longer than the text
// finds the same secrets in the same order.
func TestScanGroupsMatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	found := 0
	for range 3000 {
		var fps []Fingerprint
		var vals []string
		for k := range 1 + r.IntN(7) {
			n := 8 + r.IntN(40)
			v := strings.Repeat("Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0A", 2)[k : k+n]
			fp, err := FingerprintOf(fmt.Sprint("s", k), v)
			assert.NilError(t, err)
			fp.Head, fp.Tail = "", "" // the per-length passes
			fps = append(fps, fp)
			vals = append(vals, v)
		}
		ks, err := newKnownSet(fps)
		assert.NilError(t, err)
		text := randomText(r, r.IntN(60))
		for _, v := range vals {
			if r.IntN(2) == 0 {
				at := r.IntN(len(text) + 1)
				if r.IntN(2) == 0 {
					v = reverse(v)
				}
				text = text[:at] + v + text[at:]
			}
		}
		for _, gs := range [][]lenGroup{ks.anyGroups, ks.tokGroups} {
			for _, rev := range []bool{false, true} {
				got := scanGroups(nil, text, gs, rev)
				assert.DeepEqual(t, got, oldScanGroups(nil, text, gs, rev))
				found += len(got)
			}
		}
	}
	assert.Assert(t, found > 1000, found)
}

// TestEachTokRunMatchesLongRun: the sets eachTokRun serves are within
// tokenSet, and it finds what eachLongRun finds, one text after another
// on the same scan.
func TestEachTokRunMatchesLongRun(t *testing.T) {
	for _, set := range []*byteSet{setWord, setEntTokNoPad, b58Set} {
		for c := range 256 {
			assert.Assert(t, !set[c] || tokenSet[c], "%q", c)
		}
	}
	r := rand.New(rand.NewPCG(14, 14))
	rs := &ruleScan{}
	for n := range 3000 {
		// Long enough for the list of runs to be kept (tokRunsFrom), or
		// not.
		text := randomText(r, r.IntN(2*tokRunsFrom))
		if n%3 == 0 {
			text = entropyTokens(r) + " " + text + entropyTokens(r)
		}
		for range 2 {
			for _, set := range []*byteSet{setWord, setEntTokNoPad, b58Set, tokenSet} {
				min := 1 + r.IntN(60)
				var got, want [][2]int
				rs.eachTokRun(text, set, min, func(a, b int) bool { got = append(got, [2]int{a, b}); return false })
				eachRunAt(text, set, min, func(a, b int) bool { want = append(want, [2]int{a, b}); return false })
				assert.DeepEqual(t, got, want)
				if len(want) > 0 {
					k, seen := r.IntN(len(want)), 0
					rs.eachTokRun(text, set, min, func(a, b int) bool { seen++; return seen > k })
					assert.Equal(t, seen, k+1)
				}
			}
		}
	}
}

func TestClassesMatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 15))
	for range 20000 {
		b := make([]byte, r.IntN(100))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		s := string(b) + entropyTokens(r)
		u, l, d, o := classes(s)
		ou, ol, od, oo := oldClasses(s)
		assert.Equal(t, [4]int{u, l, d, o}, [4]int{ou, ol, od, oo}, "%q", s)
	}
}
