package dlp

import (
	"encoding/base64"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/internal/entropy"
)

// Our own detectors, built for egress rather than code scanning: every rule
// is a single linear pass (a table lookup per byte, bounded work per
// candidate), there is no documentation-example or stop-word exemption, and
// lengths are tolerant (a token a few characters off its provider's exact
// length is still that token). docs/dlp.md lists the rules and why each
// threshold is what it is.

// Rule classes that a bottle may turn off (Options.Disable). Every other
// rule is always on.
const (
	ClassCard      = "card"
	ClassIBAN      = "iban"
	ClassSeed      = "seed-phrase"
	ClassCryptoKey = "crypto-key"
)

// prefixRule is a provider token: a fixed prefix, then at least min (and at
// most max, 0 = no limit) bytes of the rule's alphabet.
type prefixRule struct {
	id       string
	prefix   string
	alphabet *byteSet
	min, max int
	// check, when set, must accept the whole token (prefix included).
	check func(tok string) bool
}

var (
	setAlnum     = makeSet(func(c byte) bool { return isAlnum(c) })
	setAlnumDash = makeSet(func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' })
	setUpperNum  = makeSet(func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' })
	setLowerHex  = makeSet(func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' })
	// setLowerAlnum and setLowerHexDash: single-case token alphabets.
	setLowerAlnum   = makeSet(func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' })
	setLowerHexDash = makeSet(func(c byte) bool { return setLowerHex[c] || c == '-' })
	setB64Dot       = makeSet(func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '=' })
	setB64Std       = makeSet(func(c byte) bool { return isAlnum(c) || c == '+' || c == '/' || c == '=' })
	setAzure        = makeSet(func(c byte) bool { return isAlnum(c) || c == '_' || c == '~' || c == '.' || c == '-' })
	// setWord is what a token run is made of when looking for prefixes.
	setWord = makeSet(func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~' })
	// setNotBoundary: a prefix preceded by one of these is inside some
	// longer blob (base64 data, an identifier), not the start of a token.
	// ('/' is a boundary: a path segment starts there; inside base64 a
	// prefix after '/' must still end where its alphabet ends, which
	// random base64 almost never does within the length range.)
	setNotBoundary = makeSet(func(c byte) bool { return isAlnum(c) || c == '+' })
)

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// prefixRules: lengths in comments are the provider's current exact length
// of the part after the prefix; min sits a few characters below it and max
// (where the alphabet could run on into unrelated data) well above.
var prefixRules = func() []prefixRule {
	var rs []prefixRule
	add := func(id string, prefixes string, alpha *byteSet, min, max int) {
		for _, p := range strings.Fields(prefixes) {
			rs = append(rs, prefixRule{id: id, prefix: p, alphabet: alpha, min: min, max: max})
		}
	}
	add("aws-access-token", "AKIA ASIA AGPA AIDA AROA AIPA ANPA ANVA ABIA ACCA", setUpperNum, 12, 24) // 16
	add("gcp-api-key", "AIza", setAlnumDash, 30, 45)                                                  // 35
	add("gcp-oauth-token", "ya29.", setB64Dot, 30, 0)
	add("gcp-oauth-client-secret", "GOCSPX-", setAlnumDash, 20, 40)   // 28
	add("github-token", "ghp_ gho_ ghu_ ghs_ ghr_", setAlnum, 30, 48) // 36
	add("github-fine-grained-pat", "github_pat_", setAlnumDash, 40, 120)
	add("gitlab-token", "glpat- gldt- glrt- glptt- glsoat- glcbt- glimt- glagent- gloas-", setAlnumDash, 16, 80) // 20
	add("gitlab-runner-token", "GR1348941", setAlnumDash, 16, 40)
	add("slack-token", "xoxb- xoxp- xoxa- xoxr- xoxs- xoxe- xoxc- xoxd- xapp-", setAlnumDash, 10, 0)
	add("stripe-key", "sk_live_ rk_live_ pk_live_ sk_test_ rk_test_ whsec_", setAlnum, 16, 256)
	add("twilio-api-key", "SK AC", setLowerHex, 32, 32)
	add("npm-token", "npm_", setAlnum, 30, 48)                     // 36
	add("pypi-token", "pypi-AgEIcHlwaS5vcmc", setAlnumDash, 40, 0) // macaroon
	add("dockerhub-pat", "dckr_pat_ dckr_oat_", setAlnumDash, 20, 40)
	add("anthropic-api-key", "sk-ant-", setAlnumDash, 32, 0)
	add("openai-api-key", "sk-proj- sk-svcacct- sk-admin- sk-None-", setAlnumDash, 20, 0)
	add("openai-api-key", "sk-", setAlnumDash, 32, 200)
	add("huggingface-token", "hf_ api_org_", setAlnum, 30, 40) // 34
	add("shopify-token", "shpat_ shpca_ shppa_ shpss_", setLowerHex, 32, 32)
	add("digitalocean-token", "dop_v1_ doo_v1_ dor_v1_", setLowerHex, 64, 64)
	add("atlassian-token", "ATATT3 ATCTT3", setB64Dot, 100, 0)
	add("age-secret-key", "AGE-SECRET-KEY-1", setUpperNum, 50, 70)
	add("square-token", "sq0atp- sq0csp- EAAA", setAlnumDash, 22, 80)
	add("groq-api-key", "gsk_", setAlnum, 40, 60)
	add("replicate-token", "r8_", setAlnum, 30, 48)
	add("perplexity-api-key", "pplx-", setAlnum, 40, 60)
	add("xai-api-key", "xai-", setAlnum, 60, 100)
	add("linear-api-key", "lin_api_", setAlnum, 32, 48)
	add("postman-api-key", "PMAK-", setAlnumDash, 50, 70)
	add("new-relic-key", "NRAK- NRII- NRJS-", setUpperNum, 20, 40)
	add("sentry-token", "sntrys_ sntryu_", setB64Dot, 40, 0)
	add("grafana-token", "glsa_ glc_", setAlnumDash, 32, 0)
	add("pulumi-token", "pul-", setLowerHex, 40, 40)
	add("fly-token", "fo1_ fm1r_ fm2_", setB64Dot, 30, 0)
	add("planetscale-token", "pscale_tkn_ pscale_pw_ pscale_oauth_", setAlnumDash, 32, 64)
	add("databricks-token", "dapi", setLowerHex, 32, 32)
	add("doppler-token", "dp.pt. dp.st. dp.sa. dp.ct.", setAlnum, 40, 50)
	add("mailgun-key", "key-", setLowerHex, 32, 32)
	add("sendinblue-key", "xkeysib-", setAlnumDash, 64, 120)
	add("sendgrid-key", "SG.", setB64Dot, 60, 80) // 22 . 43
	add("vault-token", "hvs. hvb. s.", setAlnumDash, 24, 120)
	add("terraform-token", ".atlasv1.", setAlnumDash, 60, 0)
	add("discord-webhook", "discord.com/api/webhooks/ discordapp.com/api/webhooks/", setWord, 60, 0)
	// More providers agents meet (CI, hosting, registries, AI tooling).
	add("buildkite-token", "bkua_ bkct_", setLowerHex, 40, 40)
	add("supabase-token", "sbp_", setLowerHex, 40, 40)
	add("supabase-token", "sb_secret_", setAlnumDash, 24, 64)
	add("nuget-api-key", "oy2", setLowerAlnum, 43, 43)
	add("cloudflare-origin-ca-key", "v1.0-", setLowerHexDash, 150, 200)
	add("vercel-token", "vcp_ vci_ vca_ vcr_ vck_", setAlnum, 40, 80)
	add("render-api-key", "rnd_", setAlnum, 28, 40)
	add("heroku-token", "HRKU-", setAlnumDash, 40, 80)
	add("rubygems-api-key", "rubygems_", setLowerHex, 48, 48)
	add("tailscale-key", "tskey-auth- tskey-api- tskey-client- tskey-scim- tskey-webhook-", setAlnumDash, 20, 80)
	add("netlify-token", "nfp_ nfc_ nfo_", setAlnum, 30, 48)
	add("notion-token", "ntn_", setAlnum, 40, 56)
	add("langsmith-key", "lsv2_pt_ lsv2_sk_", setAlnumDash, 32, 64)
	add("pinecone-api-key", "pcsk_", setAlnumDash, 40, 120)
	add("figma-token", "figd_ figu_", setAlnumDash, 30, 60)
	add("onepassword-token", "ops_eyJ", setB64Dot, 100, 0)
	add("sourcegraph-token", "sgp_", setAlnumDash, 40, 80)
	add("mapbox-secret-token", "sk.eyJ", setB64Dot, 60, 0)
	add("circleci-token", "CCIPAT_", setAlnumDash, 40, 80)
	add("openrouter-api-key", "sk-or-v1-", setLowerHex, 64, 64)
	rs = append(rs,
		prefixRule{id: "jwt", prefix: "eyJ", alphabet: setB64Dot, min: 20, check: isJWT},
		prefixRule{id: "bitcoin-xprv", prefix: "xprv", alphabet: setAlnum, min: 100, max: 112, check: base58Check},
		prefixRule{id: "bitcoin-xprv", prefix: "tprv", alphabet: setAlnum, min: 100, max: 112, check: base58Check},
		prefixRule{id: "bitcoin-xprv", prefix: "yprv", alphabet: setAlnum, min: 100, max: 112, check: base58Check},
		prefixRule{id: "bitcoin-xprv", prefix: "zprv", alphabet: setAlnum, min: 100, max: 112, check: base58Check},
	)
	return rs
}()

// ruleClass maps rule ids to their switchable class.
var ruleClass = map[string]string{"bitcoin-xprv": ClassCryptoKey, "bitcoin-wif": ClassCryptoKey, "crypto-private-key": ClassCryptoKey}

// prefixTable indexes prefixRules by their first two bytes (and, for the
// reversed-token check, by the last two bytes of the prefix reversed); the
// pair sets let a text cost one bit test per byte.
type prefixTable struct {
	fwdPairs, revPairs pairSet
	// fwdNext holds the second and third bytes of what fwdPairs starts;
	// revNext the third and second bytes of a prefix (reversed, the two
	// bytes before what revPairs ends).
	fwdNext, revNext pairSet
	// fwdIdx and revIdx hold 1 + the index in lists of the rules whose
	// prefix starts (fwd) or, reversed, ends (rev) with a byte pair.
	fwdIdx, revIdx [1 << 16]uint8
	lists          [][]int
	// xIdx is fwdIdx for the prefixes ROT13'd or upper-cased, into
	// xLists (rot13prefix.go).
	xIdx   [1 << 16]uint8
	xLists [][]xPrefix
}

var prefixTables = sync.OnceValue(func() *prefixTable {
	t := &prefixTable{}
	add := func(idx *[1 << 16]uint8, a, b byte, rule int) {
		k := uint16(a)<<8 | uint16(b)
		if idx[k] == 0 {
			t.lists = append(t.lists, nil)
			idx[k] = uint8(len(t.lists)) //nolint:gosec // G115: under 256 lists (checked below)
		}
		t.lists[idx[k]-1] = append(t.lists[idx[k]-1], rule)
	}
	for i, r := range prefixRules {
		p := r.prefix
		add(&t.fwdIdx, p[0], p[1], i)
		t.fwdPairs.add(p[0], p[1])
		// A reversed token ends with its reversed prefix: last two bytes
		// of the run are p[1], p[0].
		add(&t.revIdx, p[1], p[0], i)
		t.revPairs.add(p[1], p[0])
	}
	t.addTransformed()
	if len(t.lists) > 255 || len(t.xLists) > 255 {
		panic("dlp: too many prefix pairs for the index")
	}
	for _, r := range prefixRules {
		if p := r.prefix; len(p) >= 3 {
			t.fwdNext.add(p[1], p[2])
			t.revNext.add(p[2], p[1])
		} else {
			for c := range 256 {
				if r.alphabet[c] {
					t.fwdNext.add(p[1], byte(c))
					t.revNext.add(byte(c), p[1])
				}
			}
		}
	}
	for _, p := range awsLowerPrefixes {
		t.fwdPairs.add(p[0], p[1])
		t.fwdNext.add(p[1], p[2])
	}
	for cc := range ibanLen {
		t.fwdPairs.add(cc[0], cc[1])
		for d := byte('0'); d <= '9'; d++ {
			t.fwdNext.add(cc[1], d)
		}
	}
	return t
})

// ruleScan carries one reading through the detectors.
type ruleScan struct {
	s         *Scanner
	c         *collector
	part, enc string
	stop      bool
	// tokRuns holds the runs of tokenSet bytes, tokRunMin long or
	// longer, of tokText (start, end pairs), once eachTokRun has found
	// them.
	tokText string
	tokDone bool
	tokRuns []int32
	// tri is the three-byte filter list of the reading (triples.go),
	// or nil: each search then walks the text itself.
	tri *tripleList
	// lastHit is the rule of the last finding this scan added.
	lastHit string
	// kinds remembers, of the last names looked up, whether a secret
	// name core is in them and their secretKind: a reading's field names
	// repeat (a log, an env dump, a form, a config). Made on the first
	// lookup: most readings (a decoded run) have no field.
	kinds *[32]nameKind
}

// nameKind is what r.kinds remembers of one name: hasCore is 0 before
// secretNameCores().any(name) is looked up, then 1 (a core) or 2 (none);
// kind is valid once kindSet.
type nameKind struct {
	name, kind string
	hasCore    uint8
	kindSet    bool
}

// nameEntry is the entry of r.kinds for name (not ""), emptied when it
// held another name.
func (r *ruleScan) nameEntry(name string) *nameKind {
	if r.kinds == nil {
		r.kinds = new([32]nameKind)
	}
	e := &r.kinds[(len(name)*7+int(name[0])*3+int(name[len(name)-1])+int(name[len(name)/2])*5)&31]
	if e.name != name {
		*e = nameKind{name: name}
	}
	return e
}

// hasNameCore is secretNameCores().any(name) through r.kinds.
func (r *ruleScan) hasNameCore(name string) bool {
	if name == "" {
		return secretNameCores().any(name)
	}
	e := r.nameEntry(name)
	if e.hasCore == 0 {
		e.hasCore = 2 - b2u8(secretNameCores().any(name))
	}
	return e.hasCore == 1
}

// secretKind is secretKind(name) through r.kinds.
func (r *ruleScan) secretKind(name string) string {
	if name == "" {
		return secretKind(name)
	}
	e := r.nameEntry(name)
	if !e.kindSet {
		e.kind, e.kindSet = secretKind(name), true
	}
	return e.kind
}

// tokRunsFrom is the shortest text whose token runs eachTokRun keeps:
// a shorter one (a header, a URL) is read by each pass on its own, as
// cheap as finding its runs, without the list to allocate.
const tokRunsFrom = 4096

// tokRunMin is the shortest run eachTokRun serves.
const tokRunMin = 12

// eachTokRun is eachLongRun(text, set, min, fn) for a set within
// tokenSet and a min of tokRunMin or more: the reversed tokens (setWord,
// 12), the entropy rule's tokens (20) and WIF keys (b58Set, 51). A run
// of set bytes is a run of tokenSet bytes or part of one, and it ends
// where that one does or sooner; so the runs of each set are looked for
// inside the long runs of tokenSet only, found once for all of them —
// in prose and code, a few short stretches of the text.
func (r *ruleScan) eachTokRun(text string, set *byteSet, min int, fn func(start, end int) bool) {
	if min < tokRunMin || len(text) < tokRunsFrom {
		eachLongRun(text, set, min, fn)
		return
	}
	if !r.tokDone || r.tokText != text {
		r.tokText, r.tokDone, r.tokRuns = text, true, r.tokRuns[:0]
		eachLongRun(text, tokenSet, tokRunMin, func(a, b int) bool {
			r.tokRuns = append(r.tokRuns, int32(a), int32(b)) //nolint:gosec // G115: texts are far under 2 GiB
			return false
		})
	}
	for k := 0; k < len(r.tokRuns); k += 2 {
		a, b := int(r.tokRuns[k]), int(r.tokRuns[k+1])
		stop := false
		eachLongRun(text[a:b], set, min, func(s, e int) bool {
			stop = fn(a+s, a+e)
			return stop
		})
		if stop {
			return
		}
	}
}

func (r *ruleScan) hit(rule string) {
	if r.stop || rule == r.lastHit {
		// The same finding again (a rule hit on every line): adding it
		// would change nothing. Only this scan adds to the collector
		// while it runs, and none of its adds filled it (that stops
		// it), so the add would neither append nor stop.
		return
	}
	if cl := ruleClass[rule]; cl != "" && r.s.disabled[cl] {
		return
	}
	if r.c.add(Finding{Rule: rule, Part: r.part, Encoding: r.enc}) {
		r.stop = true
	}
	r.lastHit = rule
}

// rules runs our detectors on one textual reading; true stops the scan.
func (s *Scanner) rules(c *collector, part, enc, text string) bool {
	return s.rulesListed(c, part, enc, text, nil)
}

// rulesListed is rules with the three-byte filter list of text (or nil).
func (s *Scanner) rulesListed(c *collector, part, enc, text string, tri *tripleList) bool {
	if !s.builtin {
		return false
	}
	r := &ruleScan{s: s, c: c, part: part, enc: enc, tri: tri}
	r.prefixPass(text)
	if !r.stop {
		r.fieldPass(text)
	}
	if !r.stop {
		r.structurePass(text)
	}
	if !r.stop && s.entropy && !joinedReading(part, enc) {
		r.entropyPass(text)
	}
	if !r.stop {
		r.financialPass(text)
	}
	if !r.stop {
		r.pgpassPass(text)
	}
	return r.stop
}

// prefixPass finds provider tokens, AWS key ids written lower-case
// (awsLower) and IBANs (ibanAt, at their country code): one bit test per
// byte of the two-byte prefix set (and one more of the next two bytes where
// the first two start something); a candidate costs at most its rule's max
// length.
func (r *ruleScan) prefixPass(text string) {
	resume := 0     // a token found ends here: no other starts inside it
	ibanResume := 0 // likewise for an IBAN
	prefixes := prefixTables()
	r.eachTriple(text, triPrefix, &prefixes.fwdPairs, &prefixes.fwdNext, func(i int) bool {
		if text[i] == 'a' {
			r.awsLower(text, i)
		}
		if text[i] <= 'Z' && i >= ibanResume && !r.s.disabled[ClassIBAN] {
			if j := r.ibanAt(text, i); j > 0 {
				ibanResume = j + 1
			}
		}
		li := prefixes.fwdIdx[uint16(text[i])<<8|uint16(text[i+1])]
		if i < resume || i > 0 && setNotBoundary[text[i-1]] && !afterEscape(text, i) {
			return r.stop
		}
		if xi := prefixes.xIdx[uint16(text[i])<<8|uint16(text[i+1])]; xi != 0 {
			if m := r.transformedToken(text[i:], prefixes.xLists[xi-1]); m > 0 {
				resume = i + m
				return r.stop
			}
		}
		if li == 0 {
			return r.stop
		}
		for _, k := range prefixes.lists[li-1] {
			if m := matchPrefix(&prefixRules[k], text[i:]); m > 0 {
				r.hit(prefixRules[k].id)
				resume = i + m
				break
			}
		}
		return r.stop
	})
	// Reversed tokens: a run of token bytes ending in a reversed prefix.
	reversed := func(start, end int) bool {
		run := text[start:end]
		if len(run) > maxReversedRun || !prefixes.revPairs.has(run[len(run)-2], run[len(run)-1]) {
			return false
		}
		rev := reverse(run)
		for _, k := range prefixes.lists[prefixes.revIdx[uint16(run[len(run)-2])<<8|uint16(run[len(run)-1])]-1] {
			if matchPrefix(&prefixRules[k], rev) > 0 {
				r.hit(prefixRules[k].id)
				break
			}
		}
		return r.stop
	}
	if r.stop {
		return
	}
	if ents, ok := r.tri.of(text); ok {
		// The reading's filter list has every place a reversed prefix's
		// last three bytes stand (a token reversed ends with them: its
		// third byte, or one of its alphabet after a two-byte prefix,
		// then its second and first): only a run of word bytes ending
		// there, at least minReversedRun long, is read, as the walk of
		// every run below would (TestReversedRunsMatchWalk). A run's end
		// is one place, so each run is measured back once at most.
		for _, e := range ents {
			if e&triReversed == 0 {
				continue
			}
			end := int(e>>4) + 3
			if end < len(text) && setWord[text[end]] {
				continue // the run goes on
			}
			start := end
			for start > 0 && setWord[text[start-1]] && end-start <= maxReversedRun {
				start--
			}
			if end-start >= minReversedRun && reversed(start, end) {
				return
			}
		}
		return
	}
	r.eachTokRun(text, setWord, minReversedRun, reversed)
}

// A reversed token is read in a run of word bytes minReversedRun to
// maxReversedRun long.
const (
	minReversedRun = 12
	maxReversedRun = 512
)

// afterEscape reports whether text[i] follows a written-out escape (\n,
// \t, \r as in JSON or a shell string): a token starts there even though
// a letter precedes it.
func afterEscape(text string, i int) bool {
	return i >= 2 && text[i-2] == '\\' && (text[i-1] == 'n' || text[i-1] == 't' || text[i-1] == 'r')
}

// matchPrefix returns the length of the token rule pr matches at the start
// of s, or 0.
func matchPrefix(pr *prefixRule, s string) int {
	if !strings.HasPrefix(s, pr.prefix) {
		return 0
	}
	n := len(pr.prefix)
	limit := len(s)
	if pr.max > 0 && n+pr.max+1 < limit {
		limit = n + pr.max + 1
	}
	j := n
	for j < limit && pr.alphabet[s[j]] {
		j++
	}
	l := j - n
	if l < pr.min || pr.max > 0 && l > pr.max {
		return 0
	}
	if pr.check != nil && !pr.check(s[:j]) {
		return 0
	}
	return j
}

// isJWT: three dot-separated base64url segments, header and payload JSON
// objects (eyJ = `{"`).
func isJWT(tok string) bool {
	segs := strings.Split(strings.TrimRight(tok, "."), ".")
	if len(segs) < 2 || len(segs) > 5 {
		return false
	}
	return len(segs[0]) >= 10 && strings.HasPrefix(segs[1], "eyJ") && len(segs[1]) >= 10
}

// structurePass: shapes that are not a single token: private-key blocks,
// credentials in URLs, cloud connection strings, webhooks, bot tokens.
func (r *ruleScan) structurePass(text string) {
	// Each shape is looked for only when its string occurs: one pass
	// finds which do (structureNeedles), where a search of the text per
	// string would cost eleven.
	m := r.structureNeedles(text)
	if m&needlePrivateKey != 0 {
		r.privateKeyBlock(text)
	}
	if m&needleRot13Key != 0 && !r.stop {
		r.rot13KeyBlocks(text)
	}
	if m&needleOpenSSH != 0 && strings.Contains(text, "openssh-key-v1") {
		r.hit("openssh-private-key")
	}
	for off := 0; !r.stop && m&needleScheme != 0; {
		i := strings.Index(text[off:], "://")
		if i < 0 {
			break
		}
		r.urlCredentials(text, off+i)
		off += i + 3
	}
	if m&needleSlack != 0 && strings.Contains(text, "hooks.slack.com/") {
		if i := strings.Index(text, "hooks.slack.com/services/T"); i >= 0 || strings.Contains(text, "hooks.slack.com/workflows/") {
			r.hit("slack-webhook")
		}
	}
	i := -1
	if m&needleAccountKey != 0 {
		i = strings.Index(text, "AccountKey=")
	}
	if i >= 0 {
		v := text[i+len("AccountKey="):]
		n := 0
		for n < len(v) && setB64Std[v[n]] {
			n++
		}
		if n >= 40 {
			r.hit("azure-storage-key")
		}
	}
	if m&needleShared != 0 && (strings.Contains(text, "SharedAccessKey=") || strings.Contains(text, "SharedAccessSignature=")) {
		r.hit("azure-connection-string")
	}
	// Azure AD client secrets: xxx8Q~ then 31–34 characters.
	for off := 0; !r.stop && m&needleAzureAD != 0; {
		i := strings.Index(text[off:], "Q~")
		if i < 0 {
			break
		}
		i += off
		off = i + 2
		if i >= 4 && text[i-1] >= '0' && text[i-1] <= '9' && setAzure[text[i-2]] && setAzure[text[i-3]] && setAzure[text[i-4]] {
			n := 0
			for i+2+n < len(text) && setAzure[text[i+2+n]] {
				n++
			}
			if n >= 28 && n <= 40 {
				r.hit("azure-ad-client-secret")
			}
		}
	}
	// Telegram bot tokens: 8–10 digits, a colon, then AA and 33 more.
	for off := 0; !r.stop && m&needleTelegram != 0; {
		i := strings.Index(text[off:], ":AA")
		if i < 0 {
			break
		}
		i += off
		off = i + 3
		d := 0
		for i-d-1 >= 0 && text[i-d-1] >= '0' && text[i-d-1] <= '9' {
			d++
		}
		n := 0
		for i+1+n < len(text) && setAlnumDash[text[i+1+n]] {
			n++
		}
		if d >= 8 && d <= 12 && n >= 30 && n <= 40 {
			r.hit("telegram-bot-token")
		}
	}
	if m&needleServiceAccount != 0 && strings.Contains(text, `"service_account"`) && strings.Contains(text, "private_key") {
		r.hit("gcp-service-account")
	}
}

// The strings structurePass looks for, as bits of structureNeedles.
const (
	needlePrivateKey     = 1 << iota // PRIVATE KEY (or + or a tab for the space), private key
	needleOpenSSH                    // openssh-key-v1
	needleScheme                     // ://
	needleSlack                      // hooks.slack.com/
	needleAccountKey                 // AccountKey=
	needleShared                     // SharedAccessKey=, SharedAccessSignature=
	needleAzureAD                    // Q~ and a byte after it
	needleTelegram                   // :AA
	needleServiceAccount             // "service_account"
	needleRot13Key                   // CEVINGR XRL: PRIVATE KEY ROT13'd (rot13prefix.go)
)

var structureStrings = []struct {
	s   string
	bit uint16
}{
	{"PRIVATE KEY", needlePrivateKey}, {"PRIVATE+KEY", needlePrivateKey}, {"PRIVATE\tKEY", needlePrivateKey}, {"private key", needlePrivateKey},
	{"openssh-key-v1", needleOpenSSH}, {"://", needleScheme},
	{"hooks.slack.com/", needleSlack}, {"AccountKey=", needleAccountKey}, {"SharedAccessKey=", needleShared}, {"SharedAccessSignature=", needleShared},
	{"Q~", needleAzureAD}, {":AA", needleTelegram}, {`"service_account"`, needleServiceAccount},
	{"CEVINGR XRL", needleRot13Key}, {"CEVINGR+XRL", needleRot13Key}, {"CEVINGR\tXRL", needleRot13Key},
}

// structurePairs and structureNext hold the first two bytes and the
// second and third of every structure string ("Q~" with any third: an
// Azure secret follows it, so one at the very end of the text is none).
var structurePairs, structureNext = func() (p, q *pairSet) {
	p, q = new(pairSet), new(pairSet)
	for _, n := range structureStrings {
		p.add(n.s[0], n.s[1])
		if len(n.s) >= 3 {
			q.add(n.s[1], n.s[2])
			continue
		}
		for c := range 256 {
			q.add(n.s[1], byte(c))
		}
	}
	return p, q
}()

// structureNeedles returns the bits of the structure strings that text
// holds (besides "Q~" as its last two bytes): a bit test or two per byte
// for all of them at once.
func structureNeedles(text string) uint16 {
	return (&ruleScan{}).structureNeedles(text)
}

// structureNeedles is structureNeedles(text) with r's filter list.
func (r *ruleScan) structureNeedles(text string) uint16 {
	var m uint16
	r.eachTriple(text, triStructure, structurePairs, structureNext, func(i int) bool {
		for _, n := range structureStrings {
			if strings.HasPrefix(text[i:], n.s) {
				m |= n.bit
			}
		}
		return false
	})
	return m
}

// privateKeyBlock: a BEGIN … PRIVATE KEY header followed by key material
// (so an article naming the header alone is not a finding).
func (r *ruleScan) privateKeyBlock(text string) {
	for off := 0; !r.stop; {
		i := strings.Index(text[off:], "BEGIN")
		if i < 0 {
			return
		}
		i += off
		off = i + 5
		end := min(len(text), i+80)
		head := text[i:end]
		k := privateKeyWords(head)
		if k < 0 {
			continue
		}
		// Count base64 bytes in the next 400 bytes after the header.
		body := text[i+k : min(len(text), i+k+400)]
		n := 0
		for j := 0; j < len(body); j++ {
			if setB64Std[body[j]] {
				n++
			}
		}
		if n >= 120 {
			r.hit("private-key")
		}
	}
}

// privateKeyWords is the index of "PRIVATE KEY" in head, or -1; a '+'
// (a form's or a query's space: the percent reading leaves it a '+') or
// a tab may stand for the space. A key written as a form writes it,
// "-----BEGIN+RSA+PRIVATE+KEY-----%0AMIIE…", is a key however the body is
// labelled, and a query string is a form.
func privateKeyWords(head string) int {
	for off := 0; ; {
		k := strings.Index(head[off:], "PRIVATE")
		if k < 0 {
			return -1
		}
		k += off
		if rest := head[k+len("PRIVATE"):]; len(rest) >= 4 && (rest[0] == ' ' || rest[0] == '+' || rest[0] == '\t') && rest[1:4] == "KEY" {
			return k
		}
		off = k + 1
	}
}

// urlCredentials: scheme://user:password@host with a password that is not
// a placeholder.
func (r *ruleScan) urlCredentials(text string, sep int) {
	// The authority runs to the first /, ?, # or whitespace.
	a := text[sep+3:]
	end := len(a)
	for j := 0; j < len(a) && j < 512; j++ {
		if c := a[j]; c == '/' || c == '?' || c == '#' || c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' {
			end = j
			break
		}
		end = j + 1
	}
	full := a
	a = a[:end]
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		if reservedPassword(full, end) {
			r.hit("url-credentials")
		}
		return
	}
	user, pass, ok := strings.Cut(a[:at], ":")
	if !ok || pass == "" || placeholder(pass) {
		return
	}
	_ = user
	// Any real password. Registry tokens as the password (https://x:TOKEN@)
	// are the commonest case.
	if len(pass) >= 3 {
		r.hit("url-credentials")
	}
}

// placeholder reports values that stand for a secret rather than being
// one: template variables, masks, angle-bracket or brace placeholders and
// the words people put there in documentation.
func placeholder(v string) bool {
	if v == "" {
		return true
	}
	switch v[0] {
	case '$', '<', '{', '%', '[', '(':
		return true
	case '*':
		// Masked ("****", "***1234"); a random value that merely
		// starts with a '*' is not.
		return strings.HasPrefix(v, "**") || len(v) < 12
	}
	l := strings.ToLower(v)
	if strings.Trim(l, "x*.-_#") == "" {
		return true
	}
	switch l {
	case "password", "passwd", "pass", "pwd", "secret", "token", "apikey", "api_key", "changeme_placeholder", "redacted", "hidden", "masked",
		"string", "str", "bool", "boolean", "number", "int", "none", "null", "nil", "true", "false", "undefined", "required", "optional",
		"your_password", "yourpassword", "your-password", "mypassword", "your_token", "your_api_key", "example", "placeholder", "dummy":
		return true
	}
	return strings.Contains(l, "your_") || strings.Contains(l, "your-") || strings.HasPrefix(l, "process.env") || strings.HasPrefix(l, "os.environ") || strings.HasPrefix(l, "os.getenv")
}

// classes counts the upper-case letters, lower-case letters, digits and
// other bytes of s (a table lookup per byte: no branch to mispredict on
// random tokens).
func classes(s string) (upper, lower, digit, other int) {
	var n [4]int
	for i := 0; i < len(s); i++ {
		n[byteClass[s[i]]]++
	}
	return n[0], n[1], n[2], n[3]
}

// byteClass is classes' index of each byte: 0 upper, 1 lower, 2 digit,
// 3 other.
var byteClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c >= 'A' && c <= 'Z':
			t[c] = 0
		case c >= 'a' && c <= 'z':
			t[c] = 1
		case c >= '0' && c <= '9':
			t[c] = 2
		default:
			t[c] = 3
		}
	}
	return t
}()

