package pipelock

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// jsonView walks a JSON document token by token and writes every key and
// every scalar, one "key = value" line each, with JSON escapes undone. A
// map-based decoder keeps only the last of duplicate keys, so
// {"k":"<secret>","k":"x"} would hide the secret; the token walk keeps
// them all. It also returns each string value with the key it sits under,
// for the split-secret window. ok is false when body is not JSON.
func jsonView(body []byte, emit func(key, value string)) (string, bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' && trimmed[0] != '[' {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var b strings.Builder
	b.Grow(len(body))
	// stack of container kinds: true = object; expectKey tracks the
	// position inside the innermost object.
	var stack []bool
	expectKey := false
	key := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return b.String(), b.Len() > 0
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, true)
				expectKey = true
			case '[':
				stack = append(stack, false)
				expectKey = false
			default:
				stack = stack[:len(stack)-1]
				expectKey = len(stack) > 0 && stack[len(stack)-1]
			}
			continue
		case string:
			if expectKey {
				key = t
				b.WriteString(t)
				b.WriteByte('\n')
				expectKey = false
				continue
			}
			b.WriteString(key)
			b.WriteString(" = ")
			b.WriteString(strconv.Quote(t))
			b.WriteByte('\n')
			if emit != nil {
				emit(key, t)
			}
		case json.Number:
			b.WriteString(key)
			b.WriteString(" = ")
			b.WriteString(t.String())
			b.WriteByte('\n')
		}
		expectKey = len(stack) > 0 && stack[len(stack)-1]
	}
	return b.String(), true
}
