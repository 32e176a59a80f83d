package privacy

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Source is one category of a person's data in the export package.
type Source interface {
	// Name is the category's key in the package ("appointments", …).
	Name() string
	// Export returns everything of the category linked to userID, as the
	// owner may see it (names and ID numbers in clear).
	Export(ctx context.Context, userID string) (any, error)
}

// Eraser is one category's part in deleting a person. Erase must be
// idempotent (a resumed deletion calls it again) and must not depend on the
// person's identity still being recorded: the account's identity is erased
// after every Eraser ran, but a crash may resume a deletion in any state.
type Eraser interface {
	Erase(ctx context.Context, userID string) (Outcome, error)
}

// Outcome says what deletion did with one category: erased, or kept
// without the link to the person, and why (PIPL art. 47: a retention
// period another law sets; the person is told).
type Outcome struct {
	Category string `json:"category" bson:"category"`
	Erased   bool   `json:"erased" bson:"erased"`
	// Reason is why the category is kept, in Chinese; empty when erased.
	Reason string `json:"reason,omitempty" bson:"reason,omitempty"`
}

// Kept is an Eraser of a category another duty requires Banshi to keep: it
// changes nothing (the records lose their link to the person when the
// account's identity and logins are erased) and reports why.
type Kept struct {
	Category string
	Reason   string
}

// Erase reports the category kept.
func (k Kept) Erase(context.Context, string) (Outcome, error) {
	return Outcome{Category: k.Category, Reason: k.Reason}, nil
}

// DeleteWhere is an Eraser of a collection that holds only data Banshi
// alone keeps for the person: every document whose Field is the user id
// is deleted.
type DeleteWhere struct {
	Category string
	Coll     *mongo.Collection
	Field    string // "user_id", or "_id" for one document per person
}

// Erase deletes the person's documents.
func (d DeleteWhere) Erase(ctx context.Context, userID string) (Outcome, error) {
	if _, err := d.Coll.DeleteMany(ctx, bson.M{d.Field: userID}); err != nil {
		return Outcome{}, fmt.Errorf("privacy: erase %s: %w", d.Category, err)
	}
	return Outcome{Category: d.Category, Erased: true}, nil
}