// entropyThreshold is the Shannon entropy (bits/char) above which a token of
// n characters looks random: for random base62 the mean is about
// log2(n)−0.5 up to n≈32 (20 → 4.03, 24 → 4.24, 32 → 4.55, 40 → 4.76);
// the threshold sits 0.4–0.55 bits below the mean (about one random token
// in 10,000 falls under it), and words, identifiers and version strings sit
// well below it.
func entropyThreshold(n int) float64 {
	switch {
	case n < 20:
		return 99
	case n < 24:
		return 3.6
	case n < 32:
		return 3.85
	case n < 40:
		return 4.05
	default:
		return 4.2
	}
}

// idPrefixes are identifiers that look random but name an object, not a
// credential (tool-use and message ids of the model APIs, request ids,
// object ids of payment APIs), plus content-hash notations.
var idPrefixes = []string{
	"toolu_", "srvtoolu_", "msg_", "req_", "file_", "msgbatch_", "batch_", "chatcmpl-", "call_", "run_", "thread_", "asst_", "resp_", "rs_", "fc_", "ws_", "org-", "user-",
	"cus_", "ch_", "pi_", "pm_", "in_", "sub_", "evt_", "prod_", "price_", "acct_", "txn_", "seti_", "cs_live_", "cs_test_",
	"sha1-", "sha256-", "sha384-", "sha512-", "md5-", "h1:", "sha256:", "sha512:", "sha1:", "W/",
}

