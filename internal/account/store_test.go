package account

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

var testStart = time.Date(2024, 6, 15, 2, 0, 0, 0, time.UTC)

type storeEnv struct {
	db    *mongo.Database
	store *Store
	clock *platform.ManualClock
}

func newStoreEnv(t *testing.T) storeEnv {
	t.Helper()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(testStart)
	s := NewStore(db, newTestCipher(t, 9), clock)
	if err := s.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	return storeEnv{db: db, store: s, clock: clock}
}

// newUser logs a fresh person in through the mini-program.
func (e storeEnv) newUser(t *testing.T) User {
	t.Helper()
	u, err := e.store.LoginWeChat(context.Background(), ChannelMiniProgram, "union-"+platformtest.RandomID(), "mini-"+platformtest.RandomID())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e storeEnv) count(t *testing.T, coll string, filter any) int64 {
	t.Helper()
	n, err := e.db.Collection(coll).CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshot returns every raw document of every collection, for "nothing changed".
func (e storeEnv) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	ctx := context.Background()
	names, err := e.db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, name := range names {
		cur, err := e.db.Collection(name).Find(ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			out[name] = append(out[name], cur.Current.String())
		}
		if err := cur.Err(); err != nil {
			t.Fatal(err)
		}
		cur.Close(ctx)
	}
	return out
}

func sameSnapshot(a, b map[string][]string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

var (
	idA = Identity{Name: "张三", IDNumber: WithCheckDigit("44010619900101123")}
	idB = Identity{Name: "买买提·艾力", IDNumber: "11010519491231002X"}
	idC = Identity{Name: "欧阳娜娜", IDNumber: WithCheckDigit("31010419851111456")}
)

func TestEnsureIndexesConcurrentAndIdempotent(t *testing.T) {
	db := platformtest.Mongo(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- NewStore(db, newTestCipher(t, 9), platform.NewManualClock(testStart)).EnsureIndexes(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := NewStore(db, newTestCipher(t, 9), platform.SystemClock{}).EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLoginCreatesOnePersonUnderConcurrency(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	const n = 50
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, open := ChannelMiniProgram, "mini-1"
			if i%2 == 1 {
				ch, open = ChannelApp, "app-1"
			}
			u, err := e.store.LoginWeChat(ctx, ch, "union-1", open)
			if err != nil {
				t.Errorf("login %d: %v", i, err)
				return
			}
			ids[i] = u.ID
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("login %d got user %s, login 0 got %s", i, id, ids[0])
		}
	}
	if got := e.count(t, collUsers, bson.M{}); got != 1 {
		t.Fatalf("%d users, want 1", got)
	}
	// One login record per WeChat id: the unionid and each channel's openid.
	if got := e.count(t, collLogins, bson.M{}); got != 3 {
		t.Fatalf("%d logins, want 3", got)
	}
	u, err := e.store.Get(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.UnionID != "union-1" || u.MiniOpenID != "mini-1" || u.AppOpenID != "app-1" || u.Level != 1 || u.HasIdentity {
		t.Fatalf("user = %+v", u)
	}
}

func TestLoginLinksChannels(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	mini, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "union-1", "mini-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mini.ID, "u_") || len(mini.ID) != 22 || strings.ToLower(mini.ID) != mini.ID {
		t.Errorf("user id %q, want u_ + 20 lowercase base32", mini.ID)
	}
	if mini.Level != 1 || mini.MiniOpenID != "mini-1" || mini.AppOpenID != "" || !mini.CreatedAt.Equal(testStart) {
		t.Errorf("new user = %+v", mini)
	}
	e.clock.Advance(time.Hour)
	app, err := e.store.LoginWeChat(ctx, ChannelApp, "union-1", "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != mini.ID || app.MiniOpenID != "mini-1" || app.AppOpenID != "app-1" {
		t.Fatalf("app login = %+v, want the mini-program person with both openids", app)
	}
	if !app.CreatedAt.Equal(testStart) || !app.UpdatedAt.Equal(testStart.Add(time.Hour)) {
		t.Errorf("times = %v / %v", app.CreatedAt, app.UpdatedAt)
	}

	other, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "union-2", "mini-2")
	if err != nil || other.ID == mini.ID {
		t.Fatalf("other unionid: %+v, %v", other, err)
	}

	// Without unionid the key is channel+openid.
	a1, err := e.store.LoginWeChat(ctx, ChannelApp, "", "app-x")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := e.store.LoginWeChat(ctx, ChannelApp, "", "app-x")
	if err != nil || a2.ID != a1.ID || a1.UnionID != "" || a1.AppOpenID != "app-x" {
		t.Fatalf("repeat openid login: %+v / %+v, %v", a1, a2, err)
	}
	m1, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "app-x")
	if err != nil || m1.ID == a1.ID {
		t.Fatalf("same openid on another channel must be another key: %+v, %v", m1, err)
	}
	if got := e.count(t, collUsers, bson.M{}); got != 4 {
		t.Fatalf("%d users, want 4", got)
	}

	if _, err := e.store.LoginWeChat(ctx, Channel("web"), "union-1", "x"); err == nil {
		t.Error("unknown channel accepted")
	}
	if _, err := e.store.LoginWeChat(ctx, ChannelApp, "union-1", ""); err == nil {
		t.Error("empty openid accepted")
	}
}

