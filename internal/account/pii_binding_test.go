package account

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestSwappedCiphertextsAreRefused: a ciphertext only opens in the field and
// the user it was written for. Before, names and ID numbers were sealed
// without associated data, so with write access to the users collection one
// could put user B's ID-number ciphertext in B's name and A's ID-number
// ciphertext in B's ID number, and Identity(B) returned them without error.
func TestSwappedCiphertextsAreRefused(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	a, b := e.newUser(t), e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, a.ID, idA, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RaiseLevel(ctx, b.ID, idC, 2); err != nil {
		t.Fatal(err)
	}
	users := e.db.Collection(collUsers)
	read := func(id string) userDoc {
		var d userDoc
		if err := users.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	da, db := read(a.ID), read(b.ID)

	for _, tc := range []struct {
		name   string
		set    bson.M
		victim string
	}{
		{"B's ID number as B's name, A's ID number as B's", bson.M{"name_enc": db.IDNumberEnc, "id_number_enc": da.IDNumberEnc}, b.ID},
		{"A's name and ID number in B", bson.M{"name_enc": da.NameEnc, "id_number_enc": da.IDNumberEnc}, b.ID},
		{"fields swapped within A", bson.M{"name_enc": da.IDNumberEnc, "id_number_enc": da.NameEnc}, a.ID},
	} {
		orig := read(tc.victim)
		if _, err := users.UpdateOne(ctx, bson.M{"_id": tc.victim}, bson.M{"$set": tc.set}); err != nil {
			t.Fatal(err)
		}
		if got, err := e.store.Identity(ctx, tc.victim); err == nil {
			t.Errorf("%s: Identity = %v with no error", tc.name, got)
		}
		// The name check decrypts the stored name: it must not match a name
		// moved in from another user.
		if ok, _ := e.store.CheckIdentity(ctx, b.ID, Identity{Name: idA.Name, IDNumber: idC.IDNumber}); ok {
			t.Errorf("%s: CheckIdentity matched a name moved from another user", tc.name)
		}
		if _, err := users.UpdateOne(ctx, bson.M{"_id": tc.victim}, bson.M{"$set": bson.M{"name_enc": orig.NameEnc, "id_number_enc": orig.IDNumberEnc}}); err != nil {
			t.Fatal(err)
		}
		if got, err := e.store.Identity(ctx, tc.victim); err != nil {
			t.Fatalf("%s: restored record does not open: %v (%v)", tc.name, err, got)
		}
	}
}
