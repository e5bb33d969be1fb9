package dlp

import "testing"

// BenchmarkScanBodyClassKnown is BenchmarkScanBodyClass for a bottle with
// known secrets (a canary, a password, a token; all token-shaped, as
// canaries and most secrets are): the anchored matcher and the forms of each secret
// (secretfp.Forms) in every reading. Run:
// go test ./pkg/dlp -run '^$' -bench BodyClassKnown -cpu 1
func BenchmarkScanBodyClassKnown(b *testing.B) {
	var fps []Fingerprint
	for name, v := range map[string]string{"canary": rtCanary, "password": rtPassword, "token": "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"} {
		fp, err := FingerprintOf(name, v)
		if err != nil {
			b.Fatal(err)
		}
		fps = append(fps, fp)
	}
	benchScanClasses(b, scanner(b, Options{Known: fps}))
}
