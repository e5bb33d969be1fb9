// Package secretfp fingerprints secret values so that configs can name a
// secret to look for (or to let through) without holding it: length, a 64-bit
// rolling hash to find candidates in linear time, and SHA-256 to confirm.
package secretfp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// MinLen is the shortest value worth fingerprinting; shorter ones would
// match ordinary text by accident.
const MinLen = 8

// RollBase is the base of the polynomial rolling hash (mod 2^64).
const RollBase = 1099511628211

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
	return Fingerprint{Name: name, Length: len(value), Roll: fmt.Sprintf("%016x", Roll(value)), SHA256: hex.EncodeToString(sum[:]), Token: token}, nil
}

// Roll is the rolling hash of s.
func Roll(s string) uint64 {
	var h uint64
	for i := 0; i < len(s); i++ {
		h = h*RollBase + uint64(s[i])
	}
	return h
}
