package dlp

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// The three-byte filter list (triples.go) must give every search the
// positions its own walk gives (pairSet.eachTriple, keywordSet.each: the
// code each search ran before, still run when there is no list), and the
// rule pass with a list exactly the findings, in the same order, of the
// rule pass without one.

// listOf is the list of text whatever its length or density.
func listOf(text string) *tripleList {
	ents, ok := tripleTabs().scan(text, nil, 1)
	if !ok {
		panic("limit")
	}
	return &tripleList{text: text, ents: ents}
}

func checkTriples(t *testing.T, s *Scanner, text string) {
	t.Helper()
	l := listOf(text)
	r := &ruleScan{s: s, c: &collector{}, tri: l}
	p := prefixTables()
	for _, w := range []struct {
		bit  uint32
		p, q *pairSet
	}{{triPrefix, &p.fwdPairs, &p.fwdNext}, {triStructure, structurePairs, structureNext}} {
		var got, want []int
		r.eachTriple(text, w.bit, w.p, w.q, func(i int) bool { got = append(got, i); return false })
		w.p.eachTriple(text, w.q, func(i int) bool { want = append(want, i); return false })
		assert.Equal(t, fmt.Sprint(got), fmt.Sprint(want), "bit %d in %q", w.bit, text)
		// Stopping early stops both at the same place.
		if len(want) > 1 {
			stopAt, n := want[len(want)/2], 0
			r.eachTriple(text, w.bit, w.p, w.q, func(i int) bool { n++; return i == stopAt })
			assert.Equal(t, n, len(want)/2+1)
		}
	}
	var got, want []int
	secretNameCores().eachListed(l, triNames, text, func(i int) bool { got = append(got, i); return false })
	secretNameCores().each(text, func(i int) bool { want = append(want, i); return false })
	assert.Equal(t, fmt.Sprint(got), fmt.Sprint(want), "names in %q", text)
	assert.Equal(t, r.structureNeedles(text), structureNeedles(text))

	for _, enc := range []string{EncRaw, EncBase64} {
		var cl, cw collector
		s.rulesListed(&cl, "body", enc, text, l)
		s.rules(&cw, "body", enc, text)
		assert.DeepEqual(t, cl.out, cw.out)
	}
}