// A crash between creating the login and the user document is completed by
// the next login.
func TestLoginCompletesInterruptedCreation(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	if _, err := e.db.Collection(collLogins).InsertOne(ctx, bson.M{"_id": "unionid:union-9", "user_id": "u_crashed"}); err != nil {
		t.Fatal(err)
	}
	u, err := e.store.LoginWeChat(ctx, ChannelApp, "union-9", "app-9")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u_crashed" || u.Level != 1 || u.UnionID != "union-9" || u.AppOpenID != "app-9" {
		t.Fatalf("user = %+v", u)
	}
}

func TestGetAndIdentityNotFound(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	if _, err := e.store.Get(ctx, "u_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	if _, err := e.store.Identity(ctx, "u_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Identity of missing user: %v", err)
	}
	u := e.newUser(t)
	if _, err := e.store.Identity(ctx, u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Identity without one: %v", err)
	}
	if ok, err := e.store.CheckIdentity(ctx, u.ID, idA); ok || err != nil {
		t.Fatalf("CheckIdentity without one = %v, %v", ok, err)
	}
	if _, err := e.store.CheckIdentity(ctx, "u_missing", idA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CheckIdentity of missing user: %v", err)
	}
	if _, err := e.store.RaiseLevel(ctx, "u_missing", idA, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RaiseLevel of missing user: %v", err)
	}
	if got := e.count(t, collClaims, bson.M{}); got != 0 {
		t.Fatalf("%d claims after refused raises", got)
	}
}

func TestRaiseLevelNeverLowers(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u := e.newUser(t)
	steps := []struct{ level, want int }{{2, 2}, {1, 2}, {4, 4}, {3, 4}, {2, 4}, {4, 4}}
	for _, s := range steps {
		e.clock.Advance(time.Minute)
		got, err := e.store.RaiseLevel(ctx, u.ID, idB, s.level)
		if err != nil {
			t.Fatalf("raise to %d: %v", s.level, err)
		}
		if got.Level != s.want || !got.HasIdentity || got.NameMasked != "*买提·艾力" || got.IDNumberMasked != "1101**********002X" {
			t.Fatalf("raise to %d: %+v", s.level, got)
		}
		if stored, _ := e.store.Get(ctx, u.ID); stored.Level != s.want {
			t.Fatalf("stored level %d, want %d", stored.Level, s.want)
		}
	}
	got, err := e.store.Identity(ctx, u.ID)
	if err != nil || got != idB {
		t.Fatalf("Identity = %v, %v", got, err)
	}
}

