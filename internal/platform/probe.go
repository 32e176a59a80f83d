package platform

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ProbeWrite upserts this process's document in the "readiness" collection:
// a write as small as they come, so that readiness reports a database that
// answers reads but cannot write (a full data disk). Errors: the write's.
func (m *Mongo) ProbeWrite(ctx context.Context) error {
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s:%d", host, os.Getpid())
	_, err := m.DB.Collection("readiness").UpdateOne(ctx, bson.M{"_id": id},
		bson.M{"$set": bson.M{"at": time.Now().UTC()}}, options.UpdateOne().SetUpsert(true))
	return err
}
