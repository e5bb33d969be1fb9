// Package dlp is the secret scanner shared by the pipelock slot and git-gate:
// gitleaks' default rules (one shared detector, used as a library), exact
// matching of known secrets given by fingerprint, in raw, URL-encoded,
// base64, hex and reversed forms, and entropy checks on host labels and path
// segments. Findings name the rule, the part of the request and the
// encoding; they never carry the secret.
package dlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/BurntSushi/toml"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"

	"github.com/claude-bottle/claude-bottle/internal/entropy"
)

// Finding is one secret found. It never holds the secret itself.
type Finding struct {
	// Rule is the gitleaks rule id, "known-secret" or "high-entropy".
	Rule string
	// Known names the known secret matched (Rule "known-secret").
	Known string
	// Part is where it was found: host, path, query, header <Name>, body, ….
	Part string
	// Encoding is how it was encoded there (EncRaw, EncBase64, …).
	Encoding string
}

func (f Finding) String() string {
	rule := f.Rule
	if f.Known != "" {
		rule += " " + f.Known
	}
	if f.Encoding != "" && f.Encoding != EncRaw {
		return fmt.Sprintf("%s in %s (%s)", rule, f.Part, f.Encoding)
	}
	return fmt.Sprintf("%s in %s", rule, f.Part)
}

// Options configure a Scanner. The zero value runs gitleaks and the entropy
// checks with no known secrets.
type Options struct {
	// Known are the fingerprints of secrets to find by value.
	Known []Fingerprint
	// NoGitleaks turns the gitleaks rules off (known secrets and entropy only).
	NoGitleaks bool
	// NoEntropy turns the entropy checks off.
	NoEntropy bool
	// Patterns are extra rules: a name and a regular expression (RE2).
	Patterns []Pattern
	// NoBuiltin turns our own detectors off (provider token formats,
	// secret-named fields, private keys, URL credentials, payment and
	// wallet data; docs/dlp.md).
	NoBuiltin bool
	// Disable turns off rule classes: ClassCard, ClassIBAN, ClassSeed,
	// ClassCryptoKey.
	Disable []string
}

// Pattern is an extra rule.
type Pattern struct {
	Name  string
	Regex string
}

type compiledPattern struct {
	name string
	re   *regexp.Regexp
}

// Scanner scans text; safe for concurrent use.
type Scanner struct {
	gl       *gitleaksRules
	known    *knownSet
	entropy  bool
	patterns []compiledPattern
	builtin  bool
	disabled map[string]bool
}

// maxFindings bounds what one scan reports.
const maxFindings = 16

// gitleaksRules is the shared detector and a trie of its rules' keywords.
type gitleaksRules struct {
	d        *detect.Detector
	keywords *keywordSet
}

// sharedDetector builds gitleaks' default detector once per process: its
// constructor goes through viper's global state, and its compiled rules are
// read-only afterwards, so one detector serves every scanner.
var sharedDetector = sync.OnceValues(func() (*gitleaksRules, error) {
	// gitleaks' own constructor reads its default rules through viper's
	// global state (a generic map, then mapstructure); decoding the same
	// TOML straight into its config struct gives the identical struct
	// (TestDefaultRulesDecodeLikeViper) with a fraction of the garbage,
	// which otherwise stays resident as heap fragmentation.
	var vc config.ViperConfig
	if _, err := toml.Decode(config.DefaultConfig, &vc); err != nil {
		return nil, fmt.Errorf("dlp: gitleaks default rules: %w", err)
	}
	stopwords := parkStopwords(&vc)
	cfg, err := vc.Translate()
	if err != nil {
		return nil, fmt.Errorf("dlp: gitleaks default rules: %w", err)
	}
	d := detect.NewDetector(cfg)
	// Every content rule of the default set has keywords (only the
	// path-based pkcs12-file has none), and a rule runs only where one of
	// its keywords occurs; so only parts containing some keyword need to
	// reach the detector, which keeps its big regexes on short inputs.
	kws := make([]string, 0, len(d.Config.Keywords))
	for k := range d.Config.Keywords {
		kws = append(kws, strings.ToLower(k))
	}
	// gitleaks can decode base64/hex/percent-encoding itself, but its
	// decoder (a regexp over the whole fragment per pass) cost four fifths of
	// the scan time; our own decoding (views) feeds it every decoded reading
	// instead.
	d.MaxDecodeDepth = 0
	dropStopwordTries(&d.Config, stopwords)
	removeExemptions(d)
	return &gitleaksRules{d: d, keywords: newKeywordSet(kws)}, nil
})

