package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// sealFormat1 seals as releases before format 2 did: nonce || ciphertext ||
// tag, no associated data.
func sealFormat1(t *testing.T, c *Cipher, plain string) []byte {
	t.Helper()
	nonce := make([]byte, c.initial.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	return c.initial.Seal(nonce, nonce, []byte(plain), nil)
}

// insertFormat1User writes a users document with an identity exactly as an
// earlier release wrote it.
func (e storeEnv) insertFormat1User(t *testing.T, id string, ident Identity, level int) {
	t.Helper()
	c := e.store.cipher
	_, err := e.db.Collection(collUsers).InsertOne(context.Background(), bson.M{
		"_id": id, "mini_openid": "mini-" + id, "level": level,
		"name_enc": sealFormat1(t, c, ident.Name), "id_number_enc": sealFormat1(t, c, ident.IDNumber),
		"name_masked": MaskName(ident.Name), "id_number_masked": MaskIDNumber(ident.IDNumber),
		"id_index": c.BlindIndex(kindIDNumber, ident.IDNumber), "identity_at": testStart,
		"created_at": testStart, "updated_at": testStart,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigratePIIResealsFormat1Records: identities of an earlier release are
// read as they are until the migration re-seals them bound to their user and
// field; several migrators at once re-seal each exactly once; a second run
// finds nothing; a record that does not open is left alone; afterwards a
// swap between users is refused.
func TestMigratePIIResealsFormat1Records(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	e.store.migrateBatch = 7
	const n = 24 // several pages
	idents := map[string]Identity{}
	for i := range n {
		id := fmt.Sprintf("u_old%04d", i)
		ident := Identity{Name: "张三", IDNumber: WithCheckDigit(fmt.Sprintf("440106199001%05d", i))}
		idents[id] = ident
		e.insertFormat1User(t, id, ident, 2)
	}
	// One record sealed under another key: not ours to open.
	if _, err := e.db.Collection(collUsers).InsertOne(ctx, bson.M{
		"_id": "u_alien", "level": 2, "name_enc": sealFormat1(t, newTestCipher(t, 3), "王五"),
		"id_number_enc": sealFormat1(t, newTestCipher(t, 3), idC.IDNumber), "id_index": "x", "created_at": testStart,
	}); err != nil {
		t.Fatal(err)
	}
	// And a user of this release, already in format 2.
	fresh := e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, fresh.ID, idA, 2); err != nil {
		t.Fatal(err)
	}

	// Before the migration: still readable (a rolling deploy).
	if got, err := e.store.Identity(ctx, "u_old0003"); err != nil || got != idents["u_old0003"] {
		t.Fatalf("format 1 before migration: %v, %v", got, err)
	}

	// Four processes migrate at once.
	const migrators = 4
	reports := make([]MigrationReport, migrators)
	var wg sync.WaitGroup
	for i := range migrators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewStore(e.db, newTestCipher(t, 9), e.clock)
			s.migrateBatch = 7
			r, err := s.MigratePII(ctx)
			if err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
			reports[i] = r
		}()
	}
	wg.Wait()
	resealed, failed := 0, 0
	for _, r := range reports {
		resealed += r.Resealed
		failed += r.Failed
	}
	if resealed != n {
		t.Fatalf("re-sealed %d in all (%+v), want each of %d exactly once", resealed, reports, n)
	}
	if failed != migrators {
		t.Fatalf("failed %d, want the alien record once per migrator", failed)
	}

	cur, err := e.db.Collection(collUsers).Find(ctx, bson.M{"_id": bson.M{"$regex": "^u_old"}})
	if err != nil {
		t.Fatal(err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != n {
		t.Fatalf("%d old users, want %d", len(docs), n)
	}
	for _, d := range docs {
		if d.PIIFormat != 2 || d.NameEnc[0] != 3 || d.IDNumberEnc[0] != 3 {
			t.Fatalf("%s not in format 2: format %d", d.ID, d.PIIFormat)
		}
		if got, err := e.store.Identity(ctx, d.ID); err != nil || got != idents[d.ID] {
			t.Fatalf("%s after migration: %v, %v", d.ID, got, err)
		}
	}
	var alien bson.M
	if err := e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": "u_alien"}).Decode(&alien); err != nil || alien["pii_format"] != nil {
		t.Fatalf("alien record changed: %v, %v", alien, err)
	}
	var freshDoc userDoc
	_ = e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": fresh.ID}).Decode(&freshDoc)

	// Idempotent: nothing left to do.
	again, err := e.store.MigratePII(ctx)
	if err != nil || again.Resealed != 0 || again.Skipped != 0 || again.Failed != 1 {
		t.Fatalf("second run = %+v, %v", again, err)
	}
	var freshAfter userDoc
	_ = e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": fresh.ID}).Decode(&freshAfter)
	if !bytes.Equal(freshDoc.NameEnc, freshAfter.NameEnc) {
		t.Fatal("a format-2 identity was rewritten")
	}

	// Now bound: one user's ciphertext does not open in another's record.
	var a, b userDoc
	_ = e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": "u_old0001"}).Decode(&a)
	_ = e.db.Collection(collUsers).FindOne(ctx, bson.M{"_id": "u_old0002"}).Decode(&b)
	if _, err := e.db.Collection(collUsers).UpdateOne(ctx, bson.M{"_id": "u_old0002"}, bson.M{"$set": bson.M{"id_number_enc": a.IDNumberEnc}}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.Identity(ctx, "u_old0002"); err == nil {
		t.Fatalf("migrated record opened another user's ciphertext: %v", got)
	}
}
