package manifest

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser. It must never panic; when it
// accepts an input, the result must satisfy the invariants the renderer relies
// on; when it rejects one, the error must list at least one problem.
// Seeds: f.Add below plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte(`name = "x"`))
	f.Add([]byte("name = \"x\"\n[[egress.routes]]\nhost = \"a.example.com\"\nauth = { scheme = \"token\", token_ref = \"T\" }\n"))
	f.Add([]byte("name = \"x\"\n[env]\nA = \"${B}$${C}${\"\n"))
	f.Add([]byte("[[git.repos]]\nname = \"a\"\nhost_key = \"ssh-ed25519 AAAA\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "fuzz.toml")
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error without problems: %T %v", err, err)
			}
			return
		}
		if !nameRE.MatchString(m.Name) {
			t.Fatalf("accepted invalid name %q", m.Name)
		}
		for _, r := range m.Egress.Routes {
			if r.Host != strings.ToLower(r.Host) || checkHost(r.Host, false) != "" {
				t.Fatalf("accepted route host %q", r.Host)
			}
			for _, p := range r.Paths {
				if !strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
					t.Fatalf("accepted path %q", p)
				}
			}
		}
		for k := range m.Env {
			if reservedEnv[k] {
				t.Fatalf("accepted reserved env %q", k)
			}
		}
		// Resolving against an empty environment must not panic either.
		_, _ = m.Resolve(func(string) (string, bool) { return "", false })
	})
}
