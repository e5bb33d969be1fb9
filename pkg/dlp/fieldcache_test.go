package dlp

import (
	"fmt"
	"strings"
	"testing"
)

// oldSchemeFieldValue is fieldValue before its scheme test looked at the first
// byte: every value compared with every scheme.
func oldSchemeFieldValue(s string) string {
	i := 0
	for i < len(s) && i < fieldGap && (s[i] == ' ' || s[i] == '\t' || s[i] == '"' || s[i] == '\'') {
		i++
	}
	s = s[i:]
	for _, scheme := range []string{"Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "} {
		if strings.HasPrefix(s, scheme) {
			s = s[len(scheme):]
			break
		}
	}
	end := 0
	for end < len(s) && end < 512 && !valueEnd[s[end]] {
		end++
	}
	return s[:end]
}

func TestFieldValueMatchesOld(t *testing.T) {
	for _, v := range []string{"", " ", "Bearer ", "Bearer abc", "bearer abc", "Basic dXNlcjpwYXNz", "basic x", "Token t0k3n",
		"token t0k3n", "tokenx", "Tok", "B", "T", "  \"Bearer x\"", "\tTokenless", "b", "t ", "BEARER x", "Bearerx y", "value"} {
		if got, want := fieldValue(v), oldSchemeFieldValue(v); got != want {
			t.Errorf("fieldValue(%q) = %q, want %q", v, got, want)
		}
	}
}

// TestNameCacheMatchesUncached: the names a ruleScan remembers give what
// secretNameCores().any and secretKind give, whatever the order of the
// lookups and however the names share cache entries.
func TestNameCacheMatchesUncached(t *testing.T) {
	names := []string{"token", "key", "password", "api_key", "secret", "x", "passwd", "DB_PASSWORD", "monkey", "keyboard",
		"seed", "mnemonic", "private_key", "sessionid", "auth", "a", "ab", "token2", "tokens", "Authorization", "client_secret"}
	for i := range 40 {
		names = append(names, fmt.Sprintf("name%d", i), fmt.Sprintf("key%d", i))
	}
	r := &ruleScan{}
	for round := range 3 {
		for i := range names {
			n := names[(i*7+round*3)%len(names)]
			if got, want := r.hasNameCore(n), secretNameCores().any(n); got != want {
				t.Fatalf("hasNameCore(%q) = %v, want %v", n, got, want)
			}
			if round == 1 && i%3 == 0 {
				continue // kind not looked up: the entry keeps only hasCore
			}
			if got, want := r.secretKind(n), secretKind(n); got != want {
				t.Fatalf("secretKind(%q) = %q, want %q", n, got, want)
			}
		}
	}
}

func FuzzFieldValueMatchesOld(f *testing.F) {
	for _, s := range []string{"Bearer x", "token y", " Basic z", "b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fieldValue(s), oldSchemeFieldValue(s); got != want {
			t.Fatalf("fieldValue(%q) = %q, want %q", s, got, want)
		}
		r := &ruleScan{}
		for _, n := range []string{s, strings.ToLower(s), s} {
			if n == "" {
				continue
			}
			if got, want := r.hasNameCore(n), secretNameCores().any(n); got != want {
				t.Fatalf("hasNameCore(%q) = %v, want %v", n, got, want)
			}
			if got, want := r.secretKind(n), secretKind(n); got != want {
				t.Fatalf("secretKind(%q) = %q, want %q", n, got, want)
			}
		}
	})
}
