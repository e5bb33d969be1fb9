package dlp

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The decoders' run searches (eachRun: base64, hex and printable runs;
// base32Runs) walk as eachLongRun does; they must find what eachRunAt
// finds, the walk they replace.

// runSets are the sets the run searches are called with.
var runSets = []*byteSet{isB64, isHex, printable, printableOrNUL, isB32Upper, isB32Lower, tokenSet, letterSet}

func checkRuns(t *testing.T, s string, min int) {
	t.Helper()
	for k, set := range runSets {
		var got, want []string
		eachRun(s, set, min, func(r string) bool { got = append(got, r); return false })
		eachRunAt(s, set, min, func(a, b int) bool { want = append(want, s[a:b]); return false })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("set %d, min %d, %q: %q, was %q", k, min, s, got, want)
		}
		if len(want) > 1 {
			seen := 0
			eachRun(s, set, min, func(string) bool { seen++; return seen == len(want)/2 })
			if seen != len(want)/2 {
				t.Fatalf("set %d: stopped after %d runs, not %d", k, seen, len(want)/2)
			}
		}
	}
}

func TestEachRunMatchesRunAt(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 19))
	for n := range 5000 {
		s := randomText(r, r.IntN(600))
		if n%3 == 0 {
			var b strings.Builder
			for b.Len() < 400 {
				b.WriteString(strings.Repeat("aZ9+", 10)[:r.IntN(30)])
				b.WriteByte(" \x00!\n"[r.IntN(4)])
			}
			s = b.String()
		}
		for _, min := range []int{minB64Run, minHexRun, minDecodedIsland, 16, 24, 1 + r.IntN(40)} {
			checkRuns(t, s, min)
		}
	}
	var got, want []string
	s := "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIZDGNBVGY3Q " + strings.ToLower("MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZ") + " x"
	base32Runs(s, true, func(d string) bool { got = append(got, d); return false })
	for _, set := range []*byteSet{isB32Upper, isB32Lower} {
		eachRunAt(s, set, 24, func(a, b int) bool { want = append(want, s[a:b]); return false })
	}
	if len(got) == 0 || len(want) != 2 {
		t.Fatalf("base32 runs: %q decoded from %q", got, want)
	}
}

// FuzzEachRunMatchesRunAt: go test ./pkg/dlp -run '^$' -fuzz FuzzEachRunMatchesRunAt
func FuzzEachRunMatchesRunAt(f *testing.F) {
	r := rand.New(rand.NewPCG(4, 4))
	for range 10 {
		f.Add(randomText(r, 300), uint8(12))
	}
	f.Fuzz(func(t *testing.T, s string, min uint8) {
		checkRuns(t, s, 2+int(min%64))
	})
}