// setEntTokNoPad is what a candidate token of the entropy rule is made of
// (its '=' padding is added after).
var setEntTokNoPad = makeSet(func(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '+' || c == '/' || c == '~'
})

// entropyPass: a credential-like random token anywhere: 20–200 characters,
// upper and lower case letters and digits, entropy over the threshold, and
// not an encoding of text (that reading is scanned on its own), a hex
// digest, a UUID or a known id/hash notation — and not one of a crowd
// (bulkTokens): random tokens packed bulkOthers or more to the
// 2×bulkWindow bytes around them are data (the lines of a wrapped base64
// file, a list of hashes or ids), not a credential set into the text. The
// provider, known-secret and field rules still read every one of them,
// and every decoded reading of them.
func (r *ruleScan) entropyPass(text string) {
	// The runs a candidate token can come from, found first; whether a
	// run gives a random-shaped token (entropyToken, which costs far more
	// than finding the run) is looked at lazily (crowdScan): a run whose
	// every possible window holds bulkOthers tokens known to be random is
	// in a crowd whatever it holds, and is never looked at — in bulk
	// random data (a file of keys, base64 items) most runs are.
	var runs []int32 // start and end of each run, padding included (pairs)
	r.eachTokRun(text, setEntTokNoPad, 20, func(start, i int) bool {
		for i < len(text) && text[i] == '=' { // padding
			i++
		}
		if start > 0 && text[start-1] == '%' && i-start > 2 && isHex[text[start]] && isHex[text[start+1]] {
			// The run starts inside a percent escape ("%3A0/invoke…"):
			// the escape's digits are not part of a token (the decoded
			// reading sees the escape undone).
			start += 2
		}
		if !entropyTokenNone(text[start:i]) {
			if runs == nil && r.tokDone {
				// About as many runs as the token runs they lie in.
				runs = make([]int32, 0, len(r.tokRuns))
			}
			runs = append(runs, int32(start), int32(i)) //nolint:gosec // G115: texts are far under 2 GiB
		}
		return false
	})
	crowdScan(runs, len(text), func(k int) (int, int) {
		a, b := int(runs[2*k]), int(runs[2*k+1])
		return r.entropyToken(text, a, text[a:b])
	}, func(a, b int) bool {
		if r.randomToken(text, a, text[a:b]) {
			r.hit("high-entropy-token")
			return true
		}
		return false
	})
}

