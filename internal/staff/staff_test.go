package staff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/crypto/bcrypt"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

type fixture struct {
	ctx    context.Context
	db     *mongo.Database
	rdb    redis.UniversalClient
	prefix string
	clock  *platform.ManualClock
	svc    *Service
}

func newFixture(t *testing.T, idle, maxAge time.Duration) *fixture {
	t.Helper()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	clock := platform.NewManualClock(time.Date(2026, 3, 9, 1, 0, 0, 0, time.UTC))
	svc, err := NewService(Deps{DB: db, Redis: rdb, RedisPrefix: prefix, Clock: clock, Log: platformtest.Logger(),
		SessionSecret: []byte("session-secret-0123456789"), SessionIdle: idle, SessionMax: maxAge, BcryptCost: bcrypt.MinCost,
		LoginPerAccount: 100}) // these tests log in more often than the default limit allows
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &fixture{ctx: context.Background(), db: db, rdb: rdb, prefix: prefix, clock: clock, svc: svc}
}

func (f *fixture) count(t *testing.T, coll string) int64 {
	n, err := f.db.Collection(coll).CountDocuments(f.ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateAccountValidation(t *testing.T) {
	f := newFixture(t, 0, 0)
	if _, err := f.svc.CreateAccount(f.ctx, NewAccount{Username: "Wang.Li", Password: "password-1", Role: RoleHallStaff, HallIDs: []string{"hall-tianhe"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		n     NewAccount
		want  error
		field string
	}{
		{NewAccount{Username: "ab", Password: "password-1", Role: RoleAdmin}, ErrInvalid, "username"},
		{NewAccount{Username: "has space", Password: "password-1", Role: RoleAdmin}, ErrInvalid, "username"},
		{NewAccount{Username: "shorty", Password: "short", Role: RoleAdmin}, ErrInvalid, "password"},
		{NewAccount{Username: "longpw", Password: strings.Repeat("x", 73), Role: RoleAdmin}, ErrInvalid, "password"},
		{NewAccount{Username: "norole", Password: "password-1", Role: "boss"}, ErrInvalid, "role"},
		{NewAccount{Username: "nohall", Password: "password-1", Role: RoleHallStaff}, ErrInvalid, "hall_ids"},
		{NewAccount{Username: "badhall", Password: "password-1", Role: RoleHallStaff, HallIDs: []string{"Hall 1"}}, ErrInvalid, "hall_ids"},
		{NewAccount{Username: "finhall", Password: "password-1", Role: RoleFinance, HallIDs: []string{"h1"}}, ErrInvalid, "hall_ids"},
		{NewAccount{Username: "wang.li", Password: "password-2", Role: RoleAdmin}, ErrExists, ""},
	}
	for _, c := range cases {
		before := f.count(t, "staff_accounts")
		_, err := f.svc.CreateAccount(f.ctx, c.n)
		ve, _ := platform.AsError(err)
		if !errors.Is(err, c.want) || (c.field != "" && (ve == nil || ve.Field != c.field)) {
			t.Fatalf("%+v: got %v, want %v/%s", c.n, err, c.want, c.field)
		}
		if f.count(t, "staff_accounts") != before {
			t.Fatalf("%+v changed the accounts", c.n)
		}
	}
	a, err := f.svc.GetAccount(f.ctx, "WANG.LI")
	if err != nil || a.Role != RoleHallStaff || !a.CanAccessHall("hall-tianhe") || a.CanAccessHall("hall-yuexiu") {
		t.Fatalf("account %+v %v", a, err)
	}
	var raw bson.M
	_ = f.db.Collection("staff_accounts").FindOne(f.ctx, bson.M{"_id": "wang.li"}).Decode(&raw)
	if h, _ := raw["password_hash"].(string); !strings.HasPrefix(h, "$2") || strings.Contains(h, "password-1") {
		t.Fatalf("password stored as %q", h)
	}
}

func TestLoginSessionsAndAudit(t *testing.T) {
	f := newFixture(t, 2*time.Hour, 5*time.Hour)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ user, pw string }{{"demo-staff", "wrong-password"}, {"nobody", DemoPassword}, {"", ""}} {
		if _, err := f.svc.Login(f.ctx, bad.user, bad.pw, "203.0.113.9"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	s, err := f.svc.Login(f.ctx, "Demo-Staff", DemoPassword, "203.0.113.7")
	if err != nil || len(s.Token) < 43 || s.Account.Username != DemoStaff || !s.ExpiresAt.Equal(f.clock.Now().Add(2*time.Hour)) {
		t.Fatalf("login %+v %v", s, err)
	}
	if _, err := f.svc.Authenticate(f.ctx, s.Token+"x"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("forged token: %v", err)
	}
	// sliding idle expiry: used every 1h50 the session lives on, up to the 5 h cap
	for range 2 {
		f.clock.Advance(110 * time.Minute)
		if a, err := f.svc.Authenticate(f.ctx, s.Token); err != nil || a.Username != DemoStaff {
			t.Fatalf("authenticate: %+v %v", a, err)
		}
	}
	f.clock.Advance(90 * time.Minute) // 5h10 after login: past the absolute cap
	if _, err := f.svc.Authenticate(f.ctx, s.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after the cap: %v", err)
	}
	s2, _ := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	// Check (a page's own refresh) sees the session but does not extend it.
	f.clock.Advance(110 * time.Minute)
	if a, err := f.svc.Check(f.ctx, s2.Token); err != nil || a.Username != DemoStaff {
		t.Fatalf("check: %+v %v", a, err)
	}
	f.clock.Advance(10*time.Minute + time.Second)
	if _, err := f.svc.Check(f.ctx, s2.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("check after idling (checks must not extend): %v", err)
	}
	if _, err := f.svc.Authenticate(f.ctx, s2.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after idling: %v", err)
	}
	s3, _ := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	if err := f.svc.Logout(f.ctx, s3.Token, "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, s3.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after logout: %v", err)
	}
	entries, err := f.svc.ListAudit(f.ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed, logout int
	for _, e := range entries {
		switch {
		case e.Action == "login" && e.Outcome == "ok" && e.IP == "203.0.113.7" && e.Role == RoleHallStaff:
			ok++
		case e.Action == "login" && e.Outcome == "bad_credentials" && e.IP == "203.0.113.9":
			failed++
		case e.Action == "logout":
			logout++
		}
	}
	if ok != 3 || failed != 3 || logout != 1 {
		t.Fatalf("audit ok %d failed %d logout %d: %+v", ok, failed, logout, entries)
	}
	if mine, _ := f.svc.ListAudit(f.ctx, AuditQuery{Actor: "nobody"}); len(mine) != 1 {
		t.Fatalf("filter by actor: %d", len(mine))
	}
}

func TestRevocationAndDisabling(t *testing.T) {
	f := newFixture(t, 0, 0)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := f.svc.Login(f.ctx, DemoAdmin, DemoPassword, "127.0.0.1")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			tokens = append(tokens, s.Token)
			mu.Unlock()
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, tk := range tokens {
		seen[tk] = true
	}
	if len(seen) != 10 {
		t.Fatalf("%d distinct tokens", len(seen))
	}
	if err := f.svc.RevokeAll(f.ctx, DemoAdmin); err != nil {
		t.Fatal(err)
	}
	for _, tk := range tokens {
		if _, err := f.svc.Authenticate(f.ctx, tk); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("revoked token works: %v", err)
		}
	}
	s, _ := f.svc.Login(f.ctx, DemoFinance, DemoPassword, "127.0.0.1")
	if err := f.svc.SetDisabled(f.ctx, DemoFinance, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, s.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("disabled account's session: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, DemoFinance, DemoPassword, "127.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("disabled login: %v", err)
	}
	if err := f.svc.SetPassword(f.ctx, DemoAdmin, "new-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(f.ctx, DemoAdmin, DemoPassword, "127.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, DemoAdmin, "new-password", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeAll(f.ctx, "ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestSeedDemoConcurrentAndRoles(t *testing.T) {
	f := newFixture(t, 0, 0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all, err := f.svc.ListAccounts(f.ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("accounts %+v %v", all, err)
	}
	roles := map[string]Account{}
	for _, a := range all {
		roles[a.Username] = a
	}
	if roles[DemoAdmin].Role != RoleAdmin || roles[DemoFinance].Role != RoleFinance ||
		roles[DemoStaff].Role != RoleHallStaff || len(roles[DemoStaff].HallIDs) != 1 || roles[DemoStaff].HallIDs[0] != "hall-tianhe" {
		t.Fatalf("roles %+v", roles)
	}
	if err := Require(roles[DemoFinance], RoleAdmin, RoleHallStaff); !errors.Is(err, ErrForbidden) {
		t.Fatalf("finance allowed: %v", err)
	}
	if Require(roles[DemoAdmin], RoleAdmin) != nil || !roles[DemoAdmin].CanAccessHall("anything") || roles[DemoFinance].CanAccessHall("hall-tianhe") {
		t.Fatal("role checks")
	}
	if err := f.svc.Audit(f.ctx, Entry{Actor: DemoStaff, Action: "appointments.checkin", Target: "ap1", HallID: "hall-tianhe", IP: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Audit(f.ctx, Entry{Action: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("audit without actor: %v", err)
	}
	got, _ := f.svc.ListAudit(f.ctx, AuditQuery{Action: "appointments.checkin"})
	if len(got) != 1 || got[0].Outcome != "ok" || got[0].At.IsZero() || got[0].IP != "10.0.0.1" {
		t.Fatalf("audit %+v", got)
	}
}

// TestSessionKeysKeepTheirFormat: a session stored under
// prefix+"staff:sess:"+hex(HMAC-SHA256(secret, token)), as every release so
// far wrote them, is still found: changing the digest would log everyone out.
func TestSessionKeysKeepTheirFormat(t *testing.T) {
	f := newFixture(t, 2*time.Hour, 5*time.Hour)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	const digest = "242a32f5412b71f6835e525bfa1c7561e9c0a35c0f327db2536c8f49a819a7c8" // secret of newFixture, token "bss_pinned"
	now := f.clock.Now().UnixMilli()
	rec := fmt.Sprintf(`{"u":%q,"g":0,"c":%d,"s":%d}`, DemoStaff, now, now)
	if err := f.rdb.Set(f.ctx, f.prefix+"staff:sess:"+digest, rec, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if a, err := f.svc.Authenticate(f.ctx, "bss_pinned"); err != nil || a.Username != DemoStaff {
		t.Fatalf("authenticate = %+v, %v", a, err)
	}
}

// TestListAuditLimitUpTo1000: the audit list returns as many entries as
// asked up to 1000 (what the API accepts and the OpenAPI says), 100 by
// default.
func TestListAuditLimitUpTo1000(t *testing.T) {
	f := newFixture(t, 0, 0)
	docs := make([]any, 1100)
	at := f.clock.Now().UTC()
	for i := range docs {
		docs[i] = Entry{ID: fmt.Sprintf("au%06d", i), At: at.Add(time.Duration(i) * time.Millisecond), Actor: DemoAdmin, Action: "x", IP: "-", Outcome: "ok"}
	}
	if _, err := f.db.Collection("staff_audit").InsertMany(f.ctx, docs); err != nil {
		t.Fatal(err)
	}
	for limit, want := range map[int]int{0: 100, 1: 1, 500: 500, 600: 600, 1000: 1000, 5000: 1000} {
		got, err := f.svc.ListAudit(f.ctx, AuditQuery{Limit: limit})
		if err != nil || len(got) != want {
			t.Errorf("limit %d: %d entries, %v; want %d", limit, len(got), err, want)
		}
	}
}

// TestListAuditFiltersAndPages: target, hall and outcome filter; paging
// with Before lists every entry exactly once in order, also when many
// share one millisecond across a page boundary.
func TestListAuditFiltersAndPages(t *testing.T) {
	f := newFixture(t, 0, 0)
	at := f.clock.Now().UTC().Truncate(time.Millisecond)
	var docs []any
	for i := range 60 {
		e := Entry{ID: fmt.Sprintf("pg%04d", i), At: at.Add(time.Duration(i/20) * time.Millisecond), Actor: DemoAdmin,
			Action: "appointments.checkin", Target: fmt.Sprintf("a%d", i%3), HallID: []string{"h1", "h2"}[i%2], IP: "-", Outcome: "ok"}
		if i%5 == 0 {
			e.Outcome = "wrong_hall"
		}
		docs = append(docs, e)
	}
	if _, err := f.db.Collection("staff_audit").InsertMany(f.ctx, docs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    AuditQuery
		want int
	}{
		{"target", AuditQuery{Target: "a1"}, 20},
		{"hall", AuditQuery{HallID: "h2"}, 30},
		{"outcome", AuditQuery{Outcome: "wrong_hall"}, 12},
		{"all three", AuditQuery{Target: "a0", HallID: "h1", Outcome: "wrong_hall"}, 2}, // i = 0, 30
	} {
		got, err := f.svc.ListAudit(f.ctx, c.q)
		if err != nil || len(got) != c.want {
			t.Errorf("%s: %d entries, %v; want %d", c.name, len(got), err, c.want)
		}
	}
	all, _ := f.svc.ListAudit(f.ctx, AuditQuery{Action: "appointments.checkin"})
	var paged []string
	q := AuditQuery{Action: "appointments.checkin", Limit: 7}
	for range 20 {
		page, err := f.svc.ListAudit(f.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			paged = append(paged, e.ID)
		}
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1]
		q.Before = &AuditCursor{At: last.At, ID: last.ID}
	}
	if len(all) != 60 || len(paged) != 60 {
		t.Fatalf("%d entries, %d paged", len(all), len(paged))
	}
	for i := range all {
		if all[i].ID != paged[i] {
			t.Fatalf("page order differs at %d: %s vs %s", i, all[i].ID, paged[i])
		}
	}
}

// TestSessionSecretRotationOverlap: staff sessions opened before the
// session secret was rotated keep working (and end at logout) while the old
// secret is configured as the previous one; after that they are not found.
func TestSessionSecretRotationOverlap(t *testing.T) {
	f := newFixture(t, 2*time.Hour, 5*time.Hour)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	a, _ := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	b, _ := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	rotated := func(previous []byte) *Service {
		s, err := NewService(Deps{DB: f.db, Redis: f.rdb, RedisPrefix: f.prefix, Clock: f.clock, Log: platformtest.Logger(),
			SessionSecret: []byte("the-new-secret-0123456789"), SessionSecretPrevious: previous,
			SessionIdle: 2 * time.Hour, SessionMax: 5 * time.Hour, BcryptCost: bcrypt.MinCost, LoginPerAccount: 100})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	during := rotated([]byte("session-secret-0123456789"))
	for _, tok := range []string{a.Token, b.Token} {
		if acct, err := during.Authenticate(f.ctx, tok); err != nil || acct.Username != DemoStaff {
			t.Fatalf("an old session during the overlap: %+v %v", acct, err)
		}
	}
	if err := during.Logout(f.ctx, a.Token, "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := during.Authenticate(f.ctx, a.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("an old session after logout: %v", err)
	}
	fresh, _ := during.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	after := rotated(nil)
	if _, err := after.Authenticate(f.ctx, b.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("an old session after the overlap: %v", err)
	}
	if _, err := after.Authenticate(f.ctx, fresh.Token); err != nil {
		t.Fatalf("a session opened during the overlap: %v", err)
	}
}
