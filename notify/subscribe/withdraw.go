package subscribe

import (
	"context"
	"time"
)

// whatWithdrawn is the credit log's word for a consent withdrawn in Banshi.
const whatWithdrawn = "withdrawn"

// Withdraw ends the citizen's consent to subscribe messages of templateID
// (PIPL art. 15): the credits are set to zero, as a ban in WeChat's
// settings would, so nothing more is sent until the citizen accepts again.
// Idempotent. Errors: storage errors.
func (s *Service) Withdraw(ctx context.Context, userID, templateID string) error {
	_, err := s.credits.change(ctx, userID, templateID, "", func(d *creditDoc, now time.Time) {
		d.zero(now, sourceClient, whatWithdrawn, "")
	})
	return err
}
