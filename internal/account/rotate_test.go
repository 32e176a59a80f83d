package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

// rotationEnv: n users raised to level 2 under the ring {k1} (testKey(1)),
// and a store over the same database with the ring {k1, k2}.
type rotationEnv struct {
	storeEnv
	rotated *Store
	leases  *platform.Leases
	idents  map[string]Identity
}

func newRotationEnv(t *testing.T, n int) rotationEnv {
	t.Helper()
	e := newStoreEnv(t)
	old := ring(t, "k1")
	e.store = NewStore(e.db, old, e.clock)
	ctx := context.Background()
	idents := map[string]Identity{}
	for i := range n {
		u := e.newUser(t)
		id := Identity{Name: "张三", IDNumber: WithCheckDigit(fmt.Sprintf("44010619900101%03d", i))}
		if _, err := e.store.RaiseLevel(ctx, u.ID, id, 2); err != nil {
			t.Fatal(err)
		}
		idents[u.ID] = id
	}
	return rotationEnv{storeEnv: e, rotated: NewStore(e.db, ring(t, "k1", "k2"), e.clock),
		leases: platform.NewLeases(e.db, e.clock), idents: idents}
}

// pii is a snapshot of every collection but the lease's and the progress's.
func (e rotationEnv) pii(t *testing.T) map[string][]string {
	s := e.snapshot(t)
	delete(s, platform.LeaseCollection)
	delete(s, collRotations)
	return s
}

func (e rotationEnv) rotate(ctx context.Context, o RotateOptions) ([]ResealCount, error) {
	return RotatePII(ctx, e.db, e.leases, e.rotated.cipher, []SealedCollection{e.rotated.SealedPII()}, o, slog.New(slog.DiscardHandler))
}

// check: every user's fields are sealed under k2 (or, before, k1), open to
// the identity, and keep their blind index.
func (e rotationEnv) check(t *testing.T, wantKey string) {
	t.Helper()
	ctx := context.Background()
	for id, want := range e.idents {
		var d userDoc
		if err := e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		for _, sealed := range [][]byte{d.NameEnc, d.IDNumberEnc} {
			if k, _ := e.rotated.cipher.SealedKeyID(sealed); k != wantKey {
				t.Fatalf("%s sealed under %q, want %q", id, k, wantKey)
			}
		}
		if got, err := e.rotated.Identity(ctx, id); err != nil || got != want {
			t.Fatalf("Identity(%s) = %v, %v", id, got, err)
		}
		if d.IDIndex != e.rotated.cipher.BlindIndex("id_number", want.IDNumber) || d.IDIndex != e.store.cipher.BlindIndex("id_number", want.IDNumber) {
			t.Fatalf("%s: blind index differs", id)
		}
	}
}

