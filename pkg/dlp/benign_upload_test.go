package dlp

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// TestBenignUploads10MiB: every body class the chain benchmark uploads is
// benign (file content an agent may send) and must pass the scanner at the
// size the chain sends it, 10 MiB. Except keyword-dense: its lines carry
// password=changeme, a default password, which is a credential by this
// scanner's rules (a class built for the cost of the field rule).
func TestBenignUploads10MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MiB bodies")
	}
	s := scanner(t, Options{})
	for _, class := range benchload.ScanClasses {
		if class == "keyword-dense" {
			continue
		}
		t.Run(class, func(t *testing.T) {
			ct, _, dec := classBody(t, class, 10<<20)
			fs, err := s.ScanBody(ct, dec)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range fs {
				if i < 5 {
					t.Errorf("benign %s body: %v", class, f)
				}
			}
		})
	}
}

// mnemonic returns a BIP-39 mnemonic of n words with a valid checksum
// (random words, the last one chosen so the checksum holds).
func mnemonic(t *testing.T, r *rand.Rand, n int) string {
	t.Helper()
	for range 100 {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = bip39List[r.IntN(len(bip39List))]
		}
		for _, last := range bip39List {
			ws[n-1] = last
			text := strings.Join(ws, " ")
			var pos [][2]int
			for _, f := range strings.Fields(text) {
				at := 0
				if len(pos) > 0 {
					at = pos[len(pos)-1][1] + 1
				}
				pos = append(pos, [2]int{at, at + len(f)})
			}
			if refChecksum(text, pos) {
				return text
			}
		}
	}
	t.Fatal("no mnemonic")
	return ""
}

// insertAt puts s into body at about the middle, after a byte sep.
func insertAt(body []byte, sep byte, s string) []byte {
	i := len(body) / 2
	for i < len(body) && body[i] != sep {
		i++
	}
	out := append([]byte{}, body[:i+1]...)
	out = append(out, s...)
	return append(out, body[i+1:]...)
}

// TestSeedPhraseInLargeBodies: the seed-phrase rule passes runs of list
// words that are ordinary prose; a real mnemonic set into prose, JSON, a
// word list or a run of other list words, in a 10 MiB body, is found.
func TestSeedPhraseInLargeBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MiB bodies")
	}
	s, err := New(Options{})
	assert.NilError(t, err)
	r := rand.New(rand.NewPCG(5, 9))
	_, _, text := classBody(t, "text", 10<<20)
	_, _, js := classBody(t, "json", 10<<20)
	_, _, form := classBody(t, "form", 10<<20)
	var list strings.Builder // a word list, one ordinary word a line
	for _, w := range strings.Fields(string(text[:4<<20])) {
		list.WriteString(strings.Trim(w, ".") + "\n")
	}
	for _, n := range []int{12, 24} {
		m := mnemonic(t, r, n)
		for name, c := range map[string]struct {
			ct   string
			body []byte
		}{
			"prose":            {"text/plain", insertAt(text, '\n', "My wallet words: "+m+". Keep them safe.\n")},
			"prose-bare":       {"text/plain", insertAt(text, '\n', m+"\n")},
			"prose-list-words": {"text/plain", insertAt(text, '\n', "about again because "+m+" also another before\n")},
			"json":             {"application/json", insertAt(js, ',', `{"backup":"`+m+`"},`)},
			"form":             {"application/x-www-form-urlencoded", insertAt(form, '&', "notes="+strings.ReplaceAll(m, " ", "+")+"&")},
			"word-list":        {"text/plain", insertAt([]byte(list.String()), '\n', strings.ReplaceAll(m, " ", "\n")+"\n")},
			"numbered":         {"text/plain", insertAt(text, '\n', numbered(m))},
		} {
			t.Run(fmt.Sprintf("%s-%d", name, n), func(t *testing.T) {
				fs, err := s.ScanBody(c.ct, c.body)
				assert.NilError(t, err)
				assert.Assert(t, hasRule(fs, "seed-phrase"), "mnemonic of %d words in %s not found: %v", n, name, fs)
			})
		}
	}
}

func numbered(m string) string {
	var b strings.Builder
	for i, w := range strings.Fields(m) {
		fmt.Fprintf(&b, "%d. %s\n", i+1, w)
	}
	return b.String()
}

// wrap76 wraps base64 at 76 columns with CRLF, as MIME and most encoders
// do.
func wrap76(e string) string {
	var b strings.Builder
	for len(e) > 76 {
		b.WriteString(e[:76] + "\r\n")
		e = e[76:]
	}
	b.WriteString(e)
	return b.String()
}

// TestCredentialInLargeBase64: random tokens packed together (the lines of
// a wrapped base64 file) are data, not credentials, for the entropy rule;
// a credential among them, written out or encoded inside the payload, is
// still found by the provider rules and the known-secret rule.
func TestCredentialInLargeBase64(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MiB bodies")
	}
	rules, err := New(Options{NoEntropy: true})
	assert.NilError(t, err)
	known := scanner(t, Options{NoGitleaks: true, NoEntropy: true})
	gh := "ghp_" + "R2d4e6f8h0j2k4m6n8p0q2s4u6w8y0A2c4E6"
	aws := secrets["aws"]
	_, _, wrapped := classBody(t, "base64-wrapped", 10<<20)
	_, _, b64json := classBody(t, "base64-json", 10<<20)
	payload := func(secret string) []byte { // a file with a secret inside, base64-wrapped
		raw := randomBytes(6 << 20)
		at := len(raw) / 2
		raw = append(append(append([]byte{}, raw[:at]...), "\nexport TOKEN="+secret+"\n"...), raw[at:]...)
		return []byte(wrap76(base64.StdEncoding.EncodeToString(raw)))
	}
	for name, c := range map[string]struct {
		s    *Scanner
		ct   string
		body []byte
		rule string
	}{
		"github-line":         {rules, "text/plain", insertAt(wrapped, '\n', gh+"\r\n"), "github-token"},
		"aws-line":            {rules, "text/plain", insertAt(wrapped, '\n', aws+"\r\n"), "aws-access-token"},
		"github-encoded":      {rules, "text/plain", payload(gh), "github-token"},
		"aws-encoded":         {rules, "text/plain", payload(aws), "aws-access-token"},
		"known-line":          {known, "text/plain", insertAt(wrapped, '\n', secrets["generic"]+"\r\n"), "known-secret"},
		"known-encoded":       {known, "text/plain", payload(secrets["generic"]), "known-secret"},
		"known-in-json-image": {known, "application/json", insertAt(b64json, '/', base64.StdEncoding.EncodeToString([]byte(" "+secrets["anthropic"]+" "))), "known-secret"},
	} {
		t.Run(name, func(t *testing.T) {
			fs, err := c.s.ScanBody(c.ct, c.body)
			assert.NilError(t, err)
			assert.Assert(t, hasRule(fs, c.rule), "%s not found: %v", c.rule, fs)
		})
	}
	// One random token alone, outside a crowd, is still a finding.
	ent, err := New(Options{})
	assert.NilError(t, err)
	_, _, text := classBody(t, "text", 1<<20)
	fs, err := ent.ScanBody("text/plain", insertAt(text, '\n', "value Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0A\n"))
	assert.NilError(t, err)
	assert.Assert(t, hasRule(fs, "high-entropy-token"), "%v", fs)
}
