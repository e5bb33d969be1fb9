// Package termtext keeps text an agent wrote from acting on the operator's
// terminal. Check refuses it at the door (the supervise MCP tools), with a
// message the agent can act on; Escape and EscapeLines make whatever still
// arrives (a proposal written by an older daemon, a log line) inert where it
// is shown: control characters (carriage return, erase line, cursor moves,
// OSC sequences), bidirectional overrides and isolates, zero-width and other
// invisible characters, and invalid UTF-8 are printed as visible escapes.
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal as it is. Newline and
// tab are unsafe here too; callers that allow them say so.
func Unsafe(r rune) bool {
	if r >= 0x20 && r < 0x7f { // printable ASCII, the common case
		return false
	}
	switch {
	case r < 0x20 || r == 0x7f: // C0 controls, ESC and DEL
		return true
	case r >= 0x80 && r <= 0x9f: // C1 controls (8-bit CSI is 0x9b)
		return true
	case r == utf8.RuneError:
		return true
	}
	switch r {
	case 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x180e, 0x00ad, 0x034f, 0x115f, 0x1160, 0x3164, 0xffa0: // zero-width and invisible fillers
		return true
	case 0x200e, 0x200f, 0x061c: // LRM, RLM, ALM
		return true
	case 0x2028, 0x2029: // line and paragraph separators
		return true
	}
	switch {
	case r >= 0x202a && r <= 0x202e: // LRE RLE PDF LRO RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI RLI FSI PDI
		return true
	case r >= 0x2061 && r <= 0x2064: // invisible operators
		return true
	case r >= 0xe0000 && r <= 0xe007f: // tag characters (invisible ASCII)
		return true
	case r >= 0xfff9 && r <= 0xfffb: // interlinear annotation
		return true
	}
	// Any other format character (Cf) is invisible by definition.
	return unicode.Is(unicode.Cf, r)
}

// Check returns an error naming the first character of s that may not be
// shown to the operator, where it is and what to do. multiline allows
// newlines and tabs (a justification, a Dockerfile).
func Check(field, s string, multiline bool) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Errorf("%s: invalid UTF-8 at byte %d: send plain UTF-8 text", field, i)
		}
		if Unsafe(r) && !(multiline && (r == '\n' || r == '\t')) {
			return fmt.Errorf("%s: character %U (%s) at byte %d is not allowed: the operator reads this on a terminal, so send plain text without control characters, escape sequences, bidirectional overrides or invisible characters%s",
				field, r, name(r), i, lineHint(multiline, r))
		}
		i += n
	}
	return nil
}

func lineHint(multiline bool, r rune) string {
	if !multiline && (r == '\n' || r == '\t' || r == '\r') {
		return " (this field is one line)"
	}
	if r == '\r' {
		return " (use \\n line endings, not \\r\\n)"
	}
	return ""
}

func name(r rune) string {
	switch {
	case r == 0x1b:
		return "escape"
	case r == '\r':
		return "carriage return"
	case r == '\n':
		return "newline"
	case r == '\t':
		return "tab"
	case r == 0x08:
		return "backspace"
	case r == 0x7f:
		return "delete"
	case r < 0x20, r >= 0x80 && r <= 0x9f:
		return "control character"
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return "bidirectional control"
	case r == 0x2028, r == 0x2029:
		return "line separator"
	}
	return "invisible character"
}

// Escape returns s with every unsafe rune (newlines and tabs included)
// written as a visible escape: \x1b, \r, \n, \u202e, \xff for a byte of
// invalid UTF-8. Safe text is returned unchanged.
func Escape(s string) string { return escape(s, false) }

// EscapeLines is Escape that keeps newlines (and shows tabs as they are),
// for multi-line text such as a Dockerfile.
func EscapeLines(s string) string { return escape(s, true) }

func escape(s string, multiline bool) string {
	safe := true
	for _, r := range s {
		if Unsafe(r) && !(multiline && (r == '\n' || r == '\t')) {
			safe = false
			break
		}
	}
	if safe && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case Unsafe(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case Unsafe(r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case Unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}
