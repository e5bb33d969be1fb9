package dlp

import (
	"strings"
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

// BenchmarkJoinedPasses weighs each pass scanJoined runs on the joined
// readings (sibling runs, then runs in document order) of the JSON body
// classes.
func BenchmarkJoinedPasses(b *testing.B) {
	s := scanner(b, Options{})
	for _, class := range []string{"json", "code"} {
		_, _, body := classBody(b, class, 1<<20)
		var flat strings.Builder
		var joined, all joinBuf
		flattenJSONJoin(&flat, string(body), false, &joined, &all)
		for _, reading := range []struct{ name, text string }{{"joined", joined.String()}, {"all", all.String()}} {
			t := reading.text
			for _, p := range []struct {
				name string
				f    func(r *ruleScan)
			}{
				{"prefix", func(r *ruleScan) { r.prefixPass(t) }},
				{"cards", func(r *ruleScan) { r.cards(t) }},
				{"seed", func(r *ruleScan) { r.seedPhrase(t) }},
				{"wif", func(r *ruleScan) { r.wif(t) }},
				{"bytelists", func(*ruleScan) { byteLists(t) }},
				{"known", func(*ruleScan) { s.known.findBoth(t, true, true) }},
			} {
				b.Run(class+"/"+reading.name+"/"+p.name, func(b *testing.B) {
					b.SetBytes(int64(len(body)))
					for b.Loop() {
						p.f(&ruleScan{s: s, c: &collector{}})
					}
				})
			}
		}
	}
}
