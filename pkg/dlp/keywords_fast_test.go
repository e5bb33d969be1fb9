package dlp

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// refEach is keywordSet.each as it was before its table walk (verbatim):
// the reference of TestKeywordEachTabMatchesEach and FuzzKeywordEachTab.
func (k *keywordSet) refEach(text string, fn func(pos int) bool) {
	if len(text) < 2 {
		return
	}
	at := func(i int) bool {
		g := k.first[uint16(lowerASCII[text[i]])<<8|uint16(lowerASCII[text[i+1]])]
		for _, kw := range k.groups[g-1] {
			if hasPrefixFold(text[i:], kw) {
				return true
			}
		}
		return false
	}
	a, b := lowerASCII[text[0]], lowerASCII[text[1]]
	for i := 0; i+2 < len(text); i++ {
		c := lowerASCII[text[i+2]]
		if k.pairs.has(a, b) && k.next.has(b, c) && at(i) && fn(i) {
			return
		}
		a, b = b, c
	}
	if i := len(text) - 2; k.pairs.has(a, b) && at(i) {
		fn(i)
	}
}

func checkKeywordEach(t *testing.T, sets []*keywordSet, text string) {
	t.Helper()
	for n, k := range sets {
		var got, want []int
		k.eachTab(text, func(i int) bool { got = append(got, i); return false })
		k.refEach(text, func(i int) bool { want = append(want, i); return false })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("set %d, %q: %v, was %v", n, text, got, want)
		}
		if len(want) > 1 {
			seen := 0
			k.each(text, func(int) bool { seen++; return seen == 2 })
			if seen != 2 {
				t.Fatalf("set %d: stopped after %d", n, seen)
			}
		}
	}
}

func keywordSets(tb testing.TB) []*keywordSet {
	gl, err := sharedDetector()
	if err != nil {
		tb.Fatal(err)
	}
	// The gitleaks keywords hold two-byte ones ("sk", "ey", "s."), whose
	// next pair is any byte.
	return []*keywordSet{gl.keywords, secretNameCores(), newKeywordSet([]string{"x", "ab", "abc", "Key"})}
}

func TestKeywordEachTabMatchesEach(t *testing.T) {
	sets := keywordSets(t)
	r := rand.New(rand.NewPCG(8, 19))
	words := []string{"sk", "SK", "ey", "s.", "api", "API_KEY", "token", "Secret", "pass", "github", "AKIA", "q~", "x", "ab", "abc", "kEy"}
	for n := range 4000 {
		text := randomText(r, 2+r.IntN(700))
		if n%2 == 0 {
			var b strings.Builder
			for b.Len() < 2+r.IntN(400) {
				b.WriteString(words[r.IntN(len(words))])
				if r.IntN(3) == 0 {
					b.WriteByte(byte(r.IntN(256)))
				}
			}
			text = b.String()
		}
		checkKeywordEach(t, sets, text)
	}
	for _, w := range words {
		for _, text := range []string{w + "x", "x" + w, w + w, strings.Repeat(".", 300) + w} {
			if len(text) >= 2 {
				checkKeywordEach(t, sets, text)
			}
		}
	}
}

// FuzzKeywordEachTab: go test ./pkg/dlp -run '^$' -fuzz FuzzKeywordEachTab
func FuzzKeywordEachTab(f *testing.F) {
	f.Add("the api key is sk-here and ey")
	f.Add("SK")
	sets := keywordSets(f)
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) < 2 {
			return
		}
		checkKeywordEach(t, sets, text)
	})
}
