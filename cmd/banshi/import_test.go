package main

import (
	"fmt"
	"strings"
	"testing"

	"banshi/internal/staff"
)

// TestAdminImport: a catalog import larger than the ordinary body limit is
// accepted whole; a bad item is a 400 naming its path and writes nothing;
// a body over the import limit is 413; hall staff may not import.
func TestAdminImport(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	id := "imp-" + strings.ToLower(newIDNumber()[10:17])

	var services []string
	for i := range 120 { // well over the 64 KiB limit of other routes
		services = append(services, fmt.Sprintf(`{"id":"%s-s%d","hall_id":"%s","department_id":"%s-d","code":"IMP%06d","name":"导入事项%d","type":"公共服务","guide":{"conditions":["%s"],"steps":["受理","审核","办结"],"time_limit_days":5}}`,
			id, i, id, id, i, i, strings.Repeat("条件说明", 100)))
	}
	body := func(extra string) string {
		return `{"halls":[{"id":"` + id + `","name":"导入测试大厅","address":"广州市天河区测试路1号","phone":"020-00000000","opening_hours":[{"weekday":1,"open":"09:00","close":"17:00"}]}],` +
			`"departments":[{"id":"` + id + `-d","hall_id":"` + id + `","name":"导入窗口","queue_prefix":"I"}],` +
			`"services":[` + strings.Join(services, ",") + extra + `]}`
	}
	bad := body(`,{"id":"` + id + `-bad","hall_id":"` + id + `","department_id":"` + id + `-d","code":"X1","name":"坏事项","type":"不存在的类型"}`)
	if len(bad) < 70<<10 {
		t.Fatalf("test body only %d bytes", len(bad))
	}

	halls := s.count(t, "appt_halls")
	svcs := s.count(t, "appt_services")
	a := s.call(t, "POST", "/api/v1/staff/admin/import", admin, bad)
	if a.Status != 400 || a.errCode() != "invalid_argument" || !strings.HasPrefix(a.errField("field"), "services[120]") {
		t.Fatalf("bad import: %d %s", a.Status, a.Raw)
	}
	if s.count(t, "appt_halls") != halls || s.count(t, "appt_services") != svcs {
		t.Fatal("a refused import wrote something")
	}

	staffTok := s.staffLogin(t, staff.DemoStaff)
	if a := s.call(t, "POST", "/api/v1/staff/admin/import", staffTok, body("")); a.Status != 403 {
		t.Fatalf("hall staff import: %d %s", a.Status, a.Raw)
	}
	huge := `{"services":[` + strings.Repeat(`{"id":"x"},`, 500000) + `{"id":"x"}]}`
	if a := s.call(t, "POST", "/api/v1/staff/admin/import", admin, huge); a.Status != 413 || a.errCode() != "payload_too_large" {
		t.Fatalf("oversized import: %d %.200s", a.Status, a.Raw)
	}

	a = s.must(t, 200, s.call(t, "POST", "/api/v1/staff/admin/import", admin, body("")))
	if a.str("services") != "120" || a.str("halls") != "1" {
		t.Fatalf("import result: %s", a.Raw)
	}
	if got := s.count(t, "appt_services") - svcs; got != 120 {
		t.Fatalf("%d services written, want 120", got)
	}
	if a := s.call(t, "GET", "/api/v1/halls/"+id+"/services", "", nil); a.Status != 200 || !strings.Contains(string(a.Raw), id+"-s119") {
		t.Fatalf("imported services not listed: %d", a.Status)
	}
}
