package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// claimGrace is how long a claim whose holder has not recorded the identity
// keeps the number for that holder's retry; older, it is abandoned (the
// holder crashed between the claim and the user update) and anyone may take
// it over. Well above writeTimeout, so a raise still under way is never
// taken for abandoned, with room for replicas' clocks to differ.
const claimGrace = 5 * time.Minute

// claimRounds bounds how often claim meets a changed holder before it gives
// up with platform.ErrClaimContended.
const claimRounds = 5

// claimDoc is an identity_claims document: the holder of an ID number.
type claimDoc struct {
	ID        string    `bson:"_id"` // blind index of the ID number
	UserID    string    `bson:"user_id"`
	CreatedAt time.Time `bson:"created_at"` // when this holder took it
	// Proven is set when the holder proves the number (level 3 or 4), before
	// the proving level is recorded on the user: from then on no other
	// proof takes the number. Absent on declarations, and on claims of
	// earlier releases, whose holder's level then says whether it is proven.
	Proven bool `bson:"proven,omitempty"`
}

// holding is what a claim's holder has of the number.
type holding int

const (
	holdingStale    holding = iota + 1 // gone, another number, or abandoned: anyone takes it over
	holdingDeclared                    // a declaration (or one under way): a proof takes it over
	holdingProven                      // a proof (or one under way): nobody takes it
)

// judge says what the holder of cur, a claim of the number idx that is not
// the claimer's, has of it; with the holder's document when it exists.
func (s *Store) judge(ctx context.Context, cur claimDoc, idx string) (holding, userDoc, error) {
	od, err := s.load(ctx, cur.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return holdingStale, userDoc{}, nil
	case err != nil:
		return 0, userDoc{}, err
	case od.IDIndex != "" && od.IDIndex != idx:
		return holdingStale, od, nil
	case od.IDIndex == "" && s.now().Sub(cur.CreatedAt) > claimGrace:
		// Its holder never recorded the identity (a crash between the two
		// steps) and had ample time to retry.
		return holdingStale, od, nil
	case cur.Proven || (od.IDIndex == idx && od.Level >= provenLevel):
		return holdingProven, od, nil
	}
	return holdingDeclared, od, nil
}

// claim makes userID the holder of the ID number with blind index idx, as a
// proof when level is provenLevel or above.
//
// It inserts the claim; on a duplicate key it reads the holder. The
// claimer's own claim is kept (made a proof when proving). A stale holder's
// claim (its user is gone, recorded another number, or recorded none within
// claimGrace) is replaced. A declaration is replaced by a proof, which first
// records the revocation it causes and returns its ID (finishRevocation
// completes it); a declaration meeting a declaration, and anything meeting a
// proof, is ErrRealnameTaken. Every replacement is an update conditional on
// the very holder that was judged (user, tenure and, for a declaration, not
// proven meanwhile), so of concurrent claimers one wins and the others judge
// the winner. Still contended after claimRounds: an error wrapping
// platform.ErrClaimContended, nothing held.
func (s *Store) claim(ctx context.Context, idx, userID string, level int) (string, error) {
	proving := level >= provenLevel
	for range claimRounds {
		now := s.now()
		_, err := s.claims.InsertOne(ctx, claimDoc{ID: idx, UserID: userID, CreatedAt: now, Proven: proving})
		if err == nil {
			return "", nil
		}
		if !platform.IsDuplicateKey(err) {
			return "", fmt.Errorf("account: claim id number: %w", err)
		}
		var cur claimDoc
		err = s.claims.FindOne(ctx, bson.M{"_id": idx}).Decode(&cur)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // released meanwhile: insert again
		}
		if err != nil {
			return "", fmt.Errorf("account: read id number claim: %w", err)
		}
		if cur.UserID == userID {
			if !proving || cur.Proven {
				return "", nil // a retry, or a crash before the user was updated
			}
			res, err := s.claims.UpdateOne(ctx, bson.M{"_id": idx, "user_id": userID},
				bson.M{"$set": bson.M{"proven": true}})
			if err != nil {
				return "", fmt.Errorf("account: prove id number claim: %w", err)
			}
			if res.MatchedCount == 1 {
				return "", nil
			}
			continue // taken meanwhile: judge the new holder
		}
		h, holder, err := s.judge(ctx, cur, idx)
		if err != nil {
			return "", err
		}
		switch {
		case h == holdingProven, h == holdingDeclared && !proving:
			return "", ErrRealnameTaken
		case h == holdingStale:
			if ok, err := s.replaceClaim(ctx, cur, userID, now, proving, false); err != nil || ok {
				return "", err
			}
		default: // a proof meets a declaration
			revocation, err := s.startRevocation(ctx, holder, cur.UserID, userID, level)
			if err != nil {
				return "", err
			}
			ok, err := s.replaceClaim(ctx, cur, userID, now, true, true)
			if err != nil || !ok {
				// The declaration changed meanwhile: nothing was revoked.
				if verr := s.voidRevocation(ctx, revocation); err == nil {
					err = verr
				}
				if err != nil {
					return "", err
				}
				continue
			}
			return revocation, nil
		}
	}
	return "", fmt.Errorf("account: claim id number: %w", platform.ErrClaimContended)
}

