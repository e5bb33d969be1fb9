package dlp

import (
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// Exemptions: gitleaks is built to scan a developer's own repository, so it
// skips findings that "look intentional" — files under node_modules/,
// vendor/, lock files, images; lines carrying a `gitleaks:allow` comment;
// candidates containing one of ~1,500 stop words ("example", "test", …);
// lines matching a few context patterns. In an egress scanner every one of
// those is a switch the sender holds: an agent that wants a secret out names
// the file logo.png, appends `# gitleaks:allow`, or adds "example" to the
// value. So the rules are loaded without any exemption the scanned data can
// trigger:
//
//   - the inline `gitleaks:allow` signature is ignored;
//   - every path allowlist is gone (global and per rule); an allowlist whose
//     paths were a condition (AND) for its other checks is dropped whole,
//     since without them its regexes would apply everywhere;
//   - every stop word is gone (the sender can append one to any value);
//   - every allowlist regex that looks at the whole line is gone (the sender
//     writes the rest of the line).
//
// What stays are the allowlist regexes that judge the candidate itself (its
// match or secret): they exempt values that are placeholders by their own
// shape — `${VAR}`, `{{ .Token }}`, `true`, a run of one letter, gitleaks'
// list of published example keys — and a real secret cannot take those
// shapes without ceasing to be that secret.
func removeExemptions(d *detect.Detector) {
	d.IgnoreGitleaksAllow = true
	d.Config.Allowlists = keepCandidateChecks(d.Config.Allowlists)
	for id, r := range d.Config.Rules {
		r.Allowlists = keepCandidateChecks(r.Allowlists)
		d.Config.Rules[id] = r
	}
}

// keepCandidateChecks returns the allowlists reduced to the checks the
// scanned data cannot switch on by what surrounds a secret (see
// removeExemptions). Lists left with nothing to check are dropped: an empty
// allowlist must not be handed to gitleaks.
func keepCandidateChecks(als []*config.Allowlist) []*config.Allowlist {
	var out []*config.Allowlist
	for _, a := range als {
		if a == nil {
			continue
		}
		if len(a.Paths) > 0 && a.MatchCondition == config.AllowlistMatchAnd {
			continue
		}
		regexes := a.Regexes
		if a.RegexTarget == "line" {
			regexes = nil
		}
		if len(regexes) == 0 && len(a.Commits) == 0 {
			continue
		}
		out = append(out, &config.Allowlist{Description: a.Description, MatchCondition: a.MatchCondition,
			Commits: a.Commits, RegexTarget: a.RegexTarget, Regexes: regexes})
	}
	return out
}
