package dlp

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

func TestRollBaseInv(t *testing.T) {
	assert.Equal(t, uint64(rollBase)*rollBaseInv, uint64(1))
}

// TestNextAnchorIsAnchor: nextAnchor's hash, written out, is
// secretfp.Anchor, and it stops at the first marked position (of the four
// a round too) and nowhere before.
func TestNextAnchorIsAnchor(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for range 2000 {
		text := secretBytes(r, r.IntN(40), r.IntN(3))
		if len(text) < 8 {
			assert.Equal(t, nextAnchor(new([1 << 16 / 64]uint64), text, 0), -1)
			continue
		}
		at := r.IntN(len(text) - 7)
		bits := new([1 << 16 / 64]uint64)
		a := secretfp.Anchor(secretfp.Load(text[at:]))
		bits[a>>6] |= 1 << (a & 63)
		assert.Equal(t, uint16(load8(text[at:at+8])*anchorMul>>48), a)
		want := at
		for i := range at {
			if secretfp.Anchor(secretfp.Load(text[i:])) == a {
				want = i
				break
			}
		}
		from := r.IntN(want + 1)
		assert.Equal(t, nextAnchor(bits, text, from), want)
	}
}

// knownCase is a set of secrets and a text they are planted in.
type knownCase struct {
	vals []string
	text string
}

