package enterprises

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/notify"
)

// fixture is the service on the embedded database with the real citizen
// store, and the registry simulator served over HTTP.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	db       *mongo.Database
	clock    *platform.ManualClock
	accounts *account.Store
	cipher   *account.Cipher
	reg      *sim.Registry
	client   *RegistryClient
	svc      *Service
	page     PageSources // set before service() to fill the page
	notes    *notes      // messages the service published
}

// notes records published messages.
type notes struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (n *notes) Notify(_ context.Context, m notify.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return nil
}

func (n *notes) all() []notify.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]notify.Message(nil), n.msgs...)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC))
	cipher, err := account.NewCipher(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: context.Background(), db: db, clock: clock, accounts: account.NewStore(db, cipher, clock), cipher: cipher, reg: sim.NewRegistry(), notes: &notes{}}
	if err := f.accounts.EnsureIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Mount(map[string]sim.Part{"/sim/registry/": f.reg}))
	t.Cleanup(srv.Close)
	f.client = NewRegistryClient(srv.URL+"/sim/registry/", nil)
	f.svc = f.service(f.accounts)
	return f
}

// service is a service of f's database, clock and registry over people.
func (f *fixture) service(people People) *Service {
	f.t.Helper()
	svc, err := NewService(Deps{DB: f.db, Registry: f.client, People: people, Sealer: f.cipher, Clock: f.clock, Log: platformtest.Logger(), Page: f.page,
		Notifier: f.notes, Owners: f.accounts})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := svc.EnsureIndexes(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// citizen is a user of the citizen store who proved name and idNumber at
// level (2 declares only).
func (f *fixture) citizen(name, idNumber string, level int) string {
	f.t.Helper()
	u, err := f.accounts.LoginWeChat(f.ctx, account.ChannelMiniProgram, "", "o_"+platformtest.RandomID())
	if err != nil {
		f.t.Fatal(err)
	}
	if level > 1 {
		if _, err := f.accounts.RaiseLevel(f.ctx, u.ID, account.Identity{Name: name, IDNumber: idNumber}, level); err != nil {
			f.t.Fatal(err)
		}
	}
	return u.ID
}

// enterprise registers a copy of the demo enterprise under uscc, changed by
// edit.
func (f *fixture) enterprise(uscc string, edit func(*sim.Enterprise)) sim.Enterprise {
	f.t.Helper()
	e := sim.DemoEnterprise()
	e.USCC = uscc
	if edit != nil {
		edit(&e)
	}
	stored, err := f.reg.Add(e)
	if err != nil {
		f.t.Fatal(err)
	}
	return stored
}

// claims returns every claim document, raw.
func (f *fixture) claims() []bson.M {
	f.t.Helper()
	cur, err := f.db.Collection(CollClaims).Find(f.ctx, bson.M{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []bson.M
	if err := cur.All(f.ctx, &out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// newUSCC returns a well-formed code with a random organisation code (hex
// digits, all in the GB 32100 set).
func newUSCC() string {
	org := strings.ToUpper(platformtest.RandomID()[:8])
	return platform.USCCWithCheck("91440101" + org + string(platform.OrgCodeCheck(org)))
}
