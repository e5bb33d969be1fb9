package dlp

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzViews: the decoders never panic, stay bounded, and a known secret
// wrapped in the fuzzed text, raw or base64-encoded, is always found.
func FuzzViews(f *testing.F) {
	for _, s := range []string{"", "%", "%%%", "%252525", "====", "QUJD", "0x41", "deadbeefdeadbeef", "a=b&c=%ZZ", strings.Repeat("A", 100)} {
		f.Add(s)
	}
	secret := "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"
	fp, err := FingerprintOf("s", secret)
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Options{Known: []Fingerprint{fp}, NoGitleaks: true, NoEntropy: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 4096 {
			return
		}
		total := 0
		views(in, func(v view) bool {
			total += len(v.text)
			return false
		})
		if total > 64*(len(in)+16) {
			t.Fatalf("views of %d bytes produced %d bytes", len(in), total)
		}
		for _, wrapped := range []string{
			in + " " + secret + " " + in,
			in + " " + base64.StdEncoding.EncodeToString([]byte(in+secret)) + " " + in,
		} {
			found := false
			for _, f := range s.Scan("body", wrapped) {
				found = found || f.Known == "s"
			}
			if !found {
				t.Fatalf("secret not found in %q", wrapped)
			}
		}
	})
}

// FuzzQuotedPrintableWindows: the quoted-printable reading looks only at
// '=' bytes and still equals the reading made by offering every byte to
// qpEscapeAt (the fuzzed text repeated past the windowing threshold too).
func FuzzQuotedPrintableWindows(f *testing.F) {
	for _, s := range []string{"", "=", "=41=42", "a=\nb=\r\nc", "=3D=3D", "x=ABghp_", "=\r"} {
		f.Add(s, uint16(0))
	}
	f.Fuzz(func(t *testing.T, in string, pad uint16) {
		if len(in) > 4096 {
			return
		}
		for _, s := range []string{in, in + strings.Repeat("p", int(pad)) + in + strings.Repeat("q", 9000) + in} {
			got, ok := quotedPrintableWindows(s)
			want, wok := refQuotedPrintableWindows(s)
			if ok != wok || got != want {
				t.Fatalf("quoted-printable reading of %q differs", s)
			}
		}
	})
}

// FuzzDelimitedHex: delimitedHex's sliding cheap test finds what the
// straightforward reference finds.
func FuzzDelimitedHex(f *testing.F) {
	for _, s := range []string{"", "73:6b:2d:61:6e:74:2d:61", "0x730x6b0x2d0x61", `\x73\x6b\x2d\x61\x6e\x74\x2d\x61`, "de ad be ef ca fe ba be", "0x73,\n    0x6b,\n    0x2d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := delimitedHex(in)
		want, wok := refDelimitedHex(in)
		if got != want || ok != wok {
			t.Fatalf("delimitedHex(%q) = %q, %v; reference %q, %v", in, got, ok, want, wok)
		}
	})
}
