package dlp

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"gotest.tools/v3/assert"
)

func checkFlatten(t *testing.T, s string) {
	t.Helper()
	for _, only := range []bool{false, true} {
		var got, want strings.Builder
		flattenJSON(&got, s, only)
		oldFlattenJSON(&want, s, only)
		if got.String() != want.String() {
			t.Fatalf("flattenJSON(%q, %v) = %q, was %q", s, only, got.String(), want.String())
		}
	}
}

// jsonishText is random JSON-like text: strings with every escape (and
// broken ones), keys, scalars, nesting, raw quotes and backslashes.
func jsonishText(r *rand.Rand, n int) string {
	pieces := []string{`{`, `}`, `[`, `]`, `:`, `,`, ` `, "\n", `"`, `\`, `"k":`, `"password": `, `"a\"b"`, `"\n\t\r\b\f\/"`,
		`"\u0041\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\u12"`, `\u`, `"x\\"`, `12`, `-3.5e2`, `true`, `null`, `false`,
		`"plain text here"`, "\"line\nbreak\"", "\"cr\rret\"", `"ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7"`, "\xff", "é"}
	var b strings.Builder
	for b.Len() < n {
		if r.IntN(8) == 0 {
			b.WriteByte(byte(r.IntN(256)))
			continue
		}
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// TestFlattenJSONMatchesOld: the bulk-writing flattening writes exactly
// what the byte-at-a-time one (jsonflat_old_test.go) wrote.
func TestFlattenJSONMatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 19))
	for range 20000 {
		checkFlatten(t, jsonishText(r, r.IntN(300)))
	}
	for _, class := range []string{"code", "json", "base64-json", "deep-json"} {
		_, _, body, err := benchload.ClassBody(class, 64<<10)
		assert.NilError(t, err)
		checkFlatten(t, string(body))
	}
	for _, s := range []string{``, `"`, `\`, `"\`, `"a\`, `"\u00`, `{"k":"v\`, `"\"`, `{"k":"a\nb"}`,
		// An escaped key keeps its text while the values after it are
		// decoded.
		`{"p\u0061ssword":"v\"1","q":"w\nx"}`, `{"a\"b":["x\ny","z\tw",{"c\u00e9":"d\re"}]}`} {
		checkFlatten(t, s)
	}
}

// FuzzFlattenJSONMatchesOld: go test ./pkg/dlp -run '^$' -fuzz FuzzFlattenJSONMatchesOld
func FuzzFlattenJSONMatchesOld(f *testing.F) {
	r := rand.New(rand.NewPCG(6, 6))
	for range 20 {
		f.Add(jsonishText(r, 200))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<16 {
			return
		}
		checkFlatten(t, s)
	})
}
