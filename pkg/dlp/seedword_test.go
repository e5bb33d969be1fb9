package dlp

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSeedWordIndexMatchesList: seedWordIndex (packed and looked up in
// one loop) gives every list word, in any case, its index on the list,
// and every other letter run -1.
func TestSeedWordIndexMatchesList(t *testing.T) {
	index := map[string]int{}
	for i, w := range bip39List {
		index[w] = i
	}
	check := func(w string) {
		t.Helper()
		want, ok := index[strings.ToLower(w)]
		if !ok {
			want = -1
		}
		text := "1" + w + "2"
		if got := seedWordIndex(text, 1, 1+len(w)); got != want {
			t.Fatalf("seedWordIndex(%q) = %d, want %d", w, got, want)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, w := range bip39List {
		check(w)
		check(strings.ToUpper(w))
		b := []byte(w)
		b[r.IntN(len(b))] ^= 0x20
		check(string(b))
		check(w[:len(w)-1])
		if len(w) < 8 {
			check(w + "s")
		}
	}
	for range 200000 {
		b := make([]byte, 3+r.IntN(6))
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[r.IntN(52)]
		}
		check(string(b))
	}
}
