package dlp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// Fingerprint identifies a known secret without revealing it.
type Fingerprint = secretfp.Fingerprint

// minKnownLen: shorter values would match ordinary text by accident.
const minKnownLen = secretfp.MinLen

// FingerprintOf computes the fingerprint of a secret value.
func FingerprintOf(name, value string) (Fingerprint, error) { return secretfp.Of(name, value) }

type known struct {
	name  string
	roll  uint64
	sum   [32]byte
	token bool
}

// knownSet finds known secrets as substrings of a text: one Rabin-Karp pass
// per distinct secret length, each candidate confirmed by SHA-256.
type knownSet struct {
	// byLen holds the secrets that may contain any byte, tokLen those made
	// of token bytes only (found inside runs of token bytes).
	byLen      map[int][]known
	tokLen     map[int][]known
	pow        map[int]uint64 // rollBase^(n-1) per length
	lengths    []int
	tokLengths []int
}

func newKnownSet(fps []Fingerprint) (*knownSet, error) {
	ks := &knownSet{byLen: map[int][]known{}, tokLen: map[int][]known{}, pow: map[int]uint64{}}
	var errs []error
	for i, fp := range fps {
		var k known
		k.name = fp.Name
		k.token = fp.Token
		if fp.Length < minKnownLen {
			errs = append(errs, fmt.Errorf("known secret %d (%s): length %d is below %d", i, fp.Name, fp.Length, minKnownLen))
			continue
		}
		if _, err := fmt.Sscanf(fp.Roll, "%x", &k.roll); err != nil {
			errs = append(errs, fmt.Errorf("known secret %d (%s): roll: %w", i, fp.Name, err))
			continue
		}
		b, err := hex.DecodeString(fp.SHA256)
		if err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("known secret %d (%s): sha256 must be 64 hex digits", i, fp.Name))
			continue
		}
		copy(k.sum[:], b)
		if _, ok := ks.pow[fp.Length]; !ok {
			pow := uint64(1)
			for i := 1; i < fp.Length; i++ {
				pow *= rollBase
			}
			ks.pow[fp.Length] = pow
		}
		if k.token {
			if _, ok := ks.tokLen[fp.Length]; !ok {
				ks.tokLengths = append(ks.tokLengths, fp.Length)
			}
			ks.tokLen[fp.Length] = append(ks.tokLen[fp.Length], k)
			continue
		}
		if _, ok := ks.byLen[fp.Length]; !ok {
			ks.lengths = append(ks.lengths, fp.Length)
		}
		ks.byLen[fp.Length] = append(ks.byLen[fp.Length], k)
	}
	return ks, errors.Join(errs...)
}

const rollBase = secretfp.RollBase

func rollHash(s string) uint64 { return secretfp.Roll(s) }

// find returns the names of known secrets occurring in text.
func (ks *knownSet) find(text string) []string {
	if ks == nil {
		return nil
	}
	var out []string
	for _, n := range ks.lengths {
		out = ks.scanRun(out, text, n, ks.byLen[n])
	}
	if len(ks.tokLengths) == 0 {
		return out
	}
	// Token secrets can only sit inside a run of token bytes at least as
	// long as they are: skip everything else.
	for i := 0; i < len(text); {
		if !tokenSet[text[i]] {
			i++
			continue
		}
		start := i
		for i < len(text) && tokenSet[text[i]] {
			i++
		}
		if run := text[start:i]; len(run) >= secretfp.MinLen {
			for _, n := range ks.tokLengths {
				if len(run) >= n {
					out = ks.scanRun(out, run, n, ks.tokLen[n])
				}
			}
		}
	}
	return out
}

// scanRun finds secrets of length n among cands in text (Rabin-Karp).
func (ks *knownSet) scanRun(out []string, text string, n int, cands []known) []string {
	if len(text) < n {
		return out
	}
	pow := ks.pow[n] // removes the outgoing byte
	h := rollHash(text[:n])
	for i := 0; ; i++ {
		for _, k := range cands {
			if h == k.roll {
				sum := sha256.Sum256([]byte(text[i : i+n]))
				if subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1 {
					out = appendOnce(out, k.name)
				}
			}
		}
		if i+n >= len(text) {
			return out
		}
		h = (h-uint64(text[i])*pow)*rollBase + uint64(text[i+n])
	}
}

var tokenSet = makeSet(secretfp.IsTokenByte)

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// any reports whether the set holds a secret at all.
func (ks *knownSet) any() bool { return ks != nil && (len(ks.lengths) > 0 || len(ks.tokLengths) > 0) }
