package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Planted secrets shaped like the real thing (none is a live credential).
var secrets = map[string]string{
	"anthropic": "sk-ant-api03-" + strings.Repeat("Xq9vT2mLw8ZpK4rB", 6)[:93] + "AA",
	"aws":       "AKIAQ7R2XNPLW3JKD5VT",
	"generic":   "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0",
}

func scanner(t testing.TB, opts Options) *Scanner {
	t.Helper()
	for name, v := range secrets {
		fp, err := FingerprintOf(name, v)
		assert.NilError(t, err)
		opts.Known = append(opts.Known, fp)
	}
	s, err := New(opts)
	assert.NilError(t, err)
	return s
}

func encodings(v string) map[string]string {
	return map[string]string{
		"raw":              v,
		"url":              url.QueryEscape(v),
		"url-all":          percentAll(v),
		"double-url":       url.QueryEscape(percentAll(v)),
		"base64-std":       base64.StdEncoding.EncodeToString([]byte(v)),
		"base64-url-nopad": base64.RawURLEncoding.EncodeToString([]byte(v)),
		"base64-offset-1":  base64.StdEncoding.EncodeToString([]byte("x" + v + "y")),
		"base64-offset-2":  base64.RawStdEncoding.EncodeToString([]byte("ab" + v)),
		"base64-dropped":   base64.StdEncoding.EncodeToString([]byte("abc=" + v))[3:],
		"base64-of-base64": base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte(v)))),
		"hex":              hex.EncodeToString([]byte(v)),
		"hex-upper":        strings.ToUpper(hex.EncodeToString([]byte(v))),
		"reversed":         reverse(v),
		"url-of-base64":    url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(v))),
	}
}

func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{s[i]})))
	}
	return b.String()
}

func hasKnown(fs []Finding, name string) bool {
	for _, f := range fs {
		if f.Known == name {
			return true
		}
	}
	return false
}

func TestKnownSecretsEveryPartEveryEncoding(t *testing.T) {
	s := scanner(t, Options{NoGitleaks: true})
	for name, v := range secrets {
		for enc, e := range encodings(v) {
			parts := map[string]func() []Finding{
				"path":   func() []Finding { return s.ScanPath("/upload/" + e + "/x") },
				"query":  func() []Finding { return s.Scan("query", "q=1&data="+e+"&z=2") },
				"header": func() []Finding { return s.Scan("header X-Trace", "v1 "+e) },
				"body": func() []Finding {
					f, err := s.ScanBody("text/plain", []byte("some text "+e+" more"))
					assert.NilError(t, err)
					return f
				},
				"json": func() []Finding {
					f, err := s.ScanBody("application/json", []byte(`{"a":{"b":["`+jsonEscape(e)+`"]}}`))
					assert.NilError(t, err)
					return f
				},
				"host": func() []Finding { return s.ScanHost(strings.ToLower(e) + ".allowed.example.com") },
			}
			for part, scan := range parts {
				if part == "host" && (enc != "hex" && enc != "raw") {
					continue // host names carry only [a-z0-9-]; other encodings cannot be a label
				}
				if part == "host" && name != "generic" && enc == "raw" {
					continue // upper-case/underscore shapes are not valid labels as-is
				}
				fs := scan()
				if part == "host" {
					// A lower-cased hex label no longer matches by value; the
					// entropy rule or the value must catch it.
					assert.Assert(t, len(fs) > 0, "%s %s in %s: not found", name, enc, part)
					continue
				}
				assert.Assert(t, hasKnown(fs, name), "%s %s in %s: not found (%v)", name, enc, part, fs)
			}
		}
	}
}

func jsonEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == 'A' || r == 'k' {
			b.WriteString(`\u00`)
			b.WriteString(hex.EncodeToString([]byte{byte(r)}))
			continue
		}
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestBodyStructures(t *testing.T) {
	s := scanner(t, Options{NoGitleaks: true})
	v := secrets["generic"]
	form := url.Values{"note": {v}}.Encode()
	fs, err := s.ScanBody("application/x-www-form-urlencoded", []byte(form))
	assert.NilError(t, err)
	assert.Assert(t, hasKnown(fs, "generic"), "form: %v", fs)

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "notes.txt")
	_, _ = fw.Write([]byte("hello " + base64.StdEncoding.EncodeToString([]byte(v))))
	_ = mw.Close()
	fs, err = s.ScanBody(mw.FormDataContentType(), buf.Bytes())
	assert.NilError(t, err)
	assert.Assert(t, hasKnown(fs, "generic"), "multipart: %v", fs)

	// A secret as a JSON key.
	fs, err = s.ScanBody("application/json", []byte(`{"`+v+`": 1}`))
	assert.NilError(t, err)
	assert.Assert(t, hasKnown(fs, "generic"))

	_, err = s.ScanBody("text/plain", make([]byte, MaxBody+1))
	assert.ErrorIs(t, err, ErrBodyTooLarge)
}

func TestGitleaksRulesWithoutFingerprints(t *testing.T) {
	s, err := New(Options{})
	assert.NilError(t, err)
	for name, text := range map[string]string{
		"anthropic in path":  "/v1/" + secrets["anthropic"],
		"aws in query":       "key=" + secrets["aws"],
		"aws base64 in body": "data: " + base64.StdEncoding.EncodeToString([]byte("aws_access_key_id="+secrets["aws"])),
		"github pat":         "Authorization: token ghp_" + "R2d4e6f8h0j2k4m6n8p0q2s4u6w8y0A2c4E6",
		"private key":        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yB2Bq9Hl5n0xUZlRmj7r1WJH9Ta0m5rN3uN6kQ6w0uM8v8W5u2lE\n-----END RSA PRIVATE KEY-----",
	} {
		fs := s.Scan("body", text)
		assert.Assert(t, len(fs) > 0, "%s: gitleaks found nothing", name)
		for _, f := range fs {
			assert.Assert(t, !strings.Contains(f.String(), secrets["aws"]) && !strings.Contains(f.String(), "ghp_"), "finding leaks the secret: %s", f)
		}
	}
}

func TestNoFalsePositives(t *testing.T) {
	s, err := New(Options{})
	assert.NilError(t, err)
	cases := map[string]string{
		"go code": `package main

import "fmt"

func main() {
	apiVersion := "2023-06-01"
	tokenCount := computeTokens(input)
	fmt.Println("hello, world", apiVersion, tokenCount)
}`,
		"package-lock": `"node_modules/lodash": {
      "version": "4.17.21",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
      "integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=="
    }`,
		"go.sum":     "github.com/google/go-cmp v0.7.0 h1:wk8382ETsv4JYUZwIsn6YpYiWiBsYLSJiTsyBybVuN8=\ngithub.com/google/go-cmp v0.7.0/go.mod h1:pXiqmnSA92OHEEa9HXL2W4E7lf9JzCmGVUdgjX3N/iU=\n",
		"uuid":       `{"id": "3f2b9c1e-7a4d-4e8b-9f0a-1c2d3e4f5a6b", "trace": "a1b2c3d4-e5f6-4789-abcd-ef0123456789"}`,
		"png base64": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
		"anthropic sse": `event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello! How can I help?"}}`,
		"model request": `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Refactor the function parseConfig to return errors"}]}`,
	}
	for name, text := range cases {
		fs, err := s.ScanBody("application/json", []byte(text))
		assert.NilError(t, err)
		assert.Equal(t, len(fs), 0, "%s: %v", name, fs)
	}
	for _, p := range []string{
		"/packages/3f/2b/9c1e7a4d4e8b9f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b/requests-2.32.3-py3-none-any.whl",
		"/lodash/-/lodash-4.17.21.tgz",
		"/v2/library/debian/blobs/sha256:9c1e7a4d4e8b9f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
		"/repos/acme/app/commits/5d41402abc4b2a76b9719d911017c592a1b2c3d4",
		"/api/v1/items/3f2b9c1e-7a4d-4e8b-9f0a-1c2d3e4f5a6b",
		"/github.com/stretchr/testify/@v/v1.9.0.zip",
	} {
		assert.Equal(t, len(s.ScanPath(p)), 0, "%s: %v", p, s.ScanPath(p))
	}
	for _, h := range []string{"files.pythonhosted.org", "d1a2b3c4d5e6f7.cloudfront.net", "objects.githubusercontent.com", "registry-1.docker.io"} {
		assert.Equal(t, len(s.ScanHost(h)), 0, "%s: %v", h, s.ScanHost(h))
	}
}

