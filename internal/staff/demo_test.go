package staff

import (
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestProductionRefusesDemoLogins: in production (RefuseDemo) the demo
// accounts never log in, whatever their password, and neither does any
// account whose password is the published demo password; the refusal looks
// like any bad password and is audited. DemoAccounts names the demo accounts
// present, for start-up's warning. In development they log in as before.
func TestProductionRefusesDemoLogins(t *testing.T) {
	dev := newFixture(t, 0, 0)
	if err := dev.svc.SeedDemo(dev.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.svc.CreateAccount(dev.ctx, NewAccount{Username: "li.si", Password: DemoPassword, Role: RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.svc.CreateAccount(dev.ctx, NewAccount{Username: "wang.wu", Password: "a-real-password", Role: RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.svc.Login(dev.ctx, DemoAdmin, DemoPassword, "203.0.113.1"); err != nil {
		t.Fatalf("development refuses the demo login: %v", err)
	}

	prod, err := NewService(Deps{DB: dev.db, Redis: dev.rdb, RedisPrefix: dev.prefix, Clock: dev.clock, Log: platformtest.Logger(),
		SessionSecret: []byte("session-secret-0123456789"), BcryptCost: bcrypt.MinCost, RefuseDemo: true})
	if err != nil {
		t.Fatal(err)
	}
	names, err := prod.DemoAccounts(dev.ctx)
	if err != nil || !slices.Equal(names, []string{DemoAdmin, DemoFinance, DemoStaff}) {
		t.Fatalf("DemoAccounts = %v, %v", names, err)
	}
	if err := prod.SetPassword(dev.ctx, DemoFinance, "changed-password"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pw string }{
		{DemoAdmin, DemoPassword}, {DemoStaff, DemoPassword}, {DemoFinance, "changed-password"}, {"li.si", DemoPassword},
	} {
		dev.clock.Advance(time.Minute)
		if _, err := prod.Login(dev.ctx, c.user, c.pw, "203.0.113.2"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("production login of %s: %v, want bad_credentials", c.user, err)
		}
	}
	if _, err := prod.Login(dev.ctx, "wang.wu", "a-real-password", "203.0.113.2"); err != nil {
		t.Fatalf("a real account is refused in production: %v", err)
	}
	refused, _ := prod.ListAudit(dev.ctx, AuditQuery{Action: "login"})
	n := 0
	for _, e := range refused {
		if e.IP == "203.0.113.2" && e.Outcome == "bad_credentials" && e.Detail != "" {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d refused demo logins audited with a detail, want 4: %+v", n, refused)
	}
	if _, err := platform.AsError(ErrBadCredentials); !err {
		t.Fatal("ErrBadCredentials is not a platform error")
	}
}
