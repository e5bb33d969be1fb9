package dlp

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// classRuleTexts returns the readings of a body class that reach the rule
// pass (as collect hands them over: textual readings, binary ones as their
// printable islands), with the known-secret pass's inputs beside them.
// It follows scanBody and collect closely enough to weigh the rule pass;
// it is not the scan itself.
func classRuleTexts(tb testing.TB, class string, n int) (texts, encs []string, sent int) {
	tb.Helper()
	ct, body, dec := classBody(tb, class, n)
	text := string(dec)
	var parts []string
	if strings.Contains(ct, "json") && json.Valid(dec) {
		var b strings.Builder
		flattenJSON(&b, text, false)
		parts = append(parts, b.String())
	} else {
		parts = append(parts, text)
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			if vals, err := url.ParseQuery(text); err == nil {
				var b strings.Builder
				for k, vs := range vals {
					b.WriteString(k + "\n")
					for _, v := range vs {
						b.WriteString(v + "\n")
					}
				}
				parts = append(parts, b.String())
			}
		}
	}
	for _, p := range parts {
		readViews(p, false, func(v view) bool {
			t := v.text
			textual := v.enc == EncRaw || v.enc == EncURL || v.enc == EncUnicode || v.enc == EncDespaced || v.enc == EncQuotedPrintable || mostlyText(v.text)
			if !textual && (v.enc == EncBase64 || v.enc == EncHex || v.enc == EncBase32 || v.enc == EncHexDelimited) {
				t, textual = decodedText(v.text)
			}
			if !textual {
				return false
			}
			if len(t) > 4096 && !mostlyText(t) {
				t = textIslands(t)
			}
			texts = append(texts, t)
			encs = append(encs, v.enc)
			return false
		})
	}
	return texts, encs, len(body)
}

// BenchmarkRulePass is the rule pass (and the known-secret pass) alone
// over every reading of each body class; its rate is of the bytes sent,
// as BenchmarkScanBodyClass's. Run:
// go test ./pkg/dlp -run '^$' -bench RulePass -cpu 1
func BenchmarkRulePass(b *testing.B) {
	s := scanner(b, Options{})
	for _, class := range benchload.ScanClasses {
		b.Run(class, func(b *testing.B) {
			texts, encs, sent := classRuleTexts(b, class, 1<<20)
			b.SetBytes(int64(sent))
			start := cpuTime()
			n := 0
			for b.Loop() {
				n++
				var c collector
				for i, t := range texts {
					s.known.findBoth(t, true, true)
					s.rules(&c, "body", encs[i], t)
				}
			}
			if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
				b.ReportMetric(float64(n*sent)/cpu/1e6, "cpuMB/s")
			}
		})
	}
}