// replaceClaim gives the claim cur to userID, only while it still names the
// holder and tenure that were judged (and, with declaredOnly, is still not
// proven): false when it changed meanwhile.
func (s *Store) replaceClaim(ctx context.Context, cur claimDoc, userID string, now time.Time, proving, declaredOnly bool) (bool, error) {
	filter := bson.M{"_id": cur.ID, "user_id": cur.UserID, "created_at": cur.CreatedAt}
	if cur.CreatedAt.IsZero() {
		filter["created_at"] = bson.M{"$exists": false}
	}
	if declaredOnly {
		filter["proven"] = bson.M{"$ne": true}
	}
	set := bson.M{"user_id": userID, "created_at": now}
	update := bson.M{"$set": set}
	if proving {
		set["proven"] = true
	} else {
		update["$unset"] = bson.M{"proven": ""}
	}
	res, err := s.claims.UpdateOne(ctx, filter, update)
	if err != nil {
		return false, fmt.Errorf("account: take over id number claim: %w", err)
	}
	return res.MatchedCount == 1, nil
}

// releaseClaim deletes the claim idx if userID holds it.
func (s *Store) releaseClaim(ctx context.Context, idx, userID string) error {
	if _, err := s.claims.DeleteOne(ctx, bson.M{"_id": idx, "user_id": userID}); err != nil {
		return fmt.Errorf("account: release id number claim: %w", err)
	}
	return nil
}

// dropStaleClaims deletes every claim of userID except idx, its recorded
// identity: left-overs of raises that lost to another identity and crashed
// before releasing their claim.
func (s *Store) dropStaleClaims(ctx context.Context, userID, idx string) error {
	_, err := s.claims.DeleteMany(ctx, bson.M{"user_id": userID, "_id": bson.M{"$ne": idx}})
	if err != nil {
		return fmt.Errorf("account: drop stale id number claims: %w", err)
	}
	return nil
}

// ProvenOwner returns the ID of the user who proved the ID number idNumber
// (real-name level 3 or 4), or ErrNotFound when nobody has: a declaration
// (level 2) never makes anyone the owner. What is found by ID number
// (applications, bills) belongs to this user only. idNumber is normalised as
// ValidateIDNumber does (surrounding spaces, a lowercase x); it is not
// otherwise checked. Errors: ErrNotFound, storage errors.
func (s *Store) ProvenOwner(ctx context.Context, idNumber string) (string, error) {
	return s.ProvenOwnerOfIndex(ctx, s.IDIndex(idNumber))
}

// IDIndex is the blind index of an ID number (normalised as ProvenOwner
// does): what other features store instead of the number.
func (s *Store) IDIndex(idNumber string) string {
	return s.cipher.BlindIndex(kindIDNumber, normaliseIDNumber(idNumber))
}

// ProvenOwnerOfIndex is ProvenOwner for an ID number given by its blind
// index. Errors: ErrNotFound, storage errors.
func (s *Store) ProvenOwnerOfIndex(ctx context.Context, idx string) (string, error) {
	if idx == "" {
		return "", ErrNotFound
	}
	var c claimDoc
	err := s.claims.FindOne(ctx, bson.M{"_id": idx}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("account: read id number claim: %w", err)
	}
	od, err := s.load(ctx, c.UserID)
	if err != nil {
		return "", err
	}
	if od.IDIndex != idx || od.Level < provenLevel {
		return "", ErrNotFound
	}
	return od.ID, nil
}

// ProvenIndex returns the blind index of the ID number the user proved (level
// 3 or 4), or "" when the user proved none (a level-2 declaration proves
// nothing). Errors: ErrNotFound (no such user), storage errors.
func (s *Store) ProvenIndex(ctx context.Context, userID string) (string, error) {
	d, err := s.load(ctx, userID)
	if err != nil {
		return "", err
	}
	if d.IDIndex == "" || d.Level < provenLevel {
		return "", nil
	}
	return d.IDIndex, nil
}
