package dlp

import "strings"

// reservedPassword reports whether the text after a URL's "://" is
// user:password@host with a '#', '/' or '?' written raw in the password
// (`postgres://app:Wq7#rZ2@db/app`): the authority read by the RFC ends
// there, but connection-string parsers (and the agent's reader) take the
// userinfo up to the last '@'. end is where the RFC's authority ends. The
// ':' must come before end and what follows it up to end must not be a
// port (`localhost:8080/users/@me` is a path) nor the user an IPv6
// literal, and the '@' must be followed by a host name.
func reservedPassword(a string, end int) bool {
	if end >= len(a) || a[end] != '#' && a[end] != '/' && a[end] != '?' {
		return false
	}
	colon := strings.IndexByte(a[:end], ':')
	if colon <= 0 || colon+1 >= end || strings.Trim(a[colon+1:end], "0123456789") == "" || strings.IndexByte(a[:colon], '[') >= 0 {
		return false
	}
	// The userinfo runs to an '@' within 128 bytes, with no white space,
	// quote or second scheme before it.
	lim := min(len(a), end+128)
	at := -1
	for j := end; j < lim; j++ {
		c := a[j]
		if c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' {
			break
		}
		if c == '@' {
			at = j
			break
		}
	}
	if at < 0 || strings.Contains(a[end:at], "://") || at+1 >= len(a) {
		return false
	}
	h := a[at+1]
	if !(h >= 'a' && h <= 'z' || h >= 'A' && h <= 'Z' || h >= '0' && h <= '9') {
		return false
	}
	pass := a[colon+1 : at]
	return len(pass) >= 3 && !placeholder(pass)
}
