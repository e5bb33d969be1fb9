package dlp

import (
	"encoding/ascii85"
	"encoding/base32"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Red team round 7: transformations of a secret a script writes without
// a key (ROT13, ascii85, base85, uuencode, base32hex, base58, every other
// character), as a corpus of agent-egress attacks would.

// rt7Base85 is Python's base64.b85encode (RFC 1924 alphabet, a partial
// last group padded with zeros and cut).
func rt7Base85(b []byte) string {
	const a = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
	var out []byte
	for len(b) > 0 {
		var g [4]byte
		n := copy(g[:], b)
		b = b[n:]
		v := uint32(g[0])<<24 | uint32(g[1])<<16 | uint32(g[2])<<8 | uint32(g[3])
		var c [5]byte
		for i := 4; i >= 0; i-- {
			c[i] = a[v%85]
			v /= 85
		}
		out = append(out, c[:n+1]...)
	}
	return string(out)
}

func rt7Ascii85(b []byte) string {
	out := make([]byte, ascii85.MaxEncodedLen(len(b)))
	return string(out[:ascii85.Encode(out, b)])
}

func rt7Rot47(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c > ' ' && c < 0x7f {
			b[i] = '!' + (c-'!'+47)%94
		}
	}
	return string(b)
}

// TestRedteam7KnownForms: a known secret ROT13'd or ROT47'd, encoded as
// ascii85 (with or without <~ ~>), base85, uuencode or base32hex inside a
// file at any alignment, base58 on its own, or cut into its even and odd
// characters, is found by its forms (secretfp.Forms, knownforms.go), also
// reversed and under another encoding.
func TestRedteam7KnownForms(t *testing.T) {
	long := "correct-horse-battery-staple-Tr0ub4dor&3-x"
	names := map[string]string{rtCanary: "canary", rtPassword: "password", long: "long"}
	var fps []Fingerprint
	for v, name := range names {
		fp, err := FingerprintOf(name, v)
		assert.NilError(t, err)
		fps = append(fps, fp)
	}
	s, err := New(Options{Known: fps})
	assert.NilError(t, err)
	found := func(sec string, c rtCase) bool {
		fs, err := s.ScanBody(c.contentType, []byte(c.body))
		assert.NilError(t, err)
		for _, f := range fs {
			if f.Rule == "known-secret" && f.Known == names[sec] {
				return true
			}
		}
		return false
	}
	for _, sec := range []string{rtCanary, rtPassword, long} {
		var even, odd strings.Builder
		for i := 0; i < len(sec); i++ {
			if i%2 == 0 {
				even.WriteByte(sec[i])
			} else {
				odd.WriteByte(sec[i])
			}
		}
		cases := []rtCase{
			{"rot13", "text/plain", "note: " + rt6Rot13(sec) + " end"},
			{"rot13 in JSON", "application/json", `{"v":"` + rt6Rot13(sec) + `"}`},
			{"rot13 reversed", "text/plain", reverse(rt6Rot13(sec))},
			{"rot13 then base64", "text/plain", base64.StdEncoding.EncodeToString([]byte(rt6Rot13("VALUE=" + sec)))},
			{"rot47", "text/plain", "x " + rt7Rot47(sec) + " y"},
			{"upper-cased", "text/plain", "x " + strings.ToUpper(sec) + " y"},
			{"lower-cased", "text/plain", "x " + strings.ToLower(sec) + " y"},
			{"base58 alone", "text/plain", "id=" + rt6Base58([]byte(sec))},
			{"base58 of echo", "text/plain", rt6Base58([]byte(sec + "\n"))},
		}
		if len(sec) >= 32 {
			cases = append(cases,
				rtCase{"even then odd", "text/plain", even.String() + " " + odd.String()},
				rtCase{"odd only", "application/x-www-form-urlencoded", "a=" + odd.String()})
		}
		for p := range 5 {
			env := []byte(strings.Repeat("#", p) + "\nVALUE=" + sec + "\nPATH=/usr/bin\n")
			cases = append(cases,
				rtCase{"ascii85", "text/plain", rt7Ascii85(env)},
				rtCase{"ascii85 <~ ~>", "text/plain", "<~" + rt7Ascii85(env) + "~>"},
				rtCase{"base85", "application/json", `{"patch":"` + strings.ReplaceAll(rt7Base85(env), `"`, `\"`) + `"}`},
				rtCase{"uuencode", "text/plain", rt6Uuencode(env)},
				rtCase{"base32hex", "text/plain", base32.HexEncoding.EncodeToString(env)},
				rtCase{"base32hex reversed", "text/plain", reverse(base32.HexEncoding.EncodeToString(env))},
			)
		}
		for _, c := range cases {
			assert.Check(t, found(sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
}

// TestRedteam7FormsKeepTokenRuns: the forms of token secrets are token or
// printable bytes: the anchored pass still reads runs of them only, never
// every byte of a text (the cost of a bottle with canaries).
func TestRedteam7FormsKeepTokenRuns(t *testing.T) {
	s := rtScanner(t)
	assert.Assert(t, s.known.bits != nil)
	assert.Assert(t, !s.known.anchoredAny, "forms of token secrets made the anchored pass read every byte")
	assert.Assert(t, !s.known.anyBytes(), "forms of token secrets made every decoding whole")
	// A bad form is an error, as a bad fingerprint is.
	fp, err := FingerprintOf("x", rtCanary)
	assert.NilError(t, err)
	fp.Forms[0].Head = "zz"
	_, err = New(Options{Known: []Fingerprint{fp}})
	assert.ErrorContains(t, err, "form rot13")
}

// TestRedteam7FormsClean: forms are confirmed by SHA-256: text that is
// ROT13'd, ascii85 or base58 of other values is no finding.
func TestRedteam7FormsClean(t *testing.T) {
	s := rtScanner(t)
	for name, body := range map[string]string{
		"rot13 of prose":   rt6Rot13(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200)),
		"ascii85 of prose": rt7Ascii85([]byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200))),
		"base58 ids":       strings.Repeat(rt6Base58([]byte("order-1234567890"))+"\n", 50),
		"near miss":        rt6Rot13(rtCanary[:len(rtCanary)-1]) + "x",
	} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		for _, f := range fs {
			assert.Check(t, f.Rule != "known-secret", "%s flagged: %v", name, fs)
		}
	}
}

