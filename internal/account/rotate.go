package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// RotationLease is the name of the lease a PII rotation runs under.
const RotationLease = "pii.rotate"

// collRotations holds the progress of each rotation: _id the target key id.
const collRotations = "pii_rotations"

// ErrRotationRunning: another rotator holds RotationLease.
var ErrRotationRunning = errors.New("account: another PII rotation is running (lease " + RotationLease + ")")

// SealedField is one sealed field of a collection's documents: where it is
// stored (a dotted BSON path) and the Binding's Field it is sealed under.
type SealedField struct {
	Path  string
	Field string
}

// SealedCollection says where a package keeps sealed PII, so a rotation can
// re-seal it: the collection (its name is the Binding's Collection, its
// string _id the Binding's ID), the documents that hold sealed data in a
// format Cipher.Open reads (nil Filter: every document), and the fields.
// Each package owning sealed data declares its own (Store.SealedPII,
// enterprises.SealedPII, licences.SealedPII).
type SealedCollection struct {
	Coll   *mongo.Collection
	Filter bson.M
	Fields []SealedField
}

// SealedPII declares the users' sealed identities: name and ID number of
// documents in pii_format 2 (format-1 identities are MigratePII's).
func (s *Store) SealedPII() SealedCollection {
	return SealedCollection{
		Coll:   s.users,
		Filter: bson.M{"pii_format": piiFormatBound},
		Fields: []SealedField{{Path: "name_enc", Field: fieldName}, {Path: "id_number_enc", Field: fieldIDNumber}},
	}
}

// ResealCount counts what a rotation did to one collection's documents.
type ResealCount struct {
	Collection string
	Read       int // documents read
	Resealed   int // re-sealed under the current key by this rotation
	Current    int // already under the current key (sealed since, or resealed before an interruption)
	Skipped    int // changed meanwhile (the next rotation looks again)
	Failed     int // a field did not open (logged by _id, left as it is)
}

// RotateOptions tunes RotatePII. Zero fields take the defaults in brackets.
type RotateOptions struct {
	Batch  int           // documents read and re-sealed at a time [200]
	TTL    time.Duration // the lease's time to live, renewed after each batch [2 min]
	Holder string        // this rotator [platform.NewLeaseHolder()]
	// AfterBatch, if set, is called after each batch's progress is stored
	// (for operators' progress lines and tests).
	AfterBatch func(ResealCount)
}

// rotationDoc is a document of collRotations.
type rotationDoc struct {
	Key     string            `bson:"_id"`
	Cursors map[string]string `bson:"cursors"` // collection → last _id done
	Done    map[string]bool   `bson:"done"`
}

// RotatePII re-seals under c's current key every sealed field of targets, in
// turn, in batches of _id order, and returns the counts per collection (of
// this call: a resumed rotation counts what it did itself).
//
// One rotator at a time: it holds the platform lease RotationLease
// (ErrRotationRunning when another holder has it), renewed after every
// batch; a lost lease stops it (platform.ErrLeaseLost). Resumable: after
// each batch the last _id done is stored in pii_rotations under the target
// key id, and a later call for the same key starts after it (a collection
// finished is not read again). Safe while Banshi serves: each document is
// rewritten by a conditional update that matches only while it still holds
// the very ciphertexts read, so a field written meanwhile is never
// overwritten (counted Skipped). A field that does not open (unknown key,
// corruption) is logged by _id and counted Failed; the rotation goes on.
// Errors are storage errors, ctx's and the lease's; what was re-sealed
// before stays re-sealed.
func RotatePII(ctx context.Context, db *mongo.Database, leases *platform.Leases, c *Cipher, targets []SealedCollection, o RotateOptions, log *slog.Logger) ([]ResealCount, error) {
	if o.Batch <= 0 {
		o.Batch = 200
	}
	if o.TTL <= 0 {
		o.TTL = 2 * time.Minute
	}
	if o.Holder == "" {
		o.Holder = platform.NewLeaseHolder()
	}
	lease, err := leases.Acquire(ctx, RotationLease, o.Holder, o.TTL)
	if errors.Is(err, platform.ErrLeaseHeld) {
		return nil, ErrRotationRunning
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := leases.Release(rctx, lease); err != nil {
			log.Warn("PII rotation: lease not released; it expires", "err", err)
		}
	}()
	progress := db.Collection(collRotations)
	key := c.CurrentKeyID()
	var prog rotationDoc
	err = progress.FindOne(ctx, bson.M{"_id": key}).Decode(&prog)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("account: PII rotation progress: %w", err)
	}
	var counts []ResealCount
	for _, t := range targets {
		name := t.Coll.Name()
		count := ResealCount{Collection: name}
		if prog.Done[name] {
			counts = append(counts, count)
			continue
		}
		after := prog.Cursors[name]
		for {
			last, n, err := resealPage(ctx, c, t, after, o.Batch, &count, log)
			if err != nil {
				return append(counts, count), err
			}
			done := n < o.Batch
			set := bson.M{}
			if last != "" {
				set["cursors."+name] = last
				after = last
			}
			if done {
				set["done."+name] = true
			}
			if len(set) > 0 {
				if _, err := progress.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$set": set}, options.UpdateOne().SetUpsert(true)); err != nil {
					return append(counts, count), fmt.Errorf("account: PII rotation progress: %w", err)
				}
			}
			if o.AfterBatch != nil {
				o.AfterBatch(count)
			}
			if done {
				break
			}
			next, err := leases.Renew(ctx, lease, o.TTL)
			if err != nil {
				return append(counts, count), err
			}
			lease = next
		}
		counts = append(counts, count)
	}
	return counts, nil
}