// stopwordMark tags the placeholder that stands for an allowlist's stop
// words while gitleaks translates its config.
const stopwordMark = "\x00claude-bottle-stopwords-"

// parkStopwords replaces each allowlist's stop words by one placeholder and
// returns the lists. gitleaks validation builds an Aho-Corasick trie of the
// stop words (the generic rule alone lists about 1,500): ~9 MB — more than
// the pipelock daemon's whole memory budget — and as much garbage again
// while building it.
func parkStopwords(vc *config.ViperConfig) [][]string {
	var parked [][]string
	park := func(words *[]string) {
		if len(*words) > 0 {
			parked = append(parked, *words)
			*words = []string{stopwordMark + strconv.Itoa(len(parked)-1)}
		}
	}
	for i := range vc.Rules {
		for _, a := range vc.Rules[i].Allowlists {
			if a != nil {
				park(&a.StopWords)
			}
		}
		if a := vc.Rules[i].AllowList; a != nil {
			park(&a.StopWords)
		}
	}
	for _, a := range vc.Allowlists {
		if a != nil {
			park(&a.StopWords)
		}
	}
	// gitleaks' own default config still uses the deprecated top-level
	// [allowlist] table.
	if vc.AllowList != nil { //nolint:staticcheck // SA1019: the default rules use it
		park(&vc.AllowList.StopWords) //nolint:staticcheck // SA1019: as above
	}
	return parked
}

// dropStopwordTries replaces every allowlist that has stop words with an
// unvalidated copy carrying the parked words (lower case, deduplicated, as
// validation would leave them) and no trie. gitleaks then checks stop words
// with a linear scan, which runs once per finding (findings are rare)
// instead of once per byte of input; the copies keep every exported field,
// so the decisions are the same (TestStopwordsStillApply).
func dropStopwordTries(cfg *config.Config, parked [][]string) {
	lighten := func(als []*config.Allowlist) {
		for i, a := range als {
			if a == nil || len(a.StopWords) == 0 {
				continue
			}
			words := a.StopWords
			if len(words) == 1 && strings.HasPrefix(words[0], strings.ToLower(stopwordMark)) {
				if n, err := strconv.Atoi(strings.TrimPrefix(words[0], strings.ToLower(stopwordMark))); err == nil && n < len(parked) {
					words = lowerUnique(parked[n])
				}
			}
			als[i] = &config.Allowlist{Description: a.Description, MatchCondition: a.MatchCondition, Commits: a.Commits,
				Paths: a.Paths, RegexTarget: a.RegexTarget, Regexes: a.Regexes, StopWords: words}
		}
	}
	lighten(cfg.Allowlists)
	for _, r := range cfg.Rules {
		lighten(r.Allowlists)
	}
}

