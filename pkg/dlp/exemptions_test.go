package dlp

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// exemptToken is shaped like a GitHub personal access token (gitleaks'
// github-pat rule), built at run time so this file holds no literal token.
var exemptToken = "ghp_" + strings.Repeat("Zk8qXv9Lm2Tq7Rw4Pn6Y", 2)[:36]

func hasRule(fs []Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// Nothing the scanned data says about itself exempts it: not an inline
// gitleaks:allow comment, not a path gitleaks' allowlists skip, not a line
// shape its line allowlists skip. Each case has a clean counterpart that
// must stay clean, so the test cannot pass by finding everything.
func TestNoSelfExemption(t *testing.T) {
	s := scanner(t, Options{NoEntropy: true})
	for _, path := range []string{
		"", "logo.png", "fonts/a.woff2", "node_modules/x/index.js", "vendor/github.com/a/b/c.go",
		"package-lock.json", "yarn.lock", "go.sum", "Pipfile.lock", "gradlew", "x.gem",
		"venv/lib/python3.11/site-packages/a.py", "jquery-3.1.min.js", ".git", "gitleaks.toml",
		"node_modules/@octokit/auth-token/README.md", "recipe.bb",
	} {
		for _, text := range []string{
			"token = " + exemptToken,
			"token = " + exemptToken + " # gitleaks:allow",
			"// gitleaks:allow\ntoken = " + exemptToken + " // gitleaks:allow",
			`import { a } from 'b'; const t = "` + exemptToken + `"`,
			"--mount=type=secret, " + exemptToken,
		} {
			fs := s.ScanFile(path, text)
			assert.Assert(t, hasRule(fs, "github-pat"), "path %q text %q: not found (%v)", path, text, fs)
		}
		assert.Equal(t, len(s.ScanFile(path, "token = os.Getenv(\"GH_TOKEN\") # gitleaks:allow")), 0, path)
	}
}

// pipelock scans HTTP headers and bodies through the same rules: an inline
// gitleaks:allow there must not switch DLP off either.
func TestInlineAllowIgnoredInHTTP(t *testing.T) {
	s := scanner(t, Options{NoEntropy: true})
	fs := s.ScanParts([]Part{{Name: "header X-Note", Text: exemptToken + " gitleaks:allow"}})
	assert.Assert(t, hasRule(fs, "github-pat"), "header: %v", fs)
	fs, err := s.ScanBody("application/json", []byte(`{"note":"gitleaks:allow","t":"`+exemptToken+` gitleaks:allow"}`))
	assert.NilError(t, err)
	assert.Assert(t, hasRule(fs, "github-pat"), "json body: %v", fs)
	fs, err = s.ScanBody("text/plain", []byte("x = "+exemptToken+" // gitleaks:allow\n"))
	assert.NilError(t, err)
	assert.Assert(t, hasRule(fs, "github-pat"), "text body: %v", fs)
	fs, err = s.ScanBody("text/plain", []byte("nothing here // gitleaks:allow\n"))
	assert.NilError(t, err)
	assert.Equal(t, len(fs), 0)
}

// Placeholders stay exempt by their own shape (the allowlists that judge
// the candidate, not its surroundings, are kept).
func TestPlaceholderShapesStayClean(t *testing.T) {
	s := scanner(t, Options{NoEntropy: true})
	for _, text := range []string{
		`api_key = "${API_KEY}"`,
		`api_key = "{{ .Values.apiKey }}"`,
	} {
		// (AWS's documentation key AKIAIOSFODNN7EXAMPLE is not here: a
		// credential-shaped string leaving the bottle is a finding, example
		// or not.)
		assert.Equal(t, len(s.Scan("body", text)), 0, text)
	}
}
