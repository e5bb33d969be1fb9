package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Red-team round 2: inputs that got a secret past the scanner, kept as
// regressions. A canary (found only by its fingerprint) and a provider
// token (found by its format) are each hidden in every shape.

const (
	rtCanary = "CANARY9f3a7b2c41d8e6f05ab7"
	rtGitHub = "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg"
	// rtPassword is a known secret of low entropy (a database password
	// from the agent's environment): only its fingerprint finds it, the
	// entropy rules do not cover for a missed reading.
	rtPassword = "correct-horse-battery-staple"
)

func rtScanner(t *testing.T) *Scanner {
	t.Helper()
	fp, err := FingerprintOf("canary", rtCanary)
	assert.NilError(t, err)
	pw, err := FingerprintOf("password", rtPassword)
	assert.NilError(t, err)
	s, err := New(Options{Known: []Fingerprint{fp, pw}})
	assert.NilError(t, err)
	return s
}

func rtEach(v string, format func(string) string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		b.WriteString(format(fmt.Sprintf("%02X", v[i])))
	}
	return b.String()
}

func rtPercent(v string) string { return rtEach(v, func(h string) string { return "%" + h }) }
func rtQP(v string) string      { return rtEach(v, func(h string) string { return "=" + h }) }
func rtJSONU(v string) string   { return rtEach(v, func(h string) string { return `\u00` + h }) }

func rtNoise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func rtWrap(s string, w int, nl string) string {
	var b strings.Builder
	for len(s) > w {
		b.WriteString(s[:w] + nl)
		s = s[w:]
	}
	return b.String() + s
}

type rtCase struct{ name, contentType, body string }

// rtFound scans the body and reports whether the planted secret was found
// (by its fingerprint for the canary, by any rule for the token).
func rtFound(t *testing.T, s *Scanner, secret string, c rtCase) bool {
	t.Helper()
	fs, err := s.ScanBody(c.contentType, []byte(c.body))
	assert.NilError(t, err)
	for _, f := range fs {
		if secret == rtCanary && f.Rule == "known-secret" && f.Known == "canary" ||
			secret == rtPassword && f.Rule == "known-secret" && f.Known == "password" ||
			secret == rtGitHub && (f.Rule == "github-token" || f.Rule == "github-pat") {
			return true
		}
	}
	return false
}

