package enterprises

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

// seatDoc is an enterprise_seats document: an arbiter held by a member.
type seatDoc struct {
	ID       string    `bson:"_id"`
	MemberID string    `bson:"member_id"`
	At       time.Time `bson:"at"`
}

// personKey is the arbiter of the one live binding of the person with ID
// index idx to the enterprise uscc.
func personKey(uscc, idx string) string { return "person|" + uscc + "|" + idx }

// seatKey is the arbiter of the enterprise's n-th administrator seat.
func seatKey(uscc string, n int) string { return fmt.Sprintf("seat|%s|%d", uscc, n) }

// hold makes memberID the holder of the arbiter key (platform.Claim). A
// document in the way is live while its member is pending or active, or
// not stored yet and the arbiter younger than seatAbandonAfter (its inviter
// is between the two inserts); it is stale when its member ended or its
// validity is over, or it was never stored after that. Results as platform.Claim's.
func (s *Service) hold(ctx context.Context, key, memberID string) (bool, error) {
	now := s.now()
	return platform.Claim(ctx, platform.UniqueClaim[seatDoc]{
		Coll: s.seats, Doc: seatDoc{ID: key, MemberID: memberID, At: now}, HolderField: "member_id",
		Judge: func(ctx context.Context, cur seatDoc) (platform.ClaimVerdict, error) {
			if cur.MemberID == memberID {
				return platform.ClaimOurs, nil
			}
			d, err := s.loadMember(ctx, cur.MemberID)
			switch {
			case errors.Is(err, ErrMemberNotFound):
				if now.Sub(cur.At) > seatAbandonAfter {
					return platform.ClaimStale, nil
				}
				return platform.ClaimLive, nil
			case err != nil:
				return 0, err
			case d.holds(now):
				return platform.ClaimLive, nil
			}
			return platform.ClaimStale, nil
		},
	})
}

// holdSeat takes a free administrator seat of uscc for memberID and returns
// its key. Of any number of concurrent appointments, at most
// MaxAdministrators live administrators hold seats. Errors:
// ErrAdministratorLimit, storage errors.
func (s *Service) holdSeat(ctx context.Context, uscc, memberID string) (string, error) {
	for n := range MaxAdministrators {
		key := seatKey(uscc, n)
		held, err := s.hold(ctx, key, memberID)
		if err != nil {
			return "", err
		}
		if held {
			return key, nil
		}
	}
	return "", ErrAdministratorLimit
}

// release frees the arbiter key if memberID still holds it. A failure is
// logged: the arbiter is then stale (its member ended) and the next claimer
// repairs it.
func (s *Service) release(ctx context.Context, key, memberID string) {
	if key == "" {
		return
	}
	if _, err := s.seats.DeleteOne(ctx, bson.M{"_id": key, "member_id": memberID}); err != nil {
		s.log.WarnContext(ctx, "enterprise arbiter not released", "err", err, "member_id", memberID)
	}
}