// secretBytes is the alphabet of a generated secret: token bytes, any
// byte, or a few letters (many shared prefixes, suffixes and repeats).
func secretBytes(r *rand.Rand, n, kind int) string {
	b := make([]byte, n)
	for i := range b {
		switch kind {
		case 0:
			b[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./+=~"[r.IntN(69)]
		case 1:
			b[i] = byte(r.IntN(256))
		default:
			b[i] = "ab"[r.IntN(2)]
		}
	}
	return string(b)
}

// randomKnownCase makes 1..maxSecrets secrets of lengths 8..200 (some
// sharing a length, some the prefix or suffix of another, some with
// non-token bytes) and a text with some of them planted: forward or
// reversed, at its edges, overlapping, cut short by one byte.
func randomKnownCase(r *rand.Rand, maxSecrets int) knownCase {
	var c knownCase
	kind := r.IntN(3)
	for range 1 + r.IntN(maxSecrets) {
		var v string
		switch n := 8 + r.IntN(193); {
		case len(c.vals) > 0 && r.IntN(4) == 0: // another's length
			v = secretBytes(r, len(c.vals[r.IntN(len(c.vals))]), kind)
		case len(c.vals) > 0 && r.IntN(4) == 0: // shares a prefix or suffix
			o := c.vals[r.IntN(len(c.vals))]
			k := min(len(o), 8+r.IntN(16))
			if r.IntN(2) == 0 {
				v = o[:k] + secretBytes(r, r.IntN(40), kind)
			} else {
				v = secretBytes(r, r.IntN(40), kind) + o[len(o)-k:]
			}
		default:
			v = secretBytes(r, n, kind)
		}
		c.vals = append(c.vals, v)
	}
	var b strings.Builder
	if r.IntN(8) == 0 {
		b.WriteString(secretBytes(r, r.IntN(300), 2))
	} else {
		b.WriteString(randomText(r, r.IntN(400)))
	}
	text := b.String()
	for range r.IntN(2 * len(c.vals)) {
		v := c.vals[r.IntN(len(c.vals))]
		switch r.IntN(4) {
		case 0:
			v = reverse(v)
		case 1:
			v = v[:len(v)-1] // a near miss
		}
		var at int
		switch r.IntN(4) {
		case 0:
			at = 0
		case 1:
			at = len(text)
		default:
			at = r.IntN(len(text) + 1)
		}
		text = text[:at] + v + text[at:]
	}
	c.text = text
	return c
}

func fingerprints(t testing.TB, vals []string) []Fingerprint {
	var fps []Fingerprint
	for i, v := range vals {
		fp, err := FingerprintOf(fmt.Sprint("s", i), v)
		assert.NilError(t, err)
		// The reference (perLengthSet) knows the values only, not their
		// forms (knownforms.go, TestRedteam7KnownForms).
		fp.Forms = nil
		fps = append(fps, fp)
	}
	return fps
}

// sorted is a copy of s, sorted: the anchored scan finds names in the
// order they start in the text, the per-length passes length by length.
func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// perLengthSet is the matcher before anchors — one Rabin-Karp pass per
// pair of secret lengths and direction — which a set of fingerprints
// without anchors still uses unchanged: the reference the anchored
// matcher is tested against.
func perLengthSet(fps []Fingerprint) (*knownSet, error) {
	plain := slices.Clone(fps)
	for i := range plain {
		plain[i].Head, plain[i].Tail = "", ""
	}
	return newKnownSet(plain)
}

// checkKnownMatchesOld: the anchored set (and one with some fingerprints
// without anchors) finds the same secrets, forward and reversed, as the
// matcher before anchors. It returns how many it found.
func checkKnownMatchesOld(t testing.TB, fps []Fingerprint, text string, mixed []bool) int {
	old, err := perLengthSet(fps)
	assert.NilError(t, err)
	var sets []*knownSet
	ks, err := newKnownSet(fps)
	assert.NilError(t, err)
	sets = append(sets, ks)
	if mixed != nil {
		mix := slices.Clone(fps)
		for i := range mix {
			if mixed[i%len(mixed)] {
				mix[i].Head, mix[i].Tail = "", ""
			}
		}
		ks, err := newKnownSet(mix)
		assert.NilError(t, err)
		sets = append(sets, ks)
	}
	n := 0
	for _, dir := range [][2]bool{{true, true}, {true, false}, {false, true}} {
		wantF, wantR := old.findBoth(text, dir[0], dir[1])
		for _, ks := range sets {
			gotF, gotR := ks.findBoth(text, dir[0], dir[1])
			assert.DeepEqual(t, sorted(gotF), sorted(wantF))
			assert.DeepEqual(t, sorted(gotR), sorted(wantR))
		}
		n += len(wantF) + len(wantR)
	}
	assert.Equal(t, ks.any(), old.any())
	assert.Equal(t, ks.anyBytes(), len(old.anyGroups) > 0)
	return n
}

func TestKnownAnchorsMatchOld(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	found := 0
	for range 1500 {
		c := randomKnownCase(r, 20)
		mixed := []bool{r.IntN(2) == 0, r.IntN(2) == 0, r.IntN(2) == 0}
		found += checkKnownMatchesOld(t, fingerprints(t, c.vals), c.text, mixed)
	}
	assert.Assert(t, found > 1500, found)
}

// TestKnownAnchorsAdversarial: texts whose every position is a candidate
// (one byte repeated, a short period, the secret's own head over and
// over), secrets that are all one byte, and the windows at both edges.
func TestKnownAnchorsAdversarial(t *testing.T) {
	vals := []string{strings.Repeat("a", 8), strings.Repeat("a", 9), strings.Repeat("a", 200), strings.Repeat("ab", 20), "ab" + strings.Repeat("a", 30),
		strings.Repeat("a", 50) + "b", "b" + strings.Repeat("a", 50), "\x00\x00\x00\x00\x00\x00\x00\x00\xff", "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"}
	fps := fingerprints(t, vals)
	texts := []string{"", "a", strings.Repeat("a", 7), strings.Repeat("a", 8), strings.Repeat("a", 199), strings.Repeat("a", 200), strings.Repeat("a", 5000),
		strings.Repeat("ab", 3000), strings.Repeat("b", 100) + strings.Repeat("a", 100), strings.Repeat("\x00", 300) + "\xff",
		"\xff" + strings.Repeat("\x00", 8), strings.Repeat("tok_9fQ2", 500) + "vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0",
		reverse(strings.Repeat("tok_9fQ2", 1) + "vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0" + strings.Repeat("tok_9fQ2", 50))}
	for _, text := range texts {
		for i := range fps {
			checkKnownMatchesOld(t, fps[i:i+1], text, nil)
		}
		checkKnownMatchesOld(t, fps, text, []bool{true, false})
		// Every length between the two ends of a text of one byte.
		checkKnownMatchesOld(t, fps, text[:len(text)/2], nil)
	}
	ks, err := newKnownSet(fps)
	assert.NilError(t, err)
	f, rv := ks.findBoth(strings.Repeat("a", 200), true, true)
	assert.DeepEqual(t, f, []string{"s0", "s1", "s2"})
	assert.DeepEqual(t, rv, []string{"s0", "s1", "s2"})
}

// TestKnownAnchorsBadConfig: a fingerprint with one anchor, or one not
// four hex digits, is refused; one with neither is found the old way.
func TestKnownAnchorsBadConfig(t *testing.T) {
	fp, err := FingerprintOf("g", secrets["generic"])
	assert.NilError(t, err)
	for _, bad := range [][2]string{{fp.Head, ""}, {"", fp.Tail}, {"12345", fp.Tail}, {fp.Head, "xyz1"}, {"+123", fp.Tail}} {
		b := fp
		b.Head, b.Tail = bad[0], bad[1]
		_, err := newKnownSet([]Fingerprint{b})
		assert.ErrorContains(t, err, "head and tail must be four hex digits")
	}
	plain := fp
	plain.Head, plain.Tail, plain.Forms = "", "", nil // written before anchors (and forms)
	ks, err := newKnownSet([]Fingerprint{plain})
	assert.NilError(t, err)
	assert.Assert(t, ks.bits == nil && len(ks.tokGroups) == 1)
	f, rv := ks.findBoth("x"+secrets["generic"]+"y"+reverse(secrets["generic"]), true, true)
	assert.DeepEqual(t, f, []string{"g"})
	assert.DeepEqual(t, rv, []string{"g"})
	// A wrong anchor hides the secret (both ends are checked, in both
	// directions): anchors are part of the fingerprint.
	wrong := fp
	wrong.Head = fmt.Sprintf("%04x", secretfp.Anchor(secretfp.Load("zzzzzzzz")))
	ks, err = newKnownSet([]Fingerprint{wrong})
	assert.NilError(t, err)
	f, rv = ks.findBoth(secrets["generic"]+reverse(secrets["generic"]), true, true)
	assert.Equal(t, len(f), 0)
	assert.Equal(t, len(rv), 0)
}

// FuzzKnownAnchorsMatchOld: secrets cut from the fuzzed text itself (so
// they are in it, forward or reversed) and from a seed, against the
// matcher before anchors.
func FuzzKnownAnchorsMatchOld(f *testing.F) {
	f.Add([]byte("tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0 and more text here"), uint64(1), uint8(3))
	f.Add([]byte(strings.Repeat("a", 300)), uint64(2), uint8(9))
	f.Add([]byte("\x00\xff\x00\xff\x00\xff\x00\xff\x00\xff\x00\xffabcdefgh"), uint64(3), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, nsec uint8) {
		text := string(data)
		r := rand.New(rand.NewPCG(seed, seed>>7))
		var vals []string
		for range 1 + int(nsec)%20 {
			switch {
			case len(text) >= 8 && r.IntN(3) != 0:
				n := 8 + r.IntN(min(len(text)-8, 192)+1)
				at := r.IntN(len(text) - n + 1)
				v := text[at : at+n]
				if r.IntN(2) == 0 {
					v = reverse(v)
				}
				vals = append(vals, v)
			default:
				vals = append(vals, secretBytes(r, 8+r.IntN(193), r.IntN(3)))
			}
		}
		checkKnownMatchesOld(t, fingerprints(t, vals), text, []bool{r.IntN(2) == 0, true, false})
	})
}

