package dlp

import "strings"

// More readings for encodings an agent can pick to hide a secret from a
// byte-oriented scan: ASCII inside UTF-16, a decoded secret followed by
// binary bytes, a single-case token alphabet lower-cased, and base64
// wrapped at a short width. Each is one linear pass.

// minUTF16Run is the shortest UTF-16 run of printable ASCII worth reading
// (shorter runs cannot hold a secret of minKnownLen characters).
const minUTF16Run = 8

// UTF16Runs returns the runs of at least 8 printable ASCII characters
// encoded as UTF-16 (little- or big-endian) in s, one run per line, or ""
// when there are none. It lets a byte-oriented scan read UTF-16 text that
// sits inside an otherwise ASCII or binary file, where stripping every
// NUL of the whole file would not be worth its cost.
func UTF16Runs(s string) string {
	var b strings.Builder
	utf16Pass(&b, s, 0, 1) // little-endian: character, NUL
	utf16Pass(&b, s, 1, 0) // big-endian: NUL, character
	return b.String()
}

// utf16Pass appends to b the runs of printable characters at offset ch of
// each two-byte unit whose byte at offset nul is NUL.
func utf16Pass(b *strings.Builder, s string, ch, nul int) {
	for i := 0; i+1 < len(s); {
		j := i
		for j+1 < len(s) && printable[s[j+ch]] && s[j+nul] == 0 {
			j += 2
		}
		if (j-i)/2 >= minUTF16Run {
			for k := i; k < j; k += 2 {
				b.WriteByte(s[k+ch])
			}
			b.WriteByte('\n')
		}
		if j > i {
			i = j
		} else {
			i++
		}
	}
}

// minDecodedIsland is the shortest printable run read from a decoded view
// that is mostly binary (a secret encoded together with binary bytes).
const minDecodedIsland = 8

// decodedText returns the text of a decoded (base64, hex, base32) reading
// the rules should see: NULs removed (UTF-16 text decoded from base64, as
// in UTF-7) and, when the rest is still mostly binary, its printable runs
// of at least minDecodedIsland bytes, one per line. ok is false when
// nothing textual is left.
func decodedText(s string) (string, bool) {
	nul := strings.Count(s, "\x00")
	if countIn(s, &printTab)*10 >= (len(s)-nul)*9 {
		if nul > 0 {
			s = strings.ReplaceAll(s, "\x00", "")
		}
		return s, true
	}
	if nul == 0 {
		isl := islands(s, minDecodedIsland)
		return isl, isl != ""
	}
	// The islands of s with its NULs removed: runs of printable bytes and
	// NULs holding at least minDecodedIsland printable bytes.
	var b strings.Builder
	eachRun(s, printableOrNUL, minDecodedIsland, func(run string) bool {
		if k := len(run) - strings.Count(run, "\x00"); k >= minDecodedIsland {
			b.WriteString(strings.ReplaceAll(run, "\x00", ""))
			b.WriteByte('\n')
		}
		return false
	})
	return b.String(), b.Len() > 0
}

var printableOrNUL = makeSet(func(c byte) bool { return c == 0 || printable[c] })

// islands returns the runs of at least min printable ASCII bytes (or
// whitespace) of s, one per line.
func islands(s string, min int) string {
	var b strings.Builder
	eachRun(s, printable, min, func(run string) bool {
		b.WriteString(run)
		b.WriteByte('\n')
		return false
	})
	return b.String()
}

// awsLowerPrefixes are the AWS access key id prefixes checked lower-cased.
var awsLowerPrefixes = []string{"akia", "asia", "abia", "acca"}

// awsLower finds an AWS access key id written lower-case: its alphabet
// is A-Z and 2-7, so lower-casing loses nothing and the key still works
// once upper-cased again. It wants the prefix and exactly 16 characters of
// [a-z2-7], all lower-case, standing alone (no letter or digit on either
// side), so ordinary lower-case words do not match. It checks text[i:];
// prefixPass calls it at every "a" its prefix set stops at.
func (r *ruleScan) awsLower(text string, i int) {
	if i > 0 && isAlnum(text[i-1]) {
		return
	}
	for _, p := range awsLowerPrefixes {
		if !strings.HasPrefix(text[i:], p) {
			continue
		}
		off := i + len(p)
		j := off
		for j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] >= '2' && text[j] <= '7') {
			j++
		}
		if j-off != 16 || j < len(text) && isAlnum(text[j]) {
			return
		}
		r.hit("aws-access-token")
		return
	}
}