// tripleText is random text dense in what the three searches look for:
// provider prefixes, structure strings and secret names in every case,
// with tokens, keys and URLs after them.
func tripleText(r *rand.Rand, n int) string {
	pieces := []string{
		"AKIA", "ghp_", "sk-ant-", "xoxb-", "eyJ", "AIza", "glpat-", "SK", "AC", "s.", ".atlasv1.", "dp.pt.", "GB82", "DE89", "akia",
		"PRIVATE KEY", "PRIVATE+KEY", "private key", "-----BEGIN RSA ", "://", "https://user:pa55w0rd@host/", "hooks.slack.com/services/T",
		"AccountKey=", "SharedAccessKey=", "8Q~", ":AA", `"service_account"`, "openssh-key-v1",
		"password", "PassWord", "API_KEY", "Token", "SECRET", "auth", "Session", "sig", "mnemonic", "seed", "Wallet", "dsn", "conn", "pw", "cred",
		"=", ": ", "\"", " ", "\n", "&", "Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "0123456789abcdef",
		// Reversed prefixes and tokens (prefixPass's reversed runs).
		"_phg", "AIKA", "-tna-ks", "-bxox", "2fA0eK1dJ5cH3bY6nP4wR7qT2mL9vXq8kZ_phg", "R7qT2mL9vXq8kZAIKA", "Jye", "azIA", "-taplg", "KS", "CA",
	}
	var b strings.Builder
	for b.Len() < n {
		switch r.IntN(6) {
		case 0:
			b.WriteByte(byte(r.IntN(256)))
		case 1:
			b.WriteString(fragments[r.IntN(len(fragments))])
		default:
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
	}
	return b.String()
}

func TestTripleListMatchesOwnWalks(t *testing.T) {
	s := scanner(t, Options{})
	r := rand.New(rand.NewPCG(19, 22))
	for n := range 3000 {
		var text string
		switch n % 3 {
		case 0:
			text = tripleText(r, r.IntN(400))
		case 1:
			text = randomText(r, r.IntN(400))
		default:
			text = randomText(r, r.IntN(3000)) + tripleText(r, 300) + randomText(r, r.IntN(3000))
		}
		checkTriples(t, s, text)
	}
	// Every search's needle at the very start and the very end (the
	// keyword walk tests its last position on the pair alone).
	for _, w := range []string{"pw", "PW", "pa", "key", "ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2", "Q~", "AKIAZk8qXv9Lm2Tq7R", "://"} {
		for _, text := range []string{w, w + "x", "x" + w, "pw=" + w, strings.Repeat("a", 5000) + w, w + strings.Repeat(" ", 5000)} {
			checkTriples(t, s, text)
		}
	}
}

// TestTripleListLimits: a reading too short, or too dense in filter
// positions, gets no list (each search walks it), and the scan finds the
// same.
func TestTripleListLimits(t *testing.T) {
	tt := tripleTabs()
	assert.Assert(t, tt.listFor(strings.Repeat("password=x ", 100)) == nil, "a short reading got a list")
	dense := strings.Repeat("AKIA", 4096)
	assert.Assert(t, tt.listFor(dense) == nil, "a dense reading got a list")
	prose := strings.Repeat("the password of the key is not here; ", 500)
	l := tt.listFor(prose)
	assert.Assert(t, l != nil, "prose got no list")
	ents, ok := l.of(prose)
	assert.Assert(t, ok && len(ents) > 0 && len(ents) <= len(prose)/tripleDensity+tripleSlack)
	// A dense stretch is allowed its slack, not more.
	assert.Assert(t, tt.listFor(strings.Repeat("AKIA", tripleSlack/4)+prose) != nil)
	assert.Assert(t, tt.listFor(strings.Repeat("AKIA", 4*tripleSlack)+prose) == nil)
	_, ok = l.of(prose[1:])
	assert.Assert(t, !ok, "a list answered for another text")
	l.release()

	s := scanner(t, Options{})
	for _, text := range []string{dense + " ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7", prose + "DB_PASSWORD=hunter2hunter2 ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7"} {
		checkTriples(t, s, text)
		var c collector
		l := tt.listFor(text)
		s.rulesListed(&c, "body", EncRaw, text, l)
		l.release()
		assert.Assert(t, len(c.out) > 0, "nothing found")
	}
}

// FuzzTripleList: go test ./pkg/dlp -run '^$' -fuzz FuzzTripleList
func FuzzTripleList(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 3))
	for range 20 {
		f.Add(tripleText(r, 300))
	}
	f.Add("pw")
	f.Add("x://a:b@ abc8Q~" + strings.Repeat("Zk8qXv9Lm2", 4) + " DB_Password=x")
	s, err := New(Options{NoGitleaks: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkTriples(t, s, text)
	})
}

// TestReversedRunsMatchWalk: the reversed tokens prefixPass reads from
// the filter list are those the walk of every run of word bytes reads,
// a run's length about its bounds included.
func TestReversedRunsMatchWalk(t *testing.T) {
	s := scanner(t, Options{})
	hits := func(text string, l *tripleList) []string {
		c := &collector{}
		r := &ruleScan{s: s, c: c, tri: l}
		r.prefixPass(text)
		var out []string
		for _, f := range c.out {
			out = append(out, f.Rule)
		}
		return out
	}
	tok := reverse("ghp_Zk8qXv9Lm2Tq7Rw4Pn6Yb3Hc5Jd1Ke0Af2Bg7")
	found := 0
	r := rand.New(rand.NewPCG(5, 77))
	for n := range 4000 {
		var text string
		switch n % 4 {
		case 0:
			text = tripleText(r, r.IntN(600))
		case 1:
			// A reversed token in a run of any length about the bounds.
			k := r.IntN(maxReversedRun + 20)
			text = randomText(r, r.IntN(50)) + strings.Repeat("x", k) + tok + randomText(r, r.IntN(50))
		case 2:
			text = tok[r.IntN(len(tok)):] + " " + tok[:r.IntN(len(tok))]
		default:
			text = randomText(r, r.IntN(2000))
		}
		want := hits(text, nil)
		got := hits(text, listOf(text))
		assert.DeepEqual(t, got, want)
		if len(want) > 0 {
			found++
		}
	}
	assert.Assert(t, found > 500, "only %d texts held a finding", found)
}
