// Package leakcheck finds secrets in what the tests' stand-in internet
// received, in every encoding an exfiltrating agent could reasonably use.
// It is deliberately independent of pkg/dlp: the suite must not trust the
// code it is checking.
package leakcheck

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
)

// Needle is one searchable form of a secret.
type Needle struct {
	Encoding string
	Text     string
	// Fold marks encodings searched case-insensitively (hex, base32, DNS).
	Fold bool
}

// minNeedle is the shortest fragment searched for: shorter fragments of an
// encoding (offset base64 of a short secret) would match by chance.
const minNeedle = 12

// Needles returns the forms of secret to search for: raw, case-folded,
// URL-escaped (once and twice), base64 (std/url, padded or not, at byte
// offsets 0-2), base32 (offsets 0-4), hex, and reversed.
func Needles(secret string) []Needle {
	out := []Needle{
		{"raw", secret, true},
		{"reversed", reverse(secret), true},
		{"query-escaped", url.QueryEscape(secret), false},
		{"path-escaped", url.PathEscape(secret), false},
		{"double-escaped", url.QueryEscape(url.QueryEscape(secret)), false},
		{"hex", hex.EncodeToString([]byte(secret)), true},
	}
	for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding} {
		for off := range 3 {
			out = append(out, Needle{name + offName(off), stable(enc.EncodeToString([]byte(strings.Repeat("\x00", off)+secret)), off, 4), false})
		}
	}
	for off := range 5 {
		out = append(out, Needle{"base32" + offName(off), stable(base32.StdEncoding.EncodeToString([]byte(strings.Repeat("\x00", off)+secret)), off, 8), true})
		out = append(out, Needle{"base32hex" + offName(off), stable(base32.HexEncoding.EncodeToString([]byte(strings.Repeat("\x00", off)+secret)), off, 8), true})
	}
	// Encodings whose stable part came out too short are dropped.
	var keep []Needle
	for _, n := range out {
		if len(n.Text) >= minNeedle {
			keep = append(keep, n)
		}
	}
	return keep
}

func offName(off int) string {
	if off == 0 {
		return ""
	}
	return "+" + strconv.Itoa(off)
}

// stable drops the characters of an encoding that depend on the off
// prefix bytes or on the padding: the first group when off > 0, and the
// last group (chars characters encode one block).
func stable(enc string, off, chars int) string {
	enc = strings.TrimRight(enc, "=")
	if off > 0 {
		if len(enc) <= chars {
			return ""
		}
		enc = enc[chars:]
	}
	if len(enc) <= chars {
		return ""
	}
	return enc[:len(enc)-chars]
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// Hit is one secret found in one haystack.
type Hit struct {
	Secret   string // the secret's name, never its value
	Encoding string
}

// Find reports which named secrets appear in text in any encoding. Text is
// also searched after repeated percent-decoding and with DNS label dots
// removed (a secret split over labels).
func Find(text string, secrets map[string]string) []Hit {
	views := []string{text, strings.ReplaceAll(text, ".", "")}
	cur := text
	for range 4 {
		dec, err := url.PathUnescape(cur)
		if err != nil || dec == cur {
			break
		}
		views = append(views, dec)
		cur = dec
	}
	var folded []string
	for _, v := range views {
		folded = append(folded, strings.ToLower(v))
	}
	var hits []Hit
	for name, secret := range secrets {
		for _, n := range Needles(secret) {
			found := false
			for i, v := range views {
				if strings.Contains(v, n.Text) || (n.Fold && strings.Contains(folded[i], strings.ToLower(n.Text))) {
					found = true
					break
				}
			}
			if found {
				hits = append(hits, Hit{Secret: name, Encoding: n.Encoding})
				break
			}
		}
	}
	return hits
}