// BenchmarkKnownFindBoth is findBoth alone (both directions) over 1 MiB
// of three body classes and of the secrets' heads, with 1, 5 and 20 secrets of different lengths
// (token secrets, or "any": one of them holds a space), for the matcher
// before anchors and the anchored one. Run:
// go test ./pkg/dlp -run '^$' -bench KnownFindBoth -cpu 1
func BenchmarkKnownFindBoth(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	var vals []string
	for i := range 20 {
		vals = append(vals, secretBytes(r, 12+9*i, 0))
	}
	spaced := slices.Clone(vals)
	spaced[0] = spaced[0][:5] + " " + spaced[0][6:]
	// heads is the worst case for anchors: the first eight bytes of
	// every secret, and the last eight reversed, over and over, each
	// position a candidate.
	var heads strings.Builder
	for heads.Len() < 1<<20 {
		for _, v := range vals {
			heads.WriteString(v[:8])
			heads.WriteString(reverse(v[len(v)-8:]))
		}
	}
	for _, class := range []string{"text", "json", "binary", "heads"} {
		text := heads.String()
		if class != "heads" {
			_, ce, body, err := benchload.ClassBody(class, 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			dec, err := undoEncoding(ce, body)
			if err != nil {
				b.Fatal(err)
			}
			text = string(dec)
		}
		for _, c := range []struct {
			kind string
			n    int
		}{{"token", 1}, {"token", 5}, {"token", 20}, {"any", 1}, {"any", 5}, {"any", 20}} {
			kind, n := c.kind, c.n
			fps := fingerprints(b, vals[:n])
			if kind == "any" {
				fps = fingerprints(b, spaced[:n])
			}
			old, err := perLengthSet(fps)
			assert.NilError(b, err)
			ks, err := newKnownSet(fps)
			assert.NilError(b, err)
			b.Run(fmt.Sprintf("%s/%s/%d/old", class, kind, n), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				start, n := cpuTime(), 0
				for b.Loop() {
					n++
					old.findBoth(text, true, true)
				}
				if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
					b.ReportMetric(float64(n*len(text))/cpu/1e6, "cpuMB/s")
				}
			})
			b.Run(fmt.Sprintf("%s/%s/%d/new", class, kind, n), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				start, n := cpuTime(), 0
				for b.Loop() {
					n++
					ks.findBoth(text, true, true)
				}
				if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
					b.ReportMetric(float64(n*len(text))/cpu/1e6, "cpuMB/s")
				}
			})
		}
	}
}

