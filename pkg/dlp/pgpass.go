package dlp

import "strings"

// pgpassPass finds a line of a PostgreSQL password file (~/.pgpass,
// PGPASSFILE): host:port:database:user:password, the port a number or
// '*', host and user names ('*' or holding a letter; a host
// may be an IP address), every field free
// of white space and quotes, the password 6
// characters or more and not a placeholder. The line must be the whole
// line (or the whole text): IPv6 addresses and times have other shapes.
func (r *ruleScan) pgpassPass(text string) {
	for off := 0; !r.stop; {
		i := strings.IndexByte(text[off:], ':')
		if i < 0 {
			return
		}
		i += off
		off = i + 1
		if i+1 >= len(text) || !(text[i+1] >= '0' && text[i+1] <= '9' || text[i+1] == '*') {
			continue
		}
		start := strings.LastIndexByte(text[:i], '\n') + 1
		end := strings.IndexByte(text[i:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += i
		}
		line := strings.TrimSuffix(text[start:end], "\r")
		off = max(off, end)
		if pgpassLine(line) {
			r.hit("pgpass-password")
		}
	}
}

// pgpassLine reports whether line is host:port:database:user:password.
func pgpassLine(line string) bool {
	if len(line) > 512 {
		return false
	}
	f := strings.SplitN(line, ":", 5)
	if len(f) != 5 {
		return false
	}
	for _, x := range f[:4] {
		if x == "" || strings.ContainsAny(x, " \t\"'{}[],;=<>") {
			return false
		}
	}
	if f[1] != "*" && (len(f[1]) > 5 || strings.Trim(f[1], "0123456789") != "") {
		return false
	}
	// Names, not numbers: a time (12:30:45:00:…) has none.
	if !named(f[0]) && !strings.Contains(f[0], ".") || !named(f[3]) {
		return false
	}
	pw := f[4]
	// A password may hold ':' escaped as '\:'; a raw ':' makes a sixth
	// field, which no password file line has.
	if strings.Contains(strings.ReplaceAll(pw, `\:`, ""), ":") {
		return false
	}
	return len(pw) >= 6 && !strings.ContainsAny(pw, " \t\"'") && !placeholder(pw)
}

// named reports whether a host or user field is '*' or holds a letter.
func named(x string) bool {
	return x == "*" || strings.IndexFunc(x, func(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }) >= 0
}
