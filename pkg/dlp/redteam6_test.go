package dlp

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/ascii85"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Red team round 6: secrets inside the file formats an agent uploads
// every day (compressed streams, archives, wide text) and encodings no
// reading undoes.

func rt6Gzip(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func rt6Zlib(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func rt6Zip(name string, b []byte, method uint16) []byte {
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	f, _ := w.CreateHeader(&zip.FileHeader{Name: name, Method: method})
	_, _ = f.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func rt6Tar(files ...[2][]byte) []byte {
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	for _, f := range files {
		_ = w.WriteHeader(&tar.Header{Name: string(f[0]), Mode: 0o600, Size: int64(len(f[1]))})
		_, _ = w.Write(f[1])
	}
	_ = w.Close()
	return out.Bytes()
}

// rt6Latin1JSON writes b as a JSON string's characters, each byte a
// \u00XX escape (json.dumps of b.decode("latin-1"), ASCII-safe).
func rt6Latin1JSON(b []byte) string {
	var out strings.Builder
	for _, c := range b {
		fmt.Fprintf(&out, `\u%04x`, c)
	}
	return out.String()
}

// rt6Wide writes s as UTF-16 (unit 2) or UTF-32 (unit 4), either byte order.
func rt6Wide(s string, unit int, big bool) []byte {
	var out []byte
	for _, c := range []byte(s) {
		w := make([]byte, unit)
		if big {
			w[unit-1] = c
		} else {
			w[0] = c
		}
		out = append(out, w...)
	}
	return out
}

// TestRedteam6Embedded: a secret in a compressed stream (gzip, zlib, a
// zip member, a tar.gz), as bytes or encoded as base64 or hex, and in
// UTF-16/UTF-32 text, is found (embedded.go).
func TestRedteam6Embedded(t *testing.T) {
	s := rtScanner(t)
	b64 := base64.StdEncoding.EncodeToString
	noise := rtNoise(61, 70<<10)
	for _, sec := range []string{rtCanary, rtGitHub, rtPassword} {
		env := []byte("# env\nHOME=/root\nVALUE=" + sec + "\nPATH=/usr/bin\n")
		tgz := rt6Gzip(rt6Tar([2][]byte{[]byte("bin/tool"), noise}, [2][]byte{[]byte(".env"), env}))
		pack := append([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x3f"), rt6Zlib(env)...)
		cases := []rtCase{
			{"base64 of gzip", "text/plain", "x " + b64(rt6Gzip(env))},
			{"base64 of gzip, wrapped at 76", "text/plain", rtWrap(b64(rt6Gzip(env)), 76, "\n")},
			{"base64 of gzip in JSON, \\n written", "application/json", `{"data":"` + rtWrap(b64(rt6Gzip(env)), 20, `\n`) + `"}`},
			{"npm publish attachment", "application/json", `{"_attachments":{"pkg-1.0.0.tgz":{"content_type":"application/octet-stream","data":"` + b64(tgz) + `"}}}`},
			{"data: URL of gzip", "text/plain", "data:application/gzip;base64," + b64(rt6Gzip(env))},
			{"url-safe base64 of zlib", "text/plain", base64.RawURLEncoding.EncodeToString(rt6Zlib(env))},
			{"hex of gzip", "text/plain", hex.EncodeToString(rt6Gzip(env))},
			{"HEX of zlib", "text/plain", strings.ToUpper(hex.EncodeToString(rt6Zlib(env)))},
			{"raw gzip", "application/gzip", string(rt6Gzip(env))},
			{"raw tar.gz, binary first member", "application/octet-stream", string(tgz)},
			{"base64 tar.gz", "text/plain", b64(tgz)},
			{"raw zip, deflated", "application/zip", string(rt6Zip(".env", env, zip.Deflate))},
			{"base64 zip, deflated", "text/plain", b64(rt6Zip(".env", env, zip.Deflate))},
			{"git pack object (zlib)", "application/x-git-receive-pack-request", "0000" + string(pack)},
			{"gzip after binary", "application/octet-stream", string(noise[:5000]) + string(rt6Gzip(env)) + string(noise[5000:9000])},
			{"gzip of gzip", "application/octet-stream", string(rt6Gzip(rt6Gzip(env)))},
			{"UTF-16LE", "text/plain", string(rt6Wide(string(env), 2, false))},
			{"UTF-16BE", "application/octet-stream", string(rt6Wide(string(env), 2, true))},
			{"UTF-16LE with BOM", "text/plain", "\xff\xfe" + string(rt6Wide(string(env), 2, false))},
			{"UTF-32LE", "text/plain", string(rt6Wide(string(env), 4, false))},
			{"UTF-32BE", "text/plain", string(rt6Wide(string(env), 4, true))},
			{"UTF-16 in binary", "application/octet-stream", string(noise[:3000]) + string(rt6Wide(string(env), 2, false)) + string(noise[3000:6000])},
			{"UTF-16 gzipped, base64", "text/plain", b64(rt6Gzip(rt6Wide(string(env), 2, false)))},
			{"gzip as \\u00XX characters in JSON", "application/json", `{"f":"` + rt6Latin1JSON(rt6Gzip(env)) + `"}`},
			{"zlib as \\u00XX characters in JSON", "application/json", `{"f":"` + rt6Latin1JSON(rt6Zlib(env)) + `"}`},
			{"JSON \\u0000 after each character", "application/json", `{"v":"` + strings.ReplaceAll(string(rt6Wide(sec, 2, false)), "\x00", `\u0000`) + `"}`},
		}
		for _, c := range cases {
			assert.Check(t, rtFound(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
	// Multipart upload of a tar.gz file.
	var mp bytes.Buffer
	fmt.Fprintf(&mp, "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.tgz\"\r\nContent-Type: application/gzip\r\n\r\n%s\r\n--b--\r\n",
		rt6Gzip(rt6Tar([2][]byte{[]byte(".env"), []byte("T=" + rtCanary + "\n")})))
	assert.Check(t, rtFound(t, s, rtCanary, rtCase{"multipart tar.gz", "multipart/form-data; boundary=b", mp.String()}), "multipart tar.gz passed")
}

// TestRedteam6EmbeddedClean: compressed and wide text without secrets is
// not a finding, and look-alikes of the signatures in text read nothing.
func TestRedteam6EmbeddedClean(t *testing.T) {
	s := rtScanner(t)
	b64 := base64.StdEncoding.EncodeToString
	prose := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog; x^2 + y^2 = z^2. ", 400))
	src := []byte(strings.Repeat("func main() {\n\tfmt.Println(\"hello, world\")\n}\n", 300))
	for name, body := range map[string]string{
		"gzip of prose":            string(rt6Gzip(prose)),
		"base64 of gzip of source": `{"data":"` + b64(rt6Gzip(rt6Tar([2][]byte{[]byte("main.go"), src}))) + `"}`,
		"zlib of noise (pixels)":   string(rt6Zlib(rtNoise(62, 50<<10))),
		"hex of zlib of prose":     hex.EncodeToString(rt6Zlib(prose)),
		"zip of source":            string(rt6Zip("main.go", src, zip.Deflate)),
		"UTF-16 prose":             string(rt6Wide(string(prose[:4000]), 2, false)),
		"signatures in text":       "H4sI is how gzip starts in base64, UEsDB a zip, eJ zlib; x^2 and 1f8b08 in hex.",
		"random binary":            string(rtNoise(63, 200<<10)),
	} {
		fs, err := s.ScanBody("application/octet-stream", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%s flagged: %v", name, fs)
	}
}

// TestRedteam6EmbeddedBounded: what is inflated is bounded (a zip bomb,
// many stream headers, a decoy stream before the real one), and the scan
// ends.
func TestRedteam6EmbeddedBounded(t *testing.T) {
	s := rtScanner(t)
	bomb := rt6Gzip(make([]byte, 40<<20)) // 40 MiB of zeros in ~40 KiB
	fs, err := s.ScanBody("application/gzip", bomb)
	assert.NilError(t, err)
	assert.Check(t, len(fs) == 0, "%v", fs)
	budget := embedBudget(len(bomb))
	n := 0
	eachInflated(string(bomb), &budget, func(d string) bool { n += len(d); return false })
	assert.Check(t, n <= embedBudget(len(bomb)), "inflated %d", n)
	// Headers everywhere: every one is tried, each costs its few bytes.
	many := strings.Repeat("x\x9c\x01\x02"+gzipMagic+"\x00"+zipMagic+"\x08\x00", 20000)
	_, err = s.ScanBody("application/octet-stream", []byte(many))
	assert.NilError(t, err)
	_, err = s.ScanBody("text/plain", []byte(strings.Repeat(" H4sIAAAA eJzz 1f8b0800 UEsDBBQ", 20000)))
	assert.NilError(t, err)
}

func rt6Base58(b []byte) string {
	const a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int).SetBytes(b)
	var out []byte
	m := new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, big.NewInt(58), m)
		out = append([]byte{a[m.Int64()]}, out...)
	}
	return string(out)
}

func rt6Rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

func rt6Uuencode(b []byte) string {
	var out strings.Builder
	out.WriteString("begin 644 env\n")
	for len(b) > 0 {
		line := append([]byte{}, b[:min(45, len(b))]...)
		b = b[len(line):]
		out.WriteByte(byte(32 + len(line)))
		for len(line)%3 != 0 {
			line = append(line, 0)
		}
		for i := 0; i < len(line); i += 3 {
			v := uint(line[i])<<16 | uint(line[i+1])<<8 | uint(line[i+2])
			for k := 18; k >= 0; k -= 6 {
				if c := byte(v>>k) & 63; c == 0 {
					out.WriteByte('`')
				} else {
					out.WriteByte(32 + c)
				}
			}
		}
		out.WriteByte('\n')
	}
	return out.String() + "`\nend\n"
}

// TestRedteam6Open: encodings no reading undoes. Each is a transformation
// a shell one-liner writes (base58, ascii85, uuencode, ROT13, base32 with
// the extended-hex alphabet, a filler that differs at each character, the
// even then the odd characters, escape syntaxes of other languages, char
// codes with mixed separators); docs/dlp.md lists what is read, and the
// threat model says a transformation beyond it gets out. Reading each
// costs one more pass over every reading of every part.
func TestRedteam6Open(t *testing.T) {
	if os.Getenv("CLAUDE_BOTTLE_REDTEAM_OPEN") != "1" {
		t.Skip("open bypasses (encodings no reading undoes): set CLAUDE_BOTTLE_REDTEAM_OPEN=1")
	}
	s := rtScanner(t)
	code := func(h string) byte { var c byte; _, _ = fmt.Sscanf(h, "%X", &c); return c }
	for _, sec := range []string{rtCanary, rtGitHub, rtPassword} {
		env := []byte("# env\nVALUE=" + sec + "\n")
		a85 := make([]byte, ascii85.MaxEncodedLen(len(env)))
		a85 = a85[:ascii85.Encode(a85, env)]
		junk := "qwertyuiopasdfghjklzxcvbnm"
		var inter, even, odd strings.Builder
		for i := 0; i < len(sec); i++ {
			inter.WriteString(string(sec[i]) + string(junk[i%len(junk)]))
			if i%2 == 0 {
				even.WriteByte(sec[i])
			} else {
				odd.WriteByte(sec[i])
			}
		}
		cases := []rtCase{
			{"base58", "text/plain", "x " + rt6Base58(env)},
			{"ascii85", "text/plain", "<~" + string(a85) + "~>"},
			{"uuencode", "text/plain", rt6Uuencode(env)},
			{"rot13", "text/plain", rt6Rot13(string(env))},
			{"base32hex", "text/plain", base32.HexEncoding.EncodeToString(env)},
			{"a different filler after each character", "text/plain", inter.String()},
			{"even then odd characters", "text/plain", even.String() + " " + odd.String()},
			{"%uXXXX", "text/plain", rtEach(sec, func(h string) string { return "%u00" + h })},
			{"\\U00000041", "text/plain", rtEach(sec, func(h string) string { return `\U000000` + h })},
			{"CSS escapes", "text/plain", rtEach(sec, func(h string) string { return `\` + h + ` ` })},
			{"Perl \\x{41}", "text/plain", rtEach(sec, func(h string) string { return `\x{` + h + `}` })},
			{"SQL CHAR(65)+", "text/plain", rtEach(sec, func(h string) string { return fmt.Sprintf("CHAR(%d)+", code(h)) })},
			{"chr(65).", "text/plain", rtEach(sec, func(h string) string { return fmt.Sprintf("chr(%d).", code(h)) })},
			{"char codes, mixed separators", "text/plain", rtEach(sec, func(h string) string { return fmt.Sprintf("%d%s", code(h), []string{",", " ", ";"}[int(code(h))%3]) })},
			{"octal list", "text/plain", rtEach(sec, func(h string) string { return fmt.Sprintf("%o ", code(h)) })},
			{"base64 of each character", "text/plain", rtEach(sec, func(h string) string { return base64.StdEncoding.EncodeToString([]byte{code(h)}) + " " })},
			{"base64 in groups of three", "text/plain", rtWrap(base64.StdEncoding.EncodeToString(env), 3, " ")},
			{"base64 wrapped by tabs", "text/plain", rtWrap(base64.StdEncoding.EncodeToString(env), 10, "\t")},
			{"a character a line", "text/plain", rtEach(sec, func(h string) string { return string(code(h)) + "\n" })},
		}
		for _, c := range cases {
			assert.Check(t, rtFound(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
}

// TestRedteam6URLPasswordReserved: a connection string whose password
// holds a raw '#', '/' or '?' (the RFC's authority ends there; a DSN
// parser reads to the last '@') is a credential (urlcred.go); URLs with a
// port, a path or a query holding an '@' are not.
func TestRedteam6URLPasswordReserved(t *testing.T) {
	s := rtScanner(t)
	for _, u := range []string{
		"postgres://app:Wq7#rZ2!pLm9vX@db.internal:5432/app",
		"https://deploy:Wq7#rZ2!pLm9vX@github.com",
		"mysql://root:ab/cd?ef@localhost/db",
		"redis://default:pa#ss?word@cache:6379/0",
	} {
		for _, text := range []string{"DATABASE_URL=" + u, "see " + u + " now", `{"dsn":"` + u + `"}`} {
			fs, err := s.ScanBody("text/plain", []byte(text))
			assert.NilError(t, err)
			assert.Check(t, len(fs) > 0, "%s passed", text)
		}
	}
	for _, text := range []string{
		"GET https://localhost:8080/users/@me",
		"https://example.com:443/path?email=a@b.com",
		"http://host:8080#/route@x",
		"ws://[::1]:8080/x@y",
		"https://discord.com/api/v10/users/@me",
		"https://medium.com/@someone/a-post",
		"jdbc:mysql://db:3306/app?user=ops@example.com",
		"https://x.example:/path@x",
		"http://host:${PORT}/a@b",
		"postgres://app:$DB_PASSWORD#x@db/app",
	} {
		fs, err := s.ScanBody("text/plain", []byte(text))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%s flagged: %v", text, fs)
	}
}

// TestRedteam6PGPass: a ~/.pgpass line (host:port:db:user:password) with
// a password of punctuation and short runs (no token or entropy rule
// reads it) is a finding (pgpass.go); lines of other colon formats are
// not.
func TestRedteam6PGPass(t *testing.T) {
	s := rtScanner(t)
	for _, text := range []string{
		"db.internal:5432:app:deploy:Wq7#rZ2!pLm9vX",
		"# pgpass\nlocalhost:*:*:postgres:s3cr#t-pw!\n*:5432:*:app:hunter2!!\n",
		"cat ~/.pgpass\r\n10.0.0.5:6432:billing:svc_billing:a\\:b-c.d-e\r\n",
	} {
		fs, err := s.ScanBody("text/plain", []byte(text))
		assert.NilError(t, err)
		assert.Check(t, len(fs) > 0, "%q passed", text)
	}
	for _, text := range []string{
		"fe80:0:0:0:1",
		"2001:db8:85a3:0:0:8a2e:370:7334",
		"12:30:45:00:frames",
		"root:x:0:0:root:/root:/bin/bash",
		"at 10:15:30:200 GMT: started",
		`{"a":1,"b":2,"c":3,"d":"xyzxyz"}`,
		"localhost:5432:app:deploy:$PGPASSWORD",
		"host:5432:db:user:<password>",
		"time=2024-01-01T10:15:30:01:trace-id",
	} {
		fs, err := s.ScanBody("text/plain", []byte(text))
		assert.NilError(t, err)
		assert.Check(t, len(fs) == 0, "%q flagged: %v", text, fs)
	}
}

// FuzzEmbedded: any text — streams cut anywhere, corrupt, nested — is
// read within the budget, without a panic.
func FuzzEmbedded(f *testing.F) {
	env := []byte("VALUE=" + rtCanary + "\n")
	f.Add(string(rt6Gzip(env)))
	f.Add(base64.StdEncoding.EncodeToString(rt6Gzip(env)))
	f.Add(hex.EncodeToString(rt6Zlib(env)))
	f.Add(string(rt6Zip(".env", env, zip.Deflate)))
	f.Add(string(rt6Wide(string(env), 2, false)))
	f.Add("x\x9c" + string(rtNoise(64, 200)))
	f.Add(`{"f":"` + rt6Latin1JSON(rt6Gzip(env)) + `"}`)
	f.Fuzz(func(t *testing.T, s string) {
		budget := embedBudget(len(s))
		n := 0
		eachInflated(s, &budget, func(d string) bool { n += len(d); return false })
		if n > embedBudget(len(s)) {
			t.Fatalf("inflated %d bytes of a %d-byte text", n, len(s))
		}
		_ = wideText(s)
		_ = hasWide(s)
		if l, ok := latin1Stream(s); ok && len(l) > len(s) {
			t.Fatalf("latin-1 reading longer than the text")
		}
	})
}

// TestRedteam6Pinned: shapes of round 6 found before it, kept found.
func TestRedteam6Pinned(t *testing.T) {
	s := rtScanner(t)
	b64 := base64.StdEncoding.EncodeToString
	for _, sec := range []string{rtCanary, rtGitHub, rtPassword} {
		env := []byte("# env\nHOME=/root\nVALUE=" + sec + "\nPATH=/usr/bin\n")
		full := rtEach(sec, func(h string) string {
			var c byte
			_, _ = fmt.Sscanf(h, "%X", &c)
			if c > 0x20 && c < 0x7f {
				return string(rune(0xFEE0 + int(c)))
			}
			return string(c)
		})
		cases := []rtCase{
			{"raw zip, stored", "application/zip", string(rt6Zip(".env", env, zip.Store))},
			{"raw tar", "application/x-tar", string(rt6Tar([2][]byte{[]byte(".env"), env}))},
			{"base64 of UTF-16", "text/plain", b64(rt6Wide(string(env), 2, false))},
			{"HEX upper", "text/plain", strings.ToUpper(hex.EncodeToString([]byte(sec)))},
			{"base64 of hex of the reversed value", "text/plain", b64([]byte(hex.EncodeToString([]byte(reverse(sec)))))},
			{"SQL blob literal", "text/plain", "INSERT INTO t VALUES(1,X'" + hex.EncodeToString([]byte(sec)) + "');"},
			{"base64, CRLF every 4", "text/plain", rtWrap(b64(env), 4, "\r\n")},
			{"base64, a line of 3", "text/plain", rtWrap(b64(env), 3, "\n")},
			{"hex of base64", "text/plain", hex.EncodeToString([]byte(b64(env)))},
			{"fullwidth", "text/plain", full},
			{"quoted-printable, every byte", "text/plain", rtQP(sec)},
		}
		for _, c := range cases {
			assert.Check(t, rtFound(t, s, sec, c), "%s: %s passed", sec[:6], c.name)
		}
	}
	// Credential files an agent finds and uploads as they are.
	pw := "Wq7#rZ2!pLm9vX"
	for name, body := range map[string]string{
		".npmrc token":     "//registry.npmjs.org/:_authToken=npm_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg\n",
		".npmrc _auth":     "//registry.example.com/:_auth=" + b64([]byte("deploy:"+pw)) + "\nalways-auth=true\n",
		".npmrc _password": "//registry.example.com/:username=deploy\n//registry.example.com/:_password=" + b64([]byte(pw)) + "\n",
		".pypirc":          "[pypi]\nusername = __token__\npassword = " + pw + "\n",
		".netrc":           "machine api.example.com login deploy password " + pw + "\n",
		"docker config":    `{"auths":{"https://index.docker.io/v1/":{"auth":"` + b64([]byte("deploy:"+pw)) + `"}}}`,
		"kubeconfig":       "users:\n- name: admin\n  user:\n    username: admin\n    password: " + pw + "\n",
		"terraform state":  `{"resources":[{"instances":[{"attributes":{"master_password":"` + pw + `"}}]}]}`,
		"my.cnf":           "[client]\nuser=deploy\npassword=\"" + pw + "\"\n",
		"aws credentials":  "[default]\naws_access_key_id = AKIAZ7Q3MNBV4XK2LWPD\naws_secret_access_key = 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\n",
		"gh hosts.yml":     "github.com:\n    user: deploy\n    oauth_token: gho_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg\n",
		"shadow":           "root:$6$Zk8qXv9L$m2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2BgQw3Er4Ty5Ui6Op7As8Df9Gh0Jk1Lz2Xc3Vb4Nm5Qa6Ws7Ed8Rf9Tg0Yh1:19000:0:99999:7:::\n",
		"declare -x":       "declare -x DATABASE_PASSWORD=\"" + pw + "\"\n",
	} {
		fs, err := s.ScanBody("text/plain", []byte(body))
		assert.NilError(t, err)
		assert.Check(t, len(fs) > 0, "%s passed", name)
	}
}
