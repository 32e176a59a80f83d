package main

import (
	"testing"

	"banshi/internal/staff"
)

// TestOutboxAdmin: admins list deliveries by state and retry; bad input and
// other roles are refused and change nothing.
func TestOutboxAdmin(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	hall := s.staffLogin(t, staff.DemoStaff)
	for _, state := range []string{"", "pending", "dead", "failed"} {
		a := s.must(t, 200, s.call(t, "GET", apiV1+"/staff/admin/outbox?state="+state, admin, nil))
		if _, ok := a.Body["deliveries"].([]any); !ok {
			t.Fatalf("state %q: %s", state, a.Raw)
		}
	}
	cases := []struct {
		method, path, token string
		status              int
		code                string
	}{
		{"GET", "/staff/admin/outbox?state=lost", admin, 400, "invalid_argument"},
		{"GET", "/staff/admin/outbox?limit=0", admin, 400, "invalid_argument"},
		{"GET", "/staff/admin/outbox", hall, 403, "forbidden"},
		{"GET", "/staff/admin/outbox", "", 401, "unauthenticated"},
		{"POST", "/staff/admin/outbox/no-such-delivery/retry", admin, 404, "not_found"},
		{"POST", "/staff/admin/outbox/x/retry", hall, 403, "forbidden"},
	}
	for _, tc := range cases {
		if a := s.call(t, tc.method, apiV1+tc.path, tc.token, nil); a.Status != tc.status || a.errCode() != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, a.Status, a.Raw, tc.status, tc.code)
		}
	}
}