// entropyTokenNone reports entropyToken's answers that need no look at
// the token's shape (bulk data, words joined by '+' or a path of short
// segments): a run for which it is true has no token, and is left out of
// crowdScan, whose windows count tokens only.
func entropyTokenNone(tok string) bool {
	if len(tok) > 4096 {
		return true
	}
	seps, longest, last := 0, 0, -1
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c == '/' || c == '+' {
			seps++
			longest = max(longest, i-last-1)
			last = i
		}
	}
	longest = max(longest, len(tok)-last-1)
	return seps*12 > len(tok) && longest < 20
}

// crowdScan is eachIsolated over the candidate tokens of the runs (start,
// end pairs in ascending order, in a text of n bytes): token(k) gives the
// bounds of run k's token (a == b: none), and is asked at most once per
// run, only where the answer can matter. fn is called with the isolated
// tokens in ascending order, as eachIsolated calls it, until it returns
// true.
//
// A token of run k starts at some a in [start_k, end_k); its window
// (eachIsolated) holds G_k = [from(end_k-1), to(start_k)] whatever a is
// (from and to do not decrease with a). Tokens known to be in G_k (of
// runs wholly inside it) that number bulkOthers or more, k's own aside,
// put run k in a crowd without a look at it. Otherwise the runs wholly
// inside G_k are looked at, from its right end (the runs entering the
// next windows: they stay in them longest), until bulkOthers are found;
// when they are not, run k is looked at and, holding a token, counted
// against its exact window, every run that can have a token there looked
// at — as eachIsolated counts.
func crowdScan(runs []int32, n int, token func(k int) (a, b int), fn func(a, b int) bool) {
	nr := len(runs) / 2
	if nr == 0 {
		return
	}
	const unknown, none = -1, -2
	buf := make([]int32, 3*nr+1)
	ta := buf[:nr:nr] // token start of each run (unknown, none)
	tb := buf[nr : 2*nr : 2*nr]
	// up[j+1] leads to the last run at or before j not looked at yet
	// (plus one; 0: none): a run looked at points one further down.
	up := buf[2*nr:]
	for k := range ta {
		ta[k] = unknown
		up[k+1] = int32(k + 1) //nolint:gosec // G115: as above
	}
	lastUnknown := func(j int) int { // the last run at or before j not looked at, or -1
		x := int32(j + 1) //nolint:gosec // G115: as above
		for up[x] != x {
			up[x] = up[up[x]]
			x = up[x]
		}
		return int(x) - 1
	}
	// [lo, hi): the runs wholly inside G_k; in: the tokens known among
	// them.
	lo, hi, in := 0, 0, 0
	look := func(k int) bool {
		if ta[k] == unknown {
			a, b := token(k)
			if b > a {
				ta[k], tb[k] = int32(a), int32(b) //nolint:gosec // G115: as above
				if k >= lo && k < hi {
					in++
				}
			} else {
				ta[k] = none
			}
			up[k+1] = int32(k) //nolint:gosec // G115: as above
		}
		return ta[k] >= 0
	}
	from := func(p int) int { return max(0, min(p-bulkWindow, n-2*bulkWindow)) }
	start := func(k int) int { return int(runs[2*k]) }
	end := func(k int) int { return int(runs[2*k+1]) }
	for k := range nr {
		gLo, gHi := from(end(k)-1), from(start(k))+2*bulkWindow
		for hi < nr && end(hi)-1 <= gHi {
			if hi >= lo && ta[hi] >= 0 {
				in++
			}
			hi++
		}
		for lo < nr && start(lo) < gLo {
			if lo < hi && ta[lo] >= 0 {
				in--
			}
			lo++
		}
		self := b2i(k >= lo && k < hi && ta[k] >= 0)
		for in-self < bulkOthers && hi > lo {
			j := lastUnknown(hi - 1)
			if j < lo {
				break
			}
			look(j)
			self = b2i(k >= lo && k < hi && ta[k] >= 0)
		}
		if in-self >= bulkOthers {
			continue // in a crowd, whatever run k holds
		}
		if ta[k] == none || !look(k) {
			continue
		}
		// Run k's token and its exact window.
		a := int(ta[k])
		wLo := from(a)
		wHi := wLo + 2*bulkWindow
		count := 0
		for j := k - 1; j >= 0 && end(j)-1 >= wLo; j-- {
			if look(j) && int(ta[j]) >= wLo {
				count++
			}
		}
		for j := k + 1; j < nr && start(j) <= wHi; j++ {
			if look(j) && int(ta[j]) <= wHi {
				count++
			}
		}
		if count < bulkOthers && fn(a, int(tb[k])) {
			return
		}
	}
}

