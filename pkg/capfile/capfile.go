// Package capfile reads the Dockerfile of a capability-block proposal the
// way Docker's builder reads it (parser directives, line continuations,
// comments, any case, JSON and shell forms) and admits only what the bottle
// can run itself, inside a hardened container on the bottle's own network:
// one FROM (the bottle's current agent), then RUN, ENV, ARG, WORKDIR, USER
// and LABEL. Everything else is refused, line by line, with the reason:
// ADD and COPY (the engine fetches their sources itself, from the host's
// network namespace, outside the bottle's proxies), ONBUILD (instructions for
// a later build), flags (RUN --network=host, --security=insecure, --mount),
// heredocs, and any instruction the bottle does not know.
package capfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrRefused is wrapped by the error Parse returns for a Dockerfile it
// refuses.
var ErrRefused = errors.New("capability Dockerfile refused")

// MaxSize bounds a capability Dockerfile (bytes).
const MaxSize = 256 << 10

// Step is one admitted instruction after the FROM.
type Step struct {
	// Line is the 1-based physical line the instruction starts on.
	Line int
	// Keyword is RUN, ENV, ARG, WORKDIR, USER or LABEL.
	Keyword string
	// Shell is a RUN's shell-form command (run with /bin/sh -c, unexpanded:
	// the shell expands it).
	Shell string
	// Exec is a RUN's exec-form argv (JSON array).
	Exec []string
	// Pairs are the ENV, ARG and LABEL settings; values are raw words,
	// see Expand.
	Pairs []Pair
	// Value is the raw operand of WORKDIR and USER, see Expand.
	Value string
}

// Pair is one key=value of ENV, ARG or LABEL. The value is a raw word
// (quotes and variables unprocessed); HasValue is false for "ARG name".
type Pair struct {
	Key, Value string
	HasValue   bool
}

// Refusal is one refused line.
type Refusal struct {
	Line   int    // 1-based
	Reason string // what is wrong and what to do instead
}

// RefusedError lists every refused instruction of a Dockerfile.
type RefusedError struct {
	Refusals []Refusal
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrRefused.Error())
	for _, r := range e.Refusals {
		if r.Line > 0 {
			fmt.Fprintf(&b, "; line %d: %s", r.Line, r.Reason)
		} else {
			fmt.Fprintf(&b, "; %s", r.Reason)
		}
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrRefused) match.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// File is an admitted capability Dockerfile.
type File struct {
	// FromLine is the 0-based physical line of the FROM.
	FromLine int
	// Steps are the instructions after the FROM, in order.
	Steps []Step
}

// Instruction is one logical instruction as the builder reads it.
type Instruction struct {
	Keyword     string // upper case
	Args        string // after the keyword, continuation lines joined
	First, Last int    // 0-based physical lines
}

var directiveRE = regexp.MustCompile(`^#[ \t]*([a-zA-Z][a-zA-Z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$`)

