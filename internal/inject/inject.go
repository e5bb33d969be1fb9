// Package inject finds prompt injection aimed at an AI agent in text the
// agent is about to read (HTTP responses) or send to another agent
// (JSON-RPC bodies): instruction overrides ("ignore previous
// instructions"), authority impersonation ("SYSTEM:", "as your
// administrator"), instructions hidden in HTML comments or invisible
// elements, markdown images and links whose URLs carry data out through
// templated placeholders, and instructions smuggled in invisible Unicode
// (tag characters, zero-width joiners).
//
// Text is normalised first — HTML entities and JSON \u escapes undone,
// Unicode tag characters decoded to the ASCII they hide, zero-width and
// soft-hyphen characters removed, NFKC folding (fullwidth letters), case
// folded, whitespace collapsed — so spelling tricks meet the same rules.
//
// Findings carry a confidence. High: a hidden or smuggled instruction, an
// override or impersonation phrased as a command, a data-carrying markdown
// image. Medium: the same phrases where the text only talks about them (a
// security article quoting "ignore previous instructions"). The proxy
// blocks high findings by default and reports medium ones in a header.
package inject

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Confidence grades a finding.
type Confidence int

// Confidences.
const (
	Medium Confidence = iota + 1
	High
)

func (c Confidence) String() string {
	if c == High {
		return "high"
	}
	return "medium"
}

// Finding is one suspected injection. It names the rule, never quotes the
// text (the text is hostile and may be shown to an operator).
type Finding struct {
	Rule       string
	Confidence Confidence
}

func (f Finding) String() string { return f.Rule + " (" + f.Confidence.String() + " confidence)" }

// MaxScan bounds the text Scan looks at in one call; callers scan longer
// text in overlapping windows.
const MaxScan = 1 << 20

var (
	// An override: a verb that discards the agent's instructions.
	overrideRE = lazy(`\b(?:ignore|disregard|forget|override|bypass|skip|drop)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+|my\s+|these\s+|those\s+|previous\s+|prior\s+|above\s+|earlier\s+|preceding\s+|original\s+|system\s+|safety\s+|existing\s+)+(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context|programming|restrictions)\b`)
	// A replacement: the text hands the agent a new task or identity.
	newTaskRE = lazy(`\b(?:your\s+new\s+(?:instructions?|task|role|goal|objective)\s+(?:is|are)|new\s+(?:system\s+)?instructions?\s*:|from\s+now\s+on,?\s+you\s+(?:are|will|must|should)|you\s+are\s+now\s+(?:in\s+)?(?:developer|dan|jailbreak|unrestricted|admin)|do\s+not\s+(?:tell|inform|alert|mention\s+(?:this\s+)?to)\s+the\s+user)`)
	// Role markers at the start of a line ("SYSTEM:", "[system]:"), chat
	// template tokens and <system> tags.
	roleRE = lazy(`(?m)(?:^\s*(?:\[|<|#+\s*)?(?:system|developer|admin(?:istrator)?)\s*(?:\]|>)?\s*:([^\n]{0,300})|<\|im_start\|>\s*system|<\s*system\s*>([^<]{0,300}))`)
	// Authority impersonation: claimed senders.
	authorityRE = lazy(`(?:\bas\s+your\s+(?:system\s+)?(?:administrator|admin|developer|creator|operator|owner|supervisor)\b|\b(?:message|instructions?|note)\s+from\s+(?:the\s+)?(?:system|administrator|anthropic|openai|your\s+(?:developer|operator|admin))\b|\bthis\s+is\s+(?:anthropic|openai|your\s+(?:developer|administrator|operator|creator))\b)`)
	// Exfiltration: a command to send secrets somewhere.
	exfilRE = lazy(`\b(?:send|post|upload|exfiltrate|transmit|forward|leak|email|curl|append|include|encode)\b[^\n]{0,80}?(?:\b(?:api[\s_-]?keys?|secrets?|tokens?|credentials?|passwords?|env(?:ironment)?\s+variables?|ssh\s+keys?|private\s+keys?|id_rsa|aws_secret|cookies?)\b|\.env\b)[^\n]{0,80}\b(?:to|at|into|via)\b\s+(?:https?://|the\s+(?:url|endpoint|server|webhook)|this\s+(?:url|endpoint|server|webhook))`)
	// Text addressed to an AI reader.
	addresseeRE = lazy(`\b(?:ai|llm|assistant|agent|claude|chatgpt|gpt|copilot|language\s+model|you\s+must|you\s+should|you\s+will|important\s*:|instructions?)\b`)
	// Markdown images and links (and HTML img) whose URL carries data.
	mdLinkRE = lazy(`(!?)\[[^\]\n]{0,200}\]\(\s*<?(https?://[^)\s>]+)`)
	// A reference definition: "[ref]: url" at the start of a line.
	mdRefRE = lazy(`(?m)^[ \t]{0,3}\[([^\]\n]{1,200})\]:[ \t]*<?(https?://[^\s>]+)`)
	// The opening tag of an element its style or attributes hide.
	hiddenOpenRE = lazy(`(?is)<(\w+)[^>]*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0(?:\.0+)?\s*[;"']|\bhidden\b|aria-hidden\s*=\s*["']true)[^>]*>`)
	imgRE        = lazy(`(?i)<img\b[^>]*\bsrc\s*=\s*["']?(https?://[^"'\s>]+)`)
	// Placeholders a model is told to fill in: {x}, {{x}}, ${x}, <x>, [x],
	// $X, and their percent-encoded forms.
	placeholderRE = lazy(`(?i)\{\{?[^}]{1,60}\}\}?|\$\{[^}]{1,60}\}|%7b|%24%7b|<[a-z_ ]{2,40}>|%3c[a-z_]{2,40}%3e|\[[a-z_ ]{2,40}\]|%5b[a-z_]{2,40}%5d|\$[A-Z_]{3,40}\b`)
	// Query parameters whose names say what they carry.
	dataParamRE = lazy(`(?i)[?&](?:data|d|q|secret|key|token|pw|pass(?:word)?|creds?|env|conv(?:ersation)?|chat|history|content|payload|exfil|leak|info|msg|message)=`)
	jsonEscRE   = lazy(`\\u([0-9a-fA-F]{4})`)
	// Words just before a phrase that mean the text talks about it.
	mentionRE = lazy(`(?:such\s+as|like|e\.g\.?|for\s+example|example|called|known\s+as|phrases?|strings?|payloads?|attacks?|quoted?|says?|said|text|prompt\s+injection|injections?|technique|pattern)[^\w.!?;]{0,6}$`)
)

