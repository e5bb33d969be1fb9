package dlp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"slices"

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

// knownSet finds known secrets as substrings of a text. Secrets whose
// fingerprint has anchors (secretfp.Fingerprint Head, Tail) are found in
// one pass: the 16-bit anchor of the eight bytes at every position of the
// text is looked up in a bitmap of the secrets' anchors, and only where it
// is one (about two positions in 65536 per secret on ordinary text) is the
// anchor of the other end of the window of the secret's length compared,
// then the window's rolling hash and, when it is the secret's, SHA-256.
// A secret read backwards starts, in the text, with its last eight bytes
// reversed: its tail anchor, so one pass serves both directions.
//
// Secrets without anchors (configs written before them) are found as
// before: one Rabin-Karp pass per distinct secret length and direction,
// each candidate confirmed by SHA-256.
type knownSet struct {
	// byLen holds the secrets without anchors that may contain any byte,
	// tokLen those made of token bytes only (found inside runs of token
	// bytes).
	byLen      map[int][]known
	tokLen     map[int][]known
	pow        map[int]uint64 // rollBase^(n-1) per length
	lengths    []int
	tokLengths []int
	// tokMin is the shortest of tokLengths: a shorter run of token bytes
	// holds no token secret.
	tokMin int
	// anyGroups and tokGroups are byLen and tokLen by length.
	anyGroups, tokGroups []lenGroup

	// The secrets with anchors: bits marks their anchors, anchors (sorted)
	// and at index into byAnchor, the secrets of each anchor (a secret
	// twice: forward under its head, reversed under its tail). wins are
	// the distinct (length, direction) pairs whose window hashes a scan
	// keeps (anchored.win indexes it).
	bits     *[1 << 16 / 64]uint64
	anchors  []uint16
	at       []int
	byAnchor []anchored
	wins     []winKind
	// anchoredAny: an anchored secret may hold any byte (every byte of a
	// text is read); else anchoredMin is the shortest anchored secret,
	// and only runs of token bytes that long are read.
	anchoredAny bool
	anchoredMin int
	// anchoredGraph: a form holds printable bytes other than token bytes
	// (ascii85, ROT47): runs of printable ASCII without a space are read
	// instead of runs of token bytes.
	anchoredGraph bool
}

// anchored is a secret with anchors, looked for in one direction. far is
// its other anchor: the anchor, read backwards, of the last eight bytes
// of a window that holds it (forward: the value's last eight, whose
// reverse is the tail anchor's; reversed: its first eight, the head's).
type anchored struct {
	known
	n   int
	rev bool
	win int
	far uint16
}

// winKind is a window length and direction; pow is rollBase^n forward
// (removes the byte leaving the window), rollBase^(n-1) reversed (weighs
// the byte entering it).
type winKind struct {
	n   int
	rev bool
	pow uint64
}

