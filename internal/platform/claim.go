package platform

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ErrClaimContended means a claim met a stale holder again after it had
// already deleted MaxRepairs of them: something keeps putting stale holders
// in the way. Nothing is held; the caller may retry later.
var ErrClaimContended = errors.New("platform: claim still contended after repairs")

// DefaultClaimRepairs is how many stale holders one claim deletes when
// UniqueClaim.MaxRepairs is zero.
const DefaultClaimRepairs = 3

// ClaimVerdict is what a UniqueClaim's Judge says about the document it found
// in the way.
type ClaimVerdict int

// Verdicts.
const (
	// ClaimLive: another holder that still has the right holds it. The claim
	// answers "not held".
	ClaimLive ClaimVerdict = iota + 1
	// ClaimOurs: the document is the claimer's own (a retry, or a crash
	// after the insert). The claim answers "held" and changes nothing.
	ClaimOurs
	// ClaimStale: the holder no longer has the right. The claim deletes the
	// document, only while it still names that holder, and inserts again.
	ClaimStale
)

// UniqueClaim describes a document whose deterministic _id is a right that
// only one holder may have at a time (DESIGN.md invariant 1): a seat, a day
// lock, an ID number. D is the document's Go type; it must marshal with an
// _id and with the holder field.
type UniqueClaim[D any] struct {
	// Coll holds the claim documents.
	Coll *mongo.Collection
	// Doc is inserted to claim. Its _id is the deterministic key.
	Doc D
	// HolderField names the field of the stored document that identifies
	// its holder (e.g. "user_id"). A stale document is deleted only while
	// this field still has the value that was judged, so a slow repairer
	// never deletes a fresh holder that replaced the stale one meanwhile.
	HolderField string
	// Judge decides about a document found under the key (decoded into D).
	// An error it returns ends the claim and is returned as is.
	Judge func(ctx context.Context, cur D) (ClaimVerdict, error)
	// Repaired, when set, is called after this claim deleted a stale holder
	// (not when a concurrent repairer deleted it first): for logs and tests.
	Repaired func(ctx context.Context, stale D)
	// MaxRepairs bounds how many stale holders this claim deletes; zero
	// means DefaultClaimRepairs.
	MaxRepairs int
}

// Claim makes c.Doc's holder the holder of c.Doc's _id in c.Coll.
//
// It inserts c.Doc. On a duplicate key it reads the document in the way and
// asks c.Judge: ClaimOurs answers (true, nil), ClaimLive answers (false, nil),
// ClaimStale deletes the document (conditionally on its holder) and inserts
// again. A document that vanishes between the insert and the read is simply
// inserted again. Every repair or vanished holder is followed by one more
// insert, so the claim never gives up right after clearing the way: after
// c.MaxRepairs such rounds it makes a final insert, and when that too meets a
// document, the document is judged once more: Ours and Live answer as above,
// while a stale or vanished holder answers ErrClaimContended (nothing held).
//
// Results: (true, nil) the caller holds the key, inserted now or found its
// own; (false, nil) a live holder has it; (false, err) with err from Judge
// (as is), an error wrapping ErrClaimContended, or a wrapped storage error.
// Safe to run concurrently from any number of goroutines and processes: of
// concurrent claimers of a free key exactly one inserts it, and a stale
// document is deleted at most once, provided that the holder field tells
// claimers apart (a fresh claim never carries a stale holder's value).
func Claim[D any](ctx context.Context, c UniqueClaim[D]) (bool, error) {
	raw, err := bson.Marshal(c.Doc)
	if err != nil {
		return false, fmt.Errorf("claim in %s: encode: %w", c.Coll.Name(), err)
	}
	id, err := bson.Raw(raw).LookupErr("_id")
	if err != nil {
		return false, fmt.Errorf("claim in %s: the document has no _id", c.Coll.Name())
	}
	if c.HolderField == "" || c.Judge == nil {
		return false, fmt.Errorf("claim in %s: HolderField and Judge are required", c.Coll.Name())
	}
	repairs := c.MaxRepairs
	if repairs <= 0 {
		repairs = DefaultClaimRepairs
	}
	for round := 0; ; round++ {
		_, err := c.Coll.InsertOne(ctx, bson.Raw(raw))
		if err == nil {
			return true, nil
		}
		if !IsDuplicateKey(err) {
			return false, fmt.Errorf("claim %s %v: insert: %w", c.Coll.Name(), id, err)
		}
		var found bson.Raw
		var cur D
		err = c.Coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&found)
		vanished := errors.Is(err, mongo.ErrNoDocuments) // released meanwhile: insert again
		if err != nil && !vanished {
			return false, fmt.Errorf("claim %s %v: read holder: %w", c.Coll.Name(), id, err)
		}
		if !vanished {
			if err := bson.Unmarshal(found, &cur); err != nil {
				return false, fmt.Errorf("claim %s %v: decode holder: %w", c.Coll.Name(), id, err)
			}
			verdict, err := c.Judge(ctx, cur)
			if err != nil {
				return false, err
			}
			switch verdict {
			case ClaimOurs:
				return true, nil
			case ClaimLive:
				return false, nil
			case ClaimStale:
			default:
				return false, fmt.Errorf("claim %s %v: Judge answered unknown verdict %d", c.Coll.Name(), id, verdict)
			}
		}
		if round == repairs {
			return false, fmt.Errorf("claim %s %v: %w", c.Coll.Name(), id, ErrClaimContended)
		}
		if !vanished {
			holder, err := found.LookupErr(c.HolderField)
			if err != nil {
				return false, fmt.Errorf("claim %s %v: the holder has no field %q", c.Coll.Name(), id, c.HolderField)
			}
			res, err := c.Coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: c.HolderField, Value: holder}})
			if err != nil {
				return false, fmt.Errorf("claim %s %v: delete stale holder: %w", c.Coll.Name(), id, err)
			}
			if res.DeletedCount == 1 && c.Repaired != nil {
				c.Repaired(ctx, cur)
			}
		}
	}
}