func lowerUnique(words []string) []string {
	seen := make(map[string]bool, len(words))
	out := make([]string, 0, len(words))
	for _, w := range words {
		if w = strings.ToLower(w); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// New returns a scanner.
func New(opts Options) (*Scanner, error) {
	ks, err := newKnownSet(opts.Known)
	if err != nil {
		return nil, fmt.Errorf("dlp: %w", err)
	}
	s := &Scanner{known: ks, entropy: !opts.NoEntropy, builtin: !opts.NoBuiltin, disabled: map[string]bool{}}
	for _, d := range opts.Disable {
		switch d {
		case ClassCard, ClassIBAN, ClassSeed, ClassCryptoKey:
			s.disabled[d] = true
		default:
			return nil, fmt.Errorf("dlp: unknown rule class %q (known: %s, %s, %s, %s)", d, ClassCard, ClassIBAN, ClassSeed, ClassCryptoKey)
		}
	}
	for i, pt := range opts.Patterns {
		re, err := regexp.Compile(pt.Regex)
		if err != nil {
			return nil, fmt.Errorf("dlp: pattern %d (%s): %w", i, pt.Name, err)
		}
		s.patterns = append(s.patterns, compiledPattern{name: pt.Name, re: re})
	}
	if !opts.NoGitleaks {
		if s.gl, err = sharedDetector(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type collector struct {
	out  []Finding
	seen map[string]bool
	// embed is how deep collect is inside embedded readings (embedded.go).
	embed int
	// rawLen, when set, is the length of the body whose raw text, large
	// parts cut out of it, is scanned: its streams are inflated within
	// the budget of the body uncut (scanMultipart).
	rawLen int
}

func (c *collector) add(f Finding) bool {
	key := f.Rule + "\x00" + f.Known + "\x00" + f.Part
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if !c.seen[key] {
		c.seen[key] = true
		c.out = append(c.out, f)
	}
	return len(c.out) >= maxFindings
}

// Scan looks for secrets in one part of a request (or of a commit).
func (s *Scanner) Scan(part, text string) []Finding {
	var c collector
	s.scan(&c, part, "", text)
	return c.out
}

// ScanWithin is Scan of text, a stretch of a body of n bytes read apart
// from the rest (pipelock's reading of a multipart body's raw text around
// the large parts it leaves out): its compressed streams are inflated
// within the budget of n bytes of text, as they were when the stretch was
// read with the rest.
func (s *Scanner) ScanWithin(part, text string, n int) []Finding {
	c := collector{rawLen: n}
	s.scan(&c, part, "", text)
	return c.out
}

// ScanFile scans a file's content; path lets gitleaks apply its path
// allowlists (lockfiles and the like).
func (s *Scanner) ScanFile(path, content string) []Finding {
	var c collector
	s.scan(&c, path, path, content)
	return c.out
}

func (s *Scanner) scan(c *collector, part, path, text string) {
	var b batch
	s.collect(c, &b, part, text)
	s.gitleaks(c, &b, path)
}

// batch gathers the textual readings of several parts, so that gitleaks —
// whose fixed cost per call dominates small inputs — runs once per request
// instead of once per header. Each reading starts on its own line; lines map
// findings back to their part and encoding.
type batch struct {
	text  strings.Builder
	lines int
	spans []span
}

type span struct {
	first, last int // 1-based line numbers in the batch text
	part, enc   string
}

// gitleaksWindow is how much text on each side of a keyword gitleaks sees,
// and gitleaksBudget how much text in all it sees per scan. gitleaks' rules
// are backtracking-free but heavy regular expressions (measured: about
// 1 µs per byte per rule, 20 s for all 221 rules over 128 KiB), so they
// cannot see whole bodies at 50 MB/s. Their matches are anchored on their
// keywords and span at most a few hundred bytes, so windows around the
// keywords keep their findings for ordinary requests (URL, headers, a
// small body), and the budget keeps their cost a small constant per
// request whatever the body holds. Our own rules (rules.go), built for a
// single linear pass, cover the provider formats agents meet on every
// byte regardless of the budget.
const (
	gitleaksWindow = 160
	gitleaksBudget = 2 << 10
)

// add queues the windows of text around rule keywords.
func (b *batch) add(kw *keywordSet, part, enc, text string) {
	if b.text.Len() >= gitleaksBudget {
		return // full: nothing more would be added
	}
	if kw == nil {
		b.addText(part, enc, text)
		return
	}
	lo, hi := -1, -1
	flush := func() {
		if lo >= 0 {
			room := gitleaksBudget - b.text.Len()
			if room <= 0 {
				return
			}
			b.addText(part, enc, text[lo:min(hi, lo+room)])
		}
	}
	kw.each(text, func(pos int) bool {
		if b.text.Len() >= gitleaksBudget {
			return true
		}
		wlo, whi := max(0, pos-gitleaksWindow), min(len(text), pos+gitleaksWindow)
		if lo >= 0 && wlo <= hi {
			hi = whi
			return b.text.Len()+hi-lo >= gitleaksBudget
		}
		flush()
		lo, hi = wlo, whi
		return false
	})
	flush()
}

func (b *batch) addText(part, enc, text string) {
	if b.text.Len() >= gitleaksBudget {
		return
	}
	n := strings.Count(text, "\n") + 1
	b.spans = append(b.spans, span{first: b.lines + 1, last: b.lines + n, part: part, enc: enc})
	b.text.WriteString(text)
	b.text.WriteByte('\n')
	b.lines += n
}

func (b *batch) at(line int) (part, enc string) {
	for _, sp := range b.spans {
		if line >= sp.first && line <= sp.last {
			return sp.part, sp.enc
		}
	}
	return "request", EncRaw
}

// collect runs the known-secret matcher on every reading of text (and its
// reverse) and queues the textual readings for gitleaks.
func (s *Scanner) collect(c *collector, b *batch, part, text string) {
	if text == "" {
		return
	}
	// Wide (UTF-16/32) text and compressed streams (embedded.go).
	s.collectEmbedded(c, b, part, text)
	// Known secrets that may hold any byte, and extra patterns that may
	// match anything, need every decoded byte; the rest of the scan looks
	// for runs of ASCII text only.
	complete := readViews(text, s.known.anyBytes() || len(s.patterns) > 0, func(v view) bool {
		// Reversed too in every reading: a secret reversed before it
		// was encoded (base64 of the reversed value) reverses only
		// once decoded.
		found, reversed := s.known.findBoth(v.text, true, s.known.any())
		for _, name := range found {
			if c.add(Finding{Rule: "known-secret", Known: name, Part: part, Encoding: v.enc}) {
				return true
			}
		}
		for _, name := range reversed {
			if c.add(Finding{Rule: "known-secret", Known: name, Part: part, Encoding: EncReversed}) {
				return true
			}
		}
		// Decoding an ordinary identifier as base64 gives binary noise,
		// not worth the rules; a decoded reading's NULs are dropped and,
		// when it is mostly binary, its printable runs are read
		// (decodedText): a secret encoded together with binary bytes.
		text := v.text
		textual := v.enc == EncRaw || v.enc == EncURL || v.enc == EncUnicode || v.enc == EncDespaced || v.enc == EncQuotedPrintable || mostlyText(v.text)
		binary := !textual
		if binary && (v.enc == EncBase64 || v.enc == EncHex || v.enc == EncBase32 || v.enc == EncHexDelimited || v.enc == EncAscii85 || v.enc == EncUuencode) {
			text, textual = decodedText(v.text)
			if textual && text != v.text {
				found, reversed := s.known.findBoth(text, true, true)
				for _, name := range found {
					if c.add(Finding{Rule: "known-secret", Known: name, Part: part, Encoding: v.enc}) {
						return true
					}
				}
				for _, name := range reversed {
					if c.add(Finding{Rule: "known-secret", Known: name, Part: part, Encoding: EncReversed}) {
						return true
					}
				}
			}
		}
		if textual {
			for _, pt := range s.patterns {
				if pt.re.MatchString(text) && c.add(Finding{Rule: "pattern " + pt.name, Part: part, Encoding: v.enc}) {
					return true
				}
			}
		}
		ruleText := text
		if textual && len(text) > 4096 && !mostlyText(text) {
			// A binary body (an archive, an image, compressed data), or
			// its percent-, quoted-printable- or Unicode-decoded reading:
			// the rules read its printable islands (a .env inside a tar, a
			// token in an image's metadata), not the noise between them.
			ruleText = textIslands(text)
		}
		// One pass of the three-byte filters of the rules (triples.go).
		var tri *tripleList
		if textual && s.builtin {
			tri = tripleTabs().listFor(ruleText)
			defer tri.release()
		}
		if textual && s.rulesListed(c, part, v.enc, ruleText, tri) {
			return true
		}
		if binary && s.builtin && strings.Contains(v.text, "openssh-key-v1\x00") {
			// An OpenSSH private key's binary body, decoded from base64
			// without its armour lines.
			if c.add(Finding{Rule: "openssh-private-key", Part: part, Encoding: v.enc}) {
				return true
			}
		}
		if s.gl != nil && textual {
			b.add(s.gl.keywords, part, v.enc, ruleText)
		}
		return false
	})
	if !complete {
		c.add(Finding{Rule: RuleScanBudget, Part: part})
	}
}

func (s *Scanner) gitleaks(c *collector, b *batch, path string) {
	if s.gl == nil || b.lines == 0 {
		return
	}
	frag := detect.Fragment{Raw: b.text.String(), FilePath: path} //nolint:staticcheck // v8's Detect takes detect.Fragment; sources.Fragment replaces it in v9
	for _, f := range s.gl.d.Detect(frag) {
		if s.builtin && f.RuleID == "generic-api-key" {
			// Our secret-field and entropy rules replace it, with the
			// benign shapes (nonces, ETags, cursors, UUIDs) it flags
			// told apart (docs/dlp.md).
			continue
		}
		part, enc := b.at(f.StartLine + 1)
		if c.add(Finding{Rule: f.RuleID, Part: part, Encoding: enc}) {
			return
		}
	}
}

// Part is one named piece of a request for ScanParts.
type Part struct {
	Name string // host, path, query, header <Name>, …
	Text string
}

// ScanParts scans several parts of one request at once (one gitleaks pass).
// Host and path parts also get the entropy checks of ScanHost and ScanPath.
func (s *Scanner) ScanParts(parts []Part) []Finding {
	var c collector
	var b batch
	for _, p := range parts {
		switch p.Name {
		case "host":
			s.hostEntropy(&c, p.Text)
			s.collect(&c, &b, "host", p.Text)
			if joined := strings.ReplaceAll(p.Text, ".", ""); joined != p.Text {
				s.collect(&c, &b, "host", joined)
			}
		case "path":
			s.pathEntropy(&c, p.Text)
			s.collect(&c, &b, "path", p.Text)
		default:
			s.collect(&c, &b, p.Name, p.Text)
			if p.Name == "query" {
				if j := repeatedJoined(p.Text); j != "" {
					s.scanJoined(&c, PartRepeatedJoined, j)
				}
			}
		}
	}
	s.gitleaks(&c, &b, "")
	return c.out
}

// textIslands returns the runs of at least 16 printable ASCII bytes (or
// whitespace) of s, one per line.
func textIslands(s string) string { return islands(s, 16) }

var printable = makeSet(func(c byte) bool { return c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' || c == '\r' })

// printTab and asciiGraphTab count bytes without a branch per byte:
// printable ASCII or whitespace, and printable ASCII only.
var (
	printTab      = countTable(func(c byte) bool { return c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' || c == '\r' })
	asciiGraphTab = countTable(func(c byte) bool { return c >= 0x20 && c < 0x7f })
)

func countTable(pred func(byte) bool) (t [256]uint8) {
	for c := range 256 {
		if pred(byte(c)) {
			t[c] = 1
		}
	}
	return t
}

// countIn counts the bytes of s that tab marks.
func countIn(s string, tab *[256]uint8) int {
	n0, n1, n2, n3 := 0, 0, 0, 0
	i := 0
	for ; i+4 <= len(s); i += 4 {
		n0 += int(tab[s[i]])
		n1 += int(tab[s[i+1]])
		n2 += int(tab[s[i+2]])
		n3 += int(tab[s[i+3]])
	}
	for ; i < len(s); i++ {
		n0 += int(tab[s[i]])
	}
	return n0 + n1 + n2 + n3
}

// mostlyText reports whether at least 90 % of s is printable ASCII or
// whitespace.
func mostlyText(s string) bool {
	return countIn(s, &printTab)*10 >= len(s)*9
}

// Entropy thresholds, in bits per character, for one host label or path
// segment. Hex digests (≤ 4 bits/char), UUIDs and words stay below them;
// random base62/base64 tokens of this length sit well above.
const (
	labelMinLen    = 16
	labelEntropy   = 3.8
	segmentMinLen  = 24
	segmentEntropy = 4.3
)

var (
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hexRE  = regexp.MustCompile(`^[0-9a-fA-F]+$`)
)

func highEntropy(tok string, minLen int, threshold float64) bool {
	if len(tok) < minLen || hexRE.MatchString(tok) || uuidRE.MatchString(tok) {
		return false
	}
	return entropy.Shannon(tok) >= threshold
}

// ScanHost scans a host name: every label for high entropy (an encoded
// secret smuggled as a subdomain), and the name for secrets.
func (s *Scanner) ScanHost(host string) []Finding {
	// Labels are also joined without dots: a secret split across subdomains.
	return s.ScanParts([]Part{{Name: "host", Text: host}})
}

func (s *Scanner) hostEntropy(c *collector, host string) {
	if !s.entropy {
		return
	}
	digits := 0
	for _, l := range strings.Split(host, ".") {
		if hexDataLabel(l) || !wordyLabel(l) && highEntropy(l, labelMinLen, labelEntropy) {
			c.add(Finding{Rule: "high-entropy", Part: "host label", Encoding: EncRaw})
			return
		}
		if len(l) >= 4 && allDigits(l) {
			digits += len(l)
		}
	}
	if digits >= minDigitLabels {
		// Numbers written label after label ("8675309.5551234.…"), or
		// one long one: decimal data. Names hold short numbers (an IP
		// address written into a name, a 12-digit account id).
		c.add(Finding{Rule: "high-entropy", Part: "host label (digits)", Encoding: EncRaw})
	}
}

// minDigitLabels is the digits in all-digit host labels of four digits or
// more that make a name data: more than a 12-digit account id and an
// address's octets.
const minDigitLabels = 16

// ScanPath scans a URL path (escaped form): each segment for high entropy,
// and the whole path for secrets.
func (s *Scanner) ScanPath(escaped string) []Finding {
	return s.ScanParts([]Part{{Name: "path", Text: escaped}})
}

func (s *Scanner) pathEntropy(c *collector, escaped string) {
	if !s.entropy {
		return
	}
	for _, seg := range strings.Split(escaped, "/") {
		if d, err := url.PathUnescape(seg); err == nil {
			seg = d
		}
		if highEntropy(seg, segmentMinLen, segmentEntropy) && !wordyName(seg) {
			c.add(Finding{Rule: "high-entropy", Part: "path segment", Encoding: EncRaw})
			return
		}
	}
}

// RuleScanBudget is the rule of the finding a scan reports when the
// readings of a part went over their budget: the part is refused, not
// passed unscanned.
const RuleScanBudget = "scan-budget-exceeded"

// MaxBody is the largest body ScanBody reads; larger bodies are refused
// rather than passed unscanned.
const MaxBody = 64 << 20

// ErrBodyTooLarge is returned for bodies over MaxBody.
var ErrBodyTooLarge = errors.New("body too large to scan")

// ScanBody scans a request body: always as raw text, and additionally by
// structure — JSON keys and string values (escapes undone), form fields,
// multipart parts (names, file names and contents, recursively).
func (s *Scanner) ScanBody(contentType string, body []byte) ([]Finding, error) {
	if len(body) > MaxBody {
		return nil, ErrBodyTooLarge
	}
	var c collector
	s.scanBody(&c, contentType, body, 0)
	return c.out, nil
}

// scanBody scans a body; it reports whether it read the body's raw text
// whole (a valid JSON body is read by its JSON view only).
func (s *Scanner) scanBody(c *collector, contentType string, body []byte, depth int) (rawRead bool) {
	// The scan only reads the body and keeps none of it (readings are
	// transient, findings hold no text): read it in place rather than
	// copying it (a 10 MiB upload would otherwise cost 10 MiB more).
	text := unsafe.String(unsafe.SliceData(body), len(body))
	mt, params, _ := mime.ParseMediaType(contentType)
	declared := mt == "application/json" || strings.HasSuffix(mt, "+json")
	rawRead = true
	if declared || startsJSON(body) {
		valid := validJSON(text) // json.Valid's decision, faster (jsonvalid.go)
		// A body of JSON values one after another (JSON lines), or one
		// cut short after some of them: the view holds every key and
		// value of the values up to seq, as it does of a valid body, and
		// the raw text is read only from a little before seq on.
		seq := 0
		if !valid {
			seq = jsonSeqPrefix(text)
		}
		if declared || valid || seq == len(text) {
			// Keys and values with JSON escapes undone, one "key = value"
			// per line so the key=value rules see their context, every
			// duplicate key kept. Valid JSON holds nothing outside its
			// strings and scalars, so its raw text is not read again;
			// anything else is (from near seq on, after JSON lines).
			// When the raw text is read whole too, only the lines where
			// an escape was undone are new.
			var b strings.Builder
			var joined, all joinBuf
			escapedFrom := seq // JSON lines whole up to seq (0: none)
			if valid {
				escapedFrom = len(text) + 1
			}
			if escapedFrom > len(text)/2 {
				b.Grow(len(body))
			}
			flattenJSONJoinFrom(&b, text, escapedFrom, &joined, &all)
			s.scan(c, "body (json)", "", b.String())
			if joined.Len() > 0 {
				s.scanJoined(c, PartJSONJoined, joined.String())
			}
			if all.Len() > 0 {
				s.scanJoined(c, PartJSONJoined, all.String())
			}
			if valid || seq == len(text) {
				return false
			}
			if seq > jsonTailOverlap {
				// Only the rest is read raw: not the whole raw text (a
				// multipart body's own raw reading keeps this part).
				text, rawRead = text[seq-jsonTailOverlap:], false
			}
		}
	}
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" && depth < 3 {
		s.scanMultipart(c, body, params["boundary"], depth)
		return true
	}
	s.scan(c, "body", "", text)
	if mt == "application/x-www-form-urlencoded" {
		s.scan(c, "body (form)", "", formText(text))
		if j := repeatedJoined(text); j != "" {
			s.scanJoined(c, PartRepeatedJoined, j)
		}
	}
	return rawRead
}

// scanMultipart scans a multipart body: each part's field and file name,
// each part by its own type (scanBody), and the body's raw text. A large
// part whose raw text its own scan read whole is cut out of the body's
// raw text but for partContext bytes at each of its ends (cutParts): the
// body's raw text is mostly its file parts, and reading them twice,
// whole, doubled the cost of an upload.
//
// Why nothing is lost: a finding of the scan of the whole raw text rests
// on a stretch of it a few KiB long at most (the longest, a PEM private
// key or a nested encoding of one; the rule with the widest context, the
// bulk-token one, looks 4 KiB either side; pipelock's segmented scan
// rests on the same bound, segmentOverlap). A stretch inside a part's
// data is read by the part's own scan, which reads those bytes as the
// body of an upload of that part alone would be read; a stretch that
// reaches outside the data (into its headers, the boundary, the next
// part) reaches at most a few KiB into it, so it lies whole, far from
// any cut, in what the raw text keeps. The one reading that rests on a
// longer stretch is a compressed stream's, which the raw text inflates
// from its first bytes to its end however far away: a stream that runs
// into a cut from outside its part's data keeps the cuts it crosses
// (keepStreams). The part's data must be found in
// the body as it is (a quoted-printable part, which the multipart reader
// decodes, is not, and is not cut); a part the reader stops in (a
// malformed body) and whatever follows it are never cut.
// (TestMultipartCutKeepsFindings.)
func (s *Scanner) scanMultipart(c *collector, body []byte, boundary string, depth int) {
	var cuts, parts []cutSpan // parts[i]: the data of the part cuts[i] is cut from
	from := 0
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		data, err := io.ReadAll(io.LimitReader(p, MaxBody))
		if err != nil {
			break
		}
		s.scan(c, "body (multipart field name)", "", p.FormName()+"\n"+p.FileName())
		rawRead := s.scanBody(c, p.Header.Get("Content-Type"), data, depth+1)
		if rawRead && len(data) >= minPartCut {
			if at := partAt(body, from, data); at >= 0 {
				cuts = append(cuts, cutSpan{at + partContext, at + len(data) - partContext})
				parts = append(parts, cutSpan{at, at + len(data)})
				from = at + len(data)
			}
		}
	}
	// The streams of the raw text are inflated within the budget of the
	// whole raw text, as before it was cut: a small part's stream that
	// inflates far (a secret after 10 MiB of repeated text) is read as
	// far (TestAttack8StreamBudgetAfterCut).
	defer func(n int) { c.rawLen = n }(c.rawLen)
	c.rawLen = len(body)
	s.scan(c, "body", "", cutParts(body, keepStreams(body, cuts, parts)))
}

// partContext is how much of a cut part's data, at each end, the raw
// text of its multipart body keeps: far more than any finding's stretch
// (scanMultipart), as pipelock's segments overlap by (segmentOverlap/2
// on each side).
const partContext = 32 << 10

// minPartCut is the smallest part cut out of the raw text: what cutting
// saves must be worth the search for the part.
const minPartCut = 4 * partContext

// partHeaderRoom bounds how far past the end of the part before a part's
// data is searched for (the boundary line and the part's headers lie in
// between): the searches of a body then cost a bounded multiple of it.
const partHeaderRoom = 64 << 10

// cutSpan is a stretch [lo, hi) of a body left out of its raw text.
type cutSpan struct{ lo, hi int }

// partAt returns where data, a part's content, lies in body at or after
// from (within partHeaderRoom of it), or -1.
func partAt(body []byte, from int, data []byte) int {
	end := min(len(body), from+partHeaderRoom+len(data))
	if k := bytes.Index(body[from:end], data); k >= 0 {
		return from + k
	}
	return -1
}

// cutParts returns body (as text) with the spans of cuts left out, each
// replaced by windowSepText, which no rule, run or token reads across.
// Without cuts it is body itself, not copied.
func cutParts(body []byte, cuts []cutSpan) string {
	if len(cuts) == 0 {
		return unsafe.String(unsafe.SliceData(body), len(body))
	}
	n := len(body)
	for _, k := range cuts {
		n -= k.hi - k.lo - len(windowSepText)
	}
	out := make([]byte, 0, n)
	at := 0
	for _, k := range cuts {
		out = append(out, body[at:k.lo]...)
		out = append(out, windowSepText...)
		at = k.hi
	}
	out = append(out, body[at:]...)
	return unsafe.String(unsafe.SliceData(out), len(out)) //nolint:gosec // G103: out is not written after this
}

// jsonTailOverlap is how much of the JSON values before the rest of a
// body of JSON lines cut short is read raw with that rest: a secret
// astride where the values end is whole in it. It is longer than any
// secret a rule reads (a PEM private key of 4096-bit RSA is about 3.2 KiB).
const jsonTailOverlap = 8 << 10

// JSONTailOverlap is jsonTailOverlap, for pipelock's reading of the same.
const JSONTailOverlap = jsonTailOverlap

// PartJSONJoined is the part of the findings in a JSON body's sibling
// values read joined (flattenJSONJoin). The entropy rule does not read
// it: short ids and names run together look random without being a
// credential; the token formats, known secrets and the rest do.
const PartJSONJoined = "body (json, joined)"

// formText is a form body read field by field: each name and value on a
// line of its own, '+' read as a space, percent-escapes undone, in the
// order of the body. It is lenient where url.ParseQuery is strict and
// never fails: a ';', a bad escape or more fields than ParseQuery's limit
// (10,000) anywhere in the body made ParseQuery fail and the whole body
// go unread field by field, so one stray byte hid, say, a private key
// whose spaces the form wrote as '+'.
func formText(body string) string {
	// The fields as FormFields reads them, unescaped straight into one
	// buffer (appendFormUnescaped) rather than a string each. Each field
	// grows by its two line ends at most, and the '&' before it goes.
	out := make([]byte, 0, len(body)+2*strings.Count(body, "&")+2)
	for field := range strings.SplitSeq(body, "&") {
		if field == "" {
			continue
		}
		name, value, _ := strings.Cut(field, "=")
		out = appendFormUnescaped(out, name)
		out = append(out, '\n')
		out = appendFormUnescaped(out, value)
		out = append(out, '\n')
	}
	return unsafe.String(unsafe.SliceData(out), len(out)) //nolint:gosec // G103: out is not written after this
}

// appendFormUnescaped appends formUnescape(s) to out in one pass: '+' is
// not a hex digit nor is a space, so reading '+' as a space before or
// while undoing the escapes gives the same escapes, and a decoded byte
// (%2B) is written as it is, never read again. It writes at most
// len(s) bytes.
func appendFormUnescaped(out []byte, s string) []byte {
	w := len(out)
	out = slices.Grow(out, len(s))[:w+len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex[s[i+1]] && isHex[s[i+2]] {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		} else {
			c = plusAsSpace[c]
		}
		out[w] = c
		w++
	}
	return out[:w]
}

// plusAsSpace maps '+' to a space and every other byte to itself.
var plusAsSpace = func() (t [256]byte) {
	for c := range t {
		t[c] = byte(c)
	}
	t['+'] = ' '
	return t
}()

// FormFields calls fn with each field of a form body, name and value
// unescaped as formText reads them, in the order of the body. Whoever
// reads a form's fields beside the scanner (pipelock's view of a large
// form, written as it is read) reads the same fields: a field that
// url.ParseQuery refuses (a ';', a bad escape) is read all the same.
func FormFields(body string, fn func(name, value string)) {
	for field := range strings.SplitSeq(body, "&") {
		if field == "" {
			continue
		}
		name, value, _ := strings.Cut(field, "=")
		fn(formUnescape(name), formUnescape(value))
	}
}

// formUnescape reads '+' as a space and undoes the valid %XX escapes
// (an encoded '+', %2B, stays a '+'); invalid ones stay as written.
func formUnescape(s string) string {
	if strings.IndexByte(s, '+') >= 0 {
		s = strings.ReplaceAll(s, "+", " ")
	}
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	return lenientUnescape(s)
}

// startsJSON: a body that starts like a JSON object or array (whatever its
// declared type) is read as JSON too when it is valid JSON.
func startsJSON(body []byte) bool {
	t := bytes.TrimLeft(body[:min(len(body), 64)], " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}