func newKnownSet(fps []Fingerprint) (*knownSet, error) {
	ks := &knownSet{byLen: map[int][]known{}, tokLen: map[int][]known{}, pow: map[int]uint64{}}
	var errs []error
	var anch []anchored
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
		head, tail, ok, err := fp.Anchors()
		if err != nil {
			errs = append(errs, fmt.Errorf("known secret %d (%s): %w", i, fp.Name, err))
			continue
		}
		if ok {
			ks.anchoredAny = ks.anchoredAny || !k.token
			if ks.anchoredMin == 0 || fp.Length < ks.anchoredMin {
				ks.anchoredMin = fp.Length
			}
			anch = append(anch, anchored{known: k, n: fp.Length, win: int(head), far: tail}, anchored{known: k, n: fp.Length, rev: true, win: int(tail), far: head})
		}
		if fa, err := ks.forms(fp, k.name); err != nil {
			errs = append(errs, fmt.Errorf("known secret %d (%s): %w", i, fp.Name, err))
			continue
		} else {
			anch = append(anch, fa...)
		}
		if ok {
			continue
		}
		if _, ok := ks.pow[fp.Length]; !ok {
			ks.pow[fp.Length] = powRoll(fp.Length - 1)
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
	ks.index(anch)
	return ks, errors.Join(errs...)
}

// index files the anchored secrets (win holding the anchor) by anchor.
func (ks *knownSet) index(anch []anchored) {
	if len(anch) == 0 {
		return
	}
	// Stable: the secrets of one anchor keep the order they were given in.
	slices.SortStableFunc(anch, func(a, b anchored) int { return a.win - b.win })
	ks.bits = new([1 << 16 / 64]uint64)
	kinds := map[winKind]int{}
	for i := range anch {
		a := uint16(anch[i].win)
		ks.bits[a>>6] |= 1 << (a & 63)
		if len(ks.anchors) == 0 || ks.anchors[len(ks.anchors)-1] != a {
			ks.anchors = append(ks.anchors, a)
			ks.at = append(ks.at, i)
		}
		wk := winKind{n: anch[i].n, rev: anch[i].rev}
		if anch[i].rev {
			wk.pow = powRoll(wk.n - 1)
		} else {
			wk.pow = powRoll(wk.n)
		}
		w, ok := kinds[wk]
		if !ok {
			w = len(ks.wins)
			kinds[wk] = w
			ks.wins = append(ks.wins, wk)
		}
		anch[i].win = w
	}
	ks.at = append(ks.at, len(anch))
	ks.byAnchor = anch
}

// powRoll is rollBase^n.
func powRoll(n int) uint64 {
	pow := uint64(1)
	for range n {
		pow *= rollBase
	}
	return pow
}

const rollBase = secretfp.RollBase

func rollHash(s string) uint64 { return secretfp.Roll(s) }

// lenGroup is the secrets of one length.
type lenGroup struct {
	n     int
	gone  [256]uint64 // c·rollBase^n: removes byte c leaving the window
	cands []known
}

// groups returns the secrets of the given lengths, grouped by length.
func (ks *knownSet) groups(lengths []int, by map[int][]known) []lenGroup {
	gs := make([]lenGroup, len(lengths))
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
func (ks *knownSet) find(text string) []string { return ks.findDir(text, false) }

// findReversed is find(reverse(text)) without the reversed copy: the
// windows are hashed reading text backwards.
func (ks *knownSet) findReversed(text string) []string { return ks.findDir(text, true) }

func (ks *knownSet) findDir(text string, rev bool) []string {
	fwd, bwd := ks.findBoth(text, !rev, rev)
	return append(fwd, bwd...)
}

// findBoth is find (when fwd) and findReversed (when bwd) in one walk of
// the text.
func (ks *knownSet) findBoth(text string, fwd, bwd bool) (found, reversed []string) {
	if ks == nil {
		return nil, nil
	}
	if ks.bits != nil && (fwd || bwd) {
		if ks.anchoredAny {
			found, reversed = ks.scanAnchors(found, reversed, text, fwd, bwd)
		} else {
			// Token secrets only: as below, only the runs of token
			// bytes long enough to hold one are read.
			set := tokenSet
			if ks.anchoredGraph {
				set = graphSet
			}
			eachLongRun(text, set, ks.anchoredMin, func(start, end int) bool {
				// Most runs (the words and expressions of code, when
				// forms widen the runs to printable bytes) hold no
				// anchor: they cost the anchor test, not a call that
				// sets up the window hashes.
				if run := text[start:end]; nextAnchor(ks.bits, run, 0) >= 0 {
					found, reversed = ks.scanAnchors(found, reversed, run, fwd, bwd)
				}
				return false
			})
		}
	}
	if fwd {
		found = scanGroups(found, text, ks.anyGroups, false)
	}
	if bwd {
		reversed = scanGroups(reversed, text, ks.anyGroups, true)
	}
	if len(ks.tokGroups) == 0 {
		return found, reversed
	}
	// Token secrets can only sit inside a run of token bytes at least as
	// long as they are: skip everything else.
	eachLongRun(text, tokenSet, ks.tokMin, func(start, end int) bool {
		run := text[start:end]
		if fwd {
			found = scanGroups(found, run, ks.tokGroups, false)
		}
		if bwd {
			reversed = scanGroups(reversed, run, ks.tokGroups, true)
		}
		return false
	})
	return found, reversed
}

// scanAnchors adds the anchored secrets in text to found (read forward)
// and reversed (read backwards), each name once, in the order of where
// they start in text.
func (ks *knownSet) scanAnchors(found, reversed []string, text string, fwd, bwd bool) ([]string, []string) {
	// wins, made at the first candidate, holds per window kind the last
	// window hashed: the next candidate's is rolled on from it when that
	// is cheaper than hashing it afresh, so a text whose every position
	// is a candidate costs at most a pass per window kind, as before
	// anchors.
	var buf [16]winHash
	var wins []winHash
	for i := 0; ; i++ {
		if i = nextAnchor(ks.bits, text, i); i < 0 {
			break
		}
		a := secretfp.Anchor(secretfp.Load(text[i:]))
		j, ok := slices.BinarySearch(ks.anchors, a)
		if !ok {
			continue
		}
		for _, k := range ks.byAnchor[ks.at[j]:ks.at[j+1]] {
			if i+k.n > len(text) || k.rev && (!bwd || slices.Contains(reversed, k.name)) || !k.rev && (!fwd || slices.Contains(found, k.name)) {
				continue // out of the text, not looked for, or found already
			}
			if secretfp.Anchor(bits.ReverseBytes64(load8(text[i+k.n-8:i+k.n]))) != k.far {
				continue // the other end is not the secret's
			}
			if wins == nil {
				wins = buf[:0]
				if len(ks.wins) > len(buf) {
					wins = make([]winHash, len(ks.wins))
				}
				wins = wins[:len(ks.wins)]
				for w := range wins {
					wins[w].at = -1
				}
			}
			if wins[k.win].hash(&ks.wins[k.win], text, i) != k.roll {
				continue
			}
			win := text[i : i+k.n]
			if k.rev {
				win = reverse(win)
			}
			sum := sha256.Sum256([]byte(win))
			if subtle.ConstantTimeCompare(sum[:], k.sum[:]) != 1 {
				continue
			}
			if k.rev {
				reversed = appendOnce(reversed, k.name)
			} else {
				found = appendOnce(found, k.name)
			}
		}
	}
	return found, reversed
}

// nextAnchor returns the first position from i on whose anchor bits
// marks, or -1. It is secretfp.Anchor of secretfp.Load written out, and
// on its own so that the loop keeps its variables in registers.
func nextAnchor(bits *[1 << 16 / 64]uint64, text string, i int) int {
	// Four positions a round, one branch for the four.
	for ; i >= 0 && i+11 <= len(text); i += 4 {
		w := text[i : i+11]
		a0 := load8(w[0:8]) * anchorMul >> 48
		a1 := load8(w[1:9]) * anchorMul >> 48
		a2 := load8(w[2:10]) * anchorMul >> 48
		a3 := load8(w[3:11]) * anchorMul >> 48
		if (bits[a0>>6]>>(a0&63)|bits[a1>>6]>>(a1&63)|bits[a2>>6]>>(a2&63)|bits[a3>>6]>>(a3&63))&1 != 0 {
			break
		}
	}
	for ; i >= 0 && i+8 <= len(text); i++ {
		a := load8(text[i:i+8]) * anchorMul >> 48
		if bits[a>>6]&(1<<(a&63)) != 0 {
			return i
		}
	}
	return -1
}

// load8 is secretfp.Load of a string of eight bytes.
func load8(w string) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// anchorMul is secretfp.Anchor's multiplier (TestNextAnchorIsAnchor).
const anchorMul = 0x9e3779b97f4a7c15

// winHash is the rolling hash h of the window of one kind starting at at
// (-1: none yet).
type winHash struct {
	at int
	h  uint64
}

// hash returns the rolling hash of the window of kind wk starting at i
// (i+wk.n <= len(text), i >= w.at): read forward, Roll(text[i:i+n]);
// reversed, Roll(reverse(text[i:i+n])) = Σ text[i+m]·rollBase^m.
func (w *winHash) hash(wk *winKind, text string, i int) uint64 {
	n := wk.n
	if w.at < 0 || i-w.at >= n {
		var h uint64
		if wk.rev {
			for m := n - 1; m >= 0; m-- {
				h = h*rollBase + uint64(text[i+m])
			}
		} else {
			for m := range n {
				h = h*rollBase + uint64(text[i+m])
			}
		}
		w.at, w.h = i, h
		return h
	}
	h := w.h
	if wk.rev {
		for p := w.at; p < i; p++ {
			h = (h-uint64(text[p]))*rollBaseInv + uint64(text[p+n])*wk.pow
		}
	} else {
		for p := w.at; p < i; p++ {
			h = h*rollBase + uint64(text[p+n]) - uint64(text[p])*wk.pow
		}
	}
	w.at, w.h = i, h
	return h
}

// rollBaseInv is the inverse of rollBase mod 2^64 (rollBase is odd).
var rollBaseInv = func() uint64 {
	x := uint64(rollBase) // correct to 3 bits; each step doubles them
	for range 5 {
		x *= 2 - rollBase*x
	}
	return x
}()

// scanGroups runs Rabin-Karp for every length of gs over text, two
// lengths per pass (their rolling hashes are independent, so the CPU
// updates them side by side). The byte leaving a window is removed by a
// table lookup, so a length costs one multiply per byte.
func scanGroups(out []string, text string, gs []lenGroup, rev bool) []string {
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
			out = scan2Rev(out, text, g0, g1)
		} else {
			out = scan2(out, text, g0, g1)
		}
	}
	return out
}

