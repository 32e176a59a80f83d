package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/appointments"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
	"banshi/payments"
)

// TestConsoleInBrowser drives the console in Chromium as a hall's staff
// member would: log in, check a citizen in by typing the code, and with the
// hall display open in a second tab, call the number and watch the display
// show it within a second; a form posted without its CSRF token and another
// hall's page are refused. axe-core finds no WCAG 2 A/AA violation on the
// pages it visits. With BANSHI_DOCS_SCREENSHOTS set it refreshes the
// README's screenshots under docs/.
func TestConsoleInBrowser(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	hall := appointments.DemoHallTianhe
	dept := "dept-br-" + platformtest.RandomID()[:8]
	s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/departments", admin, map[string]any{
		"id": dept, "hall_id": hall, "name": "浏览器测试窗口", "queue_prefix": "W",
	}))
	// A booking of today in that department. Booking starts tomorrow and the
	// shared clock does not move: the test moves the booking to today.
	_, token := levelThree(t, s)
	_, sl := s.openSlot(t, hall, thRSJ, 0, 1, true)
	b := s.must(t, 201, s.book(t, token, sl.ID, thRSJ))
	today := s.app.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	if _, err := s.app.Mongo.DB.Collection("appointments").UpdateOne(context.Background(), bson.M{"_id": b.str("id")},
		bson.M{"$set": bson.M{"department_id": dept, "date": today}}); err != nil {
		t.Fatal(err)
	}
	code := b.str("checkin_code")

	// Log in.
	var violations []string
	check := func(page string) {
		t.Helper()
		for _, v := range axeViolations(t, tab) {
			violations = append(violations, page+": "+v)
		}
	}
	if err := chromedp.Run(tab,
		chromedp.Navigate(s.url+"/console/"),
		chromedp.WaitVisible(`#username`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	check("login")
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#username`, staff.DemoStaff, chromedp.ByID),
		chromedp.SendKeys(`#password`, staff.DemoPassword, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`#h-halls`, chromedp.ByID),
		chromedp.Navigate(s.url+"/console/halls/"+hall+"/today"),
		chromedp.WaitVisible(`#code`, chromedp.ByID),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	check("today")

	// A wrong code: the service's message next to the field, the typed code kept.
	var msg, kept string
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#code`, "ZZZZZZZZ", chromedp.ByID),
		chromedp.Submit(`#code`, chromedp.ByID),
		chromedp.WaitVisible(`#code-error`, chromedp.ByID),
		chromedp.Text(`#code-error`, &msg, chromedp.ByID),
		chromedp.Value(`#code`, &kept, chromedp.ByID),
	); err != nil {
		t.Fatalf("wrong code: %v", err)
	}
	if !strings.Contains(msg, "未找到") || kept != "ZZZZZZZZ" {
		t.Fatalf("wrong code: message %q, field %q", msg, kept)
	}

	// The display in a second tab.
	display := secondTab(t, tab)
	if err := chromedp.Run(display,
		chromedp.Navigate(s.url+"/console/halls/"+hall+"/display"),
		chromedp.WaitVisible(`#board-content`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the display: %v", err)
	}
	check("display")

	// Check in by the typed code.
	if err := chromedp.Run(tab,
		chromedp.Clear(`#code`, chromedp.ByID),
		chromedp.SendKeys(`#code`, code, chromedp.ByID),
		chromedp.Submit(`#code`, chromedp.ByID),
		chromedp.WaitNotPresent(`#code-error`, chromedp.ByID),
	); err != nil {
		t.Fatalf("check in: %v", err)
	}
	var doc struct {
		Status      string `bson:"status"`
		QueueNumber string `bson:"queue_number"`
	}
	if err := s.app.Mongo.DB.Collection("appointments").FindOne(context.Background(), bson.M{"_id": b.str("id")}).Decode(&doc); err != nil ||
		doc.Status != appointments.StatusCheckedIn || doc.QueueNumber == "" {
		t.Fatalf("after the check-in form: %+v %v", doc, err)
	}
	var table string
	if err := chromedp.Run(tab, chromedp.Text(`#today-table`, &table, chromedp.ByID)); err != nil || !strings.Contains(table, doc.QueueNumber) {
		t.Fatalf("the list does not show %s: %v\n%s", doc.QueueNumber, err, table)
	}

	// Counter 8 calls the number; the display shows it within a second.
	if err := chromedp.Run(tab,
		chromedp.SetValue(`#call_department`, dept, chromedp.ByID),
		chromedp.SendKeys(`#window`, "8", chromedp.ByID),
		chromedp.Click(`#call-next`, chromedp.ByID),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("call next: %v", err)
	}
	called := time.Now()
	var board string
	for {
		if err := chromedp.Run(display, chromedp.Text(`#board-content`, &board, chromedp.ByID)); err != nil {
			t.Fatalf("read the display: %v", err)
		}
		if strings.Contains(board, doc.QueueNumber) {
			break
		}
		if time.Since(called) > 5*time.Second {
			t.Fatalf("the display did not show %s:\n%s", doc.QueueNumber, board)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the display showed the call %v after it", time.Since(called).Round(time.Millisecond))

	// A form posted without its CSRF token is refused and does nothing.
	var status int
	if err := chromedp.Run(tab, chromedp.Evaluate(`fetch("/console/appointments/`+b.str("id")+`/complete", {method: "POST",
		body: new URLSearchParams({hall_id: "`+hall+`"})}).then(r => r.status)`, &status, awaitPromise)); err != nil {
		t.Fatal(err)
	}
	if status != 403 || s.countWhere(t, "appointments", bson.M{"_id": b.str("id"), "status": appointments.StatusCheckedIn}) != 1 {
		t.Fatalf("a post without CSRF token: %d", status)
	}
	// Another hall's page.
	var h1 string
	if err := chromedp.Run(tab,
		chromedp.Navigate(s.url+"/console/halls/"+appointments.DemoHallYuexiu+"/today"),
		chromedp.Text(`h1`, &h1, chromedp.ByQuery),
	); err != nil || h1 != "无权访问" {
		t.Fatalf("another hall's page: %q %v", h1, err)
	}
	if len(violations) > 0 {
		t.Fatalf("accessibility (axe-core):\n%s", strings.Join(violations, "\n"))
	}
	// axe-core does see an unlabelled control (the check above is not empty).
	if err := chromedp.Run(tab, chromedp.Evaluate(`document.querySelector("main").appendChild(document.createElement("input")); true`, nil)); err != nil {
		t.Fatal(err)
	}
	if v := axeViolations(t, tab); len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), "label") {
		t.Fatalf("axe-core missed an unlabelled input: %v", v)
	}
	if os.Getenv("BANSHI_DOCS_SCREENSHOTS") != "" {
		docsScreenshot(t, tab, s.url+"/console/halls/"+hall+"/today", "console-today.png")
		docsScreenshot(t, display, "", "console-display.png")
	}
}

// docsScreenshot saves the page at url (the current one when "") as
// docs/name at 1366×768.
func docsScreenshot(t *testing.T, tab context.Context, url, name string) {
	t.Helper()
	var png []byte
	actions := []chromedp.Action{}
	if url != "" {
		actions = append(actions, chromedp.Navigate(url), chromedp.WaitVisible(`main`, chromedp.ByQuery))
	}
	actions = append(actions, chromedp.CaptureScreenshot(&png))
	if err := chromedp.Run(tab, actions...); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleAdminClosureInBrowser: an administrator closes a hall's day in
// the console; the booking of that day is cancelled and its citizen told
// the reason; axe-core finds nothing on the calendar page.
func TestConsoleAdminClosureInBrowser(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	h := s.newE2EHall(t, admin, 2)
	day := s.windowDates(t, h.hall, h.svc)[0].Date
	_, token := levelThree(t, s)
	id := s.must(t, 201, s.book(t, token, s.daySlots(t, h.hall, h.svc, day)[0].ID, h.svc)).str("id")

	consoleLogin(t, tab, s, staff.DemoAdmin, `#h-admin`)
	if err := chromedp.Run(tab,
		chromedp.Click(`a[href="/console/admin/calendar"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#cal_date`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the calendar: %v", err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility (axe-core):\n%s", strings.Join(v, "\n"))
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#cal_hall`, h.hall, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("cal_date").value = "`+day+`"; true`, nil),
		chromedp.SendKeys(`#cal_name`, "设备检修", chromedp.ByID),
		chromedp.Click(`#calendar-save`, chromedp.ByID),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("close the day: %v", err)
	}
	s.eventually(t, "the booking cancelled", func() bool {
		return s.countWhere(t, "appointments", bson.M{"_id": id, "status": appointments.StatusCancelled}) == 1
	})
	if n := s.countWhere(t, "inbox", bson.M{"kind": appointments.KindCancelled, "data.appointment_id": id}); n != 1 {
		t.Fatalf("%d cancellation messages", n)
	}
	if n := s.countWhere(t, "staff_audit", bson.M{"action": "catalog.calendar.put", "actor": staff.DemoAdmin, "hall_id": h.hall, "outcome": "ok"}); n != 1 {
		t.Fatalf("%d audit records of the closure", n)
	}
}

// TestConsoleLicenceVerifyInBrowser: hall staff paste a citizen's 亮证 token
// and see the licence face once; the same token again is refused by the
// field.
func TestConsoleLicenceVerifyInBrowser(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.licenceDept(t, admin, true)
	p, token := levelThree(t, s)
	id := s.must(t, 200, s.issueLicence(t, d, p, "issue", nil)).Header.Get("X-Sim-Licence-Id")
	shown := s.must(t, 200, s.call(t, "POST", apiV1+"/me/licences/"+id+"/show", token, nil)).str("token")

	var face, refusal string
	consoleLogin(t, tab, s, staff.DemoStaff, `#h-halls`)
	if err := chromedp.Run(tab,
		chromedp.Click(`a[href="/console/licences/verify"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, shown, chromedp.ByID),
		chromedp.Click(`#verify`, chromedp.ByID),
		chromedp.WaitVisible(`#licence-face`, chromedp.ByID),
		chromedp.Text(`#licence-face`, &face, chromedp.ByID),
	); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !strings.Contains(face, "有效") || strings.Contains(face, p.IDNumber) {
		t.Fatalf("licence face (valid, masked holder): %s", face)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility (axe-core):\n%s", strings.Join(v, "\n"))
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#token`, shown, chromedp.ByID),
		chromedp.Click(`#verify`, chromedp.ByID),
		chromedp.WaitVisible(`#token-error`, chromedp.ByID),
		chromedp.Text(`#token-error`, &refusal, chromedp.ByID),
	); err != nil {
		t.Fatalf("verify again: %v", err)
	}
	if refusal == "" {
		t.Fatal("the second verification shows no refusal")
	}
	t.Logf("second verification: %s", refusal)
}

// TestConsoleTicketsInBrowser: a 差评 of a visit to the hall appears among
// the hall's tickets; the staff verify it with a note; the page shows the
// next step.
func TestConsoleTicketsInBrowser(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	_, token := levelThree(t, s)
	appt := s.completedVisit(t, token)
	ev := s.must(t, 201, s.call(t, "POST", apiV1+"/evaluations", token, map[string]any{"subject": map[string]string{"appointment_id": appt},
		"level": "very_dissatisfied", "indicators": []string{"attitude"}, "text": "浏览器测试差评" + appt[len(appt)-6:]}))
	id := ev.str("id")
	var state string
	consoleLogin(t, tab, s, staff.DemoStaff, `#h-halls`)
	if err := chromedp.Run(tab,
		chromedp.Click(`a[href="/console/evaluation-tickets"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#note-`+id, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the tickets: %v", err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility (axe-core):\n%s", strings.Join(v, "\n"))
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#note-`+id, "已调取录像核实", chromedp.ByID),
		chromedp.Click(`#step-`+id, chromedp.ByID),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		chromedp.Text(`#step-`+id, &state, chromedp.ByID),
	); err != nil {
		t.Fatalf("verify the ticket: %v", err)
	}
	if state != "整改" {
		t.Fatalf("the next step shown is %q, want 整改", state)
	}
	tk := s.must(t, 200, s.call(t, "GET", apiV1+"/staff/evaluation-tickets/"+id, s.staffLogin(t, staff.DemoStaff), nil))
	if tk.str("state") != "verified" || tk.str("verify", "note") != "已调取录像核实" {
		t.Fatalf("ticket after the console: %s", tk.Raw)
	}
}

// consoleLogin logs username in on the console's login page and waits for
// the home page (the section waitFor).
func consoleLogin(t *testing.T, tab context.Context, s *stack, username, waitFor string) {
	t.Helper()
	if err := chromedp.Run(tab,
		chromedp.Navigate(s.url+"/console/login"),
		chromedp.WaitVisible(`#username`, chromedp.ByID),
		chromedp.SendKeys(`#username`, username, chromedp.ByID),
		chromedp.SendKeys(`#password`, staff.DemoPassword, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(waitFor, chromedp.ByID),
	); err != nil {
		t.Fatalf("log in as %s: %v", username, err)
	}
}

// TestConsoleFinanceRefundInBrowser: a finance clerk finds a paid order,
// types a refund in yuan (a third decimal is refused by the field, nothing
// refunded), then refunds 1.00 yuan exactly against the refundable shown.
func TestConsoleFinanceRefundInBrowser(t *testing.T) {
	tab := browserTab(t)
	f := newPayFixture(t)
	s := f.s
	o := f.createOrder(t, "wechat_jsapi")
	no := o.str("order_no")
	var params json.RawMessage
	decodeInto(t, answer{Raw: mustJSON(t, o.Body["pay_params"])}, &params)
	s.must(t, 200, s.call(t, "POST", "/sim/wechatpay/pay", "", map[string]any{"pay_params": params, "outcome": "success"}))
	f.waitOrder(t, no, payments.OrderPaid)
	f.waitBill(t, payments.BillPaid)

	consoleLogin(t, tab, s, staff.DemoFinance, `#h-finance`)
	var refundable, amountErr string
	if err := chromedp.Run(tab, chromedp.Navigate(s.url+"/console/finance/orders/"+no), chromedp.WaitVisible(`#amount`, chromedp.ByID),
		chromedp.Text(`#refundable`, &refundable, chromedp.ByID)); err != nil || refundable != "212.00" {
		t.Fatalf("order page: refundable %q %v", refundable, err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility (axe-core):\n%s", strings.Join(v, "\n"))
	}
	before := f.orderState(t)
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#amount`, "1.005", chromedp.ByID),
		chromedp.SendKeys(`#reason`, "多缴", chromedp.ByID),
		chromedp.Submit(`#amount`, chromedp.ByID),
		chromedp.WaitVisible(`#amount-error`, chromedp.ByID),
		chromedp.Text(`#amount-error`, &amountErr, chromedp.ByID),
	); err != nil || amountErr == "" || f.orderState(t) != before {
		t.Fatalf("a third decimal: %q %v", amountErr, err)
	}
	if err := chromedp.Run(tab,
		chromedp.Clear(`#amount`, chromedp.ByID),
		chromedp.SendKeys(`#amount`, "1.00", chromedp.ByID),
		chromedp.Submit(`#amount`, chromedp.ByID),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("refund: %v", err)
	}
	if n := s.countWhere(t, payments.CollRefunds, bson.M{"order_no": no, "amount_fen": 100, "by": staff.DemoFinance}); n != 1 {
		t.Fatalf("%d refunds of 100 fen", n)
	}
}
