package dlp

// The rule pass as it was before its pre-filters (long-run probing, the
// seed-phrase break probe, card runs, the secret-name letter masks): the
// reference the fast versions must agree with exactly, on crafted and
// random text (TestPrefilteredRulesMatchOld, FuzzPrefilteredRules).

import (
	"encoding/base64"
	"strings"
)

func (r *ruleScan) oldSeedPhrase(text string) {
	var idx [seedLongRun]uint16   // list indexes of the current run
	var pos [seedLongRun][2]int32 // word bounds of the current run
	run, prevEnd := 0, 0
	glued := false
	flush := func() {
		if run >= seedWords && run < seedLongRun && (!glued || seedVaried(idx[:run])) && r.seedInRun(text, idx[:run], pos[:run]) {
			r.hit("seed-phrase")
		}
		run, glued = 0, false
	}
	// Words of three letters or more (letter runs cut before a capital
	// that follows a small letter, and after a written escape's letter);
	// anything between two of them other than separators, numbering and
	// escape letters (a shorter word included) breaks the run.
	oldSeedWords(text, func(start, end int) bool {
		if gap := text[prevEnd:start]; countIn(gap, &seedSepTab) != len(gap) {
			for k := prevEnd; k < start; k++ {
				if seedSepTab[text[k]] == 0 && !seedEscape(text, k) {
					flush()
					break
				}
			}
		}
		touches := prevEnd == start
		prevEnd = end
		k := -1
		if end-start <= 8 {
			a, b, c := lowerASCII[text[start]]-'a', lowerASCII[text[start+1]]-'a', lowerASCII[text[start+2]]-'a'
			if bip39Prefix()[int(a)*676+int(b)*26+int(c)] {
				var lw [8]byte
				for k := start; k < end; k++ {
					lw[k-start] = lowerASCII[text[k]]
				}
				k = bip39Index(lw[:end-start])
			}
		}
		if k < 0 {
			flush()
			return r.stop
		}
		glued = glued || run > 0 && touches
		if run < seedLongRun {
			idx[run] = uint16(k)                          //nolint:gosec // G115: k < 2048
			pos[run] = [2]int32{int32(start), int32(end)} //nolint:gosec // G115: texts are far under 2 GiB
		}
		run++
		if run == seedLongRun && (!glued || seedVaried(idx[:])) {
			r.hit("seed-phrase")
		}
		return r.stop
	})
	flush()
}

// oldSeedWords calls fn with each word of at least three letters: a
// letter run, cut before a capital that follows a small letter, with the
// letter of a written escape ("\\n") left out.
func oldSeedWords(text string, fn func(start, end int) bool) {
	for i := 0; i < len(text); {
		if !letterSet[text[i]] || seedEscape(text, i) {
			i++
			continue
		}
		j := i + 1
		for j < len(text) && letterSet[text[j]] && !(text[j-1] >= 'a' && text[j-1] <= 'z' && text[j] >= 'A' && text[j] <= 'Z') && !seedEscape(text, j) {
			j++
		}
		if j-i >= 3 && fn(i, j) {
			return
		}
		i = j
	}
}

