package main

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/api"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// variant serves the stack's application with other API dependencies.
func (s *stack) variant(t *testing.T, change func(*api.Deps)) *stack {
	t.Helper()
	deps := s.app.apiDeps
	deps.Registry = nil // the stack's server registered its series there
	change(&deps)
	srv := httptest.NewServer(api.New(deps).Handler())
	t.Cleanup(srv.Close)
	return &stack{app: s.app, url: srv.URL, cfg: s.cfg}
}

// lastLoginIP is the IP of the newest staff login audit entry of username.
func (s *stack) lastLoginIP(t *testing.T, username string) string {
	t.Helper()
	var e staff.Entry
	err := s.app.Mongo.DB.Collection("staff_audit").FindOne(context.Background(),
		bson.M{"actor": username, "action": "login"}, optionsNewestFirst()).Decode(&e)
	if err != nil {
		t.Fatal(err)
	}
	return e.IP
}

// TestForwardedForFromAnUntrustedPeerIsIgnored: with no trusted proxies (the
// default), a client that rotates X-Forwarded-For neither escapes the
// per-IP login limit nor forges the IP in the audit log.
func TestForwardedForFromAnUntrustedPeerIsIgnored(t *testing.T) {
	st := getStack(t)
	s := st.variant(t, func(d *api.Deps) {
		d.TrustedProxies = nil
		d.Limits.LoginPerIP = 3
		d.RedisPrefix = st.cfg.RedisPrefix + "untrusted-" + platformtest.RandomID() + ":" // its own per-IP budget
	})
	var last answer
	for range 4 {
		last = s.call(t, "POST", "/api/v1/auth/miniprogram/login", "", map[string]string{"code": "x"}, "X-Forwarded-For", nextClientIP())
	}
	if last.Status != 429 || last.errCode() != "rate_limited" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("4th login with a rotated X-Forwarded-For: %d %s, want 429", last.Status, last.Raw)
	}

	s = st.variant(t, func(d *api.Deps) { d.TrustedProxies = nil })
	s.must(t, 200, s.call(t, "POST", "/api/v1/staff/login", "",
		map[string]string{"username": staff.DemoFinance, "password": staff.DemoPassword}, "X-Forwarded-For", "203.0.113.77"))
	if ip := st.lastLoginIP(t, staff.DemoFinance); ip != "127.0.0.1" {
		t.Fatalf("audit IP %q, want the peer 127.0.0.1 (the header is not trusted)", ip)
	}
}

// TestForwardedForFromATrustedProxy: behind a configured proxy, the client
// is the right-most address the proxy added; what the client put in front
// of it is ignored.
func TestForwardedForFromATrustedProxy(t *testing.T) {
	st := getStack(t)
	s := st.variant(t, func(d *api.Deps) { d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	client := nextClientIP()
	s.must(t, 200, s.call(t, "POST", "/api/v1/staff/login", "",
		map[string]string{"username": staff.DemoFinance, "password": staff.DemoPassword}, "X-Forwarded-For", "203.0.113.77, "+client))
	if ip := st.lastLoginIP(t, staff.DemoFinance); ip != client {
		t.Fatalf("audit IP %q, want %s", ip, client)
	}
	if got := st.cfg.TrustedProxies; got != "127.0.0.1/32" {
		t.Fatalf("the test stack trusts %q, want 127.0.0.1/32", got)
	}
	if p, err := platform.ParseTrustedProxies(st.cfg.TrustedProxies); err != nil || len(p) != 1 {
		t.Fatalf("ParseTrustedProxies = %v, %v", p, err)
	}
}

// TestStaffLoginFloodIsLimitedPerAccount: guesses at one staff account from
// ever new client IPs are cut off by the per-account limit: 429 with
// Retry-After, and then the right password waits too.
func TestStaffLoginFloodIsLimitedPerAccount(t *testing.T) {
	st := getStack(t)
	svc, err := staff.NewService(staff.Deps{
		DB: st.app.Mongo.DB, Redis: st.app.Redis.Client, RedisPrefix: st.cfg.RedisPrefix + "flood-" + platformtest.RandomID() + ":",
		Clock: platform.SystemClock{}, Log: testLog(), SessionSecret: []byte(st.cfg.SessionSecret), LoginPerAccount: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := st.variant(t, func(d *api.Deps) {
		d.Features = []api.Feature{api.StaffRoutes{Auth: svc, Desk: st.app.Booking}}
	})
	var codes []string
	for range 10 {
		a := s.call(t, "POST", "/api/v1/staff/login", "", map[string]string{"username": staff.DemoFinance, "password": "a-guess-123"}, "X-Forwarded-For", nextClientIP())
		codes = append(codes, a.errCode())
		if a.Status == 429 && a.Header.Get("Retry-After") == "" {
			t.Fatalf("429 without Retry-After: %s", a.Raw)
		}
	}
	n401 := 0
	for _, c := range codes {
		if c == "bad_credentials" {
			n401++
		}
	}
	if n401 > 3 || codes[9] == "bad_credentials" {
		t.Fatalf("answers %v: want at most 3 password checks, then refusals", codes)
	}
	a := s.call(t, "POST", "/api/v1/staff/login", "", map[string]string{"username": staff.DemoFinance, "password": staff.DemoPassword}, "X-Forwarded-For", nextClientIP())
	if a.Status != 429 || a.Header.Get("Retry-After") == "" {
		t.Fatalf("right password during the flood: %d %s", a.Status, a.Raw)
	}
}

func optionsNewestFirst() *options.FindOneOptionsBuilder {
	return options.FindOne().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}})
}