// resealPage re-seals the documents of t after the _id after, up to limit,
// adding to count; it returns the last _id read and how many were read.
func resealPage(ctx context.Context, c *Cipher, t SealedCollection, after string, limit int, count *ResealCount, log *slog.Logger) (string, int, error) {
	filter := bson.D{}
	for k, v := range t.Filter {
		filter = append(filter, bson.E{Key: k, Value: v})
	}
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.M{"$gt": after}})
	}
	proj := bson.M{}
	for _, f := range t.Fields {
		proj[f.Path] = 1
	}
	cur, err := t.Coll.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).SetProjection(proj))
	if err != nil {
		return "", 0, fmt.Errorf("account: PII rotation of %s: %w", t.Coll.Name(), err)
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		return "", 0, fmt.Errorf("account: PII rotation of %s: %w", t.Coll.Name(), err)
	}
	last := ""
	for _, d := range docs {
		id, ok := d.Lookup("_id").StringValueOK()
		if !ok {
			return last, len(docs), fmt.Errorf("account: PII rotation of %s: an _id is not a string", t.Coll.Name())
		}
		last = id
		count.Read++
		if err := resealDoc(ctx, c, t, id, d, count, log); err != nil {
			return last, len(docs), err
		}
	}
	return last, len(docs), nil
}

// resealDoc re-seals the fields of one document not under the current key.
func resealDoc(ctx context.Context, c *Cipher, t SealedCollection, id string, d bson.Raw, count *ResealCount, log *slog.Logger) error {
	match := bson.D{{Key: "_id", Value: id}}
	set := bson.M{}
	for _, f := range t.Fields {
		v, err := d.LookupErr(strings.Split(f.Path, ".")...)
		if err != nil {
			continue // absent: nothing sealed there
		}
		_, old, ok := v.BinaryOK()
		if !ok {
			continue
		}
		if k, _ := c.SealedKeyID(old); k == c.CurrentKeyID() {
			continue
		}
		b := Binding{Collection: t.Coll.Name(), ID: id, Field: f.Field}
		plain, err := c.Open(old, b)
		if err != nil {
			count.Failed++
			log.WarnContext(ctx, "PII rotation: a sealed field does not open; left as it is", "collection", t.Coll.Name(), "_id", id, "field", f.Field, "err", err)
			return nil
		}
		sealed, err := c.Seal(plain, b)
		if err != nil {
			return err
		}
		match = append(match, bson.E{Key: f.Path, Value: old})
		set[f.Path] = sealed
	}
	if len(set) == 0 {
		count.Current++
		return nil
	}
	res, err := t.Coll.UpdateOne(ctx, match, bson.M{"$set": set})
	if err != nil {
		return fmt.Errorf("account: PII rotation of %s %s: %w", t.Coll.Name(), id, err)
	}
	if res.MatchedCount == 1 {
		count.Resealed++
	} else {
		count.Skipped++
	}
	return nil
}