func TestEntropyOnHostAndPath(t *testing.T) {
	s, err := New(Options{NoGitleaks: true})
	assert.NilError(t, err)
	fs := s.ScanHost("q9vt2mlw8zpk4rbxe7.allowed.example.com")
	assert.Assert(t, len(fs) > 0 && fs[0].Rule == "high-entropy", "%v", fs)
	fs = s.ScanPath("/collect/Xq9vT2mLw8ZpK4rBe7HcN5yUa1Dj3Gs6")
	assert.Assert(t, len(fs) > 0 && fs[0].Rule == "high-entropy", "%v", fs)
}

func TestFingerprints(t *testing.T) {
	_, err := FingerprintOf("short", "abc")
	assert.ErrorContains(t, err, "shorter than 8 bytes")
	_, err = New(Options{Known: []Fingerprint{{Name: "x", Length: 10, Roll: "zz", SHA256: "00"}}})
	assert.ErrorContains(t, err, "roll")
	fp, err := FingerprintOf("g", secrets["generic"])
	assert.NilError(t, err)
	assert.Assert(t, !strings.Contains(fp.SHA256+fp.Roll, secrets["generic"]))
	fp.SHA256 = "nothex"
	_, err = New(Options{Known: []Fingerprint{fp}})
	assert.ErrorContains(t, err, "sha256 must be 64 hex digits")
	// A near miss (same length, one byte off) does not match.
	s := scanner(t, Options{NoGitleaks: true, NoEntropy: true})
	v := []byte(secrets["generic"])
	v[5] ^= 1
	assert.Equal(t, len(s.Scan("body", string(v))), 0)
}

// TestFormReadFieldByFieldWhateverTheBody: a stray ';', a bad escape or
// more fields than url.ParseQuery takes does not stop the body being read
// field by field ('+' as a space: a private key's header is only whole
// there).
func TestFormReadFieldByFieldWhateverTheBody(t *testing.T) {
	s := scanner(t, Options{NoGitleaks: true})
	key := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yB2Bq9Hl5n0xUZlRmj7r1WJH9Ta0m5rN3uN6kQ6w0uM8v8W5u2lE\n-----END RSA PRIVATE KEY-----"
	form := url.Values{"notes": {key}}.Encode()
	for name, body := range map[string]string{
		"plain":       form,
		"semicolon":   form + "&a=1;b=2",
		"bad escape":  "x=%zz&" + form,
		"many fields": strings.Repeat("f=1&", 12000) + form,
	} {
		fs, err := s.ScanBody("application/x-www-form-urlencoded", []byte(body))
		assert.NilError(t, err)
		found := false
		for _, f := range fs {
			found = found || f.Rule == "private-key" && f.Part == "body (form)"
		}
		assert.Assert(t, found, "%s: %v", name, fs)
	}
}

// TestFormTextLinesMatchParseQuery: where url.ParseQuery reads a form,
// formText gives the same lines (in the body's order, not a map's).
func TestFormTextLinesMatchParseQuery(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := "ab=&+%2B%41%0A%zz;é "
	parsed := 0
	defer func() { assert.Assert(t, parsed > 300, parsed) }()
	for range 3000 {
		var b strings.Builder
		for range r.IntN(40) {
			if r.IntN(3) == 0 {
				b.WriteString(alphabet[r.IntN(len(alphabet)):][:1])
			} else {
				b.WriteString([]string{"%2B", "%41", "%0A", "%zz", "+", "&", "=", "key", "v"}[r.IntN(9)])
			}
		}
		body := b.String()
		vals, err := url.ParseQuery(body)
		if err != nil {
			continue
		}
		parsed++
		want := map[string]bool{}
		for k, vs := range vals {
			for _, line := range strings.Split(k, "\n") {
				want[line] = true
			}
			for _, v := range vs {
				for _, line := range strings.Split(v, "\n") {
					want[line] = true
				}
			}
		}
		got := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSuffix(formText(body), "\n"), "\n") {
			got[line] = true
		}
		if formText(body) == "" {
			got = map[string]bool{}
		}
		assert.DeepEqual(t, got, want)
	}
}