// A random token with bulkOthers or more others within bulkWindow bytes
// (either side) is part of bulk data.
const (
	bulkWindow = 4096
	bulkOthers = 8
)

// eachIsolated calls fn with the bounds of every token (start, end pairs
// in ascending order, in a text of n bytes) that has fewer than bulkOthers
// others starting within bulkWindow bytes of its start, until fn returns
// true; near either end of the text the window is moved inward (the first
// line of a wrapped file has lines after it only).
func eachIsolated(pairs []int32, n int, fn func(start, end int) bool) {
	k := len(pairs) / 2
	lo, hi := 0, 0
	for i := range k {
		p := int(pairs[2*i])
		from := max(0, min(p-bulkWindow, n-2*bulkWindow))
		to := from + 2*bulkWindow
		for int(pairs[2*lo]) < from {
			lo++
		}
		for hi < k && int(pairs[2*hi]) <= to {
			hi++
		}
		if hi-lo-1 < bulkOthers && fn(p, int(pairs[2*i+1])) {
			return
		}
	}
}

// entropyToken returns the bounds (in text) of the random-shaped
// (randomShape) part of one candidate token of entropyPass, or a == b
// when there is none.
func (r *ruleScan) entropyToken(text string, start int, tok string) (a, b int) {
	if len(tok) > 4096 {
		return 0, 0 // bulk data, not a credential
	}
	// seps counts the separators; longest is the longest part between
	// them (the token's length when there is none).
	seps, longest, last := 0, 0, -1
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c == '/' || c == '+' {
			seps++
			longest = max(longest, i-last-1)
			last = i
		}
	}
	longest = max(longest, len(tok)-last-1)
	if seps*12 > len(tok) && longest < 20 {
		// Words joined by '+' or a path of short segments (a form's
		// prose): no part is long enough, whatever the token decodes to
		// (checked first: it is the common case, and the cheap one).
		return 0, 0
	}
	if decodesToMedia(tok) {
		return 0, 0 // bulk data (an image, an archive), not a credential
	}
	if seps == 0 {
		if randomShape(tok) {
			return start, start + len(tok)
		}
		return 0, 0
	}
	// Base64 has about one '+' or '/' in 32 characters; a path or
	// words joined by '+' (a query's spaces) have far more. Long
	// base64 is data (a file, an image), not a credential.
	if seps*12 <= len(tok) && len(tok) <= 200 && randomShape(tok) {
		return start, start + len(tok)
	}
	if seps*12 <= len(tok) && len(tok) > 200 {
		return 0, 0
	}
	// Each part between separators; randomShape wants 20 characters or
	// more, so shorter parts are passed over without a look (and when
	// no part is that long, there is nothing to look at).
	if longest < 20 {
		return 0, 0
	}
	for off := 0; off <= len(tok); {
		end := off
		for end < len(tok) && tok[end] != '/' && tok[end] != '+' {
			end++
		}
		if end-off >= 20 && randomShape(tok[off:end]) {
			return start + off, start + end
		}
		off = end + 1
	}
	return 0, 0
}