// TestEngineMaxOperator proves $max on the embedded engine: it raises and
// never lowers, on a missing field too.
func TestEngineMaxOperator(t *testing.T) {
	db := platformtest.Mongo(t)
	ctx := context.Background()
	c := db.Collection("max")
	if _, err := c.InsertOne(ctx, bson.M{"_id": "x", "level": 2}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ set, want int }{{1, 2}, {3, 3}, {2, 3}, {4, 4}} {
		if _, err := c.UpdateOne(ctx, bson.M{"_id": "x"}, bson.M{"$max": bson.M{"level": s.set, "other": s.set}}); err != nil {
			t.Fatal(err)
		}
		var doc struct{ Level, Other int }
		if err := c.FindOne(ctx, bson.M{"_id": "x"}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if doc.Level != s.want {
			t.Fatalf("$max %d: level %d, want %d", s.set, doc.Level, s.want)
		}
	}
}

func TestRaiseLevelConcurrentRaisesEndAtMax(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u := e.newUser(t)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.store.RaiseLevel(ctx, u.ID, idA, 1+i%4); err != nil {
				t.Errorf("raise %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, err := e.store.Get(ctx, u.ID)
	if err != nil || got.Level != 4 || !got.HasIdentity {
		t.Fatalf("after concurrent raises: %+v, %v", got, err)
	}
	if n := e.count(t, collClaims, bson.M{}); n != 1 {
		t.Fatalf("%d claims, want 1", n)
	}
}

func TestRaiseLevelRefusesBadInputAndChangesNothing(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u := e.newUser(t)
	before := e.snapshot(t)
	tests := []struct {
		name  string
		id    Identity
		level int
		check string
	}{
		{"level 0", idA, 0, ""},
		{"level 5", idA, 5, ""},
		{"latin name", Identity{Name: "Zhang San", IDNumber: idA.IDNumber}, 2, "name_chars"},
		{"bad check digit", Identity{Name: "张三", IDNumber: withWrongCheckDigit("44010619900101123")}, 2, "check_digit"},
		{"born tomorrow", Identity{Name: "张三", IDNumber: WithCheckDigit("44010620240616123")}, 2, "birth_date_future"},
	}
	for _, tc := range tests {
		_, err := e.store.RaiseLevel(ctx, u.ID, tc.id, tc.level)
		ve, _ := platform.AsError(err)
		switch {
		case err == nil:
			t.Errorf("%s: accepted", tc.name)
		case tc.check != "" && (ve == nil || ve.Check != tc.check):
			t.Errorf("%s: %v, want check %s", tc.name, err, tc.check)
		}
	}
	if after := e.snapshot(t); !sameSnapshot(before, after) {
		t.Fatalf("refused raises changed the store:\n%v\n%v", before, after)
	}
}

func TestRaiseLevelNormalises(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u := e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, u.ID, Identity{Name: " 买买提・艾力 ", IDNumber: "11010519491231002x"}, 2); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Identity(ctx, u.ID)
	if err != nil || got != idB {
		t.Fatalf("Identity = %#v, %v; want normalised", got, err)
	}
	for _, tc := range []struct {
		id   Identity
		want bool
	}{
		{idB, true},
		{Identity{Name: "买买提•艾力", IDNumber: "11010519491231002x"}, true},
		{Identity{Name: "买买提艾力", IDNumber: idB.IDNumber}, false},
		{Identity{Name: idB.Name, IDNumber: idA.IDNumber}, false},
		{idA, false},
		{Identity{}, false},
	} {
		if ok, err := e.store.CheckIdentity(ctx, u.ID, tc.id); ok != tc.want || err != nil {
			t.Errorf("CheckIdentity(%#v) = %v, %v; want %v", tc.id, ok, err, tc.want)
		}
	}
	// The same identity in another spelling is not "a different identity".
	if _, err := e.store.RaiseLevel(ctx, u.ID, Identity{Name: "买买提•艾力", IDNumber: "11010519491231002x"}, 3); err != nil {
		t.Fatal(err)
	}
}

// TestRealnameTakenChangesNothing: a proven number refuses every other
// user, a declared one every other declaration (a proof takes it: see
// TestProofTakesTheNumberFromADeclaration), and a refusal changes nothing.
func TestRealnameTakenChangesNothing(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	owner, declarer, other := e.newUser(t), e.newUser(t), e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, owner.ID, idA, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RaiseLevel(ctx, declarer.ID, idB, 2); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot(t)
	e.clock.Advance(time.Hour)
	for _, id := range []Identity{idA, {Name: "李四", IDNumber: idA.IDNumber}, {Name: "李四", IDNumber: strings.ToLower(idA.IDNumber)}} {
		for _, level := range []int{2, 3, 4} {
			if _, err := e.store.RaiseLevel(ctx, other.ID, id, level); !errors.Is(err, ErrRealnameTaken) {
				t.Fatalf("RaiseLevel(%v, %d) = %v, want ErrRealnameTaken", id, level, err)
			}
		}
	}
	if _, err := e.store.RaiseLevel(ctx, other.ID, idB, 2); !errors.Is(err, ErrRealnameTaken) {
		t.Fatalf("declaring a declared number: %v, want ErrRealnameTaken", err)
	}
	if after := e.snapshot(t); !sameSnapshot(before, after) {
		t.Fatalf("ErrRealnameTaken changed the store:\n%v\n%v", before, after)
	}
	// The other user may still record another identity.
	if u, err := e.store.RaiseLevel(ctx, other.ID, idC, 3); err != nil || u.Level != 3 {
		t.Fatalf("other identity: %+v, %v", u, err)
	}
}

func TestRaceOfUsersForOneIDNumber(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	const n = 10
	users := make([]User, n)
	for i := range users {
		users[i] = e.newUser(t)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	taken := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.store.RaiseLevel(ctx, users[i].ID, Identity{Name: "张三", IDNumber: idA.IDNumber}, 2)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, users[i].ID)
			case errors.Is(err, ErrRealnameTaken):
				taken++
			default:
				t.Errorf("user %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 || taken != n-1 {
		t.Fatalf("winners %v, taken %d; want exactly one winner", winners, taken)
	}
	if got := e.count(t, collUsers, bson.M{"id_index": bson.M{"$exists": true}}); got != 1 {
		t.Fatalf("%d users with identity, want 1", got)
	}
	if got := e.count(t, collClaims, bson.M{"user_id": winners[0]}); got != 1 || e.count(t, collClaims, bson.M{}) != 1 {
		t.Fatalf("claims: winner holds %d of %d", got, e.count(t, collClaims, bson.M{}))
	}
}

func TestRaceOfIdentitiesForOneUser(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u := e.newUser(t)
	ids := []Identity{idA, idB, idC,
		{Name: "李四", IDNumber: WithCheckDigit("32010219700707001")},
		{Name: "王五", IDNumber: WithCheckDigit("51010419800808002")},
		{Name: "赵六", IDNumber: WithCheckDigit("61010319900909003")},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []Identity
	locked := 0
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.store.RaiseLevel(ctx, u.ID, id, 2)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, id)
			case errors.Is(err, ErrIdentityLocked):
				locked++
			default:
				t.Errorf("%v: %v", id, err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 || locked != len(ids)-1 {
		t.Fatalf("won %v, locked %d; want one identity", won, locked)
	}
	if got, err := e.store.Identity(ctx, u.ID); err != nil || got != won[0] {
		t.Fatalf("Identity = %v, %v; want %v", got, err, won[0])
	}
	// Losers released their claims: only the winner's ID number is taken.
	if got := e.count(t, collClaims, bson.M{}); got != 1 {
		t.Fatalf("%d claims left, want 1", got)
	}
}

func TestIdentityLockedChangesNothing(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u := e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, u.ID, idA, 2); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot(t)
	e.clock.Advance(time.Hour)
	for _, id := range []Identity{
		idC,                                      // other person
		{Name: "张叁", IDNumber: idA.IDNumber},     // same number, other name
		{Name: idA.Name, IDNumber: idC.IDNumber}, // same name, other number
	} {
		if _, err := e.store.RaiseLevel(ctx, u.ID, id, 4); !errors.Is(err, ErrIdentityLocked) {
			t.Fatalf("RaiseLevel(%v) = %v, want ErrIdentityLocked", id, err)
		}
	}
	if after := e.snapshot(t); !sameSnapshot(before, after) {
		t.Fatalf("ErrIdentityLocked changed the store:\n%v\n%v", before, after)
	}
	// idC is still free for its real owner.
	if _, err := e.store.RaiseLevel(ctx, e.newUser(t).ID, idC, 2); err != nil {
		t.Fatal(err)
	}
}

// A crash after the claim and before the user update: the retry completes it.
func TestRaiseLevelCompletesInterruptedClaim(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u, other := e.newUser(t), e.newUser(t)
	idx := e.store.cipher.BlindIndex(kindIDNumber, idA.IDNumber)
	if _, err := e.db.Collection(collClaims).InsertOne(ctx, bson.M{"_id": idx, "user_id": u.ID, "created_at": e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	// For a while the number is the crashed user's: the owner has no identity yet.
	if _, err := e.store.RaiseLevel(ctx, other.ID, idA, 2); !errors.Is(err, ErrRealnameTaken) {
		t.Fatalf("other user: %v, want ErrRealnameTaken", err)
	}
	got, err := e.store.RaiseLevel(ctx, u.ID, idA, 3)
	if err != nil || got.Level != 3 || !got.HasIdentity {
		t.Fatalf("retry: %+v, %v", got, err)
	}
	if id, err := e.store.Identity(ctx, u.ID); err != nil || id != idA {
		t.Fatalf("Identity = %v, %v", id, err)
	}
}

// Stale claims (left by a crash of a raise that lost) never block anyone.
func TestStaleClaimsAreTakenOverAndDropped(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	claims := e.db.Collection(collClaims)
	idxA := e.store.cipher.BlindIndex(kindIDNumber, idA.IDNumber)
	idxB := e.store.cipher.BlindIndex(kindIDNumber, idB.IDNumber)
	idxC := e.store.cipher.BlindIndex(kindIDNumber, idC.IDNumber)

	// B holds a stale claim on A's number but its identity is idB.
	b := e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, b.ID, idB, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := claims.InsertOne(ctx, bson.M{"_id": idxA, "user_id": b.ID}); err != nil {
		t.Fatal(err)
	}
	// A vanished user holds a claim on C's number.
	if _, err := claims.InsertOne(ctx, bson.M{"_id": idxC, "user_id": "u_gone"}); err != nil {
		t.Fatal(err)
	}
	a := e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, a.ID, idA, 2); err != nil {
		t.Fatalf("take over stale claim: %v", err)
	}
	c := e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, c.ID, idC, 2); err != nil {
		t.Fatalf("take over claim of a vanished user: %v", err)
	}
	for idx, owner := range map[string]string{idxA: a.ID, idxB: b.ID, idxC: c.ID} {
		var doc ownerDoc
		if err := claims.FindOne(ctx, bson.M{"_id": idx}).Decode(&doc); err != nil || doc.UserID != owner {
			t.Fatalf("claim owner %q, %v; want %s", doc.UserID, err, owner)
		}
	}

	// A user's own stale claims are dropped once its identity is recorded.
	d := e.newUser(t)
	stale := e.store.cipher.BlindIndex(kindIDNumber, WithCheckDigit("32010219700707001"))
	if _, err := claims.InsertOne(ctx, bson.M{"_id": stale, "user_id": d.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RaiseLevel(ctx, d.ID, Identity{Name: "王五", IDNumber: WithCheckDigit("51010419800808002")}, 2); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, collClaims, bson.M{"_id": stale}); n != 0 {
		t.Fatal("own stale claim not dropped")
	}
	if n := e.count(t, collClaims, bson.M{"user_id": d.ID}); n != 1 {
		t.Fatalf("user holds %d claims, want 1", n)
	}
}

func TestStoredDocumentsHoldNoPlaintext(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	ids := []Identity{idA, idB, idC}
	for _, id := range ids {
		u := e.newUser(t)
		if _, err := e.store.RaiseLevel(ctx, u.ID, id, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.CheckIdentity(ctx, u.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	// A refused attempt must leave nothing behind either.
	if _, err := e.store.RaiseLevel(ctx, e.newUser(t).ID, Identity{Name: "李四", IDNumber: idA.IDNumber}, 2); !errors.Is(err, ErrRealnameTaken) {
		t.Fatal(err)
	}
	names, err := e.db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	docs := 0
	for _, name := range names {
		cur, err := e.db.Collection(name).Find(ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			docs++
			raw := []byte(cur.Current)
			for _, id := range ids {
				for _, secret := range []string{id.Name, id.IDNumber, strings.ToLower(id.IDNumber), id.IDNumber[6:14], id.IDNumber[:17], "李四"} {
					if bytes.Contains(raw, []byte(secret)) {
						t.Errorf("%s document holds plaintext %q: %s", name, secret, cur.Current)
					}
				}
			}
			if _, err := cur.Current.LookupErr("id_index"); name == collUsers && err == nil {
				if v, err := cur.Current.LookupErr("name_enc"); err != nil || v.Type != bson.TypeBinary {
					t.Errorf("name_enc missing or not binary: %v", err)
				}
				if v, err := cur.Current.LookupErr("id_number_enc"); err != nil || v.Type != bson.TypeBinary {
					t.Errorf("id_number_enc missing or not binary: %v", err)
				}
			}
		}
		cur.Close(ctx)
	}
	if docs < 9 {
		t.Fatalf("searched only %d documents", docs)
	}
}
