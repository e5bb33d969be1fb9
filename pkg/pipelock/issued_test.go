package pipelock

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// signedQueries are the signed download URLs servers redirect to: their
// query holds what the URL rules read as credentials.
var signedQueries = map[string]string{
	"aws": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAVCODYLSA53PQK4ZA%2F20251128%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20251128T120000Z&X-Amz-Expires=300&X-Amz-Signature=3f1c2a9d8e7b6a5f4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b&X-Amz-SignedHeaders=host&response-content-disposition=attachment%3B%20filename%3Dtool.tar.gz",
	"sas": "sp=r&sv=2018-11-09&sr=b&spr=https&se=2025-11-28T12%3A05%3A00Z&skoid=96c2d410-5711-43a1-aedd-ab1947aa7ab0&sig=Zk8qXv3LmP0aB7cD1eF2gH4iJ6kL9mNqR5sT7uV9wX0%3D",
	"jwt": "jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJnaXRodWIuY29tIiwiYXVkIjoicmVsZWFzZS1hc3NldHMiLCJleHAiOjE3MzI4MDAwMDB9.Zk8qXv3LmP0aB7cD1eF2gH4iJ6kL9mNqR5sT7uV9wX0&filename=tool.tar.gz",
	"cf":  "Expires=1732800000&Signature=Zk8qXv3LmP0aB7cD1eF2gH4iJ6kL9mNqR5sT7uV9wX0~aB7cD1eF2gH4iJ6kL9mNqR5sT7uV9wX0Zk8qXv3LmP0&Key-Pair-Id=K2JCJMDEHXQW5F",
}

// A download that redirects to a signed URL goes through (following the
// Location a server handed out sends nothing new); the same URL written by
// the agent, anything added to it, another method, or a URL only like it
// is scanned and refused.
func TestRedirectedSignedURLs(t *testing.T) {
	e := newEnvWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q, ok := strings.CutPrefix(r.URL.Path, "/releases/"); ok {
			w.Header().Set("Location", "https://allowed.example.com/dl/tool.tar.gz?"+signedQueries[q])
			w.WriteHeader(http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("tarball"))
	}), nil)
	for name, q := range signedQueries {
		before := len(e.seenAll())
		r := e.get("https://allowed.example.com/releases/" + name)
		assert.Check(t, r.status == 200 && r.body == "tarball", "%s: %d %s", name, r.status, r.body)
		got := e.seenAll()[before:]
		assert.Check(t, len(got) == 2 && got[1].query == q, "%s: the signed URL did not reach the origin: %+v", name, got)
	}

	// Written by the agent (never handed out): refused.
	fresh := newEnv(t, nil)
	for name, q := range signedQueries {
		r := fresh.get("https://allowed.example.com/dl/tool.tar.gz?" + q)
		assert.Check(t, r.status == 403, "%s: a signed-looking URL the agent wrote passed: %d", name, r.status)
	}
	// Handed out, then changed, or sent with another method: refused.
	aws := "https://allowed.example.com/dl/tool.tar.gz?" + signedQueries["aws"]
	for _, u := range []string{aws + "&x=1", strings.Replace(aws, "tool.tar.gz", "tool.tgz", 1), "https://allowed.example.com/dl/other?" + signedQueries["aws"]} {
		r := e.get(u)
		assert.Check(t, r.status == 403, "%s: a URL only like the one handed out passed: %d", u, r.status)
	}
	req, _ := http.NewRequest(http.MethodPost, aws, strings.NewReader("x"))
	assert.Check(t, e.do(req, e.proxyURL).status == 403, "a POST to a handed-out URL is scanned")
	// Headers are still read on a handed-out URL.
	req, _ = http.NewRequest(http.MethodGet, aws, nil)
	req.Header.Set("X-Note", "ghp_Zk8qXv3LmP0aB7cD1eF2gH4iJ6kL9mNqR5sT")
	assert.Check(t, e.do(req, e.proxyURL).status == 403, "a token in a header of a handed-out URL passed")
}

func TestIssuedURLsBounded(t *testing.T) {
	s := newIssuedURLs()
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	req := &http.Request{URL: &url.URL{Scheme: "https", Host: "a.example", Path: "/"}}
	redirect := func(loc string) {
		s.recordRedirect(&http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {loc}}, Request: req})
	}
	redirect("/x?sig=1")
	u, _ := url.Parse("https://a.example/x?sig=1")
	assert.Assert(t, s.issued(http.MethodGet, "A.example", u), "a relative Location resolves against the request")
	assert.Assert(t, !s.issued(http.MethodPut, "a.example", u))
	now = now.Add(issuedTTL + time.Second)
	assert.Assert(t, !s.issued(http.MethodGet, "a.example", u), "expired")
	for i := range issuedMax + 50 {
		now = now.Add(time.Millisecond)
		redirect("https://b.example/" + strings.Repeat("p", i%7) + "?n=" + string(rune('a'+i%26)) + strings.Repeat("z", i))
	}
	assert.Assert(t, len(s.at) <= issuedMax, "%d remembered", len(s.at))
	redirect("https://b.example/" + strings.Repeat("p", issuedLongest))
	assert.Assert(t, len(s.at) <= issuedMax)
	// Not a redirect, or not http(s): nothing remembered.
	n := len(s.at)
	s.recordRedirect(&http.Response{StatusCode: 200, Header: http.Header{"Location": {"https://c.example/"}}, Request: req})
	s.recordRedirect(&http.Response{StatusCode: 302, Header: http.Header{"Location": {"ftp://c.example/"}}, Request: req})
	assert.Equal(t, len(s.at), n)
}