// randomShape reports whether tok, by its characters alone, looks like a
// random credential: 20–200 characters once padding and edge punctuation
// are trimmed, mixed case (and digits, or 24+ characters), entropy over
// the threshold for its length.
func randomShape(tok string) bool {
	tok = strings.TrimRight(tok, "=")
	tok = strings.Trim(tok, "-_.~+")
	n := len(tok)
	if n < 20 || n > 200 {
		return false
	}
	up, lo, dg, _ := classes(tok)
	threshold := entropyThreshold(n)
	switch {
	case up > 0 && lo > 0 && dg > 0:
	case up > 0 && lo > 0 && n >= 24:
		// A random base62 token has no digit about once in 400 at 36
		// characters; identifiers in CamelCase sit far below this bar.
		threshold += 0.2
	default:
		return false
	}
	return entropy.Shannon(tok) >= threshold
}

// randomToken decides whether tok (found at text[at:]) looks like a random
// credential.
func (r *ruleScan) randomToken(text string, at int, tok string) bool {
	if !randomShape(tok) {
		return false
	}
	tok = strings.Trim(strings.TrimRight(tok, "="), "-_.~+")
	for _, p := range idPrefixes {
		if strings.HasPrefix(tok, p) {
			return false
		}
		if at >= len(p) && at-len(p) >= 0 && strings.HasSuffix(text[max(0, at-12):at], p) {
			return false
		}
	}
	// Context words (up to 96 bytes) before the token that name a digest, an ETag, a
	// nonce or a cursor.
	ctx := strings.ToLower(text[max(0, at-96):at])
	for _, w := range benignContext {
		if strings.Contains(ctx, w) {
			return false
		}
	}
	// Base64 of text (a cursor like {"page":3}, a "user:123" pair) is an
	// encoding; its decoded reading is scanned by every rule.
	if decodesToText(tok) || decodesToMedia(tok) {
		return false
	}
	return true
}

// mediaMagic are the first bytes of image, document and archive formats:
// base64 that decodes to one of them is a file (an image pasted into a
// prompt), not a credential.
var mediaMagic = []string{"\x89PNG", "\xff\xd8\xff", "GIF8", "RIFF", "%PDF", "PK\x03\x04", "\x1f\x8b", "BM", "\x00\x00\x01\x00", "<svg", "<?xm", "wOF"}

func decodesToMedia(tok string) bool {
	// The first character carries the top six bits of the first byte:
	// only a few can start a media file's encoding (mediaFirst).
	if tok == "" || !mediaFirst[tok[0]] {
		return false
	}
	enc := base64.RawStdEncoding
	if hasEither(tok, '-', '_') {
		enc = base64.RawURLEncoding
	}
	// DecodeString without its allocation: 16 characters decode to 12
	// bytes at most.
	head := tok[:min(len(tok), 16)]
	var in [16]byte
	var out [12]byte
	n, err := enc.Decode(out[:], in[:copy(in[:], head)])
	if err != nil {
		return false
	}
	b := out[:n]
	for _, m := range mediaMagic {
		if len(b) >= len(m) && string(b[:len(m)]) == m {
			return true
		}
	}
	return false
}

