package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// provenLevel is the lowest level that proves an identity: WeChat's
// real-name check (3) or face verification (4). Level 2 only declares it.
const provenLevel = 3

// writeTimeout bounds the steps of a raise after the request's context is
// left behind (a cancelled request still completes or undoes them).
const writeTimeout = 30 * time.Second

// unsetIdentity is the $unset of every users field of a recorded identity.
func unsetIdentity() bson.M {
	return bson.M{
		"name_enc": "", "id_number_enc": "", "name_masked": "", "id_number_masked": "",
		"id_index": "", "identity_at": "", "pii_format": "",
	}
}

// RaiseLevel records the identity id for the user and raises the user's level
// to max(current, level). It returns the updated user. Levels 3 and 4 prove
// the identity; level 2 (and 1) only declare it.
//
// The identity is validated again and normalised (ValidateName,
// ValidateIDNumber against the store's clock): bad input is a
// platform.Invalid error; a level outside 1..4 is an error. Both change nothing.
//
//   - ErrNotFound: no such user.
//   - ErrIdentityLocked: the user already has a recorded identity with another
//     ID number or another name; nothing changes.
//   - ErrRealnameTaken: another user proved this ID number, or (for a
//     declaration) declared it; nothing changes.
//
// A declaration never outranks a proof: a proof of an ID number that another
// user only declared takes the number, and that user loses the declaration
// (level back to 1, identity removed, sessions ended, an inbox message, an
// identity event and a log line: see finishRevocation). Of two proofs the
// later is refused.
//
// "One ID number, one person" is decided by the claim identity_claims with
// _id = blind index of the ID number (see claim), taken before the user
// document is updated, and checked again after it: an identity recorded
// while a proof took its claim is undone. Once the claim is under way the
// steps no longer follow the request's context: a cancelled request
// completes (or undoes) them. A retry after a crash between the two steps
// finds its own claim and completes the user. The name and ID number are
// stored only encrypted, masked, and (ID number) as blind index. The level is
// raised with $max, so concurrent raises end at the highest level.
func (s *Store) RaiseLevel(ctx context.Context, userID string, id Identity, level int) (User, error) {
	if level < minLevel || level > maxLevel {
		return User{}, fmt.Errorf("account: level %d outside %d..%d", level, minLevel, maxLevel)
	}
	name, err := ValidateName(id.Name)
	if err != nil {
		return User{}, err
	}
	number, err := ValidateIDNumber(id.IDNumber, s.clock.Now())
	if err != nil {
		return User{}, err
	}
	idx := s.cipher.BlindIndex(kindIDNumber, number)

	doc, err := s.load(ctx, userID)
	if err != nil {
		return User{}, err
	}
	// From the claim on, the steps run to their end (or undo what they did)
	// even when the request is cancelled: a claim left without its identity
	// would keep the number from everybody else until it is judged abandoned.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if doc.IDIndex != "" {
		return s.raiseRecorded(ctx, doc, idx, name, level)
	}

	revocation, err := s.claim(ctx, idx, userID, level)
	if err != nil {
		return User{}, err
	}
	if revocation != "" {
		// The number was taken from a declaration: its holder loses it,
		// whatever happens to this raise next (the sweeper retries).
		defer s.finishRevocationLogged(ctx, revocation)
	}
	nameEnc, err := s.cipher.Seal(name, userField(userID, fieldName))
	if err != nil {
		return User{}, err
	}
	numberEnc, err := s.cipher.Seal(number, userField(userID, fieldIDNumber))
	if err != nil {
		return User{}, err
	}
	now := s.now()
	update := bson.M{
		"$set": bson.M{
			"name_enc":         nameEnc,
			"id_number_enc":    numberEnc,
			"name_masked":      MaskName(name),
			"id_number_masked": MaskIDNumber(number),
			"id_index":         idx,
			"identity_at":      now,
			"pii_format":       piiFormatBound,
			"updated_at":       now,
		},
		"$max": bson.M{"level": level},
	}
	// Only a user still without identity takes it: of concurrent raises with
	// different identities exactly one wins.
	filter := bson.M{"_id": userID, "id_index": bson.M{"$exists": false}}
	err = s.users.FindOneAndUpdate(ctx, filter, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	switch {
	case err == nil:
		return s.confirmRecorded(ctx, doc, idx)
	case !errors.Is(err, mongo.ErrNoDocuments):
		return User{}, fmt.Errorf("account: record identity: %w", err)
	}

	// Someone recorded an identity first (or the user vanished).
	doc, err = s.load(ctx, userID)
	if err != nil || doc.IDIndex == "" {
		_ = s.releaseClaim(ctx, idx, userID)
		if err != nil {
			return User{}, err
		}
		return User{}, errors.New("account: identity update did not apply")
	}
	if doc.IDIndex != idx {
		if err := s.releaseClaim(ctx, idx, userID); err != nil {
			return User{}, err
		}
	}
	return s.raiseRecorded(ctx, doc, idx, name, level)
}

// confirmRecorded checks, after the identity idx was recorded for doc's
// user, that the user still holds the claim: a proof may have taken it from
// this declaration meanwhile. Then the identity is undone (unless the proof
// already revoked it) and the answer is ErrRealnameTaken.
func (s *Store) confirmRecorded(ctx context.Context, doc userDoc, idx string) (User, error) {
	var c claimDoc
	err := s.claims.FindOne(ctx, bson.M{"_id": idx}).Decode(&c)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return User{}, fmt.Errorf("account: check id number claim: %w", err)
	}
	if err == nil && c.UserID == doc.ID {
		if err := s.dropStaleClaims(ctx, doc.ID, idx); err != nil {
			return User{}, err
		}
		return doc.user(), nil
	}
	_, err = s.users.UpdateOne(ctx, bson.M{"_id": doc.ID, "id_index": idx, "identity_at": doc.IdentityAt},
		bson.M{"$unset": unsetIdentity(), "$set": bson.M{"level": minLevel, "updated_at": s.now()}})
	if err != nil {
		return User{}, fmt.Errorf("account: undo identity: %w", err)
	}
	return User{}, ErrRealnameTaken
}

// raiseRecorded handles a user whose identity is already recorded: the same
// identity raises the level (a proving level first makes the claim a
// proof), another one is ErrIdentityLocked.
func (s *Store) raiseRecorded(ctx context.Context, doc userDoc, idx, name string, level int) (User, error) {
	same, err := s.sameIdentity(doc, idx, name)
	if err != nil {
		return User{}, err
	}
	if !same {
		return User{}, ErrIdentityLocked
	}
	if level >= provenLevel {
		revocation, err := s.claim(ctx, idx, doc.ID, level)
		if err != nil {
			return User{}, err
		}
		if revocation != "" {
			defer s.finishRevocationLogged(ctx, revocation)
		}
	}
	if err := s.dropStaleClaims(ctx, doc.ID, idx); err != nil {
		return User{}, err
	}
	if doc.Level >= level {
		return doc.user(), nil
	}
	// Only while the identity is still this one: a revoked declaration is
	// not raised again.
	err = s.users.FindOneAndUpdate(ctx, bson.M{"_id": doc.ID, "id_index": idx},
		bson.M{"$max": bson.M{"level": level}, "$set": bson.M{"updated_at": s.now()}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		if _, lerr := s.load(ctx, doc.ID); errors.Is(lerr, ErrNotFound) {
			return User{}, ErrNotFound
		}
		return User{}, ErrRealnameTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("account: raise level: %w", err)
	}
	return doc.user(), nil
}