func TestRotationResealsEveryDocumentAndIsIdempotent(t *testing.T) {
	e := newRotationEnv(t, 7)
	ctx := context.Background()
	e.check(t, "k1")
	counts, err := e.rotate(ctx, RotateOptions{Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].Resealed != 7 || counts[0].Read != 7 || counts[0].Failed+counts[0].Skipped+counts[0].Current != 0 {
		t.Fatalf("counts %+v", counts)
	}
	e.check(t, "k2")
	// The blind index still finds the person: another user declaring the
	// same ID number is refused as taken.
	var someone string
	for id := range e.idents {
		someone = id
		break
	}
	other := storeEnv{db: e.db, store: e.rotated, clock: e.clock}.newUser(t)
	if _, err := e.rotated.RaiseLevel(ctx, other.ID, e.idents[someone], 2); err == nil {
		t.Fatal("an ID number already held was declared again after rotation")
	}
	// Again for the same key: finished, nothing read. A new rotation
	// record (progress removed) reads all and re-seals none.
	before := e.pii(t)
	counts, err = e.rotate(ctx, RotateOptions{Batch: 3})
	if err != nil || counts[0].Read != 0 || counts[0].Resealed != 0 {
		t.Fatalf("second rotation %+v, %v", counts, err)
	}
	if !sameSnapshot(before, e.pii(t)) {
		t.Fatal("a finished rotation changed documents")
	}
	if _, err := e.db.Collection(collRotations).DeleteMany(ctx, bson.M{}); err != nil {
		t.Fatal(err)
	}
	counts, err = e.rotate(ctx, RotateOptions{Batch: 3})
	if err != nil || counts[0].Read != 7 || counts[0].Current != 7 || counts[0].Resealed != 0 {
		t.Fatalf("rotation without progress %+v, %v", counts, err)
	}
	e.check(t, "k2")
}

func TestRotationResumesAfterInterruption(t *testing.T) {
	e := newRotationEnv(t, 10)
	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	counts, err := e.rotate(ctx, RotateOptions{Batch: 3, AfterBatch: func(ResealCount) {
		if batches++; batches == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rotation: %+v, %v", counts, err)
	}
	first := counts[0].Resealed
	if first != 6 {
		t.Fatalf("before the interruption %d re-sealed, want 6", first)
	}
	// The lease was released: a second rotator resumes at once, after the
	// stored cursor, so none is read, let alone re-sealed, twice.
	counts, err = e.rotate(context.Background(), RotateOptions{Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if counts[0].Read != 4 || counts[0].Resealed != 4 || first+counts[0].Resealed != 10 {
		t.Fatalf("resumed %+v after %d", counts, first)
	}
	e.check(t, "k2")
}

func TestOneRotatorAtATime(t *testing.T) {
	e := newRotationEnv(t, 6)
	ctx := context.Background()
	// A lease held by another rotator: refused, nothing changed.
	held, err := e.leases.Acquire(ctx, RotationLease, "someone-else", platform.StoreTimeout)
	if err != nil {
		t.Fatal(err)
	}
	before := e.pii(t)
	if _, err := e.rotate(ctx, RotateOptions{}); !errors.Is(err, ErrRotationRunning) {
		t.Fatalf("rotation while leased elsewhere: %v", err)
	}
	if !sameSnapshot(before, e.pii(t)) {
		t.Fatal("a refused rotation changed documents")
	}
	if err := e.leases.Release(ctx, held); err != nil {
		t.Fatal(err)
	}
	// Two at once, in goroutines: each either runs or is refused; every
	// document is re-sealed exactly once in all.
	var wg sync.WaitGroup
	results := make([][]ResealCount, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.rotate(ctx, RotateOptions{Batch: 2})
		}()
	}
	wg.Wait()
	total := 0
	for i := range 2 {
		switch {
		case errs[i] == nil:
			total += results[i][0].Resealed
		case errors.Is(errs[i], ErrRotationRunning):
		default:
			t.Fatalf("rotator %d: %v", i, errs[i])
		}
	}
	if total != 6 {
		t.Fatalf("%d re-sealed in all, want 6 (%v %v)", total, errs, results)
	}
	e.check(t, "k2")
}

func TestRotationLeavesWhatDoesNotOpen(t *testing.T) {
	e := newRotationEnv(t, 3)
	ctx := context.Background()
	var victim string
	for id := range e.idents {
		victim = id
		break
	}
	// A ciphertext moved from another field does not open: counted failed
	// and left exactly as it is; the others are re-sealed.
	var d userDoc
	if err := e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": victim}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Collection(collUsers).UpdateOne(ctx, bson.M{"_id": victim}, bson.M{"$set": bson.M{"name_enc": d.IDNumberEnc}}); err != nil {
		t.Fatal(err)
	}
	counts, err := e.rotate(ctx, RotateOptions{})
	if err != nil || counts[0].Failed != 1 || counts[0].Resealed != 2 {
		t.Fatalf("%+v, %v", counts, err)
	}
	var after userDoc
	if err := e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": victim}).Decode(&after); err != nil {
		t.Fatal(err)
	}
	if string(after.NameEnc) != string(d.IDNumberEnc) || string(after.IDNumberEnc) != string(d.IDNumberEnc) {
		t.Fatal("a document that does not open was changed")
	}
}

// TestRotationNeverOverwritesAWriteMeanwhile: a document changed between the
// rotation's read and its update (Banshi serving) is left with the newer
// value and counted Skipped; the next rotation re-seals it.
func TestRotationNeverOverwritesAWriteMeanwhile(t *testing.T) {
	e := newRotationEnv(t, 1)
	ctx := context.Background()
	var id string
	for id = range e.idents {
	}
	sc := e.rotated.SealedPII()
	var stale bson.Raw
	if err := sc.Coll.FindOne(ctx, bson.M{"_id": id}).Decode(&stale); err != nil {
		t.Fatal(err)
	}
	// Meanwhile the name is sealed anew (as a serving replica would).
	fresh, err := e.store.cipher.Seal("李四", userField(id, fieldName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Coll.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"name_enc": fresh}}); err != nil {
		t.Fatal(err)
	}
	var count ResealCount
	if err := resealDoc(ctx, e.rotated.cipher, sc, id, stale, &count, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if count.Skipped != 1 || count.Resealed != 0 {
		t.Fatalf("count %+v", count)
	}
	var d userDoc
	if err := sc.Coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if string(d.NameEnc) != string(fresh) {
		t.Fatal("the write made meanwhile was overwritten")
	}
	counts, err := e.rotate(ctx, RotateOptions{})
	if err != nil || counts[0].Resealed != 1 {
		t.Fatalf("next rotation %+v, %v", counts, err)
	}
	if got, err := e.rotated.Identity(ctx, id); err != nil || got.Name != "李四" {
		t.Fatalf("Identity = %v, %v", got, err)
	}
}