// Split splits df (already split into lines) into instructions, the way the
// builder does: parser directives first (only "# escape=" changes parsing;
// the others are returned as problems), then comment and empty lines
// skipped, lines ending in the escape character joined with the next
// (comment and empty lines inside a continuation dropped).
func Split(lines []string) (ins []Instruction, problems []Refusal) {
	escape := byte('\\')
	seen := map[string]bool{}
	for i, l := range lines {
		m := directiveRE.FindStringSubmatch(strings.TrimRight(l, " \t"))
		if m == nil {
			break
		}
		k := strings.ToLower(m[1])
		switch {
		case seen[k]:
			problems = append(problems, Refusal{i + 1, "parser directive " + k + " given twice"})
		case k == "escape" && (m[2] == "`" || m[2] == `\`):
			escape = m[2][0]
		case k == "escape":
			problems = append(problems, Refusal{i + 1, "escape must be \\ or `"})
		default:
			problems = append(problems, Refusal{i + 1, "parser directive " + strconv.Quote(m[1]) + ": the bottle runs no Dockerfile frontend; remove it"})
		}
		seen[k] = true
	}
	var cur *Instruction
	var text strings.Builder
	flush := func() {
		if cur != nil {
			s := strings.TrimLeft(text.String(), " \t")
			kw, rest := s, ""
			if j := strings.IndexAny(s, " \t"); j >= 0 {
				kw, rest = s[:j], s[j+1:]
			}
			if kw != "" {
				cur.Keyword = strings.ToUpper(kw)
				cur.Args = strings.TrimSpace(rest)
				ins = append(ins, *cur)
			}
		}
		cur = nil
		text.Reset()
	}
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t")
		if cur == nil && (strings.TrimSpace(t) == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if cur != nil && (strings.HasPrefix(t, "#") || strings.TrimSpace(t) == "") {
			cur.Last = i // skipped inside a continuation, as the builder does
			continue
		}
		if cur == nil {
			cur = &Instruction{First: i}
		}
		cur.Last = i
		r := strings.TrimRight(l, " \t")
		if r != "" && r[len(r)-1] == escape {
			text.WriteString(r[:len(r)-1])
			continue
		}
		text.WriteString(l)
		flush()
	}
	flush()
	return ins, problems
}

// Lines splits a Dockerfile into physical lines (CRLF or LF).
func Lines(df string) []string {
	return strings.Split(strings.ReplaceAll(df, "\r\n", "\n"), "\n")
}

var (
	heredocRE = regexp.MustCompile(`<<-?[ \t]*["']?[A-Za-z0-9_]`)
	keyRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
)

// Reasons for the instructions the bottle does not run.
const (
	reasonFetch   = "the engine itself fetches ADD and COPY sources (URLs, git repositories, other images) from the host's network, outside the bottle's proxies; download with RUN (curl and package managers go through egress and its allowlist)"
	reasonOnbuild = "ONBUILD queues instructions for a later build; write them as instructions here"
	reasonConfig  = "changes how the agent runs; the rebuilt agent keeps its configuration"
	reasonUnknown = "not an instruction a capability Dockerfile may use (FROM, RUN, ENV, ARG, WORKDIR, USER, LABEL)"
)

// Protected reports whether an ENV or ARG key is one the bottle sets for
// the agent (its proxies, CA trust, own settings): a capability Dockerfile
// may not change it.
func Protected(key string) bool {
	k := strings.ToUpper(key)
	return strings.Contains(k, "PROXY") || strings.HasPrefix(k, "CLAUDE_BOTTLE") ||
		strings.HasSuffix(k, "CA_BUNDLE") || strings.HasSuffix(k, "CA_CERTS") || strings.HasPrefix(k, "SSL_CERT") ||
		k == "GIT_SSL_CAINFO" || k == "GIT_CONFIG_GLOBAL" || k == "LD_PRELOAD" || k == "LD_LIBRARY_PATH"
}

// Parse admits df or returns a *RefusedError listing every refused line.
// ARG before the FROM is allowed (and ignored: the FROM is replaced by the
// bottle's current agent).
func Parse(df string) (*File, error) {
	if len(df) > MaxSize {
		return nil, &RefusedError{[]Refusal{{0, fmt.Sprintf("%d bytes; at most %d", len(df), MaxSize)}}}
	}
	if strings.ContainsRune(df, 0) {
		return nil, &RefusedError{[]Refusal{{0, "contains a NUL byte"}}}
	}
	ins, refused := Split(Lines(df))
	f := &File{FromLine: -1}
	for _, in := range ins {
		line := in.First + 1
		refuse := func(reason string) { refused = append(refused, Refusal{line, reason}) }
		if strings.HasPrefix(in.Args, "--") {
			refuse(in.Keyword + " with a flag (" + strconv.Quote(strings.Fields(in.Args)[0]) + "): flags change where and how the builder runs it; write the instruction without flags")
			continue
		}
		if in.Keyword != "RUN" && heredocRE.MatchString(in.Args) {
			refuse("heredoc: write the content with RUN printf or a shell heredoc inside one RUN line")
			continue
		}
		switch in.Keyword {
		case "FROM":
			switch {
			case f.FromLine >= 0:
				refuse("a second FROM; a capability Dockerfile adds to the current agent image in one stage")
			case in.First != in.Last:
				refuse("write FROM on one line")
			default:
				f.FromLine = in.First
			}
			continue
		case "ARG":
			ps, err := pairs(in.Args, true)
			for _, p := range ps { // before the FROM an ARG only feeds the FROM, which is replaced
				if err == nil && f.FromLine >= 0 && Protected(p.Key) {
					err = fmt.Errorf("ARG %s: the bottle sets it (proxies, CA trust, its own settings); a capability may not change it", p.Key)
				}
			}
			if err != nil {
				refuse(err.Error())
			} else if f.FromLine >= 0 {
				f.Steps = append(f.Steps, Step{Line: line, Keyword: "ARG", Pairs: ps})
			}
			continue
		}
		if f.FromLine < 0 {
			refuse("the first instruction must be FROM (the bottle's current agent image)")
			continue
		}
		switch in.Keyword {
		case "RUN":
			if in.Args == "" {
				refuse("RUN without a command")
				continue
			}
			if heredocRE.MatchString(in.Args) {
				refuse("RUN with a heredoc (<<WORD): the builder would read the lines after it as the heredoc's body; put the content in the RUN line (printf '...' > file)")
				continue
			}
			st := Step{Line: line, Keyword: "RUN"}
			var argv []string
			if strings.HasPrefix(in.Args, "[") && json.Unmarshal([]byte(in.Args), &argv) == nil {
				if len(argv) == 0 || argv[0] == "" {
					refuse("RUN with an empty exec form")
					continue
				}
				st.Exec = argv
			} else {
				st.Shell = in.Args
			}
			f.Steps = append(f.Steps, st)
		case "ENV", "LABEL":
			ps, err := pairs(in.Args, false)
			if err == nil && in.Keyword == "ENV" {
				for _, p := range ps {
					if Protected(p.Key) {
						err = fmt.Errorf("ENV %s: the bottle sets it (proxies, CA trust, its own settings); a capability may not change it", p.Key)
						break
					}
				}
			}
			if err == nil && in.Keyword == "LABEL" {
				for _, p := range ps {
					if strings.HasPrefix(strings.ToLower(p.Key), "dev.claude-bottle") {
						err = fmt.Errorf("LABEL %s: the dev.claude-bottle labels are the bottle's own", p.Key)
						break
					}
				}
			}
			if err != nil {
				refuse(err.Error())
				continue
			}
			f.Steps = append(f.Steps, Step{Line: line, Keyword: in.Keyword, Pairs: ps})
		case "WORKDIR", "USER":
			if in.Args == "" {
				refuse(in.Keyword + " without a value")
				continue
			}
			f.Steps = append(f.Steps, Step{Line: line, Keyword: in.Keyword, Value: in.Args})
		case "ADD", "COPY":
			refuse(in.Keyword + ": " + reasonFetch)
		case "ONBUILD":
			refuse(reasonOnbuild)
		case "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "EXPOSE", "MAINTAINER":
			refuse(in.Keyword + " " + reasonConfig)
		default:
			refuse(strconv.Quote(in.Keyword) + " is " + reasonUnknown)
		}
	}
	if f.FromLine < 0 && len(refused) == 0 {
		refused = append(refused, Refusal{0, "no FROM line"})
	}
	if len(refused) > 0 {
		return nil, &RefusedError{refused}
	}
	return f, nil
}

// pairs splits the operand of ENV, LABEL (key=value ..., or the legacy
// "key value") or ARG (name[=default] ...) into raw pairs.
func pairs(args string, arg bool) ([]Pair, error) {
	words, err := splitWords(args)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("no key")
	}
	if !arg && !strings.Contains(words[0], "=") {
		// Legacy form: the first word is the key, the rest of the line its value.
		k := words[0]
		rest := strings.TrimLeft(args[len(k):], " \t")
		if !keyRE.MatchString(k) {
			return nil, fmt.Errorf("key %q: letters, digits and _ only", k)
		}
		if rest == "" {
			return nil, fmt.Errorf("%s has no value", k)
		}
		return []Pair{{Key: k, Value: rest, HasValue: true}}, nil
	}
	var out []Pair
	for _, w := range words {
		k, v, has := strings.Cut(w, "=")
		if !arg && !has {
			return nil, fmt.Errorf("%q: write key=value", w)
		}
		if k, err = Expand(k, nil); err != nil {
			return nil, err
		}
		if !keyRE.MatchString(k) && !(labelRE.MatchString(k) && !arg && strings.Contains(k, ".")) {
			return nil, fmt.Errorf("key %q: letters, digits and _ only", k)
		}
		out = append(out, Pair{Key: k, Value: v, HasValue: has})
	}
	return out, nil
}

