package account

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MigrationReport counts what MigratePII did.
type MigrationReport struct {
	Resealed int // identities re-sealed in format 2 by this call
	Skipped  int // changed meanwhile (another process re-sealed them first, or the identity changed)
	Failed   int // could not be opened as format 1 (logged by user ID, left as they are)
}

// migrateBatch is how many users MigratePII reads at a time.
const migrateBatch = 200

// MigratePII re-seals in format 2 (bound to the user and the field, see
// Cipher) every identity an earlier release sealed in format 1, and marks
// the document pii_format 2. Run it once at start-up; until it has passed,
// format-1 identities are still read as they are.
//
// Idempotent and safe with any number of processes at once, without a
// lease: each document is rewritten by a conditional update that matches
// only while it still holds the very format-1 ciphertexts that were read
// (re-sealing replaces them), so of concurrent migrators one rewrites it and the others
// count it as skipped, and an identity recorded meanwhile is never
// overwritten. A document whose ciphertexts do not open (another key,
// corruption) is logged by user ID, counted as failed and left alone; the
// migration goes on. Errors are storage errors and ctx's; what was re-sealed
// before one stays re-sealed.
func (s *Store) MigratePII(ctx context.Context) (MigrationReport, error) {
	var rep MigrationReport
	filter := bson.M{"id_index": bson.M{"$exists": true}, "pii_format": bson.M{"$exists": false}}
	last := ""
	for {
		page := bson.M{}
		for k, v := range filter {
			page[k] = v
		}
		if last != "" {
			page["_id"] = bson.M{"$gt": last}
		}
		cur, err := s.users.Find(ctx, page, options.Find().
			SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(s.migrateBatch)).
			SetProjection(bson.M{"name_enc": 1, "id_number_enc": 1, "pii_format": 1}))
		if err != nil {
			return rep, fmt.Errorf("account: migrate PII: %w", err)
		}
		var docs []userDoc
		if err := cur.All(ctx, &docs); err != nil {
			return rep, fmt.Errorf("account: migrate PII: %w", err)
		}
		for _, d := range docs {
			if err := s.resealFormat1(ctx, d, &rep); err != nil {
				return rep, err
			}
		}
		if len(docs) < s.migrateBatch {
			return rep, nil
		}
		last = docs[len(docs)-1].ID
	}
}

// resealFormat1 rewrites one format-1 identity in format 2.
func (s *Store) resealFormat1(ctx context.Context, d userDoc, rep *MigrationReport) error {
	name, nerr := s.cipher.openFormat1(d.NameEnc)
	number, ierr := s.cipher.openFormat1(d.IDNumberEnc)
	if nerr != nil || ierr != nil {
		rep.Failed++
		s.log.WarnContext(ctx, "PII migration: identity does not open as format 1; left as it is", "user_id", d.ID)
		return nil
	}
	nameEnc, err := s.cipher.Seal(name, userField(d.ID, fieldName))
	if err != nil {
		return err
	}
	numberEnc, err := s.cipher.Seal(number, userField(d.ID, fieldIDNumber))
	if err != nil {
		return err
	}
	res, err := s.users.UpdateOne(ctx,
		bson.M{"_id": d.ID, "name_enc": d.NameEnc, "id_number_enc": d.IDNumberEnc},
		bson.M{"$set": bson.M{"name_enc": nameEnc, "id_number_enc": numberEnc, "pii_format": piiFormatBound}})
	if err != nil {
		return fmt.Errorf("account: migrate PII of %s: %w", d.ID, err)
	}
	if res.MatchedCount == 1 {
		rep.Resealed++
	} else {
		rep.Skipped++
	}
	return nil
}
