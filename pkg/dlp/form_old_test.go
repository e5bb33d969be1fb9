package dlp

// The form and decoding paths as they were before their fast versions:
// the reference the fast versions must agree with exactly
// (TestFormTextMatchesOld, TestDecodedRunsMatchOld, FuzzFormDecodeMatchesOld).

import (
	"encoding/hex"
	"strings"
)

// oldFormText is formText through FormFields, a string per field.
func oldFormText(body string) string {
	var b strings.Builder
	b.Grow(len(body) + 16)
	FormFields(body, func(name, value string) {
		b.WriteString(name)
		b.WriteByte('\n')
		b.WriteString(value)
		b.WriteByte('\n')
	})
	return b.String()
}

// oldDecodedRuns is decodedRuns without the b64RunMayHoldASCII filter.
func oldDecodedRuns(s string, depth int, exact bool, emit func(view) bool) bool {
	if depth >= maxNest {
		return false
	}
	stop := false
	inner := func(enc, d string) bool {
		if emit(view{enc, d}) || halfText(d) && oldDecodedRuns(d, depth+1, exact, emit) {
			stop = true
			return true
		}
		if !halfText(d) && holdsText(d) {
			if isl := islands(d, minDecodedIsland); isl != "" && oldDecodedRuns(isl, depth+1, exact, emit) {
				stop = true
				return true
			}
		}
		if halfText(d) && escapeReadings(d, func(_, e string) bool {
			return emit(view{enc, e}) || halfText(e) && oldDecodedRuns(e, depth+1, exact, emit)
		}) {
			stop = true
			return true
		}
		return false
	}
	eachB64Run(s, func(b64 string) bool {
		if eachB64Decoding(b64, exact, func(d string) bool { return inner(EncBase64, d) }) {
			return true
		}
		if len(b64) < minHexRun {
			return false
		}
		eachRun(b64, isHex, minHexRun, func(run string) bool {
			if !exact && len(run) >= minWindowed {
				for off := 0; off < 2; off++ {
					if d := windowedHex(run[off:]); d != "" && inner(EncHex, d) {
						return true
					}
				}
				return false
			}
			for off := 0; off < 2 && off < len(run); off++ {
				r := run[off:]
				r = r[:len(r)/2*2]
				if !exact && !hexMayHoldASCII(r) {
					continue
				}
				b, err := hex.DecodeString(r)
				if err != nil || len(b) < minKnownLen || !exact && !holdsText(b) {
					continue
				}
				if inner(EncHex, string(b)) {
					return true
				}
			}
			return false
		})
		if !stop && len(b64) >= 24 {
			cut := strings.HasPrefix(s, b64[:min(len(b64), 8)])
			stop = base32Runs(b64, cut, func(d string) bool { return (exact || holdsText(d)) && inner(EncBase32, d) })
		}
		return stop
	})
	return stop
}