func (r *ruleScan) oldCards(text string) {
	var digits [19]byte
	var groups [6]int
	for i := 0; i < len(text) && !r.stop; i++ {
		prev := byte(' ')
		if i > 0 {
			prev = text[i-1]
		}
		// A digit not preceded by a letter, digit or dot: table lookups
		// and no branch per byte.
		if digitTab[text[i]]&notAlnumDotTab[prev] == 0 {
			continue
		}
		n, j, seps, ng := 0, i, 0, 0
		// sepc, sepk: the separator byte and run length seen first;
		// loose: every separator so far is a single space or dash.
		var sepc byte
		sepk, loose := 0, true
		groups[0] = 0
		for j < len(text) && n < 19 {
			c := text[j]
			if isDigit(c) {
				digits[n] = c
				n++
				j++
				groups[ng]++
				continue
			}
			if !isCardSep[c] || j == i || ng == len(groups)-1 {
				break
			}
			k := 1
			if j+1 < len(text) && text[j+1] == c {
				k = 2
			}
			if j+k >= len(text) || !isDigit(text[j+k]) {
				break
			}
			single := k == 1 && (c == ' ' || c == '-')
			if seps == 0 {
				sepc, sepk = c, k
			} else if !(loose && single) && (c != sepc || k != sepk) {
				break // separators must be of one kind
			}
			loose = loose && single
			seps++
			ng++
			groups[ng] = 0
			j += k
		}
		if j < len(text) && (isDigit(text[j]) || isAlnum(text[j]) || text[j] == '.' && j+1 < len(text) && isDigit(text[j+1])) {
			i = j
			continue // part of a longer number or identifier
		}
		if n < 13 {
			continue
		}
		switch {
		case seps == 0:
			if n != 15 && n != 16 {
				continue // bare numbers of other lengths are ids and timestamps
			}
		case loose:
			if seps > 4 {
				continue
			}
		default:
			// Other separators only in the printed groupings: a version
			// string, date or address is not 4-4-4-4.
			if !(seps == 3 && groups[0] == 4 && groups[1] == 4 && groups[2] == 4 && groups[3] == 4 ||
				seps == 2 && groups[0] == 4 && groups[1] == 6 && groups[2] == 5) {
				continue
			}
		}
		num := string(digits[:n])
		if cardIssuer(num) && luhn(num) {
			r.hit("payment-card")
		}
		i = j
	}
}
func oldSecretKind(name string) string {
	l := strings.ToLower(name)
	found := ""
	for _, w := range secretNames {
		if !strings.Contains(l, w) {
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
	for _, x := range excludedNames {
		if strings.Contains(l, x) {
			return ""
		}
	}
	switch found {
	case "password", "passwd", "passphrase", "pwd", "pass", "pw":
		return "password"
	case "mnemonic", "seed", "wallet", "privatekey", "private_key", "private-key":
		return "crypto"
	}
	return "secret"
}
func (r *ruleScan) oldEntropyToken(text string, start int, tok string) (a, b int) {
	if len(tok) > 4096 || decodesToMedia(tok) {
		return 0, 0 // bulk data (an image, an archive), not a credential
	}
	seps := strings.Count(tok, "/") + strings.Count(tok, "+")
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
	// more, so shorter parts are passed over without a look.
	for off, rest := 0, tok; rest != ""; {
		p := rest
		next := len(tok)
		if k := strings.IndexAny(rest, "/+"); k >= 0 {
			p, rest = rest[:k], rest[k+1:]
			next = off + k + 1
		} else {
			rest = ""
		}
		if len(p) >= 20 && randomShape(p) {
			return start + off, start + off + len(p)
		}
		off = next
	}
	return 0, 0
}

func oldDecodesToMedia(tok string) bool {
	enc := base64.RawStdEncoding
	if strings.ContainsAny(tok, "-_") {
		enc = base64.RawURLEncoding
	}
	head := tok[:min(len(tok), 16)]
	b, err := enc.DecodeString(head)
	if err != nil {
		return false
	}
	for _, m := range mediaMagic {
		if strings.HasPrefix(string(b), m) {
			return true
		}
	}
	return false
}

// each calls fn with the position of every keyword occurrence (at most one
// per position) until fn returns true.
func (k *keywordSet) oldEach(text string, fn func(pos int) bool) {
	k.pairs.eachPair(text, true, func(i int) bool {
		g := k.first[uint16(lowerASCII[text[i]])<<8|uint16(lowerASCII[text[i+1]])]
		for _, kw := range k.groups[g-1] {
			if hasPrefixFold(text[i:], kw) {
				return fn(i)
			}
		}
		return false
	})
}

// oldStructurePass: shapes that are not a single token: private-key blocks,
// credentials in URLs, cloud connection strings, webhooks, bot tokens.
func (r *ruleScan) oldStructurePass(text string) {
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "private key") {
		r.privateKeyBlock(text)
	}
	if strings.Contains(text, "openssh-key-v1") {
		r.hit("openssh-private-key")
	}
	for off := 0; !r.stop; {
		i := strings.Index(text[off:], "://")
		if i < 0 {
			break
		}
		r.urlCredentials(text, off+i)
		off += i + 3
	}
	if strings.Contains(text, "hooks.slack.com/") {
		if i := strings.Index(text, "hooks.slack.com/services/T"); i >= 0 || strings.Contains(text, "hooks.slack.com/workflows/") {
			r.hit("slack-webhook")
		}
	}
	if i := strings.Index(text, "AccountKey="); i >= 0 {
		v := text[i+len("AccountKey="):]
		n := 0
		for n < len(v) && setB64Std[v[n]] {
			n++
		}
		if n >= 40 {
			r.hit("azure-storage-key")
		}
	}
	if strings.Contains(text, "SharedAccessKey=") || strings.Contains(text, "SharedAccessSignature=") {
		r.hit("azure-connection-string")
	}
	// Azure AD client secrets: xxx8Q~ then 31–34 characters.
	for off := 0; !r.stop; {
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
	for off := 0; !r.stop; {
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
	if strings.Contains(text, `"service_account"`) && strings.Contains(text, "private_key") {
		r.hit("gcp-service-account")
	}
}

func oldScanGroups(out []string, text string, gs []lenGroup, rev bool) []string {
	for len(gs) > 0 {
		g1 := &gs[min(1, len(gs)-1)]
		if rev {
			out = scan2Rev(out, text, &gs[0], g1)
		} else {
			out = scan2(out, text, &gs[0], g1)
		}
		gs = gs[min(2, len(gs)):]
	}
	return out
}

// oldClasses (was hasClasses) counts upper, lower and digit classes present in s.
func oldClasses(s string) (upper, lower, digit, other int) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= '0' && c <= '9':
			digit++
		default:
			other++
		}
	}
	return
}
