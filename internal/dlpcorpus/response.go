package dlpcorpus

import "github.com/claude-bottle/claude-bottle/internal/inject"

// responseDetector judges response cases with pipelock's prompt-injection
// scanner (internal/inject): a case counts as detected when pipelock's default
// action refuses it (a high-confidence finding); medium-confidence ones
// are only reported to the agent in a header, which is not a refusal.
func responseDetector() Detector {
	return func(c Case) (bool, string) {
		body := c.Body
		if len(body) > inject.MaxScan {
			body = body[:inject.MaxScan]
		}
		for _, f := range inject.Scan(body) {
			if f.Confidence == inject.High {
				return true, f.String()
			}
		}
		return false, ""
	}
}
