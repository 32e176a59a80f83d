package integrations

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

type fixture struct {
	ctx   context.Context
	clock *platform.ManualClock
	reg   *Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	box, err := platform.NewSecretBox(bytes.Repeat([]byte{3}, 32), "banshi integration secrets v1")
	if err != nil {
		t.Fatal(err)
	}
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC))
	return &fixture{ctx: context.Background(), clock: clock, reg: NewRegistry(platformtest.Mongo(t), box, clock)}
}

func (f *fixture) count(t *testing.T) int64 {
	n, err := f.reg.coll.CountDocuments(f.ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestCreateShowsTheSecretOnceAndKeepsItSealed(t *testing.T) {
	f := newFixture(t)
	w, err := f.reg.Create(f.ctx, New{ID: "dept-gaj", Name: "公安审批系统", Scopes: []string{"applications", "applications"}, CallbackURL: "https://gaj.example/banshi"})
	if err != nil {
		t.Fatal(err)
	}
	if !hex64.MatchString(w.Secret) || len(w.Scopes) != 1 || w.CreatedAt.Location() != platform.Shanghai() {
		t.Fatalf("created: %+v", w)
	}
	raw, err := f.reg.coll.FindOne(f.ctx, bson.M{"_id": "dept-gaj"}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(w.Secret)) {
		t.Fatal("the secret is stored in clear")
	}
	if got, _ := f.reg.Get(f.ctx, "dept-gaj"); got.Name != "公安审批系统" {
		t.Fatalf("get: %+v", got)
	}
	secrets, err := f.reg.HookSecrets(f.ctx, "dept-gaj")
	if err != nil || len(secrets) != 1 || secrets[0] != w.Secret {
		t.Fatalf("hook secrets: %v, %v", secrets, err)
	}
	if err := f.reg.Authorize(f.ctx, "dept-gaj", ScopeApplications); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Authorize(f.ctx, "dept-gaj", ScopeBills); !errors.Is(err, ErrForbidden) {
		t.Fatalf("ungranted scope: %v", err)
	}
	if _, err := f.reg.Create(f.ctx, New{ID: "dept-gaj", Name: "again", Scopes: []string{"bills"}}); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
}

func TestCreateBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		n     New
		field string
	}{
		{New{ID: "Dept A", Name: "x", Scopes: []string{"bills"}}, "id"},
		{New{ID: "a", Name: " ", Scopes: []string{"bills"}}, "name"},
		{New{ID: "a", Name: "x"}, "scopes"},
		{New{ID: "a", Name: "x", Scopes: []string{"bills", "payments"}}, "scopes[1]"},
		{New{ID: "a", Name: "x", Scopes: []string{"bills"}, CallbackURL: "ftp://x"}, "callback_url"},
		{New{ID: "a", Name: "x", Scopes: []string{"bills"}, CallbackURL: "https://user:pw@x/"}, "callback_url"},
	}
	for _, tc := range cases {
		_, err := f.reg.Create(f.ctx, tc.n)
		pe, ok := platform.AsError(err)
		if !ok || pe.Code != platform.CodeInvalid || pe.Field != tc.field {
			t.Errorf("%+v: %v, want invalid %s", tc.n, err, tc.field)
		}
	}
	if f.count(t) != 0 {
		t.Fatal("bad input was stored")
	}
}

func TestRotationOverlapAndDisable(t *testing.T) {
	f := newFixture(t)
	first, err := f.reg.Create(f.ctx, New{ID: "dept-a", Name: "a", Scopes: []string{"applications"}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.reg.Rotate(f.ctx, "dept-a")
	if err != nil || second.Secret == first.Secret || second.PreviousValidUntil == nil {
		t.Fatalf("rotate: %+v, %v", second, err)
	}
	secrets, _ := f.reg.HookSecrets(f.ctx, "dept-a")
	if len(secrets) != 2 || secrets[0] != second.Secret || secrets[1] != first.Secret {
		t.Fatalf("during the overlap: %v", secrets)
	}
	f.clock.Advance(RotationOverlap)
	if secrets, _ := f.reg.HookSecrets(f.ctx, "dept-a"); len(secrets) != 1 || secrets[0] != second.Secret {
		t.Fatalf("after the overlap: %v", secrets)
	}
	if _, err := f.reg.SetDisabled(f.ctx, "dept-a", true); err != nil {
		t.Fatal(err)
	}
	if secrets, _ := f.reg.HookSecrets(f.ctx, "dept-a"); len(secrets) != 0 {
		t.Fatal("a disabled integration still verifies")
	}
	if err := f.reg.Authorize(f.ctx, "dept-a", ScopeApplications); !errors.Is(err, ErrForbidden) {
		t.Fatalf("disabled: %v", err)
	}
	if _, err := f.reg.Rotate(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if secrets, err := f.reg.HookSecrets(f.ctx, "nope"); err != nil || len(secrets) != 0 {
		t.Fatalf("unknown source: %v, %v", secrets, err)
	}
}

// TestConcurrentRotationsLoseNoSecret: of rotations racing, each that
// succeeds hands out a secret that verifies; none is silently dropped.
func TestConcurrentRotationsLoseNoSecret(t *testing.T) {
	f := newFixture(t)
	if _, err := f.reg.Create(f.ctx, New{ID: "dept-a", Name: "a", Scopes: []string{"bills"}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := f.reg.Rotate(f.ctx, "dept-a")
			if err == nil {
				mu.Lock()
				won = append(won, w.Secret)
				mu.Unlock()
			} else if !errors.Is(err, ErrRotating) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	secrets, _ := f.reg.HookSecrets(f.ctx, "dept-a")
	if len(won) == 0 || !contains(won, secrets[0]) {
		t.Fatalf("won %d rotations; current secret %q not among them", len(won), secrets[0])
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestSeedDemoCreatesOnceAndRotatesToLearn(t *testing.T) {
	f := newFixture(t)
	first, err := f.reg.SeedDemo(f.ctx, "http://127.0.0.1:8080/sim/department/demo-dept/events", true)
	if err != nil || !hex64.MatchString(first) {
		t.Fatalf("first seed: %q %v", first, err)
	}
	if _, err := f.reg.SetDisabled(f.ctx, DemoID, true); err != nil {
		t.Fatal(err)
	}
	if s, err := f.reg.SeedDemo(f.ctx, "http://elsewhere/", false); err != nil || s != "" {
		t.Fatalf("seed without learning: %q %v", s, err)
	}
	second, err := f.reg.SeedDemo(f.ctx, "http://elsewhere/", true)
	if err != nil || second == first || !hex64.MatchString(second) {
		t.Fatalf("second seed: %q %v", second, err)
	}
	got, _ := f.reg.Get(f.ctx, DemoID)
	if !got.Disabled || got.CallbackURL != "http://127.0.0.1:8080/sim/department/demo-dept/events" || len(got.Scopes) != 3 || f.count(t) != 1 {
		t.Fatalf("seeding changed the integration: %+v", got)
	}
	if _, err := f.reg.SetDisabled(f.ctx, DemoID, false); err != nil {
		t.Fatal(err)
	}
	if secrets, _ := f.reg.HookSecrets(f.ctx, DemoID); len(secrets) != 2 || secrets[0] != second || secrets[1] != first {
		t.Fatalf("secrets after the restart: %v", secrets)
	}
}
