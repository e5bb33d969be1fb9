package pipelock

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// TestSplitWindowCleanJoinsStillCatchAPieceAfterThem: a header repeated
// with the same value until its joins are remembered clean (and no longer
// scanned), then a known secret sent in two pieces in that header and in
// another: both splits are still found, and a repeat of a remembered join
// followed by a piece is scanned again.
func TestSplitWindowCleanJoinsStillCatchAPieceAfterThem(t *testing.T) {
	const secret = "sk_live_9fK2pQ7xLm3vR8tZ4wY6nB1c"
	fp, err := secretfp.Of("STRIPE", secret)
	assert.NilError(t, err)
	w, err := newSplitWindow([]secretfp.Fingerprint{fp})
	assert.NilError(t, err)
	ua := "curl/8.5.0 " + strings.Repeat("x", 40)
	for range 200 {
		_, hit := w.check("api.example.com", []slotValue{{slot: "header User-Agent", text: ua}, {slot: "header X-Note", text: "hello"}})
		assert.Assert(t, !hit)
	}
	half := len(secret) / 2
	_, hit := w.check("api.example.com", []slotValue{{slot: "header User-Agent", text: ua}, {slot: "header X-Note", text: secret[:half]}})
	assert.Assert(t, !hit, "half a secret is no finding")
	f, hit := w.check("api.example.com", []slotValue{{slot: "header User-Agent", text: ua}, {slot: "header X-Note", text: secret[half:]}})
	assert.Assert(t, hit, "the second half completes the secret")
	assert.Equal(t, f.Known, "STRIPE")

	// In the slot whose joins are remembered clean.
	_, hit = w.check("api.example.com", []slotValue{{slot: "header User-Agent", text: secret[:half]}})
	assert.Assert(t, !hit)
	_, hit = w.check("api.example.com", []slotValue{{slot: "header User-Agent", text: secret[half:]}})
	assert.Assert(t, hit, "a piece after remembered-clean joins")
}

// TestSplitWindowJoinsNoCardNumber: numbers sent one per request in the
// same path segment (ids, page numbers) join into a digit run; one that
// passes Luhn's check is not a card the agent sent, and is not refused.
func TestSplitWindowJoinsNoCardNumber(t *testing.T) {
	fp, err := secretfp.Of("STRIPE", "sk_live_9fK2pQ7xLm3vR8tZ4wY6nB1c")
	assert.NilError(t, err)
	w, err := newSplitWindow([]secretfp.Fingerprint{fp})
	assert.NilError(t, err)
	for _, id := range []string{"4111", "1111", "1111", "1111", "4242", "4242", "4242", "4242"} {
		f, hit := w.check("api.example.com", []slotValue{{slot: "path/2", text: id}})
		assert.Assert(t, !hit, "refused: %v", f)
	}
}
