// Package logsafe shortens what the daemons log about a request so that a
// secret an agent tries to smuggle out — in a path segment or a host label,
// raw or encoded — does not end up in decision logs (which land in docker
// logs and compose.log on the host). Ordinary names stay readable.
package logsafe

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/entropy"
)

// MaxLen bounds a logged path or host.
const MaxLen = 200

// Redacted reports whether a path segment or host label looks like data
// rather than a name: very long, or holding a long run of letters and
// digits mixed with high entropy (a key, a token, an encoding of one).
// Version strings and words with separators ("lodash-4.17.21.tgz") stay.
func Redacted(s string) bool {
	if len(s) >= 32 {
		return true
	}
	run, best := 0, ""
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
			run++
			continue
		}
		if run > len(best) {
			best = s[i-run : i]
		}
		run = 0
	}
	if len(best) < 12 {
		return false
	}
	var letters, digits bool
	for i := 0; i < len(best); i++ {
		if best[i] >= '0' && best[i] <= '9' {
			digits = true
		} else {
			letters = true
		}
	}
	return letters && digits && entropy.Shannon(best) >= 3.0
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func mask(s string) string { return "<redacted:" + strconv.Itoa(len(s)) + ">" }

// Path returns an escaped URL path with data-like segments masked.
func Path(escaped string) string {
	segs := strings.Split(escaped, "/")
	for i, s := range segs {
		dec, err := url.PathUnescape(s)
		if err != nil {
			dec = s
		}
		if Redacted(dec) || Redacted(s) {
			segs[i] = mask(dec)
		}
	}
	return bound(strings.Join(segs, "/"))
}

// Host returns a host name with data-like labels masked.
func Host(h string) string {
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if Redacted(l) {
			labels[i] = mask(l)
		}
	}
	return bound(strings.Join(labels, "."))
}

// StandardMethod reports whether m is a method of HTTP or WebDAV (a name,
// not data).
func StandardMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
		"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH",
		"MKCALENDAR", "MKACTIVITY", "CHECKOUT", "MERGE", "PURGE", "QUERY":
		return true
	}
	return false
}

// Method returns a request method for a log line: any method that is not
// a standard one is masked (a method is any token, so it can carry data).
func Method(m string) string {
	if StandardMethod(m) {
		return m
	}
	return mask(m)
}

func bound(s string) string {
	if len(s) > MaxLen {
		return s[:MaxLen] + "…"
	}
	return s
}

// Err renders err for a log line: a *url.Error (which quotes the whole URL,
// query string included) is reduced to its operation and cause.
func Err(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + Err(ue.Err)
	}
	return bound(err.Error())
}