// splitWords splits s at unquoted blanks, keeping quotes and escapes in
// the words (Expand removes them).
func splitWords(s string) ([]string, error) {
	var out []string
	var w strings.Builder
	in := false
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == 0 && (c == ' ' || c == '\t'):
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
			continue
		case c == '\\' && q != '\'' && i+1 < len(s):
			w.WriteByte(c)
			i++
			c = s[i]
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q != 0 && c == q:
			q = 0
		}
		w.WriteByte(c)
		in = true
	}
	if q != 0 {
		return nil, errors.New("unterminated quote")
	}
	if in {
		out = append(out, w.String())
	}
	return out, nil
}

// Expand processes one raw word as the builder does for ENV, ARG, LABEL,
// WORKDIR and USER: quotes removed, \ escapes the next character, $NAME,
// ${NAME}, ${NAME:-word} and ${NAME:+word} replaced from lookup (nil: no
// variables). Inside single quotes nothing is expanded.
func Expand(word string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	var q byte
	for i := 0; i < len(word); i++ {
		c := word[i]
		switch {
		case c == '\\' && q != '\'' && i+1 < len(word):
			i++
			b.WriteByte(word[i])
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q != 0 && c == q:
			q = 0
		case c == '$' && q != '\'' && i+1 < len(word):
			n, err := expandVar(word[i+1:], lookup, &b)
			if err != nil {
				return "", err
			}
			i += n
		default:
			b.WriteByte(c)
		}
	}
	if q != 0 {
		return "", errors.New("unterminated quote")
	}
	return b.String(), nil
}

