package dlp

// The known-secret matcher before anchors (one Rabin-Karp pass per pair of
// secret lengths and direction), kept as the reference the anchored
// matcher is tested against.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

type oldKnown struct {
	name  string
	roll  uint64
	sum   [32]byte
	token bool
}

// oldKnownSet finds known secrets as substrings of a text: one Rabin-Karp pass
// per distinct secret length, each candidate confirmed by SHA-256.
type oldKnownSet struct {
	// byLen holds the secrets that may contain any byte, tokLen those made
	// of token bytes only (found inside runs of token bytes).
	byLen      map[int][]oldKnown
	tokLen     map[int][]oldKnown
	pow        map[int]uint64 // rollBase^(n-1) per length
	lengths    []int
	tokLengths []int
	// tokMin is the shortest of tokLengths: a shorter run of token bytes
	// holds no token secret.
	tokMin int
	// anyGroups and tokGroups are byLen and tokLen by length.
	anyGroups, tokGroups []oldLenGroup
}

func oldNewKnownSet(fps []Fingerprint) (*oldKnownSet, error) {
	ks := &oldKnownSet{byLen: map[int][]oldKnown{}, tokLen: map[int][]oldKnown{}, pow: map[int]uint64{}}
	var errs []error
	for i, fp := range fps {
		var k oldKnown
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
	ks.tokMin = secretfp.MinLen
	if len(ks.tokLengths) > 0 {
		ks.tokMin = slices.Min(ks.tokLengths)
	}
	ks.anyGroups = ks.groups(ks.lengths, ks.byLen)
	ks.tokGroups = ks.groups(ks.tokLengths, ks.tokLen)
	return ks, errors.Join(errs...)
}

// oldLenGroup is the secrets of one length.
type oldLenGroup struct {
	n     int
	gone  [256]uint64 // c·rollBase^n: removes byte c leaving the window
	cands []oldKnown
}

// groups returns the secrets of the given lengths, grouped by length.
func (ks *oldKnownSet) groups(lengths []int, by map[int][]oldKnown) []oldLenGroup {
	gs := make([]oldLenGroup, len(lengths))
	for i, n := range lengths {
		gs[i].n, gs[i].cands = n, by[n]
		powN := ks.pow[n] * rollBase
		for c := range gs[i].gone {
			gs[i].gone[c] = uint64(c) * powN
		}
	}
	return gs
}

// find returns the names of known secrets occurring in text.
func (ks *oldKnownSet) find(text string) []string { return ks.oldFindDir(text, false) }

// oldFindReversed is find(reverse(text)) without the reversed copy: the
// windows are hashed reading text backwards.
func (ks *oldKnownSet) oldFindReversed(text string) []string { return ks.oldFindDir(text, true) }

func (ks *oldKnownSet) oldFindDir(text string, rev bool) []string {
	fwd, bwd := ks.oldFindBoth(text, !rev, rev)
	return append(fwd, bwd...)
}

// oldFindBoth is find (when fwd) and oldFindReversed (when bwd) in one walk of
// the token runs.
func (ks *oldKnownSet) oldFindBoth(text string, fwd, bwd bool) (found, reversed []string) {
	if ks == nil {
		return nil, nil
	}
	if fwd {
		found = oldKsScanGroups(found, text, ks.anyGroups, false)
	}
	if bwd {
		reversed = oldKsScanGroups(reversed, text, ks.anyGroups, true)
	}
	if len(ks.tokGroups) == 0 {
		return found, reversed
	}
	// Token secrets can only sit inside a run of token bytes at least as
	// long as they are: skip everything else.
	eachLongRun(text, tokenSet, ks.tokMin, func(start, end int) bool {
		run := text[start:end]
		if fwd {
			found = oldKsScanGroups(found, run, ks.tokGroups, false)
		}
		if bwd {
			reversed = oldKsScanGroups(reversed, run, ks.tokGroups, true)
		}
		return false
	})
	return found, reversed
}

// oldKsScanGroups runs Rabin-Karp for every length of gs over text, two
// lengths per pass (their rolling hashes are independent, so the CPU
// updates them side by side). The byte leaving a window is removed by a
// table lookup, so a length costs one multiply per byte.
func oldKsScanGroups(out []string, text string, gs []oldLenGroup, rev bool) []string {
	for len(gs) > 0 {
		g0, g1 := &gs[0], &gs[min(1, len(gs)-1)]
		gs = gs[min(2, len(gs)):]
		// A length longer than the text has no window in it: its pass
		// is not made, or its partner takes its place (matched twice,
		// found once: the same findings in the same order).
		switch {
		case g0.n > len(text) && g1.n > len(text):
			continue
		case g1.n > len(text):
			g1 = g0
		case g0.n > len(text):
			g0 = g1
		}
		if rev {
			out = oldScan2Rev(out, text, g0, g1)
		} else {
			out = oldScan2(out, text, g0, g1)
		}
	}
	return out
}

func oldScan2(out []string, text string, g0, g1 *oldLenGroup) []string {
	n0, n1 := g0.n, g1.n
	t0, t1 := &g0.gone, &g1.gone
	r0, r1 := g0.cands[0].roll, g1.cands[0].roll
	multi := len(g0.cands) > 1 || len(g1.cands) > 1
	longest := max(n0, n1)
	var h0, h1 uint64
	// Warm-up: the first longest bytes, where a window is not yet full.
	e := 0
	for ; e < len(text) && e < longest; e++ {
		c := uint64(text[e])
		h0 = h0*rollBase + c
		if e >= n0 {
			h0 -= t0[text[e-n0]]
		}
		h1 = h1*rollBase + c
		if e >= n1 {
			h1 -= t1[text[e-n1]]
		}
		if e+1 >= n0 && (h0 == r0 || multi) {
			out = oldConfirm(out, text[e+1-n0:e+1], h0, g0.cands)
		}
		if e+1 >= n1 && (h1 == r1 || multi) {
			out = oldConfirm(out, text[e+1-n1:e+1], h1, g1.cands)
		}
	}
	for ; e < len(text); e++ {
		c := uint64(text[e])
		h0 = h0*rollBase + c - t0[text[e-n0]]
		h1 = h1*rollBase + c - t1[text[e-n1]]
		if h0 == r0 || h1 == r1 || multi {
			out = oldConfirm(out, text[e+1-n0:e+1], h0, g0.cands)
			out = oldConfirm(out, text[e+1-n1:e+1], h1, g1.cands)
		}
	}
	return out
}

// oldScan2Rev is oldScan2 over the text read from its end to its start: the
// window starting at e, read backwards, hashes as text[e] + rollBase·(the
// window starting at e+1) − text[e+n]·rollBase^n.
func oldScan2Rev(out []string, text string, g0, g1 *oldLenGroup) []string {
	n0, n1 := g0.n, g1.n
	t0, t1 := &g0.gone, &g1.gone
	r0, r1 := g0.cands[0].roll, g1.cands[0].roll
	multi := len(g0.cands) > 1 || len(g1.cands) > 1
	var h0, h1 uint64
	for e := len(text) - 1; e >= 0; e-- {
		c := uint64(text[e])
		h0 = h0*rollBase + c
		if e+n0 < len(text) {
			h0 -= t0[text[e+n0]]
		}
		h1 = h1*rollBase + c
		if e+n1 < len(text) {
			h1 -= t1[text[e+n1]]
		}
		if e+n0 <= len(text) && (h0 == r0 || multi) {
			out = oldConfirm(out, reverse(text[e:e+n0]), h0, g0.cands)
		}
		if e+n1 <= len(text) && (h1 == r1 || multi) {
			out = oldConfirm(out, reverse(text[e:e+n1]), h1, g1.cands)
		}
	}
	return out
}

// oldConfirm checks a window whose rolling hash is h against the candidates.
func oldConfirm(out []string, win string, h uint64, cands []oldKnown) []string {
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

// any reports whether the set holds a secret at all.
func (ks *oldKnownSet) any() bool {
	return ks != nil && (len(ks.lengths) > 0 || len(ks.tokLengths) > 0)
}