// mediaFirst marks the characters that begin the base64 of a mediaMagic
// (either alphabet): a token starting with any other decodes to no media
// header.
var mediaFirst = func() *byteSet {
	var set byteSet
	for _, m := range mediaMagic {
		set["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[m[0]>>2]] = true
		set["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[m[0]>>2]] = true
	}
	return &set
}()

// benignContext are names that, right before a random-looking value, say it
// is a digest, a cache validator, a protocol nonce, an integrity hash or a
// pagination cursor.
var benignContext = []string{
	"etag", "if-none-match", "if-match", "sec-websocket-key", "sec-websocket-accept", "integrity", "checksum", "digest", "sha256", "sha512", "sha1", "hash",
	"cursor", "page_token", "pagetoken", "next_token", "nexttoken", "continuation", "after=", "before=", "starting_after", "ending_before",
	"nonce", "traceparent", "tracestate", "x-request-id", "request-id", "x-amz-cf-id", "boundary", "csrf", "xsrf", "content-md5", "idempotency-key",
	"code_challenge", "code_verifier",
}

// decodesToText reports whether tok is base64 (either alphabet, padded or
// not) of mostly printable text.
func decodesToText(tok string) bool {
	for _, d := range decodeB64(tok) {
		if mostlyText(d) && len(d) >= 8 {
			return true
		}
	}
	return false
}

// secretNames are field names whose values are secrets; excludedNames are
// names containing one of them that are not (counts, hashes, cursors, ids).
var secretNames = []string{"password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "api_key", "api-key", "accesskey", "access_key", "access-key",
	"privatekey", "private_key", "private-key", "credential", "creds", "cred", "authorization", "auth", "session", "sig", "key", "pass", "mnemonic", "seed", "wallet", "dsn", "conn", "pw"}

// secretNameCores: every secretNames entry contains one of these, so a
// name holding none of them (ASCII case-insensitive) is not a secret name.
var secretNameCores = sync.OnceValue(func() *keywordSet {
	return newKeywordSet([]string{"pass", "pw", "secret", "token", "key", "cred", "auth", "session", "sig", "mnemonic", "seed", "wallet", "dsn", "conn"})
})

var excludedNames = []string{"page", "cursor", "next", "csrf", "xsrf", "hash", "digest", "checksum", "sha", "etag", "count", "limit", "max", "min", "usage", "type", "name",
	"url", "path", "file", "length", "size", "expir", "ttl", "keyid", "key_id", "key-id", "public", "primary", "sort", "cache", "idempot", "partition", "monkey", "keyboard", "keyword", "passage", "passenger", "bypass", "compass", "sigma", "signal", "design", "assign", "sight", "tokenizer", "tokens", "seedling", "keys", "websocket",
	// MCP's progress tokens (ids the client picks to match
	// notifications). npm's npm-session, a 16-hex id on every registry
	// request, is a session name's id (sessionID).
	"progresstoken", "progress_token"}

// fieldPass: KEY=value, key: value, "key":"value", header names and
// cookie names whose name says secret and whose value looks like one.
func (r *ruleScan) fieldPass(text string) {
	// A name holding a secret name ends where the identifier run around
	// one of the name cores ends; its separator follows within six bytes
	// (a closing quote and up to four spaces), or after a longer run of
	// spaces and tabs (aligned assignments, at most fieldGap bytes).
	// Only those separators are looked at, so text without secret names
	// costs one bit test a byte.
	nameEnd, next := -1, 0
	secretNameCores().eachListed(r.tri, triNames, text, func(p int) bool {
		if p >= nameEnd {
			// A name is short: measured a byte at a time; past 16
			// bytes eight at a time (runEnd): a name core inside a
			// long base64url run (an upload) is followed by the whole
			// run.
			nameEnd = p
			for nameEnd < len(text) && nameEnd-p < 16 && identSet[text[nameEnd]] {
				nameEnd++
			}
			if nameEnd-p == 16 {
				nameEnd = runEnd(text, identSet, nameEnd)
			}
		}
		end := nameEnd + 5
		if g := nameEnd; g < len(text) {
			if text[g] == '"' || text[g] == '\'' {
				g++
			}
			for h := g; g < len(text) && g-h < fieldGap && (text[g] == ' ' || text[g] == '\t'); g++ {
			}
			end = max(end, g)
		}
		for i := max(nameEnd, next); i < len(text) && i <= end && !r.stop; i++ {
			if c := text[i]; c == '=' || c == ':' || c == ' ' && (i+1 == len(text) || text[i+1] != ' ') || fieldMarkupSep(text, i) {
				r.fieldAt(text, i)
			}
		}
		next = max(next, end+1)
		return r.stop
	})
}

// fieldGap: the most spaces and tabs looked across between a field's
// name and its separator, or its separator and its value.
const fieldGap = 64

// nameSepSet: the separators of a field name's words.
var nameSepSet = makeSet(func(c byte) bool { return c == '_' || c == '-' || c == '.' })

// hasSetByte reports whether s holds a byte of set.
func hasSetByte(s string, set *byteSet) bool {
	for i := 0; i < len(s); i++ {
		if set[s[i]] {
			return true
		}
	}
	return false
}

func isIdentByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// identSet is isIdentByte as a table.
var identSet = makeSet(isIdentByte)

// fieldAt checks the field whose separator (= : or space) is text[i].
func (r *ruleScan) fieldAt(text string, i int) {
	c := text[i]
	// The name: identifier bytes before the separator, skipping one
	// closing quote and spaces.
	j := i
	for j > 0 && (text[j-1] == ' ' || text[j-1] == '\t') && i-j < fieldGap {
		j--
	}
	if j > 0 && (text[j-1] == '"' || text[j-1] == '\'') {
		j--
	}
	k := j
	for k > 0 && j-k < 64 && (isAlnum(text[k-1]) || text[k-1] == '_' || text[k-1] == '-' || text[k-1] == '.') {
		k--
	}
	if k == j {
		return
	}
	name := text[k:j]
	if c == '>' && (k == 0 || text[k-1] != '<') || c == ',' && j == i {
		return // '>' ends an opening tag, ',' follows a quoted name
	}
	if !r.hasNameCore(name) {
		return // cheap reject: no secret name inside
	}
	if !hasSetByte(name, nameSepSet) {
		// A name that is (the tail of) a random token — base64, an id —
		// holds a name core by chance.
		b := k
		for b > 0 && j-b < 256 && (isAlnum(text[b-1]) || text[b-1] == '+' || text[b-1] == '/') {
			b--
		}
		if j-b >= 20 && r.randomToken(text, b, text[b:j]) {
			return
		}
	}
	kind := r.secretKind(name)
	if kind == "" {
		return
	}
	if c == ' ' {
		// "password VALUE" (netrc, CLI flags): only password names,
		// and only a value that looks random.
		if kind != "password" || i+1 < len(text) && (text[i+1] == ' ' || text[i+1] == '=' || text[i+1] == ':') {
			return
		}
		// and the name says so as a word of its own, without digits
		// (password, --pass, DB_PASSWORD): a run of random letters and
		// digits that happens to hold "pwd" or "pass" is not a field
		// name.
		if !passwordWord(name) || strings.IndexFunc(name, func(c rune) bool { return c >= '0' && c <= '9' }) >= 0 {
			return
		}
		if v := fieldValue(text[i+1:]); strongValue(v) {
			r.hit("secret-field")
		}
		return
	}
	if c == ':' && i+2 < len(text) && text[i+1] == '/' && text[i+2] == '/' {
		return // a URL scheme, handled by urlCredentials
	}
	v := fieldValue(text[i+1:])
	if v == "" {
		return
	}
	switch kind {
	case "password":
		if len(v) >= 6 && !placeholder(v) && !identifierish(v) {
			r.hit("secret-field")
		}
	case "crypto":
		if hex64(v) || len(strings.Fields(v)) >= 12 {
			r.hit("crypto-private-key")
		}
		fallthrough
	case "session":
		if kind == "session" && sessionID(v) {
			return
		}
		fallthrough
	default:
		if strongValue(v) {
			r.hit("secret-field")
		}
	}
}

// secretKind classifies a field name: "password" for password-like names
// (any non-placeholder value of 6+ characters is a finding), "crypto" for
// wallet/seed/private-key names, "secret" for the rest, "" for none.
func secretKind(name string) string {
	l := strings.ToLower(name)
	m := byteMask(l)
	found := ""
	for i, w := range secretNames {
		if secretNameMasks[i]&^m != 0 || !strings.Contains(l, w) {
			continue
		}
		switch w {
		case "pw":
			// Only the whole name or its last word: pw, DB_PW, db-pw.
			if l != w && !strings.HasSuffix(l, "_pw") && !strings.HasSuffix(l, "-pw") && !strings.HasSuffix(l, ".pw") {
				continue
			}
		case "key", "sig", "auth", "session", "conn", "dsn", "pass", "seed", "cred", "creds":
			// Short generic names: only as a word of the name (api.key,
			// STRIPE_KEY, x-auth-token), not inside another word.
			if !wordIn(l, w) {
				continue
			}
		case "pwd":
			// Three letters turn up inside random text (base64, ids)
			// often: only as a word or a camelCase part (DB_PWD, dbPwd).
			if !camelWordIn(name, w) {
				continue
			}
		}
		found = w
		break
	}
	if found == "" {
		return ""
	}
	for i, x := range excludedNames {
		if excludedNameMasks[i]&^m == 0 && strings.Contains(l, x) {
			return ""
		}
	}
	switch found {
	case "password", "passwd", "passphrase", "pwd", "pass", "pw":
		return "password"
	case "mnemonic", "seed", "wallet", "privatekey", "private_key", "private-key":
		return "crypto"
	case "session":
		return "session"
	}
	return "secret"
}

// sessionID reports whether the value of a field named only "session"
// (Mcp-Session-Id, X-Session-Id, session_id) is a random id as servers
// hand them out — a UUID with or without its dashes, or at most 32 hex
// digits — rather than a credential's shape: MCP's Python SDK issues
// uuid4().hex and every client sends it back on each request.
func sessionID(v string) bool {
	if uuidRE.MatchString(v) {
		return true
	}
	if len(v) > 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isHex[v[i]] {
			return false
		}
	}
	return true
}

// byteMask sets, for every byte of s, bit c mod 64 of the result: a
// string holding another holds all its bytes, so when a word's mask has
// a bit the name's lacks, the name does not hold the word — and a name
// is matched against its few candidate words, not all 80.
func byteMask(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		m |= 1 << (s[i] & 63)
	}
	return m
}

