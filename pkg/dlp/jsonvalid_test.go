package dlp

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

func checkValidJSON(t *testing.T, s string) {
	t.Helper()
	if got, want := validJSON(s), json.Valid([]byte(s)); got != want {
		t.Fatalf("validJSON(%q) = %v, json.Valid %v", s, got, want)
	}
}

// mutated is s with a few bytes changed, dropped or inserted, from the
// bytes JSON's grammar turns on.
func mutated(r *rand.Rand, s string) string {
	const alphabet = "{}[]\":,\\ \t\n\r0123456789-+.eEtrufalsn/bux\x00\x1f\x7f\xff"
	b := []byte(s)
	for range 1 + r.IntN(3) {
		if len(b) == 0 {
			b = append(b, alphabet[r.IntN(len(alphabet))])
			continue
		}
		k := r.IntN(len(b))
		switch r.IntN(3) {
		case 0:
			b[k] = alphabet[r.IntN(len(alphabet))]
		case 1:
			b = append(b[:k], b[k+1:]...)
		default:
			b = append(b[:k], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[k:]...)...)
		}
	}
	return string(b)
}

// TestValidJSONMatchesStdlib: validJSON decides as json.Valid on valid
// documents, their mutations, random JSON-like text, every body class,
// numbers, literals, escapes, and nesting about the depth limit.
func TestValidJSONMatchesStdlib(t *testing.T) {
	valid := []string{`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-12.34E-5`, `true`, `false`, `null`, ` { "a" : [ 1 , 2 , {"b":null} ] } `,
		`"\u00e9\ud83d\ude00\n\t\r\b\f\/\\\""`, `{"a":{"b":{"c":[[],[{}]]}}}`, "\"\x7f\xff\xfe é\"", `[1,"x",true,false,null,{"k":-0.0e0}]`}
	invalid := []string{``, ` `, `{`, `}`, `[`, `]`, `{,}`, `[,]`, `[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`,
		`+1`, `tru`, `truex`, `nul`, `"`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"\x01\"", "\"a\nb\"", `[1 2]`, `{"a":1 "b":2}`, `1 2`, `"a"x`, `[}`, `{]`,
		`{"a":1]`, `[1}`, `"\`, `NaN`, `Infinity`, `-Infinity`, `0x10`, `1_000`, "\ufeff{}", `[01]`, `{"a":01}`, `-a`, `--1`, `1.e5`}
	for _, s := range append(valid, invalid...) {
		checkValidJSON(t, s)
	}
	for _, d := range []int{1, 63, 64, 65, 9999, 10000, 10001, 20000} {
		for _, open := range []string{`[`, `{"a":`, `{"a":[`} {
			closeFor := map[string]string{`[`: `]`, `{"a":`: `}`, `{"a":[`: `]}`}[open]
			checkValidJSON(t, strings.Repeat(open, d)+`1`+strings.Repeat(closeFor, d))
			checkValidJSON(t, strings.Repeat(open, d)+`1`+strings.Repeat(closeFor, d-1))
		}
	}
	for _, class := range benchload.ScanClasses {
		_, _, body, err := benchload.ClassBody(class, 256<<10)
		if err != nil {
			t.Fatal(err)
		}
		checkValidJSON(t, string(body))
	}
	r := rand.New(rand.NewPCG(12, 34))
	for range 30000 {
		checkValidJSON(t, jsonishText(r, r.IntN(200)))
		checkValidJSON(t, joinishText(r, r.IntN(300)))
		v := valid[r.IntN(len(valid))]
		if r.IntN(2) == 0 {
			v = mustJSON(map[string]any{"k": []any{v, r.IntN(100), "s\u00e9\n", nil, map[string]any{"x": r.Float64()}}})
		}
		checkValidJSON(t, mutated(r, v))
		var b strings.Builder
		for range r.IntN(30) {
			b.WriteString([]string{`[`, `]`, `{`, `}`, `"k":`, `"v"`, `,`, `1`, ` `, `-2.5e3`, `true`, `"\u0041"`}[r.IntN(12)])
		}
		checkValidJSON(t, b.String())
	}
}

// FuzzValidJSONMatchesStdlib: go test ./pkg/dlp -run '^$' -fuzz FuzzValidJSONMatchesStdlib
func FuzzValidJSONMatchesStdlib(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 13))
	for range 20 {
		f.Add(jsonishText(r, 200))
		f.Add(joinishText(r, 300))
	}
	f.Add(`{"a":[1,2,{"b":"c\u00e9"}],"d":-1.5e3}`)
	f.Fuzz(func(t *testing.T, s string) {
		checkValidJSON(t, s)
	})
}

// BenchmarkValidJSON weighs validJSON against json.Valid on the JSON body
// classes.
func BenchmarkValidJSON(b *testing.B) {
	for _, class := range []string{"json", "code", "base64-json", "deep-json"} {
		_, _, body, err := benchload.ClassBody(class, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		s := string(body)
		b.Run(class+"/stdlib", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				json.Valid(body)
			}
		})
		b.Run(class+"/validJSON", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				validJSON(s)
			}
		})
	}
}