// TestRedteam2Closed: bypasses found and fixed.
func TestRedteam2Closed(t *testing.T) {
	s := rtScanner(t)
	b64 := base64.StdEncoding.EncodeToString
	for _, sec := range []string{rtCanary, rtGitHub, rtPassword} {
		reversed := reverse(sec)
		cases := []rtCase{
			// Reversed, then encoded (collect: reversed in every reading).
			{"base64 of the reversed value", "text/plain", "x " + b64([]byte(reversed))},
			{"hex of the reversed value", "text/plain", "x " + hex.EncodeToString([]byte(reversed))},
			{"reversed value in base64 of binary", "text/plain", b64(append(append(rtNoise(7, 3000), reversed...), rtNoise(8, 3000)...))},
			// A nested layer inside a short run that decodes to mostly
			// binary (decodedRuns: islands read again, as windows are).
			{"base64 in binary in a short base64 run", "text/plain", b64(append(append(rtNoise(9, 60), b64([]byte(sec))...), rtNoise(10, 60)...))},
			// Hex wrapped at 60 (xxd -p) across the secret (decodedRuns:
			// hex and base32 in joined wrapped runs).
			{"xxd -p", "text/plain", rtWrap(hex.EncodeToString([]byte("0123456789abcdefghijk"+sec+"trailer text")), 60, "\n")},
			{"xxd -p of binary", "text/plain", rtWrap(hex.EncodeToString(append(append(rtNoise(11, 1000), sec...), rtNoise(12, 1000)...)), 60, "\n")},
			// Standard base64 glued to an underscore (eachB64Decoding:
			// mixed alphabets split).
			{"base64 after id_", "text/plain", "x id_" + b64([]byte("???"+sec))},
			{"url base64 before +x", "text/plain", base64.RawURLEncoding.EncodeToString([]byte(">>>"+sec)) + "+x/y"},
			// Escapes inside a decoded layer (decodedRuns: escapeReadings).
			{"base64 of percent-encoding", "text/plain", "x " + b64([]byte(rtPercent(sec)))},
			{"base64 of quoted-printable", "text/plain", "x " + b64([]byte(rtQP(sec)))},
			{"hex of percent-encoding", "text/plain", "x " + hex.EncodeToString([]byte(rtPercent(sec)))},
			{"base64 of \\u escapes", "text/plain", "x " + b64([]byte(rtJSONU(sec)))},
			// Percent-encoding under quoted-printable (readViews).
			{"quoted-printable of percent-encoding", "text/plain", "x " + rtQP(rtPercent(sec))},
			// Backslash escapes outside JSON, or in JSON whose quotes are
			// out of step (readViews: EncEscaped).
			{"\\u escapes in plain text", "text/plain", `note "` + rtJSONU(sec) + `"`},
			{"\\u escapes in a long text", "text/plain", strings.Repeat("lorem ipsum ", 3000) + rtJSONU(sec) + strings.Repeat(" dolor", 3000)},
			{"\\u escapes, invalid JSON with a stray quote", "application/json", `x" {"token":"` + rtJSONU(sec) + `"}`},
			{"\\x escapes mixed with plain bytes", "text/plain", `s = "` + strings.ReplaceAll(strings.ReplaceAll(sec, "A", `\x41`), "9", `\x39`) + `"`},
			{"octal escapes", "text/plain", `printf '` + rtEach(sec, func(h string) string { var c byte; fmt.Sscanf(h, "%X", &c); return fmt.Sprintf(`\%03o`, c) }) + `'`},
			{"ES6 \\u{} escapes", "text/plain", rtEach(sec, func(h string) string { return `\u{` + h + `}` })},
			// Quoted-printable with soft line breaks only (qpEscaped).
			{"quoted-printable soft breaks only", "text/plain", rtWrap(sec, 5, "=\n")},
			{"quoted-printable soft breaks, CRLF", "text/plain", "body: " + rtWrap(sec, 7, "=\r\n") + "\r\n"},
			// Delimited hex of a mostly binary body (collect: decodedText).
			{"colon hex of binary", "text/plain", hexJoin(string(append(append(rtNoise(1, 301), sec...), rtNoise(2, 300)...)), ":")},
			{"\\x hex of binary", "text/plain", `\x` + hexJoin(string(append(append(rtNoise(3, 301), sec...), rtNoise(4, 300)...)), `\x`)},
			// Hex delimiters of up to four bytes, line breaks and indents
			// (delimitedHex: hexDelimEnd, hexPairAt).
			{"hex, 4-byte delimiter", "text/plain", hexJoin(sec, " ;; ")},
			{"hex, one byte a line", "text/plain", hexJoin(sec, "\n")},
			{"C array, line break after each comma", "text/plain", "0x" + hexJoin(sec, ",\n  0x")},
			{"C array, CRLF and a tab", "text/plain", "0x" + hexJoin(sec, ",\r\n\t0x")},
			// HTML character references (readViews, escapeReadings:
			// EncHTMLEntity).
			{"HTML numeric entities", "text/plain", rtEach(sec, func(h string) string { var c byte; fmt.Sscanf(h, "%X", &c); return fmt.Sprintf("&#%d;", c) })},
			{"HTML hex entities", "text/plain", rtEach(sec, func(h string) string { return "&#x" + h + ";" })},
			{"HTML entities, escaped twice", "text/html", "<p>" + rtEach(sec, func(h string) string { return "&amp;#x" + h + ";" }) + "</p>"},
			{"HTML entities in base64", "text/plain", "x " + b64([]byte(rtEach(sec, func(h string) string { return "&#x" + h + ";" })))},
			// Base64 in space-separated groups of four (eachB64Run:
			// spacedB64).
			{"base64 in groups of four", "text/plain", rtWrap(b64(append(append(rtNoise(5, 3000), sec...), rtNoise(6, 3000)...)), 4, " ")},
			{"short base64 in groups of four", "text/plain", "note: " + rtWrap(b64([]byte("x"+sec)), 4, " ") + " end"},
			{"hex, 0x and a space", "text/plain", "0x" + hexJoin(sec, " 0x")},
			{"hex, 0x glued", "text/plain", "0x" + hexJoin(sec, "0x")},
		}
		for _, c := range cases {
			assert.Check(t, rtFound(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
	for _, c := range []rtCase{
		// Card numbers grouped 4-4-4-4 by other separators, or doubled
		// ones (cards).
		{"card, dots", "text/plain", "card 4111.1111.1111.1111 exp"},
		{"card, slashes", "text/plain", "card 4111/1111/1111/1111 exp"},
		{"card, underscores", "text/plain", "card 4111_1111_1111_1111 exp"},
		{"card, two spaces", "text/plain", "card 4111  1111  1111  1111 exp"},
		{"Amex, dots 4-6-5", "text/plain", "amex 3782.822463.10005 exp"},
		// Secret-named fields: aligned separators, short names (fieldPass,
		// fieldAt, secretKind).
		{"password field, ten spaces before =", "text/plain", "PASSWORD          =Xy7#kq!Lm2@vR9$w"},
		{"field named creds", "text/plain", "creds=Xy7#kq!Lm2@vR9$w"},
		{"field named cred, colon", "text/plain", "cred: Xy7#kq!Lm2@vR9$w"},
		{"field named DB_PW", "text/plain", "DB_PW=Xy7#kq!Lm2@vR9$w"},
		{"field named db-pw, tabs before :", "text/plain", "db-pw\t\t\t\t\t\t: Xy7#kq!Lm2@vR9$w"},
	} {
		fs, err := s.ScanBody(c.contentType, []byte(c.body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) > 0, "%s passed", c.name)
	}
}

// TestRedteam2Fillers: bypasses of round 2 closed later — '=' written
// into a base64 run every few characters (eachB64Decoding reads the run
// without them), a filler letter after every character (despace takes
// any printable separator), a seed phrase joined by other punctuation,
// by written escapes or CamelCase (seedUnit: seedSepTab, seedWordStart).
func TestRedteam2Fillers(t *testing.T) {
	s := rtScanner(t)
	b64 := base64.StdEncoding.EncodeToString
	for _, sec := range []string{rtCanary, rtGitHub, rtPassword} {
		cases := []rtCase{
			{"base64 with = every 8", "text/plain", strings.Join(strings.SplitAfter(rtWrap(b64([]byte("aaa"+sec+"bbb")), 8, "="), "\x00"), "")},
			{"interleaved filler letter", "text/plain", rtEach(sec, func(h string) string { var c byte; fmt.Sscanf(h, "%X", &c); return string(c) + "x" })},
		}
		for _, c := range cases {
			assert.Check(t, rtFound(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
	seed := strings.Fields("abandon ability able about above absent absorb abstract absurd abuse access accident")
	camel := ""
	for _, w := range seed {
		camel += strings.ToUpper(w[:1]) + w[1:]
	}
	for _, c := range []rtCase{
		{"seed, pipes", "text/plain", strings.Join(seed, "|")},
		{"seed, semicolons", "text/plain", strings.Join(seed, ";")},
		{"seed, slashes", "text/plain", strings.Join(seed, "/")},
		{"seed, written \\n", "text/plain", strings.Join(seed, `\n`)},
		{"seed, CamelCase", "text/plain", camel},
		{"seed, CamelCase in a JSON value", "application/json", `{"v":"` + camel + `"}`},
		{"seed, written \\t", "text/plain", strings.Join(seed, `\t`)},
		{"seed, backslashes", "text/plain", strings.Join(seed, `\`)},
	} {
		fs, err := s.ScanBody(c.contentType, []byte(c.body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) > 0, "%s passed", c.name)
	}
	// Look-alikes that stay clean: CamelCase identifiers of a few list
	// words, a path of list words, words spaced by a letter that are
	// prose, '='-glued base64 pieces of ordinary text.
	for _, body := range []string{
		"type AbstractAccessTokenProvider struct{ Cache ActionCache }\nfunc (p *AbstractAccessTokenProvider) Renew() {}",
		"GET /api/v1/project/table/column/index/order/option/version/update HTTP/1.1",
		"src/main/java/org/example/account/balance/service/impl/action/event/model/Entry.java",
		"a-ha a-ha a-ha; mamamamamamamamamamamamama; lalalalalalalalalalala",
		"etag=" + b64([]byte("image-v1")) + "=" + b64([]byte("image-v2")),
		"CamelCaseIsAnOrdinaryStyleForTypeNamesInGoAndJava",
		// Repeated header values joined without a separator (the
		// split-secret window's view of a host's requests).
		strings.Repeat("Upgrade", 60),
		strings.Repeat("Keep-Alive", 30),
	} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%.60q flagged: %v", body, fs)
	}
}

// TestRedteam2InvalidJSONField: a body declared JSON that is not valid
// JSON gets a JSON reading of only some lines; a secret-named key whose
// value stands apart from it in the raw text (line breaks or spaces
// around the colon, past what the field rule looks at) is one of them
// (flattenJSON).
func TestRedteam2InvalidJSONField(t *testing.T) {
	s := rtScanner(t)
	pw := "Xy7#kq!Lm2@vR9$w"
	filler := strings.Repeat("lorem ipsum dolor sit amet ", 600)
	for _, body := range []string{
		`{"password"` + "\n:\n" + `"` + pw + `"}}`,
		`{"a":"` + filler + `","db_password"` + "\r\n  :  \r\n" + `"` + pw + `"}}`,
		`{"password"        :        "` + pw + `"}}`,
	} {
		fs, err := s.ScanBody("application/json", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) > 0, "passed: %.60q", body)
	}
}
