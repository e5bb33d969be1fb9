package egress

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRouteAllows: whatever the path, a route limited to /repos/acme/ admits
// it only if every reading of it (once-decoded, fully decoded and cleaned)
// stays under the prefix, with no dot segment left.
func FuzzRouteAllows(f *testing.F) {
	for _, s := range []string{"/repos/acme/x", "/repos/acme/../../evil", "/repos/acme/%2e%2e/x", "/repos/acme/%252e%252e/%252e%252e/e",
		"/repos/acme/..%5c..%5cx", "//repos/acme/", "/repos/acme-x", "/repos/acme/%zz", "/repos/acme/\\..\\..\\x", ""} {
		f.Add(s)
	}
	r := &Route{Host: "api.github.com", Prefixes: []string{"/repos/acme/"}}
	f.Fuzz(func(t *testing.T, p string) {
		ok, err := r.Allows(p)
		if err != nil || !ok {
			return
		}
		once, full, err := NormalizePath(p)
		if err != nil {
			t.Fatalf("allowed a path NormalizePath rejects: %q", p)
		}
		if !strings.HasPrefix(once, "/repos/acme/") || !strings.HasPrefix(full, "/repos/acme/") {
			t.Fatalf("allowed %q: once=%q full=%q", p, once, full)
		}
		for _, seg := range strings.Split(full, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("allowed %q with dot segment in %q", p, full)
			}
		}
		// Decoding what we approved any further must not climb out either.
		if dec, err := url.PathUnescape(full); err == nil {
			_, again, err := NormalizePath(strings.ReplaceAll(dec, "%", "%25"))
			if err == nil && !strings.HasPrefix(again, "/repos/acme/") {
				t.Fatalf("allowed %q, re-decoded to %q", p, again)
			}
		}
	})
}