// expandVar expands the variable reference at the start of s (after the
// $), writes its value to b and returns how many bytes of s it used.
func expandVar(s string, lookup func(string) (string, bool), b *strings.Builder) (int, error) {
	get := func(name string) (string, bool) {
		if lookup == nil {
			return "", false
		}
		return lookup(name)
	}
	if s[0] != '{' {
		n := 0
		for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || n > 0 && s[n] >= '0' && s[n] <= '9') {
			n++
		}
		if n == 0 {
			b.WriteByte('$')
			return 0, nil
		}
		v, _ := get(s[:n])
		b.WriteString(v)
		return n, nil
	}
	end, depth := -1, 0
	for j := 1; j < len(s) && end < 0; j++ {
		switch {
		case s[j] == '\\':
			j++
		case s[j] == '{':
			depth++
		case s[j] == '}' && depth == 0:
			end = j
		case s[j] == '}':
			depth--
		}
	}
	if end < 0 {
		return 0, errors.New("${ without }")
	}
	body := s[1:end]
	name, mod := body, ""
	if j := strings.Index(body, ":"); j >= 0 {
		name, mod = body[:j], body[j:]
	}
	if !keyRE.MatchString(name) {
		return 0, fmt.Errorf("${%s}: only ${NAME}, ${NAME:-word} and ${NAME:+word}", body)
	}
	v, ok := get(name)
	switch {
	case mod == "":
		b.WriteString(v)
	case strings.HasPrefix(mod, ":-"):
		if ok && v != "" {
			b.WriteString(v)
		} else {
			w, err := Expand(mod[2:], lookup)
			if err != nil {
				return 0, err
			}
			b.WriteString(w)
		}
	case strings.HasPrefix(mod, ":+"):
		if ok && v != "" {
			w, err := Expand(mod[2:], lookup)
			if err != nil {
				return 0, err
			}
			b.WriteString(w)
		}
	default:
		return 0, fmt.Errorf("${%s}: only ${NAME}, ${NAME:-word} and ${NAME:+word}", body)
	}
	return end + 1, nil
}
