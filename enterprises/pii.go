package enterprises

import (
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/account"
)

// SealedPII declares where enterprises keep sealed PII, for
// account.RotatePII: invited members' name and ID number in CollMembers of
// db, bound as {enterprise_members, <member id>, name|id_number}.
func SealedPII(db *mongo.Database) account.SealedCollection {
	return account.SealedCollection{
		Coll:   db.Collection(CollMembers),
		Filter: bson.M{"name_sealed": bson.M{"$exists": true}},
		Fields: []account.SealedField{{Path: "name_sealed", Field: "name"}, {Path: "id_sealed", Field: "id_number"}},
	}
}
