package dlp

import (
	"testing"
)

// BenchmarkPasses weighs each detector of the rule pass on the first
// reading of a few body classes.
func BenchmarkPasses(b *testing.B) {
	s := scanner(b, Options{})
	for _, class := range []string{"text", "code", "form"} {
		texts, _, _ := classRuleTexts(b, class, 1<<20)
		t := texts[0]
		for _, p := range []struct {
			name string
			f    func(r *ruleScan)
		}{
			{"prefix", func(r *ruleScan) { r.prefixPass(t) }},
			{"field", func(r *ruleScan) { r.fieldPass(t) }},
			{"structure", func(r *ruleScan) { r.structurePass(t) }},
			{"entropy", func(r *ruleScan) { r.entropyPass(t) }},
			{"cards", func(r *ruleScan) { r.cards(t) }},
			{"seed", func(r *ruleScan) { r.seedPhrase(t) }},
			{"wif", func(r *ruleScan) { r.wif(t) }},
			{"known", func(r *ruleScan) { s.known.findBoth(t, true, true) }},
		} {
			b.Run(class+"/"+p.name, func(b *testing.B) {
				b.SetBytes(int64(len(t)))
				for b.Loop() {
					p.f(&ruleScan{s: s, c: &collector{}})
				}
			})
		}
	}
}
