package main

import (
	"reflect"
	"strings"
	"testing"

	"banshi/appointments"
	"banshi/internal/staff"
)

// TestFavoritesBadInput: bad favourites over HTTP are 400 naming the field,
// and the stored list stays as it was.
func TestFavoritesBadInput(t *testing.T) {
	s := getStack(t)
	token, _ := s.login(t, s.newPerson(t))
	s.must(t, 200, s.call(t, "PUT", "/api/v1/me/favorites", token, map[string]any{"service_codes": []string{"11440106007482133H4440111009000"}}))
	many := make([]string, 21)
	for i := range many {
		many[i] = "S" + strings.Repeat("1", i+1)
	}
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"too many", map[string]any{"service_codes": many}, "service_codes"},
		{"bad code", map[string]any{"service_codes": []string{"ok", "有 空格"}}, "service_codes[1]"},
		{"code no hall offers", map[string]any{"service_codes": []string{"11440106MB2C93264A4441420003000", "NO-SUCH-CODE"}}, "service_codes[1]"},
		{"missing list", map[string]any{}, "service_codes"},
		{"wrong type", `{"service_codes":"KEEP2"}`, "service_codes"},
		{"unknown field", `{"service_codes":[],"extra":true}`, "extra"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := s.call(t, "PUT", "/api/v1/me/favorites", token, tc.body)
			if a.Status != 400 || a.errCode() != "invalid_argument" || a.errField("field") != tc.field {
				t.Fatalf("got %d %s, want 400 on %s", a.Status, a.Raw, tc.field)
			}
			me := s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil))
			if favs := me.Body["sections"].(map[string]any)["favorites"]; !reflect.DeepEqual(favs, []any{"11440106007482133H4440111009000"}) {
				t.Fatalf("favorites changed to %v", favs)
			}
		})
	}
}

// TestStaffQueryAndAdminBadInput: malformed staff queries and admin writes
// are 400 naming the field and change nothing.
func TestStaffQueryAndAdminBadInput(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	hall := appointments.DemoHallTianhe
	list := "/api/v1/staff/halls/" + hall + "/appointments"
	cases := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"page size not a number", "GET", list + "?page_size=many", nil, "page_size"},
		{"negative page", "GET", list + "?page=-1", nil, "page"},
		{"audit limit zero", "GET", "/api/v1/staff/audit?limit=0", nil, "limit"},
		{"audit limit too big", "GET", "/api/v1/staff/audit?limit=5000", nil, "limit"},
		{"audit until not a time", "GET", "/api/v1/staff/audit?until=tomorrow", nil, "until"},
		{"calendar delete without date", "DELETE", "/api/v1/staff/admin/calendar?hall_id=" + hall, nil, "date"},
		{"hall body names another id", "PUT", "/api/v1/staff/admin/halls/" + hall, map[string]any{"id": appointments.DemoHallYuexiu, "name": "改名"}, "id"},
		{"hall body wrong type", "PUT", "/api/v1/staff/admin/halls/" + hall, `{"name":42}`, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			halls := s.must(t, 200, s.call(t, "GET", "/api/v1/halls", "", nil)).Raw
			cal := s.count(t, "appt_calendar")
			a := s.call(t, tc.method, tc.path, admin, tc.body)
			if a.Status != 400 || a.errCode() != "invalid_argument" || a.errField("field") != tc.field {
				t.Fatalf("got %d %s, want 400 on %s", a.Status, a.Raw, tc.field)
			}
			if got := s.must(t, 200, s.call(t, "GET", "/api/v1/halls", "", nil)).Raw; string(got) != string(halls) {
				t.Fatal("halls changed")
			}
			if s.count(t, "appt_calendar") != cal {
				t.Fatal("calendar changed")
			}
		})
	}
}
