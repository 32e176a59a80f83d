package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// LeaseCollection is the MongoDB collection of named leases.
const LeaseCollection = "leases"

// Lease errors.
var (
	// ErrLeaseHeld: another holder's lease has not expired.
	ErrLeaseHeld = errors.New("platform: lease held by another holder")
	// ErrLeaseLost: the lease no longer names this holder (it expired and
	// was taken, or was released).
	ErrLeaseLost = errors.New("platform: lease lost")
)

// Lease is a named lease as its holder last saw it.
type Lease struct {
	Name   string    // what the lease is for, e.g. "appointments.sweeper"
	Holder string    // who holds it (NewLeaseHolder)
	Until  time.Time // when it expires unless renewed (by the Leases' clock)
	// Epoch grows with every tenure: each time Acquire takes the lease
	// free, released or expired (not when its holder renews it or acquires
	// it again while holding it). A fencing token: work may store it with
	// its writes to refuse those of an older tenure.
	Epoch int64
}

// leaseDoc is a document of LeaseCollection. A released lease keeps its
// document (so Epoch keeps growing) with an empty holder and Until at the
// Unix epoch.
type leaseDoc struct {
	Name   string    `bson:"_id"`
	Holder string    `bson:"holder"`
	Until  time.Time `bson:"until"`
	Epoch  int64     `bson:"epoch"`
	// TakenAt is when the current holder took it (for operators).
	TakenAt time.Time `bson:"taken_at"`
}

func (d leaseDoc) lease() Lease {
	return Lease{Name: d.Name, Holder: d.Holder, Until: d.Until.UTC(), Epoch: d.Epoch}
}

// Leases hands out named, expiring leases kept in MongoDB, so that of many
// replicas usually one runs a piece of background work (a sweep, a
// dispatcher). A lease is held from the moment Acquire returns until its
// Until, as measured by the clock; its holder extends it with Renew and
// gives it up with Release. Replicas' clocks must roughly agree: skew adds to
// the time two holders may overlap. Leases are an economy, not a guard: work
// run under a lease must still be idempotent and decide by unique keys
// (DESIGN.md invariants 1 and 2), because a paused process may wake after
// its lease expired.
//
// It uses only conditional single-document updates and upserts, which the
// embedded FerretDB supports (a duplicate key on an upsert means someone
// else holds the lease). Safe for concurrent use; any number of Leases, in
// any number of processes, may share the collection.
type Leases struct {
	coll  *mongo.Collection
	clock Clock
}

// NewLeases returns the leases kept in db's LeaseCollection, timed by clock.
func NewLeases(db *mongo.Database, clock Clock) *Leases {
	return &Leases{coll: db.Collection(LeaseCollection), clock: clock}
}

// NewLeaseHolder returns a fresh random holder ID. Every runner of a piece of
// work needs its own (two runners with one ID would both "hold" the lease).
func NewLeaseHolder() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

var leaseAfter = options.FindOneAndUpdate().SetReturnDocument(options.After)

// Acquire takes the lease name for holder until now+ttl: when it is free
// (never taken, released, or expired: Until <= now), or already held by
// holder (then it is extended and keeps its Epoch). ErrLeaseHeld when another
// holder's lease is still running; other errors are wrapped storage errors.
// ttl must be positive.
func (l *Leases) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return Lease{}, fmt.Errorf("lease %q: name, holder and a positive ttl are required", name)
	}
	now := l.clock.Now()
	var d leaseDoc
	// Ours already: extend it.
	err := l.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: name}, {Key: "holder", Value: holder}},
		bson.M{"$set": bson.M{"until": now.Add(ttl)}}, leaseAfter).Decode(&d)
	if err == nil {
		return d.lease(), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return Lease{}, fmt.Errorf("lease %q: acquire: %w", name, err)
	}
	// Free or expired: take it. When the document exists and is not
	// expired, the filter matches nothing and the upsert's insert meets the
	// duplicate key.
	err = l.coll.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: name}, {Key: "until", Value: bson.M{"$lte": now}}},
		bson.M{
			"$set": bson.M{"holder": holder, "until": now.Add(ttl), "taken_at": now},
			"$inc": bson.M{"epoch": int64(1)},
		},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
	switch {
	case err == nil:
		return d.lease(), nil
	case IsDuplicateKey(err):
		return Lease{}, ErrLeaseHeld
	}
	return Lease{}, fmt.Errorf("lease %q: acquire: %w", name, err)
}

// Renew extends lease to now+ttl while it still names its holder and epoch,
// and returns it with the new Until. A lease that expired but that nobody
// took meanwhile is renewed too (no one else held it). ErrLeaseLost when it
// was taken or released; other errors are wrapped storage errors (the lease
// may or may not have been extended).
func (l *Leases) Renew(ctx context.Context, lease Lease, ttl time.Duration) (Lease, error) {
	if ttl <= 0 {
		return Lease{}, fmt.Errorf("lease %q: renew: ttl must be positive", lease.Name)
	}
	var d leaseDoc
	err := l.coll.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: lease.Name}, {Key: "holder", Value: lease.Holder}, {Key: "epoch", Value: lease.Epoch}},
		bson.M{"$set": bson.M{"until": l.clock.Now().Add(ttl)}}, leaseAfter).Decode(&d)
	switch {
	case err == nil:
		return d.lease(), nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return Lease{}, ErrLeaseLost
	}
	return Lease{}, fmt.Errorf("lease %q: renew: %w", lease.Name, err)
}

// Release gives lease up at once, so another holder may take it without
// waiting for its expiry. Releasing a lease that was lost meanwhile changes
// nothing and is not an error; errors are wrapped storage errors.
func (l *Leases) Release(ctx context.Context, lease Lease) error {
	_, err := l.coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: lease.Name}, {Key: "holder", Value: lease.Holder}, {Key: "epoch", Value: lease.Epoch}},
		bson.M{"$set": bson.M{"holder": "", "until": time.UnixMilli(0).UTC()}})
	if err != nil {
		return fmt.Errorf("lease %q: release: %w", lease.Name, err)
	}
	return nil
}

// Get returns the lease name as stored: Holder is empty when it was released
// or never taken (an expired lease still names its last holder; compare
// Until with the clock). Errors are wrapped storage errors. For operators
// and tests; deciding on its answer would race with Acquire.
func (l *Leases) Get(ctx context.Context, name string) (Lease, error) {
	var d leaseDoc
	err := l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Lease{Name: name}, nil
	}
	if err != nil {
		return Lease{}, fmt.Errorf("lease %q: read: %w", name, err)
	}
	return d.lease(), nil
}