func byteMasks(ws []string) []uint64 {
	ms := make([]uint64, len(ws))
	for i, w := range ws {
		ms[i] = byteMask(w)
	}
	return ms
}

// secretNameMasks and excludedNameMasks are the byteMasks of
// secretNames and excludedNames.
var secretNameMasks, excludedNameMasks = byteMasks(secretNames), byteMasks(excludedNames)

// camelWordIn reports whether the lower-case w occurs in name (ASCII
// case-insensitive) as a word: delimited by non-letters or by camelCase
// boundaries (an upper-case letter after a lower-case one starts a word;
// one ends before a non-letter or an upper-case letter, the whole word
// written in one case). Digits count as letters: "9pwd6" is not a word.
func camelWordIn(name, w string) bool {
	isUp := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	isLo := func(c byte) bool { return c >= 'a' && c <= 'z' || isDigit(c) }
	for i := 0; i+len(w) <= len(name); i++ {
		if !hasPrefixFold(name[i:], w) {
			continue
		}
		word := name[i : i+len(w)]
		lowerTail := strings.ToLower(word[1:]) == word[1:]
		upperAll := strings.ToUpper(word) == word
		if !lowerTail && !upperAll {
			continue // pWD, PwD: not one word
		}
		startOK := i == 0 || !isUp(name[i-1]) && !isLo(name[i-1]) || isLo(name[i-1]) && isUp(name[i]) && lowerTail
		e := i + len(w)
		endOK := e == len(name) || !isUp(name[e]) && !isLo(name[e]) || isUp(name[e]) && lowerTail
		if startOK && endOK {
			return true
		}
	}
	return false
}

// passwordWord reports whether name holds a password word (password,
// passwd, passphrase, pass, pwd) delimited by non-letters.
func passwordWord(name string) bool {
	for _, w := range [...]string{"password", "passwd", "passphrase", "pass", "pwd"} {
		if camelWordIn(name, w) {
			return true
		}
	}
	return false
}

// wordIn reports whether w occurs in l delimited by non-letters.
func wordIn(l, w string) bool {
	for off := 0; ; {
		i := strings.Index(l[off:], w)
		if i < 0 {
			return false
		}
		i += off
		before := i == 0 || !(l[i-1] >= 'a' && l[i-1] <= 'z')
		after := i+len(w) == len(l) || !(l[i+len(w)] >= 'a' && l[i+len(w)] <= 'z')
		if before && after {
			return true
		}
		off = i + 1
	}
}

// fieldValue returns the value after a separator: quotes, spaces and an
// auth scheme skipped, up to a delimiter (at most 512 bytes).
func fieldValue(s string) string {
	i := 0
	for i < len(s) && i < fieldGap && (s[i] == ' ' || s[i] == '\t' || s[i] == '"' || s[i] == '\'') {
		i++
	}
	s = s[i:]
	// Every scheme starts with a B or a T: other values (most) are not
	// compared with each.
	if len(s) > 0 && (s[0]|0x20 == 'b' || s[0]|0x20 == 't') {
		for _, scheme := range []string{"Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "} {
			if strings.HasPrefix(s, scheme) {
				s = s[len(scheme):]
				break
			}
		}
	}
	end := 0
	for end < len(s) && end < 512 && !valueEnd[s[end]] {
		end++
	}
	return s[:end]
}

// valueEnd: the bytes that end a field's value.
var valueEnd = makeSet(func(c byte) bool {
	return c <= ' ' || c == '"' || c == '\'' || c == '&' || c == ';' || c == ',' || c == '}' || c == ']' || c == ')' || c == '<' || c == '>' || c == '`'
})

// identifierish: a code expression rather than a literal (a variable,
// a call, an attribute).
func identifierish(v string) bool {
	if strings.ContainsAny(v, "(") {
		return true
	}
	up, lo, dg, other := classes(v)
	_ = up
	// dotted.lower.names like config.password or env.DB_PASS
	if dg == 0 && other > 0 && strings.Contains(v, ".") && lo > 0 {
		return true
	}
	return false
}

// strongValue: a value that could be a credential: 8–512 bytes, not a
// placeholder, not only letters (a word) or only digits (a count), some
// randomness.
func strongValue(v string) bool {
	if len(v) < 8 || placeholder(v) {
		return false
	}
	up, lo, dg, other := classes(v)
	if dg == 0 && other == 0 && (up == 0 || lo == 0) {
		return false // a word, a CONSTANT
	}
	if up+lo == 0 {
		return false // a number, a date
	}
	if identifierish(v) || strings.HasPrefix(v, "http") || uuidRE.MatchString(v) {
		return false // an expression, a URL, or a UUID (a session or request id)
	}
	if dg == 0 && (up == 0 || lo == 0) {
		return false // words joined by punctuation (a query's prose)
	}
	return entropy.Shannon(v) >= 3.0
}

func hex64(v string) bool {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
	if len(v) != 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isHex[v[i]] {
			return false
		}
	}
	return true
}
