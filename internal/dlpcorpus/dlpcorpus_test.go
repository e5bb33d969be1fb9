package dlpcorpus

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// TestCorpus is what `go tool mage test:dlp` runs: the pipelock slot's
// default scanner (gitleaks' rules, our own rules, entropy) over the
// corpus, per class, failing under MinContainment or over
// MaxFalsePositive.
func TestCorpus(t *testing.T) {
	cases, err := Default()
	assert.NilError(t, err)
	assert.Assert(t, len(cases) >= 250, "the corpus must hold at least 250 cases, has %d", len(cases))
	s, err := dlp.New(dlp.Options{})
	assert.NilError(t, err)
	res := Run(cases, Options{Request: RequestDetector(s), Response: responseDetector()})
	var b strings.Builder
	res.Report(&b)
	t.Log("\n" + b.String())
	assert.Assert(t, res.Containment() >= MinContainment, "containment %.1f%% is under %.0f%%", 100*res.Containment(), 100*MinContainment)
	assert.Assert(t, res.FalsePositiveRate() <= MaxFalsePositive, "false positives %.1f%% are over %.0f%%", 100*res.FalsePositiveRate(), 100*MaxFalsePositive)
	// And class by class: a class the scanner misses cannot hide behind
	// the others.
	for _, c := range res.Classes {
		if c.Malicious > 0 && float64(c.Detected) < MinContainment*float64(c.Malicious) {
			t.Errorf("class %s: containment %d/%d is under %.0f%% (missed: %v)", c.Class, c.Detected, c.Malicious, 100*MinContainment, c.Misses)
		}
		if c.Benign > 0 && float64(c.Flagged) > MaxFalsePositive*float64(c.Benign) {
			t.Errorf("class %s: %d/%d benign cases flagged, over %.0f%% (%v)", c.Class, c.Flagged, c.Benign, 100*MaxFalsePositive, c.Misses)
		}
	}
}

func TestLoadRejectsBadCases(t *testing.T) {
	for name, in := range map[string]string{
		"no rationale":  `{"id":"a","class":"c","direction":"request","malicious":true}`,
		"bad direction": `{"id":"a","class":"c","direction":"sideways","malicious":true,"rationale":"r"}`,
		"unknown field": `{"id":"a","class":"c","direction":"request","malicious":true,"rationale":"r","extra":1}`,
		"duplicate":     "{\"id\":\"a\",\"class\":\"c\",\"direction\":\"request\",\"rationale\":\"r\"}\n{\"id\":\"a\",\"class\":\"c\",\"direction\":\"request\",\"rationale\":\"r\"}",
	} {
		_, err := Load(strings.NewReader(in))
		assert.Assert(t, err != nil, name)
	}
}

// TestRunCounts: the judge counts by class and leaves response cases out
// without a response detector.
func TestRunCounts(t *testing.T) {
	cases := []Case{
		{ID: "m1", Class: "x", Direction: Request, Malicious: true},
		{ID: "m2", Class: "x", Direction: Request, Malicious: true},
		{ID: "b1", Class: "y", Direction: Request},
		{ID: "r1", Class: "z", Direction: Response, Malicious: true},
	}
	res := Run(cases, Options{Request: func(c Case) (bool, string) { return c.ID != "m2", "hit" }})
	assert.Equal(t, res.Malicious, 2)
	assert.Equal(t, res.Detected, 1)
	assert.Equal(t, res.Flagged, 1)
	assert.Equal(t, res.SkippedResponse, 1)
	assert.Equal(t, res.Containment(), 0.5)
}
