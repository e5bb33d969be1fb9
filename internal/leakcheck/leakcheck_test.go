package leakcheck

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

const aws = "AKIAQ7R2XNPLW3JKD5VT"

var secrets = map[string]string{"AWS": aws, "GEN": "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"}

func TestFindsEveryEncoding(t *testing.T) {
	b32 := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString([]byte(aws)), "="))
	cases := map[string]string{
		"raw in a header":       "X-Data: " + aws,
		"lower case":            "host " + strings.ToLower(aws) + ".allowed.test",
		"query escaped":         "/p?q=" + url.QueryEscape("k="+aws),
		"double escaped":        "/p?q=" + url.QueryEscape(url.QueryEscape("a b/"+aws)),
		"base64 at offset 0":    base64.StdEncoding.EncodeToString([]byte(aws)),
		"base64 at offset 1":    base64.StdEncoding.EncodeToString([]byte("x" + aws)),
		"base64 at offset 2":    base64.RawURLEncoding.EncodeToString([]byte("xy" + aws + "tail")),
		"base32 dns label":      b32 + ".allowed.test",
		"base32 split labels":   b32[:10] + "." + b32[10:] + ".allowed.test",
		"base32 at offset 3":    base32.StdEncoding.EncodeToString([]byte("abc" + aws)),
		"hex upper":             strings.ToUpper(hex.EncodeToString([]byte(aws))),
		"reversed":              "/" + reverse(aws),
		"percent encoded bytes": "/%41%4B%49%41Q7R2XNPLW3JKD5VT",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			hits := Find("prefix "+text+" suffix", secrets)
			assert.Assert(t, len(hits) == 1 && hits[0].Secret == "AWS", "%s: %v", text, hits)
		})
	}
}

func TestNoFalsePositives(t *testing.T) {
	for _, text := range []string{
		"GET /index.html HTTP/1.1\nHost: www.allowed.test\nUser-Agent: curl/7.88.1\nAccept: */*",
		"AKIAQ7R2XNPLW3JK", // a prefix is not the secret
		base64.StdEncoding.EncodeToString([]byte("an ordinary request body with nothing secret")),
		strings.Repeat("A", 4096),
	} {
		assert.Equal(t, len(Find(text, secrets)), 0, text)
	}
}

func TestNeedlesDropShortFragments(t *testing.T) {
	for _, n := range Needles("short-secret") {
		assert.Assert(t, len(n.Text) >= minNeedle, "%+v", n)
	}
}
