package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

// oldEagerEntropyPass is entropyPass before crowdScan: every run's token
// shape looked at, then eachIsolated over all of them.
func (r *ruleScan) oldEagerEntropyPass(text string) {
	var cands []int32
	r.eachTokRun(text, setEntTokNoPad, 20, func(start, i int) bool {
		for i < len(text) && text[i] == '=' {
			i++
		}
		if start > 0 && text[start-1] == '%' && i-start > 2 && isHex[text[start]] && isHex[text[start+1]] {
			start += 2
		}
		if a, b := r.entropyToken(text, start, text[start:i]); b > a {
			cands = append(cands, int32(a), int32(b))
		}
		return false
	})
	eachIsolated(cands, len(text), func(a, b int) bool {
		if r.randomToken(text, a, text[a:b]) {
			r.hit("high-entropy-token")
			return true
		}
		return false
	})
}

// crowdText builds a text of random tokens, hex digests, words and
// escapes at a density set by r: around the crowd threshold (bulkOthers
// tokens in 2×bulkWindow bytes) the decisions are closest.
func crowdText(r *rand.Rand, n int) string {
	var b strings.Builder
	gap := 1 + r.IntN(2048)
	for b.Len() < n {
		switch r.IntN(6) {
		case 0, 1:
			k := make([]byte, 15+r.IntN(40))
			for i := range k {
				k[i] = byte(r.Uint32())
			}
			enc := base64.StdEncoding.EncodeToString(k)
			if r.IntN(3) == 0 {
				enc = base64.RawURLEncoding.EncodeToString(k)
			}
			b.WriteString(enc)
		case 2:
			k := make([]byte, 20)
			for i := range k {
				k[i] = byte(r.Uint32())
			}
			b.WriteString(hex.EncodeToString(k))
		case 3:
			b.WriteString(strings.Repeat("word ", 1+r.IntN(gap/5+1)))
		case 4:
			b.WriteString("%3A" + strings.Repeat("Zq9x", 6) + "etag: ")
		default:
			b.WriteString(strings.Repeat(" ", r.IntN(gap)))
		}
		b.WriteByte(" \n/+="[r.IntN(5)])
	}
	return b.String()
}

// isolatedBoth returns the isolated tokens (a, b pairs, in the order fn
// is called with them) as eachIsolated over every candidate gives them,
// and as crowdScan gives them.
func isolatedBoth(r *ruleScan, text string) (eager, lazy []int) {
	var runs, cands []int32
	r.eachTokRun(text, setEntTokNoPad, 20, func(start, i int) bool {
		for i < len(text) && text[i] == '=' {
			i++
		}
		if start > 0 && text[start-1] == '%' && i-start > 2 && isHex[text[start]] && isHex[text[start+1]] {
			start += 2
		}
		if !entropyTokenNone(text[start:i]) {
			runs = append(runs, int32(start), int32(i))
		}
		if a, b := r.entropyToken(text, start, text[start:i]); b > a {
			cands = append(cands, int32(a), int32(b))
		}
		return false
	})
	eachIsolated(cands, len(text), func(a, b int) bool { eager = append(eager, a, b); return false })
	looked := map[int]bool{}
	crowdScan(runs, len(text), func(k int) (int, int) {
		if looked[k] {
			panic("run looked at twice")
		}
		looked[k] = true
		a, b := int(runs[2*k]), int(runs[2*k+1])
		return r.entropyToken(text, a, text[a:b])
	}, func(a, b int) bool { lazy = append(lazy, a, b); return false })
	return eager, lazy
}

func checkCrowdScan(t *testing.T, s *Scanner, text string) {
	t.Helper()
	eager, lazy := isolatedBoth(&ruleScan{s: s, c: &collector{}}, text)
	if len(eager) != len(lazy) {
		t.Fatalf("crowdScan: %d isolated tokens, eachIsolated %d (text of %d bytes)", len(lazy)/2, len(eager)/2, len(text))
	}
	for i := range eager {
		if eager[i] != lazy[i] {
			t.Fatalf("crowdScan: isolated tokens %v, eachIsolated %v", lazy, eager)
		}
	}
	var c1, c2 collector
	old := &ruleScan{s: s, c: &c1, part: "body", enc: EncRaw}
	old.oldEagerEntropyPass(text)
	cur := &ruleScan{s: s, c: &c2, part: "body", enc: EncRaw}
	cur.entropyPass(text)
	if len(c1.out) != len(c2.out) {
		t.Fatalf("entropyPass: %d findings, the eager pass %d (text of %d bytes)", len(c2.out), len(c1.out), len(text))
	}
}

func TestCrowdScanMatchesEager(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(3, 4))
	found := 0
	for i := range 400 {
		text := crowdText(r, 64+r.IntN(40000))
		if i%50 == 0 {
			text = crowdText(r, 200000)
		}
		checkCrowdScan(t, s, text)
		var c collector
		(&ruleScan{s: s, c: &c}).oldEagerEntropyPass(text)
		found += len(c.out)
	}
	if found == 0 || found == 400 {
		t.Fatalf("%d of 400 texts hold an isolated token: the texts do not probe the crowd edge", found)
	}
	for _, text := range []string{"", strings.Repeat("x", 30), "aB3" + strings.Repeat("Zq9xW", 5)} {
		checkCrowdScan(t, s, text)
	}
}

func FuzzCrowdScanMatchesEager(f *testing.F) {
	f.Add(uint64(1), uint16(500))
	f.Add(uint64(7), uint16(30000))
	s, err := New(Options{NoGitleaks: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, seed uint64, n uint16) {
		checkCrowdScan(t, s, crowdText(rand.New(rand.NewPCG(seed, 9)), int(n)+20))
	})
}

// FuzzEntropyTokenNone: a run entropyTokenNone leaves out has no token.
func FuzzEntropyTokenNone(f *testing.F) {
	for _, s := range []string{"the+of+and+to+in+is+that", "a/b/c/d/e/f/g/h/i/j/k/l", strings.Repeat("Zq9x", 8), strings.Repeat("ab+", 20) + strings.Repeat("Q", 20)} {
		f.Add(s)
	}
	r := &ruleScan{}
	f.Fuzz(func(t *testing.T, tok string) {
		if a, b := r.entropyToken("xx"+tok, 2, tok); entropyTokenNone(tok) && b > a {
			t.Fatalf("entropyTokenNone(%q) but entropyToken gives [%d, %d)", tok, a, b)
		}
	})
}
