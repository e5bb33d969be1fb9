package dlp

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"gotest.tools/v3/assert"
)

// checkFlattenJoin: the flat lines flattenJSONJoin writes are byte for
// byte those of the reference (jsonjoin_old_test.go), and its two joined
// readings (the sibling runs, the runs in document order) hold every
// stretch the reference's held: each of the reference's lines, or each
// window of maxJoinEnd bytes of a longer one (longer than any secret a
// rule reads), is within one of their lines. (A short-enough value that
// continues a concatenated run rather than ending it and starting the
// next changes the lines, not what they hold.)
func checkFlattenJoin(t *testing.T, s string) {
	t.Helper()
	for _, only := range []bool{false, true} {
		var got, want strings.Builder
		var gotJ, gotA joinBuf
		var wantJ, wantA strings.Builder
		flattenJSONJoin(&got, s, only, &gotJ, &gotA)
		oldFlattenJSONJoin(&want, s, only, &wantJ, &wantA)
		if got.String() != want.String() {
			t.Fatalf("flattenJSONJoin(%q, %v):\nflat %q\nwas  %q", s, only, got.String(), want.String())
		}
		for _, r := range []struct{ name, got, want string }{{"joined", gotJ.String(), wantJ.String()}, {"all", gotA.String(), wantA.String()}} {
			if line, ok := joinCovers(r.got, r.want); !ok {
				t.Fatalf("flattenJSONJoin(%q, %v): %s reading lost %q\ngot %q\nwas %q", s, only, r.name, line, r.got, r.want)
			}
		}
	}
}

// joinCovers reports whether every line of want, or every window of
// maxJoinEnd bytes of a longer one, is within a line of got; if not, it
// returns the stretch missing.
func joinCovers(got, want string) (string, bool) {
	lines := strings.Split(got, "\n")
	within := func(w string) bool {
		for _, l := range lines {
			if strings.Contains(l, w) {
				return true
			}
		}
		return false
	}
	for _, w := range strings.Split(want, "\n") {
		if len(w) <= maxJoinEnd {
			if !within(w) {
				return w, false
			}
			continue
		}
		step := 1
		if len(want) > 8<<10 {
			step = 13 // big inputs: a sample of the windows
		}
		for i := 0; i+maxJoinEnd <= len(w); i += step {
			if !within(w[i : i+maxJoinEnd]) {
				return w[i : i+maxJoinEnd], false
			}
		}
		if !within(w[len(w)-maxJoinEnd:]) {
			return w[len(w)-maxJoinEnd:], false
		}
	}
	return "", true
}

// joinishText is random JSON whose values are the shapes the join reads:
// short pieces of tokens, words, digit groups, token prefixes, values
// about maxJoinValue and maxJoinEnd long, nesting, keys.
func joinishText(r *rand.Rand, n int) string {
	tok := "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7"
	words := []string{"abandon", "ability", "zoo", "wrong", "x", "AKIA", "SK", "key-", "sk-ant-", "s.", "hf_", "EAAA", "4111", "1111", "42", "7",
		"12", "255", "0", "é", "a\"b", "c\\d", "e\nf", "\\u0041", ""}
	var b strings.Builder
	depth := 0
	for b.Len() < n {
		switch r.IntN(12) {
		case 0:
			b.WriteString(`{"` + words[r.IntN(len(words))] + `":`)
			depth++
		case 1:
			b.WriteString(`[`)
			depth++
		case 2:
			if depth > 0 {
				b.WriteString([]string{`}`, `]`}[r.IntN(2)])
				depth--
			}
		case 3:
			k := r.IntN(len(tok))
			b.WriteString(mustJSON(tok[:k]) + `,` + mustJSON(tok[k:]))
		case 4:
			b.WriteString(mustJSON(strings.Repeat("q", 28+r.IntN(8))))
		case 5:
			b.WriteString(mustJSON(strings.Repeat("w", 150+r.IntN(20))))
		case 6:
			b.WriteString(fmt.Sprint(r.IntN(300)))
		case 7:
			b.WriteString(`"` + words[r.IntN(len(words))] + `":`)
		default:
			b.WriteString(mustJSON(words[r.IntN(len(words))]))
		}
		b.WriteString([]string{`,`, ` , `, `,`, ``, "\n"}[r.IntN(5)])
	}
	return b.String()
}

// TestFlattenJSONJoinMatchesOld: the bulk-writing join writes exactly what
// the value-at-a-time one wrote, in every reading.
func TestFlattenJSONJoinMatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 21))
	for range 20000 {
		checkFlattenJoin(t, jsonishText(r, r.IntN(300)))
		checkFlattenJoin(t, joinishText(r, r.IntN(600)))
	}
	for range 50 {
		checkFlattenJoin(t, joinishText(r, 20000)) // runs cut at maxJoinBytes
	}
	for _, class := range benchload.ScanClasses {
		_, _, body, err := benchload.ClassBody(class, 64<<10)
		assert.NilError(t, err)
		checkFlattenJoin(t, string(body))
	}
	for _, s := range []string{``, `"`, `[]`, `["a"]`, `["ab","cd"]`, `["abc","def"]`, `["12","34"]`, `["x","ghp_Zk8q","Xv9L"]`,
		`{"a":"7","b":"gh","c":"p_Zk"}`, `["` + strings.Repeat("z", 33) + `","SK","y"]`, `[1,2,3,4,5]`, `{"k":[{"a":"b"},{"c":"d"}]}`} {
		checkFlattenJoin(t, s)
	}
}

// FuzzFlattenJSONJoinMatchesOld: go test ./pkg/dlp -run '^$' -fuzz FuzzFlattenJSONJoinMatchesOld
func FuzzFlattenJSONJoinMatchesOld(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 20 {
		f.Add(jsonishText(r, 200))
		f.Add(joinishText(r, 400))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<16 {
			return
		}
		checkFlattenJoin(t, s)
	})
}
