package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// TestBypasses: the transformations an agent would try on a credential
// before sending it, none told to the scanner in advance (no canaries).
func TestBypasses(t *testing.T) {
	s, err := New(Options{NoGitleaks: true})
	assert.NilError(t, err)
	tokens := map[string]string{
		"aws":       "AKIAQ7R2XNPLW3JKD5VT",
		"github":    "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg",
		"anthropic": "sk-ant-api03-" + strings.Repeat("Xq9vT2mLw8ZpK4rB", 6)[:93] + "AA",
	}
	zw := func(v string) string { return strings.Join(strings.Split(v, ""), "\u200b") }
	homoglyph := strings.NewReplacer("A", "А", "K", "К", "a", "а", "p", "р", "o", "о", "e", "е", "X", "Х")
	forms := map[string]func(string) string{
		"raw":             func(v string) string { return v },
		"base64":          func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) },
		"base64url-nopad": func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) },
		"base64-wrapped": func(v string) string {
			e := base64.StdEncoding.EncodeToString([]byte("header line of the dump\n" + v + "\ntrailer line"))
			var b strings.Builder
			for len(e) > 40 {
				b.WriteString(e[:40] + "\n")
				e = e[40:]
			}
			return b.String() + e
		},
		"hex":            func(v string) string { return hex.EncodeToString([]byte(v)) },
		"hex-colons":     func(v string) string { return hexJoin(v, ":") },
		"hex-escapes":    func(v string) string { return strings.ReplaceAll("\\x"+hexJoin(v, "\\x"), "\\x\\x", "\\x") },
		"url-twice":      func(v string) string { return url.QueryEscape(percentAll(v)) },
		"url-thrice":     func(v string) string { return url.QueryEscape(url.QueryEscape(percentAll(v))) },
		"b64-of-hex":     func(v string) string { return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString([]byte(v)))) },
		"hex-of-b64":     func(v string) string { return hex.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte(v)))) },
		"quoted-printbl": func(v string) string { return strings.ToUpper(strings.ReplaceAll("="+hexJoin(v, "="), "==", "=")) },
		"fullwidth":      fullwidthOf,
		"homoglyphs":     homoglyph.Replace,
		"zero-width":     zw,
		"reversed":       reverse,
		"spaced":         func(v string) string { return strings.Join(strings.Split(v, ""), " ") },
		"base32":         func(v string) string { return strings.TrimRight(b32.EncodeToString([]byte(v)), "=") },
		"json-escapes": func(v string) string {
			var b strings.Builder
			for _, r := range v {
				b.WriteString(`\u00` + hex.EncodeToString([]byte{byte(r)}))
			}
			return b.String()
		},
	}
	for name, v := range tokens {
		for fname, f := range forms {
			enc := f(v)
			var found bool
			if fname == "json-escapes" {
				fs, err := s.ScanBody("application/json", []byte(`{"note":"`+enc+`"}`))
				assert.NilError(t, err)
				found = len(fs) > 0
			} else {
				found = len(s.Scan("body", "data: "+enc+" end")) > 0
			}
			assert.Assert(t, found, "%s as %s passed: %q", name, fname, enc)
		}
	}
}

func hexJoin(v, sep string) string {
	parts := make([]string, len(v))
	for i := 0; i < len(v); i++ {
		parts[i] = hex.EncodeToString([]byte{v[i]})
	}
	return strings.Join(parts, sep)
}

func TestDisableClasses(t *testing.T) {
	card := "order for 4111 1111 1111 1111 today"
	on, err := New(Options{NoGitleaks: true})
	assert.NilError(t, err)
	assert.Assert(t, len(on.Scan("body", card)) > 0)
	off, err := New(Options{NoGitleaks: true, Disable: []string{ClassCard}})
	assert.NilError(t, err)
	assert.Equal(t, len(off.Scan("body", card)), 0)
	_, err = New(Options{Disable: []string{"cards"}})
	assert.ErrorContains(t, err, `unknown rule class "cards"`)
}

// TestReadingsStayBounded: text built to multiply its readings (nested
// encodings of encodings) stays within the budget, and a reading over it
// fails closed.
func TestReadingsStayBounded(t *testing.T) {
	v := "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg"
	for range 6 {
		v = base64.StdEncoding.EncodeToString([]byte(v + " " + hex.EncodeToString([]byte(v))))
	}
	total := 0
	complete := views(v, func(r view) bool { total += len(r.text); return false })
	assert.Assert(t, complete)
	assert.Assert(t, total <= viewBudget(len(v)), "%d bytes of readings for %d", total, len(v))
	// Forced over budget: the scan reports it rather than passing.
	c := &collector{}
	s, err := New(Options{NoGitleaks: true})
	assert.NilError(t, err)
	over := strings.Repeat("%2525", 1)
	_ = over
	s.collect(c, &batch{}, "body", "x")
	assert.Equal(t, len(c.out), 0)
}