// TestRedteam7Rot13Tokens: provider tokens and private-key blocks written
// ROT13'd are found by their ROT13'd prefixes (rot13prefix.go), wherever
// a token may start.
func TestRedteam7Rot13Tokens(t *testing.T) {
	s := rtScanner(t)
	key := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yB2Bq9Hl5n0xUZlRmj7r1WJH9Ta0m5rN3uN6kQ6w0uM8v8W5u2lE\n-----END RSA PRIVATE KEY-----"
	for rule, tok := range map[string]string{
		"github-token":      rtGitHub,
		"aws-access-token":  "AKIAZ7Q3MNBV4XK2LWPD",
		"anthropic-api-key": "sk-ant-api03-Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2BgQw3Er4Ty5Ui6Op7",
		"gitlab-token":      "glpat-Zk8qXv9Lm2Tq7Rw4Pn6Y",
		"private-key":       key,
	} {
		r := rt6Rot13(tok)
		for name, body := range map[string]string{
			"alone":        r,
			"after =":      "TOKEN=" + r + "\n",
			"JSON":         `{"note":"` + strings.ReplaceAll(r, "\n", `\n`) + `"}`,
			"form":         "a=1&t=" + strings.ReplaceAll(r, " ", "+"),
			"base64 of it": base64.StdEncoding.EncodeToString([]byte("x " + r + "\n")),
		} {
			fs, err := s.ScanBody("text/plain", []byte(body))
			assert.NilError(t, err)
			found := false
			for _, f := range fs {
				found = found || f.Rule == rule || rule == "private-key" && strings.Contains(f.Rule, "private-key")
			}
			assert.Check(t, found, "%s %s: %v", rule, name, fs)
		}
	}
}

// TestRedteam7Rot13Clean: ROT13'd prefixes inside ordinary words and
// ROT13 of ordinary text are no finding; ROT13 of a token's prefix with
// too short a token is none either.
func TestRedteam7Rot13Clean(t *testing.T) {
	s := rtScanner(t)
	for _, body := range []string{
		"the structure of return values: tuc_ and NXVN are four letters",
		"tuc_short " + "NXVN1234 " + "fx-nag-abc",
		rt6Rot13(strings.Repeat("The quick brown fox jumps over the lazy dog; return structure. ", 100)),
		rt6Rot13(strings.Repeat("func main() {\n\tfmt.Println(\"hello, world\")\n}\n", 100)),
		"an article: -----ORTVA EFN CEVINGR XRL----- is how the header reads in ROT13",
	} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%.40q flagged: %v", body, fs)
	}
}