// lazyRE is a rule's regular expression, compiled on first use: only
// pipelock scans for injection, and the other daemons of the multi-call
// sidecar binary, which run this package's initialisation too, would
// otherwise each compile and keep every rule (about 1 MB of allocation,
// 170 KB kept) for nothing.
type lazyRE func() *regexp.Regexp

func lazy(expr string) lazyRE {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// rules lists every rule's expression, for Prepare.
func rules() []lazyRE {
	return []lazyRE{overrideRE, newTaskRE, roleRE, authorityRE, exfilRE, addresseeRE,
		mdLinkRE, mdRefRE, hiddenOpenRE, imgRE, placeholderRE, dataParamRE, jsonEscRE, mentionRE, imperativeRE}
}

// Prepare compiles every rule now, so that the first scan does not pay
// for it (pipelock calls it as it starts).
func Prepare() {
	for _, re := range rules() {
		re()
	}
}

func (l lazyRE) MatchString(s string) bool                  { return l().MatchString(s) }
func (l lazyRE) FindStringIndex(s string) []int             { return l().FindStringIndex(s) }
func (l lazyRE) FindAllStringIndex(s string, n int) [][]int { return l().FindAllStringIndex(s, n) }
func (l lazyRE) FindAllStringSubmatchIndex(s string, n int) [][]int {
	return l().FindAllStringSubmatchIndex(s, n)
}
func (l lazyRE) FindAllStringSubmatch(s string, n int) [][]string {
	return l().FindAllStringSubmatch(s, n)
}
func (l lazyRE) ReplaceAllStringFunc(s string, f func(string) string) string {
	return l().ReplaceAllStringFunc(s, f)
}

// RuleEncodedBudget is the finding of a text whose decoded readings
// overran their budget (decodeBudget), some left unread.
const RuleEncodedBudget = "encoded-budget-exceeded"

// Scan returns the injection findings of text, at most one per rule.
func Scan(text string) []Finding {
	if len(text) > MaxScan {
		text = text[:MaxScan]
	}
	var budgets [encodedDepth]int
	for i := range budgets {
		budgets[i] = decodeBudget(len(text))
	}
	return scan(text, 0, &budgets)
}

// scan is Scan of a text found depth layers of encoding deep; its
// decoded readings are scanned in turn, within *budget bytes.
func scan(text string, depth int, budgets *[encodedDepth]int) []Finding {
	var out []Finding
	seen := map[string]bool{}
	add := func(rule string, c Confidence) {
		if !seen[rule] {
			seen[rule] = true
			out = append(out, Finding{Rule: rule, Confidence: c})
		}
	}
	smuggled, invisible := "", 0
	if !isASCII(text) {
		smuggled, invisible = decodeTags(text)
	}
	if smuggled != "" && len(strings.TrimSpace(smuggled)) >= 8 {
		add("invisible-unicode-tags", High)
		if n := normalize(smuggled); len(instructionRules(n)) > 0 {
			add("smuggled-instruction", High)
		}
	} else if invisible >= 16 {
		add("invisible-characters", Medium)
	}
	norm := normalize(text)
	// Hidden carriers: an instruction in them is high confidence. The
	// whole of each is read (in overlapping windows), however much
	// padding comes before the instruction.
	eachComment(norm, func(body string) bool {
		if hiddenText(body) {
			add("hidden-html-comment-instruction", High)
			return false
		}
		return true
	})
	// Each hidden element's text is read once: an opening tag inside an
	// element already read (its text held it) is not read again, so the
	// reads add up to the text's length at most, however many tags there
	// are.
	readUntil := 0
	near(norm, []string{"display", "visibility", "font-size", "opacity", "hidden"}, 400, 1100, func(w string, off int) {
		if seen["hidden-element-instruction"] {
			return
		}
		for _, loc := range hiddenOpenRE.FindAllStringSubmatchIndex(w, -1) {
			start := off + loc[1]
			if start < readUntil {
				continue
			}
			text, end := elementSpan(norm, start, w[loc[2]:loc[3]])
			readUntil = end
			if hiddenText(text) {
				add("hidden-element-instruction", High)
				return
			}
		}
	})
	// Markup a reader renders away (tags, emphasis, code spans) may sit
	// between the words of a phrase: the phrases are read in the text
	// without it (whether a phrase is quoted is asked of the text with it).
	plain, orig := stripMarkup(norm)
	for rule, c := range instructionRulesAt(plain, func(i int) bool { return mentioned(norm, orig(i)) }) {
		add(rule, c)
	}
	near(text, []string{"]("}, 210, 2000, func(w string, _ int) {
		for _, m := range mdLinkRE.FindAllStringSubmatch(w, 256) {
			if u := m[2]; exfilURL(u) {
				if m[1] == "!" {
					add("markdown-image-exfil", High)
				} else {
					add("markdown-link-exfil", Medium)
				}
			}
		}
	})
	// Reference-style links and images: "![alt][ref]" … "[ref]: url".
	var images map[string]bool // the labels images refer to, read once
	near(text, []string{"]:"}, 210, 2000, func(w string, _ int) {
		for _, m := range mdRefRE.FindAllStringSubmatch(w, -1) {
			if !exfilURL(m[2]) {
				continue
			}
			if images == nil {
				images = imageRefs(text)
			}
			if images[strings.ToLower(strings.TrimSpace(m[1]))] {
				add("markdown-image-exfil", High)
			} else {
				add("markdown-link-exfil", Medium)
			}
		}
	})
	near(norm, []string{"<img"}, 0, 2000, func(w string, _ int) {
		for _, m := range imgRE.FindAllStringSubmatch(w, 256) {
			if exfilURL(m[1]) {
				add("html-image-exfil", High)
			}
		}
	})
	if depth < encodedDepth {
		over := eachDecoded(text, &budgets[depth], func(d string) {
			for _, f := range scan(d, depth+1, budgets) {
				add("encoded-"+strings.TrimPrefix(f.Rule, "encoded-"), f.Confidence)
			}
		})
		if over {
			// Encodings nested and repeated past what any page holds,
			// with a reading left unread: refused, not let through.
			add(RuleEncodedBudget, High)
		}
	}
	return out
}

// Keywords that must occur for a rule to match; the rule's regular
// expression runs only on windows around them, which keeps a scan linear
// and cheap on text that holds none of them (most of it).
var (
	overrideKW  = []string{"ignore", "disregard", "forget", "override", "bypass", "skip", "drop"}
	newTaskKW   = []string{"new", "from now on", "you are now", "do not", "not tell", "not inform", "not alert", "not mention"}
	authorityKW = []string{"as your", "from", "this is"}
	exfilKW     = []string{"key", "secret", "token", "credential", "password", "env", "id_rsa", "cookie"}
	roleKW      = []string{"system", "developer", "admin", "im_start"}
)

// near calls fn with each window of s around an occurrence of a keyword
// (before bytes before it, after bytes after it), overlapping windows
// merged: the windows are disjoint, so a rule's pass over them costs no
// more than a pass over s, however many there are (a cap on their number
// would let decoy keywords push the real phrase out of reach). One pass over s finds every keyword (a
// first-byte table, then a prefix test), so the cost does not grow with
// the number of keywords.
func near(s string, kws []string, before, after int, fn func(w string, off int)) {
	var first [256][]string
	for _, kw := range kws {
		first[kw[0]] = append(first[kw[0]], kw)
	}
	type span struct{ a, b int }
	var cur span
	have := false
	for i := 0; i < len(s); i++ {
		cands := first[s[i]]
		if cands == nil {
			continue
		}
		for _, kw := range cands {
			if !strings.HasPrefix(s[i:], kw) {
				continue
			}
			sp := span{max(0, i-before), min(len(s), i+len(kw)+after)}
			switch {
			case !have:
				cur, have = sp, true
			case sp.a <= cur.b:
				cur.b = max(cur.b, sp.b)
			default:
				fn(s[cur.a:cur.b], cur.a)
				cur = sp
			}
			break
		}
	}
	if have {
		fn(s[cur.a:cur.b], cur.a)
	}
}

// instructionRules applies the phrase rules to normalised text. A phrase
// that the text merely mentions (quoted, "such as …") is medium; one
// phrased as a command is high.
func instructionRules(norm string) map[string]Confidence {
	return instructionRulesAt(norm, func(i int) bool { return mentioned(norm, i) })
}

// instructionRulesAt is instructionRules with the mention test asked of
// the text the phrase at i of norm came from (a view of it).
func instructionRulesAt(norm string, isMention func(i int) bool) map[string]Confidence {
	out := map[string]Confidence{}
	try := func(rule string, re lazyRE, kws []string, before, after int) {
		near(norm, kws, before, after, func(w string, off int) {
			if out[rule] == High {
				return
			}
			for _, loc := range re.FindAllStringIndex(w, 32) {
				c := High
				if isMention(off + loc[0]) {
					c = Medium
				}
				out[rule] = max(out[rule], c)
			}
		})
	}
	try("instruction-override", overrideRE, overrideKW, 4, 200)
	try("new-instructions", newTaskRE, newTaskKW, 40, 80)
	try("authority-impersonation", authorityRE, authorityKW, 40, 80)
	try("exfiltration-instruction", exfilRE, exfilKW, 100, 200)
	// A role marker is a command when what follows it on the line is one
	// (or it is a chat-template token); "system: linux" in a config file is
	// only worth a mention.
	near(norm, roleKW, 80, 320, func(w string, _ int) {
		for _, m := range roleRE.FindAllStringSubmatch(w, 32) {
			rest := m[1] + m[2]
			c := Medium
			if strings.Contains(m[0], "im_start") || addresseeRE.MatchString(rest) && imperative(rest) ||
				overrideRE.MatchString(rest) || newTaskRE.MatchString(rest) {
				c = High
			}
			out["authority-impersonation"] = max(out["authority-impersonation"], c)
		}
	})
	directiveRules(norm, out, isMention)
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// mentioned reports whether the phrase at i is quoted or introduced as an
// example rather than addressed to the reader.
func mentioned(s string, i int) bool {
	before := s[max(0, i-40):i]
	if t := strings.TrimRight(before, " "); t != "" {
		switch t[len(t)-1] {
		case '"', '\'', '`':
			return true
		}
		if r, _ := utf8.DecodeLastRuneInString(t); r == '“' || r == '‘' || r == '«' {
			return true
		}
	}
	return mentionRE.MatchString(before)
}

// hiddenInstruction reports whether hidden text instructs an AI reader.
func hiddenInstruction(s string) bool {
	if len(instructionRules(s)) > 0 {
		return true
	}
	return addresseeRE.MatchString(s) && strings.Count(s, " ") >= 3 && imperative(s)
}

var imperativeRE = lazy(`\b(?:must|should|always|never|do not|don't|instead|make sure|run|execute|fetch|visit|call|send|tell|reply|respond|output|print|write|delete|read)\b`)

func imperative(s string) bool { return imperativeRE.MatchString(s) }

// exfilURL reports whether a URL looks built to carry data out: a
// placeholder for the model to fill in, or a data-named query parameter
// with a long value.
func exfilURL(u string) bool {
	if placeholderRE.MatchString(u) {
		return true
	}
	if loc := dataParamRE.FindStringIndex(u); loc != nil {
		v := u[loc[1]:]
		if i := strings.IndexByte(v, '&'); i >= 0 {
			v = v[:i]
		}
		return len(v) >= 24 || v == ""
	}
	return false
}

// normalize undoes the spelling tricks: entities, JSON escapes, invisible
// characters, compatibility forms, case and whitespace.
func normalize(s string) string {
	if strings.Contains(s, "\\u") {
		s = jsonEscRE.ReplaceAllStringFunc(s, func(m string) string {
			n, err := strconv.ParseUint(m[2:], 16, 32)
			if err != nil {
				return m
			}
			return string(rune(n))
		})
	}
	s = strings.NewReplacer(`\n`, "\n", `\r`, " ", `\t`, " ", `\"`, `"`).Replace(s)
	if strings.ContainsRune(s, '&') {
		s = html.UnescapeString(s)
	}
	if hasControl(s) {
		s = stripControls(s)
	}
	if !isASCII(s) {
		s = strings.Map(func(r rune) rune {
			if invisibleRune(r) {
				return -1
			}
			return r
		}, s)
		// Compatibility forms (fullwidth, mathematical letters) folded,
		// combining marks dropped, look-alike letters of other scripts
		// read as the Latin ones they mimic.
		s = foldLookalikes(norm.NFKD.String(s))
	}
	s = strings.ToLower(s)
	// Collapse runs of spaces and tabs but keep line breaks: role markers
	// are recognised at the start of a line.
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\r' || r == '\v' || r == '\f' || r == 0xa0 {
			space = true
			continue
		}
		if space && r != '\n' {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// invisibleRune: zero-width and formatting characters that render as
// nothing, soft hyphens, bidi controls and the tag block.
func invisibleRune(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2064,
		r >= 0x2066 && r <= 0x2069, r == 0xFEFF, r == 0x00AD, r == 0x180E, r == 0x034F,
		r >= 0xE0000 && r <= 0xE007F:
		return true
	}
	return false
}

// decodeTags returns the ASCII hidden in Unicode tag characters
// (U+E0020–U+E007E mirror ASCII and render as nothing) and the number of
// other invisible characters.
func decodeTags(s string) (string, int) {
	var b strings.Builder
	other := 0
	for _, r := range s {
		switch {
		case r >= 0xE0020 && r <= 0xE007E:
			b.WriteRune(r - 0xE0000)
		case invisibleRune(r):
			other++
		}
	}
	return b.String(), other
}

// hidden reports whether c is a control character a terminal shows as
// nothing (not a line end or a space).
func hiddenControl(c byte) bool {
	return c < 0x20 && c != '\n' && c != '\t' && c != '\r' && c != '\v' && c != '\f' || c == 0x7f
}

// hasControl reports whether s holds a hidden control character.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if hiddenControl(s[i]) {
			return true
		}
	}
	return false
}

// stripControls removes what a terminal shows as nothing: the hidden
// control characters (NUL between the letters of UTF-16 read as bytes),
// a character a backspace writes over, and escape sequences (ESC [ … final byte, ESC and one
// byte).
func stripControls(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x1b && i+1 < len(s) {
			if s[i+1] != '[' {
				i++
				continue
			}
			j := i + 2
			for j < len(s) && s[j] >= 0x20 && s[j] <= 0x3f { // parameters, intermediates
				j++
			}
			if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e { // final byte
				i = j
				continue
			}
		}
		if c == '\b' {
			// A backspace: the character before it is written over.
			if n := len(b); n > 0 && b[n-1] != '\n' {
				_, size := utf8.DecodeLastRune(b)
				b = b[:n-size]
			}
			continue
		}
		if hiddenControl(c) {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
