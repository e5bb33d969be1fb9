package dlp

import (
	"hash/maphash"
	"slices"
	"strings"
)

// Readings of a text written as a list of its bytes, as equal chunks of
// an encoding, or as code that glues string literals together. Each is
// one linear pass over the text and is emitted only when the text has
// the shape it undoes.

// Encodings of these readings.
const (
	EncByteList  = "byte-list"
	EncChunked   = "chunked"
	EncConcat    = "concatenated"
	EncLinesJoin = "lines-joined"
)

// minListBytes is the fewest numbers a byte list holds: shorter lists
// (dates, versions, coordinates) are not worth a reading.
const minListBytes = 12

// byteLists returns the text written as lists of byte values — decimal
// numbers 0–255 separated by one separator repeated ("103,104,112",
// "[103, 104, 112]", String.fromCharCode(103,104…)), or groups of eight
// binary digits ("01100111 01101000") — each list decoded on a line of
// its own, when it decodes to mostly printable text.
func byteLists(s string) (string, bool) {
	var out []byte
	var buf []byte
	// A list of minListBytes numbers with a separator between each two
	// is a run of at least 2*minListBytes-1 digits and separators: only
	// such runs are read (eachLongRun probes one byte in that many).
	eachLongRun(s, numListSet, 2*minListBytes-1, func(lo, hi int) bool {
		out = byteListsIn(s, lo, hi, out, &buf)
		return false
	})
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

var numListSet = makeSet(func(c byte) bool { return isDigit(c) || c == ',' || c == ' ' || c == ';' })

// byteListsIn is byteLists for the lists starting in s[lo:hi] (a list
// never leaves the run it starts in).
func byteListsIn(s string, lo, hi int, out []byte, bufp *[]byte) []byte {
	for i := lo; i < hi; {
		c := s[i]
		if !isDigit(c) || i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.') {
			i++
			continue
		}
		buf := (*bufp)[:0]
		// The first number and the separator after it fix the list's
		// shape; binary groups are tried first (they are decimal too).
		end, ok := binaryList(s[:hi], i, &buf)
		if !ok {
			end, ok = decimalList(s[:hi], i, &buf)
		}
		if ok && len(buf) >= minListBytes && countIn(string(buf), &printTab)*10 >= len(buf)*9 {
			out = append(out, buf...)
			out = append(out, '\n')
		}
		*bufp = buf
		i = max(end, i+1)
	}
	return out
}

// decimalList reads decimal numbers 0–255 from s[i], separated by the
// separator that follows the first (one or two bytes of ", ;"), into buf;
// it returns where the list ends.
func decimalList(s string, i int, buf *[]byte) (int, bool) {
	var sep string
	for {
		v, j := 0, i
		for j < len(s) && j-i < 4 && isDigit(s[j]) {
			v = v*10 + int(s[j]-'0')
			j++
		}
		if j == i || j-i > 3 || v > 255 || j < len(s) && (isAlnum(s[j]) || s[j] == '.') {
			return i, len(*buf) > 0
		}
		*buf = append(*buf, byte(v))
		if sep == "" {
			k := j
			for k < len(s) && k-j < 2 && (s[k] == ',' || s[k] == ' ' || s[k] == ';') {
				k++
			}
			if k == j || k >= len(s) || !isDigit(s[k]) {
				return j, true
			}
			sep = s[j:k]
		}
		if !strings.HasPrefix(s[j:], sep) || j+len(sep) >= len(s) || !isDigit(s[j+len(sep)]) {
			return j, true
		}
		i = j + len(sep)
	}
}

// binaryList reads groups of eight binary digits from s[i], separated by
// one space or by nothing, into buf.
func binaryList(s string, i int, buf *[]byte) (int, bool) {
	for {
		if i+8 > len(s) {
			return i, len(*buf) > 0
		}
		v := 0
		for k := i; k < i+8; k++ {
			if s[k] != '0' && s[k] != '1' {
				return i, len(*buf) > 0
			}
			v = v<<1 | int(s[k]-'0')
		}
		*buf = append(*buf, byte(v))
		i += 8
		if i < len(s) && s[i] == ' ' && i+1 < len(s) && (s[i+1] == '0' || s[i+1] == '1') {
			i++
		}
	}
}

