package manifest

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// lineIndex maps key paths to the source lines that define them. BurntSushi/toml
// keeps key positions private, so a light scanner of the source recovers them:
// table headers, array-of-table headers (with their index), key assignments and
// the keys of inline tables. It only feeds error messages, so a key it cannot
// place simply gets no line number.
type lineIndex struct {
	indexed map[string]int   // egress.routes[1].host -> line
	plain   map[string][]int // egress.routes.host -> lines, in order
}

var inlineKeyRE = regexp.MustCompile(`([A-Za-z0-9_-]+)\s*=`)

func indexLines(data []byte) lineIndex {
	idx := lineIndex{indexed: map[string]int{}, plain: map[string][]int{}}
	counts := map[string]int{} // array table -> entries seen
	prefix, plainPrefix := "", ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(stripComment(sc.Text()))
		switch {
		case line == "":
		case strings.HasPrefix(line, "[["):
			name := unquoteKey(strings.TrimSpace(strings.Trim(line, "[]")))
			counts[name]++
			plainPrefix = name
			prefix = fmt.Sprintf("%s[%d]", name, counts[name]-1)
			idx.add(prefix, plainPrefix, n)
		case strings.HasPrefix(line, "["):
			name := unquoteKey(strings.TrimSpace(strings.Trim(line, "[]")))
			plainPrefix = name
			prefix = name
			// A sub-table of the current array-of-tables entry.
			for arr, c := range counts {
				if strings.HasPrefix(name, arr+".") {
					prefix = fmt.Sprintf("%s[%d]%s", arr, c-1, strings.TrimPrefix(name, arr))
				}
			}
			idx.add(prefix, plainPrefix, n)
		default:
			k, rest, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			key := unquoteKey(strings.TrimSpace(k))
			full, plain := join(prefix, key), join(plainPrefix, key)
			idx.add(full, plain, n)
			rest = strings.TrimSpace(rest)
			if strings.HasPrefix(rest, "{") {
				for _, m := range inlineKeyRE.FindAllStringSubmatch(rest, -1) {
					idx.add(full+"."+m[1], plain+"."+m[1], n)
				}
			}
		}
	}
	return idx
}

func (l lineIndex) add(indexed, plain string, n int) {
	if _, ok := l.indexed[indexed]; !ok {
		l.indexed[indexed] = n
	}
	l.plain[plain] = append(l.plain[plain], n)
}

// line returns the line of an indexed key path, falling back to its parent.
func (l lineIndex) line(path string) int {
	for p := path; p != ""; {
		if n, ok := l.indexed[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return 0
		}
		p = p[:i]
	}
	return 0
}

// first returns the first line of a key path without array indices.
func (l lineIndex) first(plain string) int {
	if ns := l.plain[plain]; len(ns) > 0 {
		return ns[0]
	}
	return 0
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func unquoteKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// stripComment removes a trailing # comment outside of quoted strings.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return s[:i]
		}
	}
	return s
}
