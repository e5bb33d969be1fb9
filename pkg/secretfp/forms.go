package secretfp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// Form is the fingerprint of one transformation of a secret: the value as
// a script that knows it may write it before sending it (ROT13, base58,
// ascii85 at each alignment of the groups, …). The scanner searches forms
// with the secret's own one-pass anchored matcher, so a form costs a few
// bits in its anchor bitmap, not a reading of the text: what a decoder of
// the whole text could not afford (ascii85 and ROT13 read every printable
// byte; base58 is not local) is found for the secrets it knows. A form
// reveals no more than the fingerprint: its transformation is public, so
// its hashes check a guess of the value as the value's own do.
type Form struct {
	Kind   string `yaml:"kind" json:"kind"`
	Length int    `yaml:"length" json:"length"`
	Roll   string `yaml:"roll" json:"roll"`
	SHA256 string `yaml:"sha256" json:"sha256"`
	Head   string `yaml:"head" json:"head"`
	Tail   string `yaml:"tail" json:"tail"`
	// Token: every byte a token byte (IsTokenByte). Graph: every byte
	// printable ASCII other than a space. A form of a token value is one
	// or the other (Of writes no other), so the scanner still reads only
	// runs of such bytes.
	Token bool `yaml:"token,omitempty" json:"token,omitempty"`
	Graph bool `yaml:"graph,omitempty" json:"graph,omitempty"`
}

// Anchors parses Head and Tail.
func (f Form) Anchors() (head, tail uint16, err error) {
	h, err1 := parseAnchor(f.Head)
	t, err2 := parseAnchor(f.Tail)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("form %s: head and tail must be four hex digits each", f.Kind)
	}
	return h, t, nil
}

// formOf fingerprints one transformation; ok is false when it is shorter
// than MinLen (it would match ordinary text by accident).
func formOf(kind, v string) (Form, bool) {
	if len(v) < MinLen {
		return Form{}, false
	}
	// A form of a few distinct bytes (the even characters of "abab…") is
	// too plain to tell from ordinary text.
	var distinct [256]bool
	nd := 0
	for i := 0; i < len(v); i++ {
		if !distinct[v[i]] {
			distinct[v[i]] = true
			nd++
		}
	}
	if nd < 4 {
		return Form{}, false
	}
	sum := sha256.Sum256([]byte(v))
	token, graph := true, true
	for i := 0; i < len(v); i++ {
		token = token && IsTokenByte(v[i])
		graph = graph && v[i] > ' ' && v[i] < 0x7f
	}
	var tail [AnchorLen]byte
	for i := range tail {
		tail[i] = v[len(v)-1-i]
	}
	return Form{Kind: kind, Length: len(v), Roll: fmt.Sprintf("%016x", Roll(v)), SHA256: hex.EncodeToString(sum[:]),
		Head: fmt.Sprintf("%04x", Anchor(Load(v))), Tail: fmt.Sprintf("%04x", Anchor(Load(string(tail[:])))), Token: token, Graph: token || graph}, true
}