// minChunks is the fewest equal chunks chunkedRuns joins.
const minChunks = 3

// chunkedRuns returns the runs of equal chunks of an encoding's
// alphabet (base64 and its subsets), each of 4 to 76 bytes, separated by
// one separator byte from ".:,;|" repeated ("Z2hw.X0Fi.Y2Rl…"), the last
// chunk possibly shorter, joined on a line of their own: an encoding cut
// into pieces so that no run is long enough to decode. Domain names and
// dotted versions have chunks of unequal length.
func chunkedRuns(s string) (string, bool) {
	var out []byte
	// Three chunks of four and their separators make a run of at least
	// 14 bytes of the alphabet and the separators: only such runs are
	// read (the words, quotes and spaces of text and code cut most runs
	// short).
	eachLongRun(s, chunkRunSet, 14, func(lo, hi int) bool {
		// Most long runs are one encoding or word with no separator in
		// it (looked for with IndexByte, a vector search).
		for k := 0; k < len(chunkSeps); k++ {
			if strings.IndexByte(s[lo:hi], chunkSeps[k]) >= 0 {
				out = chunkedRunsIn(s[:hi], lo, out)
				break
			}
		}
		return false
	})
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

var chunkRunSet = makeSet(func(c byte) bool { return isB64[c] || chunkSep[c] })

// chunkedRunsIn is chunkedRuns for the runs starting in s[lo:].
func chunkedRunsIn(s string, lo int, out []byte) []byte {
	for i := lo; i < len(s); {
		// A chunk: a run of base64 bytes ending at a separator.
		j := i
		for j < len(s) && isB64[s[j]] {
			j++
		}
		n := j - i
		if n < 4 || n > 76 || j >= len(s) || !chunkSep[s[j]] || i > 0 && isB64[s[i-1]] {
			i = max(j, i+1)
			continue
		}
		sep := s[j]
		k, chunks := j, 1
		for k < len(s) && s[k] == sep {
			m := k + 1
			for m < len(s) && isB64[s[m]] {
				m++
			}
			if m-(k+1) != n {
				if m-(k+1) > 0 && m-(k+1) < n && (m == len(s) || s[m] != sep) {
					chunks++ // a shorter last chunk
					k = m
				}
				break
			}
			chunks++
			k = m
		}
		if chunks >= minChunks {
			for p := i; p < k; p++ {
				if s[p] != sep {
					out = append(out, s[p])
				}
			}
			out = append(out, '\n')
		}
		i = max(k, j+1)
	}
	return out
}

const chunkSeps = ".:,;|"

var chunkSep = makeSet(func(c byte) bool { return strings.IndexByte(chunkSeps, c) >= 0 })

// concatLiterals returns s with string literals that code glues together
// joined: a closing quote, an operator of concatenation ('+', '.', "..",
// "||", '&') between spaces, and an opening quote of the same kind are
// removed ("ghp_Zk8q" + "Xv9L…", 'sk_li' . 've_…'); quotes escaped with
// a backslash (a literal inside a JSON string) count too. The operators
// are found with IndexByte (a vector search) and each is looked at for
// quotes around it: text full of quotes (a JSON reading) costs no more.
func concatLiterals(s string) (string, bool) {
	if strings.IndexByte(s, '"') < 0 && strings.IndexByte(s, '\'') < 0 {
		return "", false
	}
	var cuts [][2]int // [from, to) to remove, unordered
	for _, op := range []byte{'+', '.', '|', '&'} {
		for i := strings.IndexByte(s, op); i >= 0; {
			from, to, ok := concatAt(s, i)
			if ok {
				cuts = append(cuts, [2]int{from, to})
			}
			next := strings.IndexByte(s[max(i+1, to):], op)
			if next < 0 {
				break
			}
			i = max(i+1, to) + next
		}
	}
	if len(cuts) == 0 {
		return "", false
	}
	slices.SortFunc(cuts, func(a, b [2]int) int { return a[0] - b[0] })
	var b []byte
	last := 0
	for _, c := range cuts {
		if c[0] < last {
			continue
		}
		b = append(b, s[last:c[0]]...)
		last = c[1]
	}
	return string(append(b, s[last:]...)), true
}

// concatAt checks for a join around the operator at s[i]: it returns
// the span from the closing quote to past the opening one.
func concatAt(s string, i int) (from, to int, ok bool) {
	j := i + 1
	if j < len(s) && (s[i] == '.' || s[i] == '|') && s[j] == s[i] {
		j++ // ".." or "||"
	} else if s[i] == '|' {
		return 0, 0, false
	}
	k := i
	for k > 0 && i-k < 8 && s[k-1] == ' ' {
		k--
	}
	if k == 0 || s[k-1] != '"' && s[k-1] != '\'' {
		return 0, 0, false
	}
	q := s[k-1]
	from = k - 1
	esc := from > 0 && s[from-1] == '\\'
	if esc {
		from--
	}
	if from == 0 || s[from-1] == q {
		return 0, 0, false // an empty literal, or the text starts with its quote
	}
	for j < len(s) && j-i < 16 && s[j] == ' ' {
		j++
	}
	if esc {
		if j >= len(s) || s[j] != '\\' {
			return 0, 0, false
		}
		j++
	}
	if j >= len(s) || s[j] != q {
		return 0, 0, false
	}
	return from, j + 1, true
}

// joinedLines returns the runs of three or more consecutive short lines
// that are each one token (up to 64 bytes of token characters, nothing
// else), 12 bytes or more in all, each run joined on a line of its own: a
// token written a piece a line.
func joinedLines(s string) (string, bool) {
	var out []byte
	runStart, runLines := -1, 0
	// singles: the run so far is one byte a line (fold -w1): it goes on
	// while its lines do, and is joined once it holds 12 bytes.
	singles := true
	var run []byte
	flush := func() {
		// A column of digits (a one-digit-a-line table) joined would
		// be a long number: one-byte runs need a letter.
		if runLines >= 3 && len(run) >= 12 && (!singles || hasLetter(run)) {
			out = append(out, run...)
			out = append(out, '\n')
		}
		run, runLines, runStart, singles = run[:0], 0, -1, true
	}
	for i := 0; i < len(s); {
		e := strings.IndexByte(s[i:], '\n')
		if e < 0 {
			e = len(s)
		} else {
			e += i
		}
		line := s[i:e]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		// One byte a line is the key lines of a JSON reading and the
		// like; a piece is two bytes or more (the last one excepted).
		ok := len(line) >= 2 && len(line) <= 64 || len(line) == 1 && (runLines >= 2 || singles)
		for k := 0; ok && k < len(line); k++ {
			ok = setWord[line[k]] || line[k] == '+' || line[k] == '/' || line[k] == '='
		}
		switch {
		case ok && len(line) == 1 && singles:
			if runStart < 0 {
				runStart = i
			}
			run = append(run, line...)
			runLines++
		case ok && len(line) == 1:
			run = append(run, line...) // a short last piece ends the run
			runLines++
			flush()
		case ok:
			if singles && runLines > 0 {
				// One-byte lines, then a longer one: the run of
				// them ends (joined if long enough) and this line
				// starts its own, as it did before one-byte runs
				// were read (a token starting here keeps its
				// boundary).
				flush()
			}
			if runStart < 0 {
				runStart = i
			}
			run = append(run, line...)
			runLines++
			singles = false
		default:
			flush()
		}
		i = e + 1
	}
	flush()
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

// pieceReadings calls read with each reading of s that puts pieces
// together (byteLists, chunkedRuns, concatLiterals, joinedLines) until
// it returns true.
func pieceReadings(s string, read func(view) bool) bool {
	if d, ok := byteLists(s); ok && read(view{EncByteList, d}) {
		return true
	}
	if d, ok := chunkedRuns(s); ok && read(view{EncChunked, d}) {
		return true
	}
	if d, ok := concatLiterals(s); ok && read(view{EncConcat, d}) {
		return true
	}
	if d, ok := joinedLines(s); ok && read(view{EncLinesJoin, d}) {
		return true
	}
	return false
}

// joinedReading reports whether a reading puts separate values together
// (a JSON body's sibling values, a query's or form's repeated fields, equal chunks, glued literals, short
// lines): the entropy rule does not read it — ids, names and hashes run
// together look random without being a credential — while the token
// formats, known secrets and the other rules do.
func joinedReading(part, enc string) bool {
	return part == PartJSONJoined || part == PartRepeatedJoined || enc == EncChunked || enc == EncConcat || enc == EncLinesJoin
}

// PartRepeatedJoined is the part of the findings in the values of a
// query's or a form's repeated fields read joined (repeatedJoined).
const PartRepeatedJoined = "repeated fields, joined"

// repeatedJoined returns, for each field name that a query string or form
// body repeats ("p=ghp_Wq7L…&p=…&p=…"), its values concatenated in order
// on a line of their own (at most 64 values of at most 256 bytes each),
// or "" when no name repeats: a token split over repeated fields.
func repeatedJoined(query string) string {
	if strings.IndexByte(query, '&') < 0 {
		return ""
	}
	// First the names alone (unescaped as FormFields does): a query or
	// form whose names are all distinct (most) costs a lookup per field,
	// and its values are not unescaped.
	// The names are told apart by a hash: two names of one hash are
	// taken for a repeat, and the fields are then read whole below,
	// where only a name read twice gives a line (none: "").
	seed := maphash.MakeSeed()
	seen := make(map[uint64]struct{}, min(strings.Count(query, "&")+1, 1<<14))
	repeats := false
	for field := range strings.SplitSeq(query, "&") {
		if field == "" {
			continue
		}
		name, _, _ := strings.Cut(field, "=")
		h := maphash.String(seed, formUnescape(name))
		if _, ok := seen[h]; ok {
			repeats = true
			break
		}
		seen[h] = struct{}{}
	}
	if !repeats {
		return ""
	}
	type field struct {
		vals []string
		n    int
	}
	var order []string
	byName := map[string]*field{}
	FormFields(query, func(name, value string) {
		if len(byName) >= 256 {
			return
		}
		f := byName[name]
		if f == nil {
			f = &field{}
			byName[name] = f
			order = append(order, name)
		}
		if f.n++; f.n <= 64 && len(value) <= 256 {
			f.vals = append(f.vals, value)
		}
	})
	var b strings.Builder
	for _, name := range order {
		if f := byName[name]; len(f.vals) >= 2 {
			for _, v := range f.vals {
				b.WriteString(v)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// scanJoined scans values read joined (a JSON body's sibling values, a
// query's repeated fields) as they stand: known secrets, forwards and
// reversed, the token formats, and payment and wallet data.
// Each value was read on its own, through every decoding, already; the
// join is for the pieces of one token, and is not decoded again.
// ScanJoined scans text written by a JSONJoiner, as ScanBody reads a JSON
// body's joined values (part PartJSONJoined).
func (s *Scanner) ScanJoined(text string) []Finding {
	var c collector
	s.scanJoined(&c, PartJSONJoined, text)
	return c.out
}

func (s *Scanner) scanJoined(c *collector, part, text string) {
	if s.scanJoinedAs(c, part, EncRaw, text) {
		return
	}
	// A list of numbers (a JSON array of char codes) is read as bytes.
	if d, ok := byteLists(text); ok {
		s.scanJoinedAs(c, part, EncByteList, d)
	}
}

func (s *Scanner) scanJoinedAs(c *collector, part, enc, text string) bool {
	found, reversed := s.known.findBoth(text, true, s.known.any())
	for _, name := range found {
		if c.add(Finding{Rule: "known-secret", Known: name, Part: part, Encoding: enc}) {
			return true
		}
	}
	for _, name := range reversed {
		if c.add(Finding{Rule: "known-secret", Known: name, Part: part, Encoding: EncReversed}) {
			return true
		}
	}
	if !s.builtin {
		return false
	}
	// Of the rules, those whose findings a join makes: a token's format
	// (its pieces in sibling values), payment and wallet data (groups,
	// words). Names and structure are read in the values themselves.
	// The filter list (triples.go) gives the prefix pass its places, the
	// forward prefixes and the reversed ones, in one walk of the text.
	tri := tripleTabs().listFor(text)
	defer tri.release()
	r := &ruleScan{s: s, c: c, part: part, enc: enc, tri: tri}
	r.prefixPass(text)
	if !r.stop {
		r.financialPass(text)
	}
	return r.stop
}

// hasLetter reports whether b holds an ASCII letter.
func hasLetter(b []byte) bool {
	for _, c := range b {
		if c|0x20 >= 'a' && c|0x20 <= 'z' {
			return true
		}
	}
	return false
}
