package platform

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ProbeWrite upserts the one document of the "readiness" collection (every
// replica writes the same one, so the collection never grows): a write as
// small as they come, so that readiness reports a database that answers
// reads but cannot write (a full data disk). Errors: the write's.
func (m *Mongo) ProbeWrite(ctx context.Context) error {
	_, err := m.DB.Collection("readiness").UpdateOne(ctx, bson.M{"_id": "probe"},
		bson.M{"$set": bson.M{"at": time.Now().UTC()}}, options.UpdateOne().SetUpsert(true))
	return err
}
