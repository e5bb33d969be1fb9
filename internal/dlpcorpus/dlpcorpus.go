// Package dlpcorpus is the project's labelled DLP corpus and its judge:
// cases of agent egress (requests) and of what agents read (responses),
// each labelled malicious or benign with a one-line rationale, and a runner
// that reports containment (malicious cases detected) and the
// false-positive rate (benign cases flagged) per class. `go tool mage
// test:dlp` runs it and fails under MinContainment or over MaxFalsePositive.
package dlpcorpus

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

//go:embed testdata/corpus.jsonl
var corpusFile []byte

// Thresholds a corpus run must meet.
const (
	MinContainment   = 0.95
	MaxFalsePositive = 0.03
)

// Directions of a case.
const (
	Request  = "request"
	Response = "response"
)

// Case is one labelled sample.
type Case struct {
	ID        string            `json:"id"`
	Class     string            `json:"class"`
	Direction string            `json:"direction"`
	Malicious bool              `json:"malicious"`
	Rationale string            `json:"rationale"`
	Host      string            `json:"host,omitempty"`
	Path      string            `json:"path,omitempty"`
	Query     string            `json:"query,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	// ContentType and Body: the request body, or the response body.
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body,omitempty"`
}

// Load parses a corpus: one JSON case per line, '#' lines are comments.
// Every case needs an id, a class, a direction and a rationale.
func Load(r io.Reader) ([]Case, error) {
	var out []Case
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("corpus line %d: %w", line, err)
		}
		switch {
		case c.ID == "" || c.Class == "" || c.Rationale == "":
			return nil, fmt.Errorf("corpus line %d: id, class and rationale are required", line)
		case c.Direction != Request && c.Direction != Response:
			return nil, fmt.Errorf("corpus line %d (%s): direction must be %q or %q", line, c.ID, Request, Response)
		case seen[c.ID]:
			return nil, fmt.Errorf("corpus line %d: duplicate id %q", line, c.ID)
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return out, sc.Err()
}

// Default is the corpus shipped in the repository.
func Default() ([]Case, error) { return Load(bytes.NewReader(corpusFile)) }

// Detector judges one case: true when it would be blocked (a request) or
// flagged (a response).
type Detector func(Case) (bool, string)

// Options are the detectors to run; a nil Response leaves response cases
// out of the counts (reported as skipped) until a response detector exists.
type Options struct {
	Request  Detector
	Response Detector
}

// ClassResult counts one class.
type ClassResult struct {
	Class               string
	Malicious, Detected int
	Benign, Flagged     int
	Misses              []string // ids (and what was found, for FPs)
}

// Result is a whole run.
type Result struct {
	Classes         []ClassResult
	Malicious       int
	Detected        int
	Benign          int
	Flagged         int
	SkippedResponse int
}

// Containment is the share of malicious cases detected.
func (r Result) Containment() float64 {
	if r.Malicious == 0 {
		return 1
	}
	return float64(r.Detected) / float64(r.Malicious)
}

// FalsePositiveRate is the share of benign cases flagged.
func (r Result) FalsePositiveRate() float64 {
	if r.Benign == 0 {
		return 0
	}
	return float64(r.Flagged) / float64(r.Benign)
}

// Run judges every case.
func Run(cases []Case, opts Options) Result {
	byClass := map[string]*ClassResult{}
	var res Result
	for _, c := range cases {
		det := opts.Request
		if c.Direction == Response {
			det = opts.Response
		}
		if det == nil {
			res.SkippedResponse++
			continue
		}
		cr := byClass[c.Class]
		if cr == nil {
			cr = &ClassResult{Class: c.Class}
			byClass[c.Class] = cr
		}
		hit, why := det(c)
		if c.Malicious {
			cr.Malicious++
			res.Malicious++
			if hit {
				cr.Detected++
				res.Detected++
			} else {
				cr.Misses = append(cr.Misses, c.ID)
			}
		} else {
			cr.Benign++
			res.Benign++
			if hit {
				cr.Flagged++
				res.Flagged++
				cr.Misses = append(cr.Misses, c.ID+" ("+why+")")
			}
		}
	}
	for _, cr := range byClass {
		res.Classes = append(res.Classes, *cr)
	}
	sort.Slice(res.Classes, func(i, j int) bool { return res.Classes[i].Class < res.Classes[j].Class })
	return res
}

// Report writes the per-class table and the totals.
func (r Result) Report(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tMALICIOUS\tDETECTED\tCONTAINMENT\tBENIGN\tFLAGGED\tFP RATE")
	for _, c := range r.Classes {
		cont, fp := "-", "-"
		if c.Malicious > 0 {
			cont = fmt.Sprintf("%.1f%%", 100*float64(c.Detected)/float64(c.Malicious))
		}
		if c.Benign > 0 {
			fp = fmt.Sprintf("%.1f%%", 100*float64(c.Flagged)/float64(c.Benign))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\n", c.Class, c.Malicious, c.Detected, cont, c.Benign, c.Flagged, fp)
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%.1f%%\t%d\t%d\t%.1f%%\n", r.Malicious, r.Detected, 100*r.Containment(), r.Benign, r.Flagged, 100*r.FalsePositiveRate())
	_ = tw.Flush()
	if r.SkippedResponse > 0 {
		fmt.Fprintf(w, "%d response case(s) skipped: no response detector registered\n", r.SkippedResponse)
	}
	for _, c := range r.Classes {
		if len(c.Misses) > 0 {
			fmt.Fprintf(w, "%s: %s\n", c.Class, strings.Join(c.Misses, ", "))
		}
	}
}

// RequestDetector judges request cases with s the way pipelock inspects a
// request: the host name, the escaped path, the raw query, every header as
// "Name: value", and the body by its content type.
func RequestDetector(s *dlp.Scanner) Detector {
	return func(c Case) (bool, string) {
		var fs []dlp.Finding
		if c.Host != "" {
			fs = append(fs, s.ScanHost(c.Host)...)
		}
		path := c.Path
		if u, err := url.Parse(path); err == nil {
			path = u.EscapedPath()
		}
		parts := []dlp.Part{{Name: "path", Text: path}}
		if c.Query != "" {
			parts = append(parts, dlp.Part{Name: "query", Text: c.Query})
		}
		for k, v := range c.Headers {
			parts = append(parts, dlp.Part{Name: "header " + k, Text: k + ": " + v})
		}
		fs = append(fs, s.ScanParts(parts)...)
		if c.Body != "" {
			bf, err := s.ScanBody(c.ContentType, []byte(c.Body))
			if err != nil {
				return true, err.Error()
			}
			fs = append(fs, bf...)
		}
		if len(fs) == 0 {
			return false, ""
		}
		return true, fs[0].String()
	}
}
