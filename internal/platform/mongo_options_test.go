package platform

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// TestMongoClientOptions: an external MongoDB gets majority writes,
// retryable writes and reads, primary reads and Banshi's deadlines, unless
// the URI says otherwise.
func TestMongoClientOptions(t *testing.T) {
	o := mongoClientOptions("mongodb://h1:27017,h2:27017,h3:27017/?replicaSet=rs0")
	if o.WriteConcern == nil || o.WriteConcern.W != "majority" {
		t.Errorf("write concern %+v, want majority", o.WriteConcern)
	}
	if o.RetryWrites == nil || !*o.RetryWrites || o.RetryReads == nil || !*o.RetryReads {
		t.Error("retryable writes and reads are off")
	}
	if o.ReadPreference == nil || o.ReadPreference.Mode() != readpref.PrimaryMode {
		t.Errorf("read preference %v, want primary", o.ReadPreference)
	}
	if o.Timeout == nil || *o.Timeout != StoreTimeout {
		t.Errorf("timeout %v, want %v", o.Timeout, StoreTimeout)
	}
	u := mongoClientOptions("mongodb://h1:27017/?replicaSet=rs0&w=1&retryWrites=false&timeoutMS=500")
	if u.WriteConcern == nil || u.WriteConcern.W != 1 || u.RetryWrites == nil || *u.RetryWrites {
		t.Errorf("the URI's own settings do not win: %+v, retryWrites %v", u.WriteConcern, u.RetryWrites)
	}
}
