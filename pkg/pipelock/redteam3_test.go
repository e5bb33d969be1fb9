package pipelock

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Red team of segmented scanning (a body over segmentBytes): each case is
// a body whose secret the whole scan finds; the segmented one must too.

// formBody is a large form body of prose fields with field inserted.
func formBody(field string) []byte {
	p := bytes.ReplaceAll(prose(4<<20+4<<18), []byte(" "), []byte("+"))
	p = bytes.ReplaceAll(p, []byte("\n"), []byte("&field="))
	p = append([]byte("note="), p...)
	at := len(p) / 2
	at += bytes.IndexByte(p[at:], '&')
	return append(append(append([]byte{}, p[:at]...), ("&"+field)...), p[at:]...)
}

// formEncode writes s as a form value with '+' for spaces, every other
// byte that is not a letter or digit percent-escaped.
func formEncode(s string) string { return url.QueryEscape(s) }

func TestRedteam3SegmentedForm(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	e := newEnv(t, nil)
	key := pemKey()
	cases := map[string]string{
		"pem":               "k=" + formEncode(key),
		"pem, stray ';'":    "k=" + formEncode(key) + ";x",
		"pem, bad escape":   "k=" + formEncode(key) + "%zz",
		"pem, ';' in name":  "a;b=" + formEncode(key),
		"pem, bad in name":  "%zz=" + formEncode(key),
		"password, bad esc": "password=" + formEncode("Tr0ub4dor&3-horse-staple") + "%g1",
		"known, stray ';'":  "k=" + formEncode(secrets["GENERIC"][:10]) + "+" + formEncode(secrets["GENERIC"][10:]) + ";",
	}
	for name, field := range cases {
		body := formBody(field)
		seg, whole := inspectBoth(t, e, "application/x-www-form-urlencoded", body)
		t.Logf("%s: segmented %v whole %v", name, seg, whole)
		if whole {
			assert.Check(t, seg, "%s: found whole, missed in segments", name)
		}
	}
	_ = fmt.Sprint
	_ = strings.Repeat
}
