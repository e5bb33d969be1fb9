package logsafe

import (
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

const aws = "AKIAQ7R2XNPLW3JKD5VT"

func TestPathMasksSecrets(t *testing.T) {
	for _, p := range []string{
		"/v1/" + aws,
		"/v1/sk-ant-api03-" + strings.Repeat("Xq9vT2mLw8", 9),
		"/u/" + base64.RawURLEncoding.EncodeToString([]byte(aws)),
		"/%41%4B%49%41Q7R2XNPLW3JKD5VT/x",
		"/tok_9fQ2vLx8Rk3mZp",
	} {
		got := Path(p)
		assert.Assert(t, strings.Contains(got, "<redacted:"), "%s -> %s", p, got)
		assert.Assert(t, !strings.Contains(got, "Q7R2XNPLW3JKD5VT"), got)
	}
}

func TestHostMasksEncodedLabels(t *testing.T) {
	label := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString([]byte(aws)), "="))
	got := Host(label + ".www.allowed.test")
	assert.Equal(t, got, "<redacted:32>.www.allowed.test")
}

func TestOrdinaryNamesStay(t *testing.T) {
	for _, p := range []string{"/repos/acme/app/pulls", "/v1/messages", "/simple/requests/", "/packages/lodash-4.17.21.tgz", "/"} {
		assert.Equal(t, Path(p), p)
	}
	for _, h := range []string{"api.github.com", "registry.npmjs.org", "files.pythonhosted.org", "statsig.anthropic.com"} {
		assert.Equal(t, Host(h), h)
	}
	assert.Assert(t, len(Path("/"+strings.Repeat("a/", 300))) <= MaxLen+len("…"))
}

// FuzzPath: nothing data-like survives in a logged path or host, in any
// encoding the path decoder undoes, and the output stays bounded.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/v1/" + aws, "/%41%4B%49%41Q7R2XNPLW3JKD5VT", "/a/b/c", "", "////", "%zz/" + aws} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		out := Path(p)
		if len(out) > MaxLen+len("…") {
			t.Fatalf("unbounded: %d bytes", len(out))
		}
		if len(out) >= MaxLen {
			return // cut: the last segment may be partial
		}
		for _, seg := range strings.Split(out, "/") {
			dec, err := url.PathUnescape(seg)
			if err != nil {
				dec = seg
			}
			if !strings.HasPrefix(seg, "<redacted:") && (Redacted(seg) || Redacted(dec)) {
				t.Fatalf("data-like segment %q survived in %q", seg, out)
			}
		}
		h := Host(p)
		for _, l := range strings.Split(h, ".") {
			if !strings.HasPrefix(l, "<redacted:") && Redacted(l) && len(h) < MaxLen {
				t.Fatalf("data-like label %q survived in %q", l, h)
			}
		}
	})
}

func TestErrDropsTheURL(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "https://api.example.com/x?key=" + aws, Err: errors.New("dial tcp: connection refused")}
	got := Err(fmt.Errorf("upstream: %w", err))
	assert.Equal(t, got, "Get: dial tcp: connection refused")
	assert.Equal(t, Err(nil), "")
	assert.Equal(t, Err(errors.New("plain")), "plain")
}