// TestScannerAnchoredMatchesPerLength: a scanner given fingerprints with
// anchors reports what one given the same fingerprints without them (the
// per-length passes, the matcher before anchors) does, on every body class
// with the secrets planted in every encoding, forward and reversed.
func TestScannerAnchoredMatchesPerLength(t *testing.T) {
	vals := map[string]string{"spaced": "pass word\twith spaces and \x01 bytes", "short": "Zk8qXv9L"}
	for k, v := range secrets {
		vals[k] = v
	}
	var anchored, plain []Fingerprint
	for name, v := range vals {
		fp, err := FingerprintOf(name, v)
		assert.NilError(t, err)
		anchored = append(anchored, fp)
		fp.Head, fp.Tail = "", ""
		plain = append(plain, fp)
	}
	found := 0
	for _, only := range []bool{false, true} {
		opts := Options{NoGitleaks: true}
		if only {
			// Token secrets only: the anchored pass reads runs of token
			// bytes, and readings are not all made whole.
			opts.Known = slices.DeleteFunc(slices.Clone(anchored), func(fp Fingerprint) bool { return !fp.Token })
		} else {
			opts.Known = anchored
		}
		sa, err := New(opts)
		assert.NilError(t, err)
		if only {
			opts.Known = slices.DeleteFunc(slices.Clone(plain), func(fp Fingerprint) bool { return !fp.Token })
		} else {
			opts.Known = plain
		}
		sp, err := New(opts)
		assert.NilError(t, err)
		r := rand.New(rand.NewPCG(8, 8))
		for _, class := range benchload.ScanClasses {
			ct, ce, body, err := benchload.ClassBody(class, 8<<10)
			assert.NilError(t, err)
			dec, err := undoEncoding(ce, body)
			assert.NilError(t, err)
			for name, v := range vals {
				for enc, e := range encodings(v) {
					at := r.IntN(len(dec) + 1)
					text := string(dec[:at]) + e + string(dec[at:])
					if r.IntN(2) == 0 {
						text = reverse(e) + string(dec)
					}
					fa, err := sa.ScanBody(ct, []byte(text))
					assert.NilError(t, err)
					fp, err := sp.ScanBody(ct, []byte(text))
					assert.NilError(t, err)
					key := func(f Finding) string { return f.Rule + "|" + f.Known + "|" + f.Part + "|" + f.Encoding }
					ka, kp := slices.Sorted(func(y func(string) bool) {
						for _, f := range fa {
							y(key(f))
						}
					}), slices.Sorted(func(y func(string) bool) {
						for _, f := range fp {
							y(key(f))
						}
					})
					assert.Assert(t, slices.Equal(ka, kp), "%s, %s as %s: anchored %v, per length %v", class, name, enc, ka, kp)
					found += len(ka)
				}
			}
		}
	}
	assert.Assert(t, found > 1000, found)
}

// BenchmarkKnownReadings is the known-secret search alone (the scanner's
// three test secrets, both directions) over every reading of each body
// class, before anchors and with them; its rate is of the bytes sent, as
// BenchmarkScanBodyClass's. Run:
// go test ./pkg/dlp -run '^$' -bench KnownReadings -cpu 1
func BenchmarkKnownReadings(b *testing.B) {
	s := scanner(b, Options{})
	var fps []Fingerprint
	for name, v := range secrets {
		fp, err := FingerprintOf(name, v)
		assert.NilError(b, err)
		fps = append(fps, fp)
	}
	old, err := perLengthSet(fps)
	assert.NilError(b, err)
	for _, class := range benchload.ScanClasses {
		texts, _, sent := classRuleTexts(b, class, 1<<20)
		for _, impl := range []string{"old", "new"} {
			b.Run(class+"/"+impl, func(b *testing.B) {
				b.SetBytes(int64(sent))
				start, n := cpuTime(), 0
				for b.Loop() {
					n++
					for _, t := range texts {
						if impl == "old" {
							old.findBoth(t, true, true)
						} else {
							s.known.findBoth(t, true, true)
						}
					}
				}
				if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
					b.ReportMetric(float64(n*sent)/cpu/1e6, "cpuMB/s")
				}
			})
		}
	}
}
