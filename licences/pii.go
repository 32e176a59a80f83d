package licences

import (
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/account"
)

// SealedPII declares where licences keep sealed PII, for
// account.RotatePII: a person holder's name and ID number in CollLicences of
// db, bound as {licences, <identifier>, holder.name|holder.code}.
func SealedPII(db *mongo.Database) account.SealedCollection {
	return account.SealedCollection{
		Coll:   db.Collection(CollLicences),
		Filter: bson.M{"holder.name_sealed": bson.M{"$exists": true}},
		Fields: []account.SealedField{{Path: "holder.name_sealed", Field: fieldHolderName}, {Path: "holder.code_sealed", Field: fieldHolderCode}},
	}
}
