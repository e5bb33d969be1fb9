package dlp

// The JSON sibling join as it was before its bulk writes (jsonflat.go):
// the reference TestFlattenJSONJoinMatchesOld and
// FuzzFlattenJSONJoinMatchesOld hold the fast version to, byte for byte,
// in all three readings it writes.

import (
	"strings"
	"unsafe"
)

// oldFlattenJSONJoin is flattenJSONJoin as it was before its bulk writes; it is flattenJSON that also writes to joined (when not
// nil) the values of each run of short sibling values (jsonJoin), and to
// all (when not nil) each run of short keys and values in document order
// whatever the nesting. They are separate readings: a mnemonic is told
// from the text's own words by their appearing nowhere else in its
// reading.
func oldFlattenJSONJoin(b *strings.Builder, s string, onlyEscaped bool, joined, all *strings.Builder) {
	key := ""
	keyEsc := false
	// jn joins sibling values (a run ends where an object or array
	// closes); ja joins every key and value in the order they are
	// written, whatever the nesting (pieces in keys, in keys and values
	// alternately, in sibling objects of an array).
	var jn, ja oldJSONJoin
	write := func(key, val string, quoted, esc bool) {
		if joined != nil && val != "" {
			jn.add(joined, val)
			if all != nil {
				ja.add(all, val)
			}
		}
		// A secret-named key is written with its value even when
		// nothing was unescaped: in the raw text they may stand apart
		// (spaces, line breaks around the colon) further than the
		// field rule looks.
		if !onlyEscaped || esc || keyEsc || key != "" && secretNameCores().any(key) {
			writeJSONLine(b, key, val, quoted)
		}
	}
	// Decoded strings are written into kb, reused: a value is copied out
	// by write at once; a key, which outlives the next string, is cloned.
	var kb []byte
	if joined != nil {
		defer jn.flush(joined)
	}
	if all != nil {
		defer ja.flush(all)
	}
	// prev is the last structural byte: a scalar follows : , or [, or
	// stands at the top level (a body that is one number, or a sequence
	// of values), where prev is ','.
	prev := byte(',')
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c == ':' || c == ',' || c == '[' || c == '{' || c == '}' || c == ']' {
			prev = c
			switch c {
			case '{', '[':
				depth++
			case '}', ']':
				depth = max(0, depth-1)
				if depth == 0 {
					prev = ','
				}
			}
			if len(jn.ends) > 0 && (c == '}' || c == ']') {
				jn.flush(joined)
			}
		}
		switch {
		case c == '"':
			// A string without escapes is its own text (no copy); one
			// with escapes is decoded.
			var str string
			var j int
			esc, decoded := false, false
			if q := strings.IndexByte(s[i+1:], '"'); q >= 0 && strings.IndexByte(s[i+1:i+1+q], '\\') < 0 {
				str, j = s[i+1:i+1+q], i+2+q
			} else {
				kb, j = appendJSONString(kb[:0], s, i+1)
				str = unsafe.String(unsafe.SliceData(kb), len(kb))
				esc = strings.IndexByte(s[i+1:j], '\\') >= 0
				decoded = true
			}
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
				k++
			}
			if k < len(s) && s[k] == ':' {
				if decoded {
					str = strings.Clone(str)
				}
				key, keyEsc = str, esc
				if all != nil && key != "" {
					ja.add(all, key)
				}
				i = k + 1
				prev = ':'
				// A key whose value is not a string or scalar still
				// appears on its own line.
				m := i
				for m < len(s) && (s[m] == ' ' || s[m] == '\t' || s[m] == '\n' || s[m] == '\r') {
					m++
				}
				if m < len(s) && (s[m] == '{' || s[m] == '[') {
					write(key, "", false, false)
				}
				continue
			}
			write(key, str, true, esc)
			i = j
			prev = 0
			if depth == 0 {
				prev = ',' // a value at the top level: another may follow
			}
		case (c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n') && (prev == ':' || prev == ',' || prev == '['):
			j := i
			for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\n' && s[j] != '\r' && s[j] != '\t' && s[j] != '"' {
				j++
			}
			write(key, s[i:j], false, false)
			i = j
			prev = 0
			if depth == 0 {
				prev = ',' // a value at the top level: another may follow
			}
			if i < len(s) && s[i] == '"' {
				continue
			}
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ':' && c != ',' && c != '[' && c != '{' && c != '}' && c != ']' {
				prev = 0
			}
			i++
		}
	}
}

