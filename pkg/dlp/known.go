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
	// anyGroups and tokGroups are byLen and tokLen by length.
	anyGroups, tokGroups []lenGroup
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
	ks.anyGroups = ks.groups(ks.lengths, ks.byLen)
	ks.tokGroups = ks.groups(ks.tokLengths, ks.tokLen)
	return ks, errors.Join(errs...)
}

const rollBase = secretfp.RollBase

func rollHash(s string) uint64 { return secretfp.Roll(s) }

// lenGroup is the secrets of one length.
type lenGroup struct {
	n     int
	powN  uint64 // rollBase^n: removes the byte leaving the window
	cands []known
}

// groups returns the secrets of the given lengths, grouped by length.
func (ks *knownSet) groups(lengths []int, by map[int][]known) []lenGroup {
	gs := make([]lenGroup, 0, len(lengths))
	for _, n := range lengths {
		gs = append(gs, lenGroup{n: n, powN: ks.pow[n] * rollBase, cands: by[n]})
	}
	return gs
}

// find returns the names of known secrets occurring in text.
func (ks *knownSet) find(text string) []string {
	if ks == nil {
		return nil
	}
	var out []string
	out = scanGroups(out, text, ks.anyGroups)
	if len(ks.tokGroups) == 0 {
		return out
	}
	// Token secrets can only sit inside a run of token bytes at least as
	// long as they are: skip everything else.
	eachRun(text, tokenSet, secretfp.MinLen, func(run string) bool {
		out = scanGroups(out, run, ks.tokGroups)
		return false
	})
	return out
}

// scanGroups runs Rabin-Karp for every length of gs over text, up to four
// lengths in one pass (their rolling hashes are independent, so the CPU
// updates them side by side).
func scanGroups(out []string, text string, gs []lenGroup) []string {
	for len(gs) > 0 {
		k := min(len(gs), 4)
		out = scan4(out, text, gs[:k])
		gs = gs[k:]
	}
	return out
}

func scan4(out []string, text string, gs []lenGroup) []string {
	var (
		h    [4]uint64
		pw   [4]uint64
		n    [4]int
		roll [4]uint64 // the first candidate's roll: the common one-secret case
	)
	m := len(gs)
	shortest := len(text) + 1
	for j, g := range gs {
		n[j], pw[j], roll[j] = g.n, g.powN, g.cands[0].roll
		shortest = min(shortest, g.n)
	}
	if len(text) < shortest {
		return out
	}
	for e := 0; e < len(text); e++ {
		c := uint64(text[e])
		for j := 0; j < m; j++ {
			var gone uint64
			if e >= n[j] {
				gone = uint64(text[e-n[j]])
			}
			h[j] = h[j]*rollBase + c - gone*pw[j]
			if e+1 < n[j] {
				continue
			}
			if h[j] == roll[j] || len(gs[j].cands) > 1 {
				out = confirm(out, text[e+1-n[j]:e+1], h[j], gs[j].cands)
			}
		}
	}
	return out
}

// confirm checks a window whose rolling hash is h against the candidates.
func confirm(out []string, win string, h uint64, cands []known) []string {
	for _, k := range cands {
		if h == k.roll {
			sum := sha256.Sum256([]byte(win))
			if subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1 {
				out = appendOnce(out, k.name)
			}
		}
	}
	return out
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
