package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// TestConsoleDashboardInBrowser: after a booking that is checked in and
// called, and another that becomes a no-show, on the stack, the admin's
// dashboard in Chromium counts them in today's rows of its tables (other
// tests' bookings may add more: the test reads the table before and after);
// axe-core finds no WCAG 2 A/AA violation on the page.
func TestConsoleDashboardInBrowser(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	desk := s.staffLogin(t, staff.DemoStaff)
	hall := appointments.DemoHallTianhe
	dept := "dept-db-" + platformtest.RandomID()[:8]
	s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/departments", admin, map[string]any{
		"id": dept, "hall_id": hall, "name": "看板测试窗口", "queue_prefix": "K",
	}))
	today := platform.DayOf(s.app.Clock.Now())
	page := s.url + "/console/admin/dashboard?from=" + today + "&to=" + today + "&hall_id=" + hall
	if err := chromedp.Run(tab,
		chromedp.Navigate(s.url+"/console/"),
		chromedp.WaitVisible(`#username`, chromedp.ByID),
		chromedp.SendKeys(`#username`, staff.DemoAdmin, chromedp.ByID),
		chromedp.SendKeys(`#password`, staff.DemoPassword, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`#h-admin`, chromedp.ByID),
		chromedp.Click(`a[href="/console/admin/dashboard"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#chart-bookings-table`, chromedp.ByID),
	); err != nil {
		t.Fatalf("log in and open the dashboard from the home page: %v", err)
	}
	// row reads today's row of a table as numbers (the cells' leading ones).
	row := func(table string) []float64 {
		t.Helper()
		var cells []string
		if err := chromedp.Run(tab, chromedp.Navigate(page), chromedp.WaitVisible(`#`+table, chromedp.ByID),
			chromedp.Evaluate(`Array.from(document.querySelectorAll("#`+table+` tbody tr")).
				filter(r => r.querySelector("th").textContent === "`+today+`").
				flatMap(r => Array.from(r.querySelectorAll("td")).map(td => td.textContent))`, &cells)); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		var out []float64
		for _, c := range cells {
			v, err := strconv.ParseFloat(strings.Fields(c)[0], 64)
			if err != nil {
				t.Fatalf("%s: cell %q", table, c)
			}
			out = append(out, v)
		}
		return out
	}
	bookings0, waits0 := row("chart-bookings-table"), row("chart-waits-table")
	if len(bookings0) != 4 || len(waits0) != 3 {
		t.Fatalf("today's rows: %v %v", bookings0, waits0)
	}

	// A booking checked in 12 minutes ago and called now; another missed.
	// The shared clock does not reach an appointment's day, so the test
	// writes what CheckIn and the no-show sweep write; the call is the API's.
	var ids []string
	for range 2 {
		_, token := levelThree(t, s)
		_, sl := s.openSlot(t, hall, thRSJ, 0, 1, true)
		ids = append(ids, s.must(t, 201, s.book(t, token, sl.ID, thRSJ)).str("id"))
	}
	now := s.app.Clock.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.app.Mongo.DB.Collection("appointments").UpdateOne(context.Background(), bson.M{"_id": ids[0]},
		bson.M{"$set": bson.M{"status": "checked_in", "department_id": dept, "date": today, "checked_in_at": now.Add(-12 * time.Minute),
			"checked_in_by": staff.DemoStaff, "queue_number": "K001"}}); err != nil {
		t.Fatal(err)
	}
	if got := s.must(t, 200, s.call(t, "POST", apiV1+"/staff/halls/"+hall+"/queue/call-next", desk,
		map[string]string{"department_id": dept, "window": "5"})); got.str("id") != ids[0] {
		t.Fatalf("called %s", got.Raw)
	}
	if _, err := s.app.Mongo.DB.Collection("appointments").UpdateOne(context.Background(), bson.M{"_id": ids[1]},
		bson.M{"$set": bson.M{"status": "no_show", "date": today, "no_show_at": now, "penalized": true}}); err != nil {
		t.Fatal(err)
	}

	bookings, waits := row("chart-bookings-table"), row("chart-waits-table")
	if bookings[0]-bookings0[0] < 2 || bookings[1]-bookings0[1] < 1 || waits[2]-waits0[2] < 1 {
		t.Fatalf("today before %v %v, after %v %v: the booking, the no-show or the call is not counted", bookings0, waits0, bookings, waits)
	}
	if waits0[2] == 0 && (waits[0] != 12 || waits[1] != 12) {
		t.Fatalf("the only wait today is 12 minutes: median %v, p90 %v", waits[0], waits[1])
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility (axe-core):\n%s", strings.Join(v, "\n"))
	}
	if os.Getenv("BANSHI_DOCS_SCREENSHOTS") != "" {
		docsScreenshot(t, tab, "", "console-dashboard.png")
	}
	// A bad range: the message next to the fields, no chart.
	var msg string
	if err := chromedp.Run(tab, chromedp.Navigate(s.url+"/console/admin/dashboard?from="+today+"&to=2000-01-01"),
		chromedp.Text(`#dashboard-error`, &msg, chromedp.ByID)); err != nil || !strings.Contains(msg, "结束日期") {
		t.Fatalf("bad range: %q %v", msg, err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility of the error (axe-core):\n%s", strings.Join(v, "\n"))
	}
}