// Forms returns the fingerprints of the transformations of value that a
// script writes without a key (its case folded too), as they appear inside a longer encoded
// text. An encoding of groups (ascii85 and base85 of four bytes, uuencode
// of three, base32hex of five) of a file holding the value encodes, at
// one of the alignments, the value without its first 0–4 bytes and its
// last few as a fixed string: one form per alignment. base58 is not local
// (every character depends on every byte): only the value encoded alone
// (with or without the newline echo adds) is a form. Reversal needs no
// form (the matcher reads every form backwards too); base64, hex, base32,
// percent- and other escapes are decoded by the scanner's readings, which
// read every form. A cipher whose key is sent with it (XOR, a substitution
// table) has no fixed form and is out of reach.
func Forms(value string) []Form {
	var out []Form
	seen := map[string]bool{value: true}
	add := func(kind, v string) {
		if seen[v] {
			return
		}
		if f, ok := formOf(kind, v); ok {
			seen[v] = true
			out = append(out, f)
		}
	}
	add("rot13", rot(value, 13))
	// Case folded (tr a-z A-Z): lossy, but a guesser checks a token's
	// few case choices against its checksum or the service.
	add("upper", strings.ToUpper(value))
	add("lower", strings.ToLower(value))
	add("rot47", rot47(value))
	for j := range 4 {
		if j < len(value) {
			add(fmt.Sprintf("ascii85/%d", j), groups85(value[j:], ascii85Alphabet))
			add(fmt.Sprintf("base85/%d", j), groups85(value[j:], base85Alphabet))
		}
	}
	for j := range 3 {
		if j < len(value) {
			add(fmt.Sprintf("uuencode/%d", j), uuGroups(value[j:]))
		}
	}
	for j := range 5 {
		if j < len(value) {
			add(fmt.Sprintf("base32hex/%d", j), b32hexGroups(value[j:]))
		}
	}
	add("base58", base58(value))
	add("base58/newline", base58(value+"\n"))
	// Every other character: a secret cut into its even and odd
	// characters sent apart (each half is half the secret). Only halves
	// of minHalf bytes: the scanner reads runs as long as the shortest
	// form, and shorter ones would make it read most words of a text.
	if len(value) < 2*minHalf {
		return out
	}
	var even, odd []byte
	for i := 0; i < len(value); i++ {
		if i%2 == 0 {
			even = append(even, value[i])
		} else {
			odd = append(odd, value[i])
		}
	}
	add("even", string(even))
	add("odd", string(odd))
	return out
}

// minHalf is the shortest even or odd half of a value made a form.
const minHalf = 16

// rot shifts the ASCII letters of s by k places (ROT13 for k = 13).
func rot(s string, k byte) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+k)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+k)%26
		}
	}
	return string(b)
}

// rot47 rotates the printable ASCII characters other than the space.
func rot47(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c > ' ' && c < 0x7f {
			b[i] = '!' + (c-'!'+47)%94
		}
	}
	return string(b)
}

const (
	ascii85Alphabet = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstu"
	// base85Alphabet is RFC 1924's, Python's b85encode and git's.
	base85Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
)

// groups85 encodes the whole four-byte groups of s, big-endian, five
// characters each (ascii85 writes a group of zeros as "z": a text value
// has none).
func groups85(s, alphabet string) string {
	var out []byte
	for ; len(s) >= 4; s = s[4:] {
		v := uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
		var g [5]byte
		for i := 4; i >= 0; i-- {
			g[i] = alphabet[v%85]
			v /= 85
		}
		out = append(out, g[:]...)
	}
	return string(out)
}

// uuGroups uuencodes the whole three-byte groups of s (a zero written as
// '`', as GNU uuencode does).
func uuGroups(s string) string {
	var out []byte
	for ; len(s) >= 3; s = s[3:] {
		v := uint(s[0])<<16 | uint(s[1])<<8 | uint(s[2])
		for k := 18; k >= 0; k -= 6 {
			c := byte(v>>k) & 63
			if c == 0 {
				out = append(out, '`')
			} else {
				out = append(out, ' '+c)
			}
		}
	}
	return string(out)
}

// b32hexGroups encodes the whole five-byte groups of s in base32 with the
// extended-hex alphabet (RFC 4648 §7), upper case.
func b32hexGroups(s string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
	var out []byte
	for ; len(s) >= 5; s = s[5:] {
		v := uint64(s[0])<<32 | uint64(s[1])<<24 | uint64(s[2])<<16 | uint64(s[3])<<8 | uint64(s[4])
		for k := 35; k >= 0; k -= 5 {
			out = append(out, alphabet[v>>k&31])
		}
	}
	return string(out)
}

// base58 is Bitcoin's base58 of s (leading zero bytes as '1').
func base58(s string) string {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int).SetBytes([]byte(s))
	var out []byte
	m, b := new(big.Int), big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, b, m)
		out = append(out, alphabet[m.Int64()])
	}
	for i := 0; i < len(s) && s[i] == 0; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}
