package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/appointments"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// TestConsoleAdminCatalogInBrowser: an administrator adds a service item
// with its guide to a hall's department in the console (a fee with three
// decimals is refused by its field first, nothing saved), then a schedule
// for it; the citizens' API lists the service with its guide, the schedule
// is stored as typed, and both changes are audited with the API's action
// names. A hall clerk's account created there logs in; disabling
// it there ends its session. axe-core finds nothing on the forms.
func TestConsoleAdminCatalogInBrowser(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	h := s.newE2EHall(t, admin, 2)
	r := platformtest.RandomID()[:8]
	svc, sched := "svc-br-"+r, "sch-br-"+r
	base := s.url + "/console/admin/catalog/halls/" + h.hall

	consoleLogin(t, tab, s, staff.DemoAdmin, `#h-admin`)
	if err := chromedp.Run(tab,
		chromedp.Click(`a[href="/console/admin/catalog"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#hall-`+h.hall, chromedp.ByID),
		chromedp.Navigate(base+"/edit"),
		chromedp.WaitVisible(`#f-opening-hours`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the hall form: %v", err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility of the hall form (axe-core):\n%s", strings.Join(v, "\n"))
	}
	if err := chromedp.Run(tab,
		chromedp.Navigate(base+"/services/new"),
		chromedp.WaitVisible(`#f-id`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the service form: %v", err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility of the service form (axe-core):\n%s", strings.Join(v, "\n"))
	}
	var feeErr string
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#f-id`, svc, chromedp.ByID),
		chromedp.SetValue(`#f-department-id`, h.dept, chromedp.ByID),
		chromedp.SendKeys(`#f-code`, "BR-"+r, chromedp.ByID),
		chromedp.SendKeys(`#f-name`, "浏览器新增事项", chromedp.ByID),
		chromedp.SetValue(`#f-type`, appointments.CategoryPublicServices, chromedp.ByID),
		chromedp.SendKeys(`#f-guide-conditions`, "本市户籍\n年满18周岁", chromedp.ByID),
		chromedp.SendKeys(`#f-guide-materials`, "居民身份证 | 1 | 1 | 必需", chromedp.ByID),
		chromedp.SendKeys(`#f-guide-steps`, "预约\n到场办理", chromedp.ByID),
		chromedp.SendKeys(`#f-guide-fee-fen`, "1.234", chromedp.ByID),
		chromedp.Click(`#catalog-save`, chromedp.ByID),
		chromedp.WaitVisible(`#f-guide-fee-fen-error`, chromedp.ByID),
		chromedp.Text(`#f-guide-fee-fen-error`, &feeErr, chromedp.ByID),
	); err != nil {
		t.Fatalf("a fee with three decimals: %v", err)
	}
	if !strings.Contains(feeErr, "两位小数") || s.countWhere(t, "appt_services", bson.M{"_id": svc}) != 0 {
		t.Fatalf("fee refused with %q, or the service was saved", feeErr)
	}
	if err := chromedp.Run(tab,
		chromedp.SetValue(`#f-guide-fee-fen`, "0", chromedp.ByID),
		chromedp.Click(`#catalog-save`, chromedp.ByID),
		chromedp.WaitVisible(`#service-edit-`+svc, chromedp.ByID),
		chromedp.Navigate(base+"/schedules/new"),
		chromedp.WaitVisible(`#f-id`, chromedp.ByID),
	); err != nil {
		t.Fatalf("save the service: %v", err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility of the schedule form (axe-core):\n%s", strings.Join(v, "\n"))
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#f-id`, sched, chromedp.ByID),
		chromedp.SetValue(`#f-department-id`, h.dept, chromedp.ByID),
		chromedp.Click(`#f-svc-`+svc, chromedp.ByID),
		chromedp.SetValue(`#f-capacity`, "4", chromedp.ByID),
		chromedp.Click(`#catalog-save`, chromedp.ByID),
		chromedp.WaitVisible(`#schedule-edit-`+sched, chromedp.ByID),
	); err != nil {
		t.Fatalf("save the schedule: %v", err)
	}

	// The citizens see the service with its guide.
	var svcs struct {
		Services []struct {
			ID, Name string
			Guide    struct {
				Conditions []string `json:"conditions"`
				Steps      []string `json:"steps"`
			} `json:"guide"`
		} `json:"services"`
	}
	s.eventually(t, "the service listed to citizens", func() bool {
		decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/halls/"+h.hall+"/services", "", nil)), &svcs)
		for _, v := range svcs.Services {
			if v.ID == svc {
				return v.Name == "浏览器新增事项" && len(v.Guide.Conditions) == 2 && len(v.Guide.Steps) == 2
			}
		}
		return false
	})
	var scheds struct {
		Schedules []struct {
			ID         string   `json:"id"`
			ServiceIDs []string `json:"service_ids"`
			Capacity   int      `json:"capacity"`
		} `json:"schedules"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/staff/admin/halls/"+h.hall+"/schedules", admin, nil)), &scheds)
	found := false
	for _, sc := range scheds.Schedules {
		found = found || (sc.ID == sched && sc.Capacity == 4 && len(sc.ServiceIDs) == 1 && sc.ServiceIDs[0] == svc)
	}
	if !found {
		t.Fatalf("schedule not stored as typed: %+v", scheds)
	}
	for _, action := range []string{"catalog.service.create", "catalog.schedule.create"} {
		if n := s.countWhere(t, "staff_audit", bson.M{"action": action, "actor": staff.DemoAdmin, "hall_id": h.hall, "outcome": "ok"}); n != 1 {
			t.Fatalf("%d audit records of %s", n, action)
		}
	}

	// Staff accounts: a hall clerk created in the console logs in through
	// the API; disabling the account in the console ends that session.
	user, pw := "br-"+r, "Br-Passw0rd-"+r
	if err := chromedp.Run(tab,
		chromedp.Navigate(s.url+"/console/admin/staff"),
		chromedp.WaitVisible(`#new-username`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the staff page: %v", err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility of the staff page (axe-core):\n%s", strings.Join(v, "\n"))
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#new-username`, user, chromedp.ByID),
		chromedp.SendKeys(`#new-display`, "浏览器测试员", chromedp.ByID),
		chromedp.SetValue(`#new-role`, staff.RoleHallStaff, chromedp.ByID),
		chromedp.SendKeys(`#new-halls`, h.hall, chromedp.ByID),
		chromedp.SendKeys(`#new-password`, pw, chromedp.ByID),
		chromedp.Click(`#account-create`, chromedp.ByID),
		chromedp.WaitVisible(`#disable-`+user, chromedp.ByID),
	); err != nil {
		t.Fatalf("create the account: %v", err)
	}
	login := s.must(t, 200, s.call(t, "POST", apiV1+"/staff/login", "", map[string]string{"username": user, "password": pw},
		"X-Forwarded-For", nextClientIP()))
	tok := login.str("token")
	list := apiV1 + "/staff/halls/" + h.hall + "/appointments"
	s.must(t, 200, s.call(t, "GET", list, tok, nil))
	if err := chromedp.Run(tab,
		chromedp.Click(`#disable-`+user, chromedp.ByID),
		chromedp.WaitVisible(`#enable-`+user, chromedp.ByID),
	); err != nil {
		t.Fatalf("disable the account: %v", err)
	}
	if a := s.call(t, "GET", list, tok, nil); a.Status != 401 {
		t.Fatalf("the disabled account's session still works: %d %s", a.Status, a.Raw)
	}
	for _, action := range []string{"staff.account.create", "staff.account.disable"} {
		if n := s.countWhere(t, "staff_audit", bson.M{"action": action, "actor": staff.DemoAdmin, "target": user, "outcome": "ok"}); n != 1 {
			t.Fatalf("%d audit records of %s", n, action)
		}
	}
}