// TestRedteam7Marked: ascii85 between <~ ~> and a uuencode block are
// decoded (marked.go): a provider token in them is found, not only a
// known secret.
func TestRedteam7Marked(t *testing.T) {
	s := rtScanner(t)
	for _, sec := range []string{rtGitHub, rtCanary} {
		for p := range 4 {
			env := []byte(strings.Repeat("#", p) + "\nTOKEN=" + sec + "\n" + strings.Repeat("PATH=/usr/bin:/bin\n", 5))
			for _, c := range []rtCase{
				{"ascii85 <~ ~>", "text/plain", "data: <~" + rt7Ascii85(env) + "~>\n"},
				{"ascii85 <~ ~> wrapped", "text/plain", "<~" + rtWrap(rt7Ascii85(env), 75, "\n") + "~>"},
				{"ascii85 in JSON", "application/json", `{"a85":"<~` + strings.ReplaceAll(strings.ReplaceAll(rt7Ascii85(env), `\`, `\\`), `"`, `\"`) + `~>"}`},
				{"uuencode", "text/plain", "here:\n" + rt6Uuencode(env)},
				{"uuencode CRLF", "text/plain", strings.ReplaceAll(rt6Uuencode(env), "\n", "\r\n")},
			} {
				assert.Check(t, rtFound(t, s, sec, c), "%s %d: %s passed", sec[:6], p, c.name)
			}
		}
	}
	for _, body := range []string{
		"main = runEffect $ producer >-> consumer <~ pipe  -- <~ in Haskell",
		"begin 644 is how a uuencode block starts\nend\n",
		"x <~ " + strings.Repeat("!", 5000),
		strings.Repeat("<~a~>", 10000),
		strings.Repeat("begin 644 f\nM"+strings.Repeat("A", 60)+"\n", 2000),
	} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%.40q flagged: %v", body, fs)
	}
}

// TestRedteam7EscapesAndColumns: Python's and C's \U00000041, Perl's
// \x{41} (normalize.go), and a secret written a character a line (fold
// -w1; chunks.go joinedLines) are read; a column of digits a line is not
// joined into a number.
func TestRedteam7EscapesAndColumns(t *testing.T) {
	s := rtScanner(t)
	for _, sec := range []string{rtCanary, rtGitHub, rtPassword} {
		for _, c := range []rtCase{
			{`\U00000041`, "text/plain", rtEach(sec, func(h string) string { return `\U000000` + h })},
			{`\x{41}`, "text/plain", rtEach(sec, func(h string) string { return `\x{` + h + `}` })},
			{`\x{41} in a Perl line`, "text/plain", `my $k = "` + rtEach(sec, func(h string) string { return `\x{` + strings.ToLower(h) + `}` }) + `";`},
			{"a character a line", "text/plain", "x\n" + strings.Join(strings.Split(sec, ""), "\n") + "\n"},
			{"a character a line, CRLF", "text/plain", strings.Join(strings.Split(sec, ""), "\r\n")},
		} {
			assert.Check(t, rtFound(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
	// A one-byte line before a token's lines does not glue itself to the
	// token (it would take its boundary away).
	lines := "a\n" + rtWrap(rtGitHub, 10, "\n") + "\n"
	assert.Check(t, rtFound(t, s, rtGitHub, rtCase{"a byte, then the pieces", "text/plain", lines}))
	for _, body := range []string{
		strings.Repeat("4\n1\n1\n1\n", 8),
		"C:\\Users\\deploy\\U0000zzzz and a regex \\x{263a}",
	} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%.40q flagged: %v", body, fs)
	}
}

// TestRedteam7Open: transformations still not read. Each is a line of a
// script; reading it would cost a reading of every text (a Caesar shift
// other than 13, Atbash, ascii85 without its markers: their output is any
// letter or printable byte, so no prefix or marker points at it), a
// decoding that is not local (base58 of a whole file: each character
// depends on every byte, so only the value encoded alone has a form), or
// a per-character syntax no reading undoes (a filler after each
// character, %uXXXX, CSS escapes, char codes in function calls or with
// mixed separators, base64 of each character). A known secret is found
// in the ones with a fixed form (secretfp.Forms); what is below gets out.
// A cipher whose key is sent along (XOR, a substitution table) is out of
// reach of any scanner and not listed.
func TestRedteam7Open(t *testing.T) {
	if os.Getenv("CLAUDE_BOTTLE_REDTEAM_OPEN") != "1" {
		t.Skip("open bypasses (transformations no reading undoes): set CLAUDE_BOTTLE_REDTEAM_OPEN=1")
	}
	s := rtScanner(t)
	shift := func(v string, k byte) string {
		b := []byte(v)
		for i, c := range b {
			switch {
			case c >= 'a' && c <= 'z':
				b[i] = 'a' + (c-'a'+k)%26
			case c >= 'A' && c <= 'Z':
				b[i] = 'A' + (c-'A'+k)%26
			}
		}
		return string(b)
	}
	atbash := func(v string) string {
		b := []byte(v)
		for i, c := range b {
			switch {
			case c >= 'a' && c <= 'z':
				b[i] = 'z' - (c - 'a')
			case c >= 'A' && c <= 'Z':
				b[i] = 'Z' - (c - 'A')
			}
		}
		return string(b)
	}
	filler := func(v string) string {
		const junk = "qwertyuiopasdfghjklzxcvbnm"
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			b.WriteByte(v[i])
			b.WriteByte(junk[i%len(junk)])
		}
		return b.String()
	}
	everyOther := func(v string, from int) string {
		var b strings.Builder
		for i := from; i < len(v); i += 2 {
			b.WriteByte(v[i])
		}
		return b.String()
	}
	for _, sec := range []string{rtCanary, rtGitHub} {
		env := []byte("# env\nVALUE=" + sec + "\n")
		for _, c := range []rtCase{
			{"Caesar 3", "text/plain", shift(sec, 3)},
			{"Atbash", "text/plain", atbash(sec)},
			{"base58 of a file", "text/plain", rt6Base58(env)},
			{"ascii85 without <~ ~>", "text/plain", rt7Ascii85(env)},
			{"base32hex", "text/plain", base32.HexEncoding.EncodeToString(env)},
			{"%uXXXX", "text/plain", rtEach(sec, func(h string) string { return "%u00" + h })},
			{"CSS escapes", "text/plain", rtEach(sec, func(h string) string { return `\` + h + ` ` })},
			{"a filler after each character", "text/plain", filler(sec)},
			{"even then odd characters (halves under 16 bytes have no form)", "text/plain", everyOther(sec, 0) + " " + everyOther(sec, 1)},
			{"base64 of each character", "text/plain", rtEach(sec, func(h string) string {
				var c byte
				for _, x := range []byte(h) {
					c = c<<4 | unhex(x)
				}
				return base64.StdEncoding.EncodeToString([]byte{c}) + " "
			})},
		} {
			assert.Check(t, rtFound(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
}

// TestRedteam7UpperCasedTokens: a provider token upper-cased (tr a-z
// A-Z: a guesser recovers the case against the token's checksum) is
// found by its upper-cased prefix, four bytes or longer
// (rot13prefix.go); ordinary upper-case text is not.
func TestRedteam7UpperCasedTokens(t *testing.T) {
	s := rtScanner(t)
	for rule, tok := range map[string]string{
		"github-token":      rtGitHub,
		"anthropic-api-key": "sk-ant-api03-Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2BgQw3Er4Ty5Ui6Op7",
		"gitlab-token":      "glpat-Zk8qXv9Lm2Tq7Rw4Pn6Y",
		"pulumi-token":      "pul-" + strings.Repeat("0a1b2c3d4e", 4),
	} {
		for name, body := range map[string]string{
			"alone":  strings.ToUpper(tok),
			"header": "X-Debug: " + strings.ToUpper(tok),
			"JSON":   `{"T":"` + strings.ToUpper(tok) + `"}`,
		} {
			fs, err := s.ScanBody("text/plain", []byte(body))
			assert.NilError(t, err)
			found := false
			for _, f := range fs {
				found = found || f.Rule == rule
			}
			assert.Check(t, found, "%s %s: %v", rule, name, fs)
		}
	}
	for _, body := range []string{
		"HIGH_PRIORITY GHP_ SK-ANT- GLPAT-SHORT KEY-VALUE DAPI-RESPONSE",
		strings.ToUpper(strings.Repeat("The quick brown fox jumps over the lazy dog; ghp is a prefix. ", 100)),
		"CONST_GHP_TIMEOUT_MILLISECONDS_DEFAULT_VALUE = 30",
	} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%.40q flagged: %v", body, fs)
	}
}

// FuzzMarked: any text — markers cut anywhere, corrupt groups, lines of
// any length — decodes within its size, without a panic; so does the
// transformed-prefix check of the prefix pass.
func FuzzMarked(f *testing.F) {
	env := []byte("VALUE=" + rtCanary + "\n")
	f.Add("<~" + rt7Ascii85(env) + "~>")
	f.Add(rt6Uuencode(env))
	f.Add("begin 644 x\n\x1fabc\n`\nend\n<~z!!~>")
	f.Add(rt6Rot13("x=" + rtGitHub + " -----BEGIN RSA PRIVATE KEY-----"))
	f.Add(strings.ToUpper("k " + rtGitHub))
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		markedReadings(s, func(v view) bool { n += len(v.text); return false })
		if n > 2*len(s) {
			t.Fatalf("decoded %d bytes of a %d-byte text", n, len(s))
		}
		r := &ruleScan{s: &Scanner{builtin: true}, c: &collector{}}
		r.prefixPass(s)
		r.structurePass(s)
	})
}
