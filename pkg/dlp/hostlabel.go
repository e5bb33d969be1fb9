package dlp

// Host labels: which long labels are names and which carry data.

// minHexLabel is the shortest all-hex host label read as data: a SHA-1's
// length. Shorter hex labels name things (a 32-digit account id of a
// storage endpoint); a data channel under a wildcard writes up to 63.
const minHexLabel = 40

// hexDataLabel reports whether a host label is hex data: minHexLabel hex
// digits or more, digits and letters mixed.
func hexDataLabel(l string) bool {
	if len(l) < minHexLabel {
		return false
	}
	digits, letters := 0, 0
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letters++
		default:
			return false
		}
	}
	return digits > 0 && letters > 0
}

// wordyLabel reports whether a host label is words joined by dashes
// ("my-company-build-artifacts-eu-west-1",
// "github-production-release-asset-2e65be"): three parts or more, every
// part a short run of letters with a vowel (with one or two digits after
// it: a region), of at most four digits, or of at most eight hex digits (a
// short hash in a name), and most parts
// words. Such a name has the letter entropy of prose spread over many
// distinct letters, which a label's length alone pushes over the entropy
// bar; data encoded in a label (base32, base64, hex) does not split into
// words.
func wordyLabel(l string) bool {
	parts, words, start := 0, 0, 0
	for i := 0; i <= len(l); i++ {
		if i < len(l) && l[i] != '-' {
			continue
		}
		w, ok := wordyPart(l[start:i])
		if !ok {
			return false
		}
		parts++
		words += b2i(w)
		start = i + 1
	}
	return parts >= 3 && words*2 > parts
}

// wordyPart reports whether a part of a label may stand in a name, and
// whether it is a word.
func wordyPart(p string) (word, ok bool) {
	if p == "" || len(p) > 12 {
		return false, false
	}
	digits, vowels, hexes := 0, 0, 0
	for i := 0; i < len(p); i++ {
		c := lowerASCII[p[i]]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y':
			vowels++
		case c < 'a' || c > 'z':
			return false, false
		}
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			hexes++
		}
	}
	switch {
	case digits == len(p):
		return false, digits <= 4
	case digits > 0 && digits <= 2 && len(p)-digits >= 2 && vowels > 0 && trailingDigits(p) == digits:
		// A word numbered at its end: a cloud region ("central1",
		// "northeast1", "east5").
		return true, true
	case digits > 0:
		return false, hexes == len(p) && len(p) <= 8
	}
	return true, vowels > 0 && (len(p) <= 3 || vowels*5 >= len(p))
}

// trailingDigits is the number of digits p ends with.
func trailingDigits(p string) int {
	n := 0
	for n < len(p) && p[len(p)-1-n] >= '0' && p[len(p)-1-n] <= '9' {
		n++
	}
	return n
}