// oldJSONJoin gathers a run of sibling values — the elements of an array,
// the values of one object — each at most maxJoinValue bytes, and writes
// them joined on a line: a secret split over array elements or fields
// ({"a":"ghp_Zk8q","b":"Xv9L…"}, ["AKIA","Z7Q3",…], a char array) is
// whole there. Values that are all words or all numbers (a seed phrase
// as an array of words, a card as four groups, char codes) are joined by
// spaces, any others (single characters too) concatenated.
type oldJSONJoin struct {
	buf  []byte // the values gathered, back to back (a value may be a view of the decoder's reused buffer: it is copied)
	ends []int  // where each value ends in buf
}

func (j *oldJSONJoin) add(out JoinWriter, v string) {
	if v == "" {
		j.flush(out)
		return
	}
	if len(v) > maxJoinValue {
		if len(j.ends) > 0 {
			j.push(v[:min(len(v), maxJoinEnd)])
			j.flush(out)
		}
		j.push(v[max(0, len(v)-maxJoinEnd):])
		return
	}
	if len(j.buf)+len(v) > maxJoinBytes {
		// Cut the run; its last values (up to maxJoinEnd bytes) lead
		// the next.
		k := len(j.ends)
		for k > 0 && len(j.buf)-j.start(k-1) <= maxJoinEnd {
			k--
		}
		from := len(j.buf)
		if k < len(j.ends) {
			from = j.start(k)
		}
		carry := append([]byte(nil), j.buf[from:]...)
		var ends []int
		for _, e := range j.ends[k:] {
			ends = append(ends, e-from)
		}
		j.flush(out)
		j.buf = append(j.buf, carry...)
		j.ends = append(j.ends, ends...)
	}
	j.push(v)
}

// start is where value k begins in buf.
func (j *oldJSONJoin) start(k int) int {
	if k == 0 {
		return 0
	}
	return j.ends[k-1]
}

func (j *oldJSONJoin) push(v string) {
	j.buf = append(j.buf, v...)
	j.ends = append(j.ends, len(j.buf))
}

// each calls f with each value gathered.
func (j *oldJSONJoin) each(f func(k int, v string) bool) {
	start := 0
	for k, end := range j.ends {
		if !f(k, unsafe.String(unsafe.SliceData(j.buf[start:end]), end-start)) {
			return
		}
		start = end
	}
}

func (j *oldJSONJoin) flush(out JoinWriter) {
	if len(j.ends) >= 2 {
		plain := true
		j.each(func(_ int, v string) bool {
			plain = len(v) >= 3 && countIn(v, &letterTab) == len(v) || len(v) >= 2 && countIn(v, &digitTab) == len(v)
			return plain
		})
		split := false
		j.each(func(k int, v string) bool {
			if k > 0 && plain {
				out.WriteByte(' ')
			}
			split = split || k > 0 && !plain && startsTokenPrefix(unsafe.String(unsafe.SliceData(j.buf[j.start(k):]), len(j.buf)-j.start(k)))
			out.WriteString(v)
			return true
		})
		out.WriteByte('\n')
		if split {
			// A value before a token's pieces ("x", "ghp_Zk8q", "Xv9L…")
			// glues to its prefix, which a token wants at a boundary:
			// the run again, a space before each value a prefix starts.
			j.each(func(k int, v string) bool {
				if k > 0 && startsTokenPrefix(unsafe.String(unsafe.SliceData(j.buf[j.start(k):]), len(j.buf)-j.start(k))) {
					out.WriteByte(' ')
				}
				out.WriteString(v)
				return true
			})
			out.WriteByte('\n')
		}
	}
	j.buf, j.ends = j.buf[:0], j.ends[:0]
}
