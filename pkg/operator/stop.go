package operator

import (
	"errors"
	"fmt"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// BottleStopped is the reason given to proposals answered by down.
const BottleStopped = "bottle stopped"

// RejectAll answers every unanswered proposal of slug as rejected with
// reason (audited like any rejection), so nothing stays pending for a
// bottle that is going away and an agent still waiting gets an answer.
// It returns how many it answered.
func (o *Operator) RejectAll(slug, reason string) (int, error) {
	if err := contract.ValidateSlug(slug); err != nil {
		return 0, err
	}
	ps, err := approvals.Queue{Dir: o.Layout.QueueDir(slug)}.Unanswered()
	if err != nil {
		return 0, fmt.Errorf("pending proposals of %s: %w", slug, err)
	}
	n := 0
	var errs []error
	for _, p := range ps {
		if err := o.Reject(p.ID, reason); err != nil {
			errs = append(errs, fmt.Errorf("answer %s: %w", p.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