// shortWrapped calls fn with the join of each block of base64 wrapped at a
// width under 40 (the wrapped-run join in eachB64Run starts at 40): two or
// more consecutive lines that are, after trimming spaces, wholly base64,
// all of one width of at least 8 but the last, which is no wider.
func shortWrapped(s string, fn func(string) bool) bool {
	var joined []byte
	width, lines := 0, 0
	closed := false
	flush := func() bool {
		stop := false
		if lines >= 2 && len(joined) >= minB64Run {
			stop = fn(string(joined))
		}
		joined, width, lines, closed = joined[:0], 0, 0, false
		return stop
	}
	for rest := s; rest != ""; {
		line := rest
		if k := strings.IndexByte(rest, '\n'); k >= 0 {
			line, rest = rest[:k], rest[k+1:]
		} else {
			rest = ""
		}
		line = strings.TrimSpace(line)
		whole := line != ""
		for i := 0; i < len(line) && whole; i++ {
			whole = isB64[line[i]]
		}
		switch {
		case !whole:
			if flush() {
				return true
			}
			continue
		case lines == 0 || closed:
			if flush() {
				return true
			}
			if len(line) < 8 || len(line) >= 40 {
				continue
			}
			width = len(line)
		case len(line) > width:
			if flush() {
				return true
			}
			if len(line) < 8 || len(line) >= 40 {
				continue
			}
			width = len(line)
		case len(line) < width:
			closed = true // the last line of the block
		}
		joined = append(joined, line...)
		lines++
	}
	return flush()
}

// minSpacedGroups is how many space-separated groups of four make a
// spaced base64 run (spacedB64): 24 characters, 18 bytes decoded.
const minSpacedGroups = 6

// spacedB64 calls fn with the join of each run of base64 written in
// groups of four separated by single spaces ("Q0FO QVJZ OWYz"), the last
// group possibly shorter, at least minSpacedGroups long. Prose of
// four-letter words has the shape too: a run is joined only when a
// group holds a digit, + or /, or a capital after its first letter.
// Only the spaces are looked at, a few table lookups each.
func spacedB64(s string, fn func(string) bool) bool {
	var joined []byte
	group := func(k int) bool {
		return k+4 <= len(s) && isB64[s[k]] && isB64[s[k+1]] && isB64[s[k+2]] && isB64[s[k+3]] && (k+4 == len(s) || !isB64[s[k+4]])
	}
	for p := 0; p+20 < len(s); p++ {
		// Cheap test first, in a tight loop: a run of minSpacedGroups
		// groups has spaces at p, p+5, ... p+20 (the first group before
		// p or after it), looked for eight positions at a time, then
		// byte by byte. Prose of four-letter words seldom has five.
		for p+28 <= len(s) && spaceBytes(load64(s, p))&spaceBytes(load64(s, p+5))&spaceBytes(load64(s, p+10))&
			spaceBytes(load64(s, p+15))&spaceBytes(load64(s, p+20)) == 0 {
			p += 8
		}
		for p+20 < len(s) && spaceTab[s[p]]&spaceTab[s[p+5]]&spaceTab[s[p+10]]&spaceTab[s[p+15]]&spaceTab[s[p+20]] == 0 {
			p++
		}
		if p+20 >= len(s) || !group(p+1) {
			continue
		}
		// A group stands between the spaces; the run starts there or at
		// a group standing just before the first space.
		start := p + 1
		if p >= 4 && group(p-4) && (p == 4 || !isB64[s[p-5]]) {
			start = p - 4
		}
		k, n, mixed := start, 0, false
		joined = joined[:0]
		for {
			for g := k; g < k+4; g++ {
				c := s[g]
				mixed = mixed || c >= '0' && c <= '9' || c == '+' || c == '/' || g > k && c >= 'A' && c <= 'Z'
			}
			joined = append(joined, s[k:k+4]...)
			n++
			k += 4
			if k+1 < len(s) && s[k] == ' ' && group(k+1) {
				k++
				continue
			}
			if k+1 < len(s) && s[k] == ' ' { // a shorter last group
				m := k + 1
				for m < len(s) && m-k-1 < 4 && isB64[s[m]] {
					m++
				}
				if m > k+1 && (m == len(s) || !isB64[s[m]]) {
					joined = append(joined, s[k+1:m]...)
					k = m
				}
			}
			break
		}
		if n >= minSpacedGroups && mixed && fn(string(joined)) {
			return true
		}
		p = k - 1
	}
	return false
}

var spaceTab = countTable(func(c byte) bool { return c == ' ' })

// load64 is s[i:i+8] as a little-endian word.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// spaceBytes has the high bit of each byte of w that is a space set, and
// no other bit.
func spaceBytes(w uint64) uint64 {
	const lo7, spaces = 0x7f7f7f7f7f7f7f7f, 0x2020202020202020
	t := w ^ spaces
	return ^((t&lo7 + lo7) | t | lo7)
}
