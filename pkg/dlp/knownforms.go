package dlp

import (
	"encoding/hex"
	"fmt"
)

// forms returns the anchored entries of fp's forms (secretfp.Form: its
// value ROT13'd, ascii85'd at each alignment, …), under the secret's
// name, and widens what the anchored pass reads to their bytes. A form is
// found, forward and reversed, in every reading, at the cost of its two
// anchors in the bitmap: no reading of the text is added.
func (ks *knownSet) forms(fp Fingerprint, name string) ([]anchored, error) {
	var out []anchored
	for _, f := range fp.Forms {
		k := known{name: name, token: f.Token}
		if f.Length < minKnownLen {
			return nil, fmt.Errorf("form %s: length %d is below %d", f.Kind, f.Length, minKnownLen)
		}
		if _, err := fmt.Sscanf(f.Roll, "%x", &k.roll); err != nil {
			return nil, fmt.Errorf("form %s: roll: %w", f.Kind, err)
		}
		b, err := hex.DecodeString(f.SHA256)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("form %s: sha256 must be 64 hex digits", f.Kind)
		}
		copy(k.sum[:], b)
		head, tail, err := f.Anchors()
		if err != nil {
			return nil, err
		}
		out = append(out, anchored{known: k, n: f.Length, win: int(head), far: tail}, anchored{known: k, n: f.Length, rev: true, win: int(tail), far: head})
	}
	// Checked only once every form parsed: a bad one leaves the set as it was.
	for _, f := range fp.Forms {
		switch {
		case f.Token:
		case f.Graph:
			ks.anchoredGraph = true
		default:
			ks.anchoredAny = true
		}
		if ks.anchoredMin == 0 || f.Length < ks.anchoredMin {
			ks.anchoredMin = f.Length
		}
	}
	return out, nil
}

// graphSet is the printable ASCII bytes other than the space: the bytes
// of every form of a token secret.
var graphSet = makeSet(func(c byte) bool { return c > ' ' && c < 0x7f })
