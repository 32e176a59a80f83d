package payments

import (
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// NewTestBills returns the bills store for tests of the order service.
func NewTestBills(db *mongo.Database, clock platform.Clock) *Bills {
	return &Bills{coll: db.Collection(CollBills), clock: clock}
}
