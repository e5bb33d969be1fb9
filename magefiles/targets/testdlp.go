package targets

import "context"

// Dlp runs the labelled DLP corpus and prints containment and false positives per class; fails under 95 % / over 3 %.
func (Test) Dlp(ctx context.Context) error {
	return goCmd(ctx, nil, "test", "-count=1", "-v", "-run", "^TestCorpus$", "./internal/dlpcorpus/")
}
