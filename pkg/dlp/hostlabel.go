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

// wordyName reports whether a path segment is a name made of words
// ("us.anthropic.claude-sonnet-4-20250514-v1:0", a model id;
// "arn:aws:bedrock:us-east-1:123456789012:inference-profile"): three
// parts or more between the separators - . _ : ~ + @ /, every part a word
// (a short run of letters with a vowel, perhaps numbered: "east1"; or
// CamelCase words: "streamRawPredict"), a
// number of at most four digits, a version ("v1", "v12"), a date
// (YYYYMMDD), a short hex hash (≤ 8), or one 12-digit account number per
// name; at least two words, and words at least half of the parts that
// are not short numbers. Such names spread many distinct
// characters over a long segment, which alone pushes it over the entropy
// bar; a random token does not split into words, and data spelled as
// words carries a few bits a word.
func wordyName(seg string) bool {
	parts, words, numbers, accounts, start := 0, 0, 0, 0, 0
	for i := 0; i <= len(seg); i++ {
		if i < len(seg) && !nameSep(seg[i]) {
			continue
		}
		p := seg[start:i]
		start = i + 1
		if p == "" {
			continue
		}
		parts++
		if len(p) <= 4 && allDigits(p) {
			numbers++
			continue
		}
		if w, ok := wordyPart(p); ok {
			words += b2i(w)
			continue
		}
		if camelWords(p) {
			words++
			continue
		}
		switch {
		case versionPart(p), datePart(p):
		case len(p) == 12 && allDigits(p) && accounts == 0:
			accounts++
		default:
			return false
		}
	}
	return parts >= 3 && words >= 2 && words*2 >= parts-numbers
}

func nameSep(c byte) bool {
	return c == '-' || c == '.' || c == '_' || c == ':' || c == '~' || c == '+' || c == '@' || c == '/'
}

// versionPart: "v1", "V2", "v123".
func versionPart(p string) bool {
	return len(p) >= 2 && len(p) <= 4 && (p[0] == 'v' || p[0] == 'V') && allDigits(p[1:])
}

// datePart: eight digits starting 19 or 20 (YYYYMMDD).
func datePart(p string) bool {
	return len(p) == 8 && allDigits(p) && (p[:2] == "19" || p[:2] == "20")
}

func allDigits(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return p != ""
}

// camelWords reports whether p is letters only, up to 40, in CamelCase
// words ("streamRawPredict", "GetObject"), each a word of wordyPart.
func camelWords(p string) bool {
	if len(p) > 40 {
		return false
	}
	start, n := 0, 0
	for i := 1; i <= len(p); i++ {
		if i < len(p) && !(p[i] >= 'A' && p[i] <= 'Z') {
			continue
		}
		w, ok := wordyPart(p[start:i])
		if !ok || !w {
			return false
		}
		n++
		start = i
	}
	return n >= 2
}
