package dlp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
)

// Fingerprint identifies a known secret without revealing it: its length, a
// 64-bit rolling hash (to find candidates in linear time) and its SHA-256 (to
// confirm them). Configs carry fingerprints, never values.
type Fingerprint struct {
	Name   string `yaml:"name" json:"name"`
	Length int    `yaml:"length" json:"length"`
	Roll   string `yaml:"roll" json:"roll"`
	SHA256 string `yaml:"sha256" json:"sha256"`
}

// minKnownLen: shorter values would match ordinary text by accident.
const minKnownLen = 8

// FingerprintOf computes the fingerprint of a secret value.
func FingerprintOf(name, value string) (Fingerprint, error) {
	if len(value) < minKnownLen {
		return Fingerprint{}, fmt.Errorf("known secret %s: shorter than %d bytes; it would match ordinary text", name, minKnownLen)
	}
	sum := sha256.Sum256([]byte(value))
	return Fingerprint{Name: name, Length: len(value), Roll: fmt.Sprintf("%016x", rollHash(value)), SHA256: hex.EncodeToString(sum[:])}, nil
}

type known struct {
	name string
	roll uint64
	sum  [32]byte
}

// knownSet finds known secrets as substrings of a text: one Rabin-Karp pass
// per distinct secret length, each candidate confirmed by SHA-256.
type knownSet struct {
	byLen   map[int][]known
	pow     map[int]uint64 // rollBase^(n-1) per length
	lengths []int
}

func newKnownSet(fps []Fingerprint) (*knownSet, error) {
	ks := &knownSet{byLen: map[int][]known{}, pow: map[int]uint64{}}
	var errs []error
	for i, fp := range fps {
		var k known
		k.name = fp.Name
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
		if _, ok := ks.byLen[fp.Length]; !ok {
			ks.lengths = append(ks.lengths, fp.Length)
			pow := uint64(1)
			for i := 1; i < fp.Length; i++ {
				pow *= rollBase
			}
			ks.pow[fp.Length] = pow
		}
		ks.byLen[fp.Length] = append(ks.byLen[fp.Length], k)
	}
	return ks, errors.Join(errs...)
}

// Rolling hash: polynomial over uint64 (wrapping), base rollBase.
const rollBase = 1099511628211

func rollHash(s string) uint64 {
	var h uint64
	for i := 0; i < len(s); i++ {
		h = h*rollBase + uint64(s[i])
	}
	return h
}

// find returns the names of known secrets occurring in text.
func (ks *knownSet) find(text string) []string {
	if ks == nil || len(ks.lengths) == 0 {
		return nil
	}
	var out []string
	for _, n := range ks.lengths {
		if len(text) < n {
			continue
		}
		cands := ks.byLen[n]
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
				break
			}
			h = (h-uint64(text[i])*pow)*rollBase + uint64(text[i+n])
		}
	}
	return out
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
