// Package secretfp fingerprints secret values so that configs can name a
// secret to look for (or to let through) without holding it: length, a 64-bit
// rolling hash to find candidates in linear time, and SHA-256 to confirm.
// Two 16-bit anchors (of the first eight bytes, and of the last eight read
// backwards) let a scanner find every secret, of any length, forward and
// reversed, in one pass over a text.
package secretfp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// MinLen is the shortest value worth fingerprinting; shorter ones would
// match ordinary text by accident.
const MinLen = 8

// AnchorLen is the bytes an anchor hashes: MinLen, so every value has both.
const AnchorLen = MinLen

// RollBase is the base of the polynomial rolling hash (mod 2^64).
const RollBase = 1099511628211

// anchorMul is the odd multiplier of Anchor (2^64 / golden ratio).
const anchorMul = 0x9e3779b97f4a7c15

// Fingerprint identifies a secret without revealing it.
type Fingerprint struct {
	Name   string `yaml:"name" json:"name"`
	Length int    `yaml:"length" json:"length"`
	Roll   string `yaml:"roll" json:"roll"`
	SHA256 string `yaml:"sha256" json:"sha256"`
	// Token is true when every byte of the value is a token byte
	// (IsTokenByte); the scanner then only looks inside runs of token bytes,
	// which makes it several times faster on ordinary text.
	Token bool `yaml:"token,omitempty" json:"token,omitempty"`
	// Head is Anchor of the value's first AnchorLen bytes and Tail Anchor
	// of its last AnchorLen bytes in reverse order (the first bytes of the
	// value reversed), each four hex digits. With them the scanner finds
	// every secret in one pass per text, whatever their lengths; without
	// them (configs written before they existed) it makes a pass per
	// length and direction. Sixteen bits of a hash of eight bytes: they
	// narrow a guess of those bytes to one in 65536 and no further, less
	// than Roll and SHA256 already allow a guesser to check.
	Head string `yaml:"head,omitempty" json:"head,omitempty"`
	Tail string `yaml:"tail,omitempty" json:"tail,omitempty"`
	// Forms are the fingerprints of the value's keyless transformations
	// (forms.go): the scanner finds them as it finds the value.
	Forms []Form `yaml:"forms,omitempty" json:"forms,omitempty"`
}

// IsTokenByte reports whether c may appear in a token-like secret: letters,
// digits and - _ . + / = ~.
func IsTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '+' || c == '/' || c == '=' || c == '~'
}

// Of computes the fingerprint of value under name.
func Of(name, value string) (Fingerprint, error) {
	if len(value) < MinLen {
		return Fingerprint{}, fmt.Errorf("secret %s: shorter than %d bytes; it would match ordinary text", name, MinLen)
	}
	sum := sha256.Sum256([]byte(value))
	token := true
	for i := 0; i < len(value); i++ {
		token = token && IsTokenByte(value[i])
	}
	var tail [AnchorLen]byte
	for i := range tail {
		tail[i] = value[len(value)-1-i]
	}
	return Fingerprint{Name: name, Length: len(value), Roll: fmt.Sprintf("%016x", Roll(value)), SHA256: hex.EncodeToString(sum[:]), Token: token,
		Head: fmt.Sprintf("%04x", Anchor(Load(value))), Tail: fmt.Sprintf("%04x", Anchor(Load(string(tail[:])))), Forms: Forms(value)}, nil
}

// Anchors parses Head and Tail; ok is false when the fingerprint has
// neither, err when it has one only or one is not four hex digits.
func (fp Fingerprint) Anchors() (head, tail uint16, ok bool, err error) {
	if fp.Head == "" && fp.Tail == "" {
		return 0, 0, false, nil
	}
	h, err1 := parseAnchor(fp.Head)
	t, err2 := parseAnchor(fp.Tail)
	if err1 != nil || err2 != nil {
		return 0, 0, false, fmt.Errorf("head and tail must be four hex digits each")
	}
	return h, t, true, nil
}

func parseAnchor(s string) (uint16, error) {
	if len(s) != 4 {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.ParseUint(s, 16, 16)
	return uint16(v), err
}

// Load is the first AnchorLen bytes of s (at least that long) as a
// little-endian number: what Anchor hashes.
func Load(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Anchor hashes eight bytes (Load) to 16 bits: the top bits of their
// product with an odd constant, which every input bit reaches. Cheap
// enough for a scanner to compute at every position of a text.
func Anchor(x uint64) uint16 { return uint16(x * anchorMul >> 48) }

// Roll is the rolling hash of s.
func Roll(s string) uint64 {
	var h uint64
	for i := 0; i < len(s); i++ {
		h = h*RollBase + uint64(s[i])
	}
	return h
}
