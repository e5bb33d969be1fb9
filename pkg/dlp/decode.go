package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
)

// Encodings a finding can be reported under.
const (
	EncRaw      = "raw"
	EncURL      = "url-encoded"
	EncBase64   = "base64"
	EncHex      = "hex"
	EncReversed = "reversed"
)

const (
	// maxURLDecode bounds repeated percent-decoding (%2525… chains).
	maxURLDecode = 4
	// minRun is the shortest base64/hex run worth decoding: shorter runs
	// cannot hold a secret of minKnownLen bytes.
	minB64Run = 12
	minHexRun = 16
	// maxNest bounds base64-in-base64 (and hex-in-base64) decoding.
	maxNest = 2
)

// view is one reading of a text.
type view struct {
	enc  string
	text string
}

// views calls emit with every reading of s: s itself, its repeated
// percent-decodings, and the decoded base64 (standard and URL alphabets,
// padded or not, at every alignment) and hex runs inside each of those,
// nested up to maxNest levels. emit returning true stops the walk.
func views(s string, emit func(view) bool) {
	seen := map[string]bool{s: true}
	cur := s
	readings := []view{{EncRaw, s}}
	for range maxURLDecode {
		if !strings.Contains(cur, "%") && !strings.Contains(cur, "+") {
			break
		}
		next, err := url.QueryUnescape(cur)
		if err != nil {
			next, err = url.PathUnescape(cur)
		}
		if err != nil || next == cur || seen[next] {
			break
		}
		seen[next] = true
		readings = append(readings, view{EncURL, next})
		cur = next
	}
	for _, v := range readings {
		if emit(v) || decodedRuns(v.text, 0, emit) {
			return
		}
	}
}

func decodedRuns(s string, depth int, emit func(view) bool) bool {
	if depth >= maxNest {
		return false
	}
	stop := false
	eachRun(s, isB64, minB64Run, func(run string) bool {
		for _, d := range decodeB64(run) {
			// Only text can hold another encoding layer; binary noise from
			// decoding an ordinary identifier is checked once, not recursed.
			if emit(view{EncBase64, d}) || halfText(d) && decodedRuns(d, depth+1, emit) {
				stop = true
				return true
			}
		}
		return false
	})
	if stop {
		return true
	}
	eachRun(s, isHex, minHexRun, func(run string) bool {
		for off := 0; off < 2 && off < len(run); off++ {
			r := run[off:]
			r = r[:len(r)/2*2]
			b, err := hex.DecodeString(r)
			if err != nil || len(b) < minKnownLen {
				continue
			}
			if emit(view{EncHex, string(b)}) || halfText(string(b)) && decodedRuns(string(b), depth+1, emit) {
				stop = true
				return true
			}
		}
		return false
	})
	return stop
}

// byteSet is a lookup table: the hot loops index it instead of calling a
// predicate per byte.
type byteSet [256]bool

func makeSet(pred func(byte) bool) *byteSet {
	var s byteSet
	for c := 0; c < 256; c++ {
		s[c] = pred(byte(c))
	}
	return &s
}

var (
	isB64 = makeSet(func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
	})
	isHex = makeSet(func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	})
)

// eachRun calls fn with every maximal run of bytes in set, at least min long.
func eachRun(s string, set *byteSet, min int, fn func(string) bool) {
	for i := 0; i < len(s); {
		if !set[s[i]] {
			i++
			continue
		}
		start := i
		for i < len(s) && set[s[i]] {
			i++
		}
		if i-start >= min && fn(s[start:i]) {
			return
		}
	}
}

// decodeB64 decodes a base64 run at each of the four alignments (a secret
// encoded after a prefix the attacker dropped), in whichever alphabet the
// run's characters allow, with or without padding.
func decodeB64(run string) []string {
	run = strings.TrimRight(run, "=")
	if strings.Contains(run, "=") { // '=' inside: several runs glued together
		var out []string
		for _, part := range strings.Split(run, "=") {
			if len(part) >= minB64Run {
				out = append(out, decodeB64(part)...)
			}
		}
		return out
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(run, "-_") {
		if strings.ContainsAny(run, "+/") {
			return nil // mixed alphabets: not base64
		}
		enc = base64.RawURLEncoding
	}
	var out []string
	for off := 0; off < 4 && off < len(run); off++ {
		r := run[off:]
		if len(r)%4 == 1 {
			r = r[:len(r)-1]
		}
		b, err := enc.DecodeString(r)
		if err != nil || len(b) < minKnownLen {
			continue
		}
		out = append(out, string(b))
	}
	return out
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// halfText reports whether at least half of s is printable ASCII: enough to
// be worth decoding again (a misaligned prefix decodes to a few bytes of
// noise in front of the text).
func halfText(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			n++
		}
	}
	return n*2 >= len(s)
}
