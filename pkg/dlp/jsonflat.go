package dlp

import (
	"io"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// flattenJSONText reads JSON (leniently: it never fails, invalid input
// reads as far as it goes) and writes one line per string or scalar value,
// "key = "value"" with JSON escapes undone, plus keys of objects and
// arrays on their own line. Unlike decoding into a map it keeps every
// duplicate key (`{"k":"secret","k":"x"}` yields both), costs one pass
// with no per-value allocation beyond the output, and does not recurse,
// so nesting depth costs nothing.
func flattenJSONText(b *strings.Builder, s string) { flattenJSON(b, s, false) }

// flattenJSON is flattenJSONText; onlyEscaped writes only the lines whose
// key or value had a JSON escape undone (for text whose raw form is read
// too, the other lines are that raw text again).
func flattenJSON(b *strings.Builder, s string, onlyEscaped bool) {
	flattenJSONJoin(b, s, onlyEscaped, nil, nil)
}

// flattenJSONJoin is flattenJSON that also writes to joined (when not
// nil) the values of each run of short sibling values (jsonJoin), and to
// all (when not nil) each run of short keys and values in document order
// whatever the nesting. They are separate readings: a mnemonic is told
// from the text's own words by their appearing nowhere else in its
// reading.
func flattenJSONJoin(b *strings.Builder, s string, onlyEscaped bool, joined, all *joinBuf) {
	escapedFrom := len(s) + 1
	if onlyEscaped {
		escapedFrom = 0
	}
	flattenJSONJoinFrom(b, s, escapedFrom, joined, all)
}

// flattenJSONJoinFrom is flattenJSONJoin writing every line for the
// values that start before escapedFrom, and only the lines whose key or
// value had an escape undone (or whose key is a secret name) for the
// others: JSON lines cut short are read raw from near where their values
// end, their view whole before it.
func flattenJSONJoinFrom(b *strings.Builder, s string, escapedFrom int, joined, all *joinBuf) {
	at := 0 // where the value being written starts
	key := ""
	keyEsc := false
	// jn joins sibling values (a run ends where an object or array
	// closes); ja joins every key and value in the order they are
	// written, whatever the nesting (pieces in keys, in keys and values
	// alternately, in sibling objects of an array).
	var jn jsonJoin
	ja := jsonJoin{dense: true}
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
		if at < escapedFrom || esc || keyEsc || key != "" && secretNameCores().any(key) {
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
					at = i
					write(key, "", false, false)
				}
				continue
			}
			at = i
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
			at = i
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

func writeJSONLine(b *strings.Builder, key, val string, quoted bool) {
	if key != "" {
		b.WriteString(key)
		if val == "" && !quoted {
			b.WriteByte('\n')
			return
		}
		b.WriteString(" = ")
	}
	if quoted {
		b.WriteByte('"')
		// The stretches without a byte to escape are written whole.
		for i := 0; i < len(val); {
			j := untilIn(val, jsonLineEscTab, i)
			b.WriteString(val[i:j])
			if j == len(val) {
				break
			}
			switch c := val[j]; c {
			case '\\':
				// A backslash escape written inside the value (a JSON
				// string holding "\\u0041…") stays one, for the escape
				// reading to undo; any other backslash is escaped.
				if backslashEscapeAt(val, j) == 0 {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			case '"':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			}
			i = j + 1
		}
		b.WriteByte('"')
	} else {
		b.WriteString(val)
	}
	b.WriteByte('\n')
}

// jsonLineEscTab marks the bytes writeJSONLine escapes in a value.
var jsonLineEscTab = makeSet(func(c byte) bool { return c == '"' || c == '\\' || c == '\n' || c == '\r' })

// appendJSONString decodes the string body starting at s[i] (after the
// opening quote), appends it to b and returns b and the index after the
// closing quote.
// Newlines inside the value are kept as real newlines so multi-line
// secrets (PEM blocks) read as they would in a file.
func appendJSONString(b []byte, s string, i int) ([]byte, int) {
	for i < len(s) {
		// The stretch up to the next quote or backslash is written whole.
		j := untilIn(s, jsonStrStopTab, i)
		if j > i {
			b = append(b, s[i:j]...)
			i = j
			if i == len(s) {
				break
			}
		}
		c := s[i]
		switch {
		case c == '"':
			return b, i + 1
		case c == '\\' && i+1 < len(s):
			e := s[i+1]
			i += 2
			switch e {
			case 'n':
				b = append(b, '\n')
			case 't':
				b = append(b, '\t')
			case 'r':
				b = append(b, '\r')
			case 'b', 'f':
			case 'u':
				if i+4 <= len(s) {
					r, ok := hex4(s[i : i+4])
					if ok {
						i += 4
						if utf16.IsSurrogate(r) && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
							if r2, ok2 := hex4(s[i+2 : i+6]); ok2 {
								r = utf16.DecodeRune(r, r2)
								i += 6
							}
						}
						b = utf8.AppendRune(b, r)
						continue
					}
				}
				b = append(b, `\u`...)
			default:
				b = append(b, e)
			}
		default:
			b = append(b, c)
			i++
		}
	}
	return b, i
}

// jsonStrStopTab marks the bytes where appendJSONString's plain stretches end.
var jsonStrStopTab = makeSet(func(c byte) bool { return c == '"' || c == '\\' })

func hex4(s string) (rune, bool) {
	var r rune
	for i := 0; i < 4; i++ {
		if !isHex[s[i]] {
			return 0, false
		}
		r = r<<4 | rune(unhex(s[i]))
	}
	return r, true
}

// jsonJoin gathers a run of sibling values — the elements of an array,
// the values of one object — each at most maxJoinValue bytes, and writes
// them joined on a line: a secret split over array elements or fields
// ({"a":"ghp_Zk8q","b":"Xv9L…"}, ["AKIA","Z7Q3",…], a char array) is
// whole there. Values that are all words or all numbers (a seed phrase
// as an array of words, a card as four groups, char codes) are joined by
// spaces, any others (single characters too) concatenated.
type jsonJoin struct {
	buf  []byte // the values gathered, back to back (a value may be a view of the decoder's reused buffer: it is copied)
	ends []int  // where each value ends in buf
	// mixed: a value gathered is neither a word nor a number (plainValue),
	// so the run is written concatenated.
	mixed bool
	// dense: the run reads keys and values alike (the document-order
	// reading), so a value is nearly always followed within its run.
	dense bool
}

// plainValue reports whether v is a word (three letters or more) or a
// number (two digits or more): a run of such values only is written
// joined by spaces.
func plainValue(v string) bool {
	return len(v) >= 3 && countIn(v, &letterTab) == len(v) || len(v) >= 2 && countIn(v, &digitTab) == len(v)
}

const (
	maxJoinValue = 32
	maxJoinBytes = 2048
)

// maxJoinEnd is how much of a value over maxJoinValue joins the runs
// beside it (its head ends the run before, its tail starts the next),
// and how much of a run cut at maxJoinBytes leads the next: a secret
// split with one piece longer than maxJoinValue, or astride the end of
// a run, is whole on one line. It is longer than any secret a rule
// reads.
const maxJoinEnd = 160

func (j *jsonJoin) add(out JoinWriter, v string) {
	if v == "" {
		j.flush(out)
		return
	}
	// A value longer than maxJoinValue ends the run with its head and
	// starts the next with its tail, so that a run stays a few short
	// pieces. But one not longer than its head and tail together, not a
	// word nor a number, in a run already begun, joins the run whole
	// instead: the line it would have ended (the run, then its head) and
	// the one it would have started (its tail, then what follows) are
	// both within the one it continues, written concatenated as they
	// were (each held that value, which is not plain), so every stretch
	// they held is still whole, and the value is read once rather than
	// in two overlapping pieces (a hash or a sentence in every object of
	// an array doubled the joined readings). A value up to maxJoinEnd
	// long is its head and its tail; a longer one is joined whole only
	// where a value nearly always follows it (dense), since a run it
	// ends would have been written with its head alone.
	whole := maxJoinEnd
	if j.dense {
		whole = 2 * maxJoinEnd
	}
	if len(v) > maxJoinValue && (len(v) > whole || len(j.ends) == 0 || plainValue(v)) {
		if len(j.ends) > 0 {
			j.push(v[:min(len(v), maxJoinEnd)])
			j.flush(out)
		}
		j.push(v[max(0, len(v)-maxJoinEnd):])
		return
	}
	if len(j.buf)+len(v) > maxJoinBytes {
		// Cut the run; its last values (up to maxJoinEnd bytes) lead
		// the next: whole ones; in a run written concatenated, its last
		// maxJoinEnd bytes, the first value cut, unless that piece
		// alone would turn a run of words or numbers (written joined by
		// spaces) into one written concatenated.
		k := len(j.ends)
		for k > 0 && len(j.buf)-j.start(k-1) <= maxJoinEnd {
			k--
		}
		from := len(j.buf)
		if k < len(j.ends) {
			from = j.start(k)
		}
		if j.mixed && len(j.buf) > maxJoinEnd && k > 0 && j.ends[k-1] > len(j.buf)-maxJoinEnd {
			cut := len(j.buf) - maxJoinEnd
			piece := unsafe.String(unsafe.SliceData(j.buf[cut:j.ends[k-1]]), j.ends[k-1]-cut)
			rest := true
			for i := k; i < len(j.ends) && rest; i++ {
				rest = plainValue(unsafe.String(unsafe.SliceData(j.buf[j.start(i):j.ends[i]]), j.ends[i]-j.start(i)))
			}
			if plainValue(piece) || !rest || k == len(j.ends) {
				from, k = cut, k-1
			}
		}
		carry := append([]byte(nil), j.buf[from:]...)
		var ends []int
		for _, e := range j.ends[k:] {
			ends = append(ends, e-from)
		}
		j.flush(out)
		j.buf = append(j.buf, carry...)
		j.ends = append(j.ends, ends...)
		j.each(func(_ int, c string) bool {
			j.mixed = j.mixed || !plainValue(c)
			return !j.mixed
		})
	}
	j.push(v)
}

// start is where value k begins in buf.
func (j *jsonJoin) start(k int) int {
	if k == 0 {
		return 0
	}
	return j.ends[k-1]
}

func (j *jsonJoin) push(v string) {
	j.buf = append(j.buf, v...)
	j.ends = append(j.ends, len(j.buf))
	j.mixed = j.mixed || !plainValue(v)
}

var letterTab = countTable(func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' })

// each calls f with each value gathered.
func (j *jsonJoin) each(f func(k int, v string) bool) {
	start := 0
	for k, end := range j.ends {
		if !f(k, unsafe.String(unsafe.SliceData(j.buf[start:end]), end-start)) {
			return
		}
		start = end
	}
}

func (j *jsonJoin) flush(out JoinWriter) {
	if len(j.ends) >= 2 {
		if !j.mixed {
			j.each(func(k int, v string) bool {
				if k > 0 {
					out.WriteByte(' ')
				}
				out.WriteString(v)
				return true
			})
			out.WriteByte('\n')
		} else {
			// The values back to back, as they are in buf: one write.
			n := len(j.buf)
			j.buf = append(j.buf, '\n')
			out.WriteString(unsafe.String(unsafe.SliceData(j.buf), len(j.buf)))
			j.buf = j.buf[:n]
			split := false
			for _, e := range j.ends[:len(j.ends)-1] {
				if startsTokenPrefix(unsafe.String(unsafe.SliceData(j.buf[e:]), n-e)) {
					split = true
					break
				}
			}
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
	}
	j.buf, j.ends, j.mixed = j.buf[:0], j.ends[:0], false
}

// joinBuf is the text a jsonJoin writes for ScanBody, gathered in
// chunks and put together once, at its exact size, when it is read. A
// strings.Builder grown by appends (by a quarter at a time once large)
// cost four or five times the text in garbage, and doubling its room
// instead would leave up to twice the text in room: the scanner's
// working memory is budgeted per scanned byte (pipelock's scanFactor).
type joinBuf struct {
	full [][]byte // the chunks filled
	cur  []byte   // the chunk being filled
	n    int      // bytes written
	// whole is the text put together, once read (String).
	whole string
}

// joinChunk bounds a chunk: at most that much room is unused at the end.
const joinChunk = 64 << 10

func (w *joinBuf) WriteString(s string) (int, error) {
	n := len(s)
	for len(s) > 0 {
		if len(w.cur) == cap(w.cur) {
			w.next()
		}
		k := copy(w.cur[len(w.cur):cap(w.cur)], s)
		w.cur = w.cur[:len(w.cur)+k]
		s = s[k:]
	}
	w.n += n
	return n, nil
}

func (w *joinBuf) WriteByte(c byte) error {
	if len(w.cur) == cap(w.cur) {
		w.next()
	}
	w.cur = append(w.cur, c)
	w.n++
	return nil
}

// next starts a chunk, twice the last one's size up to joinChunk.
func (w *joinBuf) next() {
	if cap(w.cur) > 0 {
		w.full = append(w.full, w.cur)
	}
	w.cur = make([]byte, 0, min(max(2*cap(w.cur), 1<<10), joinChunk))
}

func (w *joinBuf) Len() int { return w.n }

// String is the text written, in one piece (the chunks are put together
// at the first call and let go); nothing is written after it is read.
func (w *joinBuf) String() string {
	if len(w.full) > 0 {
		var b strings.Builder
		b.Grow(w.n)
		for _, c := range w.full {
			b.Write(c)
		}
		b.Write(w.cur)
		w.full, w.cur, w.whole = nil, nil, b.String()
	}
	if w.whole != "" {
		return w.whole
	}
	return unsafe.String(unsafe.SliceData(w.cur), len(w.cur))
}

// JoinWriter is where a JSONJoiner writes its lines.
type JoinWriter interface {
	io.StringWriter
	io.ByteWriter
}

// JSONJoiner reads a JSON document's short values joined as ScanBody
// does (flattenJSONJoin), for a walk of the document of the caller's
// own: the walk gives it each key and value and each end of an object or
// array, and it writes to joined the runs of sibling values and to all
// the runs of keys and values in document order. Both are read with
// Scanner.ScanJoined, each on its own.
type JSONJoiner struct {
	jn, ja      jsonJoin
	joined, all JoinWriter
}

func NewJSONJoiner(joined, all JoinWriter) *JSONJoiner {
	return &JSONJoiner{joined: joined, all: all, ja: jsonJoin{dense: true}}
}

// Key takes an object's key.
func (j *JSONJoiner) Key(k string) {
	if k != "" {
		j.ja.add(j.all, k)
	}
}

// Value takes a string or scalar value (a string with its escapes undone).
func (j *JSONJoiner) Value(v string) {
	if v != "" {
		j.jn.add(j.joined, v)
		j.ja.add(j.all, v)
	}
}

// Close takes the end of an object or array: a run of siblings ends.
func (j *JSONJoiner) Close() {
	if len(j.jn.ends) > 0 {
		j.jn.flush(j.joined)
	}
}

// Flush writes what is gathered: the document has ended.
func (j *JSONJoiner) Flush() {
	j.jn.flush(j.joined)
	j.ja.flush(j.all)
}

// tokenPrefixes are the prefixes of the provider token rules by their
// first byte, built when the package loads: a join's flush looks them up
// at every value (a deep document's keys are thousands of one-byte
// values a run).
var tokenPrefixes = func() *[256][]string {
	var t [256][]string
	for _, r := range prefixRules {
		if r.prefix != "" && !slices.Contains(t[r.prefix[0]], r.prefix) {
			t[r.prefix[0]] = append(t[r.prefix[0]], r.prefix)
		}
	}
	return &t
}()

// startsTokenPrefix reports whether s starts with a provider token's
// prefix.
func startsTokenPrefix(s string) bool {
	if s == "" {
		return false
	}
	for _, p := range tokenPrefixes[s[0]] {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