func scan2(out []string, text string, g0, g1 *lenGroup) []string {
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
			out = confirm(out, text[e+1-n0:e+1], h0, g0.cands)
		}
		if e+1 >= n1 && (h1 == r1 || multi) {
			out = confirm(out, text[e+1-n1:e+1], h1, g1.cands)
		}
	}
	for ; e < len(text); e++ {
		c := uint64(text[e])
		h0 = h0*rollBase + c - t0[text[e-n0]]
		h1 = h1*rollBase + c - t1[text[e-n1]]
		if h0 == r0 || h1 == r1 || multi {
			out = confirm(out, text[e+1-n0:e+1], h0, g0.cands)
			out = confirm(out, text[e+1-n1:e+1], h1, g1.cands)
		}
	}
	return out
}

// scan2Rev is scan2 over the text read from its end to its start: the
// window starting at e, read backwards, hashes as text[e] + rollBase·(the
// window starting at e+1) − text[e+n]·rollBase^n.
func scan2Rev(out []string, text string, g0, g1 *lenGroup) []string {
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
			out = confirm(out, reverse(text[e:e+n0]), h0, g0.cands)
		}
		if e+n1 <= len(text) && (h1 == r1 || multi) {
			out = confirm(out, reverse(text[e:e+n1]), h1, g1.cands)
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
func (ks *knownSet) any() bool {
	return ks != nil && (len(ks.lengths) > 0 || len(ks.tokLengths) > 0 || ks.bits != nil)
}

// anyBytes reports whether the set holds a secret that may hold any byte
// (not token-shaped): every decoded byte must then be read.
func (ks *knownSet) anyBytes() bool { return ks != nil && (len(ks.anyGroups) > 0 || ks.anchoredAny) }
