package pipelock

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// URLs an allowed server handed out: the Location of a redirect. A
// download from a release page, a package index or a model hub is a
// redirect to a signed URL — an AWS key id and a signature
// (X-Amz-Credential=AKIA…, X-Amz-Signature), an Azure SAS (sig=…), a JWT,
// a CloudFront or GCS signature — which the URL rules read as the
// credentials they are shaped like, refusing every such download. The
// server that wrote the URL already holds everything in it, and the agent
// reached that server only through the same scan: following the URL sends
// nothing that has not already been sent. So the path and query of a GET
// or HEAD whose URL is exactly one a redirect handed out within issuedTTL
// are not scanned (its host is still checked against the allowlist and
// scanned, its headers still scanned); any other request to that host is
// scanned as usual.
const (
	issuedTTL = 5 * time.Minute
	// issuedMax bounds the URLs remembered; the oldest goes first.
	issuedMax = 1024
	// issuedLongest is the longest URL remembered.
	issuedLongest = 16 << 10
)

type issuedURLs struct {
	mu  sync.Mutex
	now func() time.Time
	at  map[string]time.Time
}

func newIssuedURLs() *issuedURLs {
	return &issuedURLs{now: time.Now, at: map[string]time.Time{}}
}

// issuedKey is what a URL is remembered and looked up by: its host name
// (lower case), escaped path and raw query.
func issuedKey(host string, u *url.URL) string {
	return strings.ToLower(host) + "\x00" + u.EscapedPath() + "?" + u.RawQuery
}

// recordRedirect remembers the Location of a redirect res passes on.
func (s *issuedURLs) recordRedirect(res *http.Response) {
	if s == nil || res.Request == nil || res.Request.URL == nil {
		return
	}
	switch res.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return
	}
	loc := res.Header.Get("Location")
	if loc == "" || len(loc) > issuedLongest {
		return
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return
	}
	u := res.Request.URL.ResolveReference(ref)
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.at) >= issuedMax {
		var oldest string
		var when time.Time
		for k, t := range s.at {
			if oldest == "" || t.Before(when) {
				oldest, when = k, t
			}
		}
		delete(s.at, oldest)
	}
	s.at[issuedKey(u.Hostname(), u)] = now
}

// issued reports whether a request to host with method and URL u follows
// a URL a redirect handed out within issuedTTL.
func (s *issuedURLs) issued(method, host string, u *url.URL) bool {
	if s == nil || method != http.MethodGet && method != http.MethodHead {
		return false
	}
	k := issuedKey(host, u)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[k]
	if ok && s.now().Sub(t) > issuedTTL {
		delete(s.at, k)
		return false
	}
	return ok
}
