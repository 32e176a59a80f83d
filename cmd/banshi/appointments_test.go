package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// End-to-end tests of hall appointment booking over HTTP, against the demo
// catalog (appointments.DemoCatalog) and the demo staff accounts, on the
// system clock: bookable dates and slots are always found through the
// availability API. Same-day check-in (success, queue numbers,
// already_checked_in) needs a manual clock and is covered by the unit tests
// of package appointments; here check-in on another day must answer 409
// checkin_not_today.

const (
	thGAJ   = "svc-hukou-qianru"    // hall-tianhe, department th-gaj (schedule sch-th-gaj)
	thGAJ2  = "svc-jianyiyongwei"   // hall-tianhe, department th-gaj
	thRSJ   = "svc-sbk-shenling"    // hall-tianhe, department th-rsj
	thSCJG  = "svc-shipin-jingying" // hall-tianhe, department th-scjg
	thTZJC  = "svc-tezhong-jiancha" // hall-tianhe, department th-scjg
	yxBDC   = "svc-bdc-shouci"      // hall-yuexiu, department yx-bdc
	yxJJ    = "svc-jiaotong-weifa"  // hall-yuexiu, department yx-jj
	apiV1   = "/api/v1"
	utf8BOM = "\xef\xbb\xbf"
)

// ---- helpers ---------------------------------------------------------------

var apptClientIPs atomic.Int64

// nextClientIP returns an X-Forwarded-For address no other login of this test
// binary uses, so these tests never spend the per-IP login budget (30 a
// minute) that the other tests share on 127.0.0.1.
func nextClientIP() string {
	n := apptClientIPs.Add(1)
	return fmt.Sprintf("198.51.%d.%d", 100+n/250, 1+n%250)
}

// loginFrom logs p in through the mini-program from its own client IP.
func (s *stack) loginFrom(t testing.TB, p person) string {
	t.Helper()
	a := s.must(t, 200, s.call(t, "POST", apiV1+"/auth/miniprogram/login", "",
		map[string]string{"code": s.code(t, p, "miniprogram")}, "X-Forwarded-For", nextClientIP()))
	return a.str("token")
}

// newNamedPerson registers a WeChat user with a real name of our choosing.
func (s *stack) newNamedPerson(t testing.TB, name string) person {
	t.Helper()
	p := person{Name: name, IDNumber: newIDNumber()}
	a := s.must(t, 201, s.call(t, "POST", "/sim/wechat/users", "", map[string]string{"real_name": p.Name, "id_number": p.IDNumber}))
	p.OpenID, p.UnionID = a.str("openid"), a.str("unionid")
	return p
}

// levelThree is a new citizen at real-name level 3 (declared, then checked
// against WeChat with a consent code), logged in.
func levelThree(t testing.TB, s *stack) (person, string) {
	t.Helper()
	return levelThreeAs(t, s, "张三")
}

func levelThreeAs(t testing.TB, s *stack, name string) (person, string) {
	t.Helper()
	p := s.newNamedPerson(t, name)
	token := s.loginFrom(t, p)
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/declare", token, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	rc := s.must(t, 200, s.call(t, "POST", "/sim/wechat/realname-codes", "", map[string]string{"openid": p.OpenID})).str("code")
	a := s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/check", token, map[string]string{"name": p.Name, "id_number": p.IDNumber, "code": rc}))
	if a.str("user", "realname_level") != "3" {
		t.Fatalf("realname check: %s", a.Raw)
	}
	return p, token
}

// staffLogin logs a staff account in (demo password) from its own client IP.
func (s *stack) staffLogin(t testing.TB, username string) string {
	t.Helper()
	a := s.must(t, 200, s.call(t, "POST", apiV1+"/staff/login", "",
		map[string]string{"username": username, "password": staff.DemoPassword}, "X-Forwarded-For", nextClientIP()))
	tok := a.str("token")
	if tok == "" || a.str("account", "username") != username {
		t.Fatalf("staff login: %s", a.Raw)
	}
	return tok
}

type apptDate struct {
	Date      string `json:"date"`
	Remaining int    `json:"remaining"`
}

type apptSlot struct {
	ID        string    `json:"id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Capacity  int       `json:"capacity"`
	Remaining int       `json:"remaining"`
}

func decodeInto(t *testing.T, a answer, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Raw, v); err != nil {
		t.Fatalf("decode %s: %v", a.Raw, err)
	}
}

func availPath(hall, svc string) string {
	return apiV1 + "/halls/" + hall + "/availability?service_id=" + url.QueryEscape(svc)
}

// windowDates is the booking window of svc at hall with the free seats.
func (s *stack) windowDates(t *testing.T, hall, svc string) []apptDate {
	t.Helper()
	var out struct {
		Dates []apptDate `json:"dates"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", availPath(hall, svc), "", nil)), &out)
	return out.Dates
}

func (s *stack) daySlots(t *testing.T, hall, svc, date string) []apptSlot {
	t.Helper()
	var out struct {
		Date  string     `json:"date"`
		Slots []apptSlot `json:"slots"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", availPath(hall, svc)+"&date="+date, "", nil)), &out)
	if out.Date != date {
		t.Fatalf("day slots of %s answered date %q", date, out.Date)
	}
	return out.Slots
}

// slotNow re-reads one slot's free seats.
func (s *stack) slotNow(t *testing.T, hall, svc, date, slotID string) apptSlot {
	t.Helper()
	for _, sl := range s.daySlots(t, hall, svc, date) {
		if sl.ID == slotID {
			return sl
		}
	}
	t.Fatalf("slot %s not listed on %s", slotID, date)
	return apptSlot{}
}

// openSlot finds a slot of svc with at least need free seats: the first such
// slot of the earliest date from dateIdx on, or, with fromEnd, the last slot
// of the latest date.
func (s *stack) openSlot(t *testing.T, hall, svc string, dateIdx, need int, fromEnd bool) (string, apptSlot) {
	t.Helper()
	dates := s.windowDates(t, hall, svc)
	if fromEnd {
		slices.Reverse(dates)
	}
	for i, d := range dates {
		if (!fromEnd && i < dateIdx) || d.Remaining < need {
			continue
		}
		sl := s.daySlots(t, hall, svc, d.Date)
		if fromEnd {
			slices.Reverse(sl)
		}
		for _, x := range sl {
			if x.Remaining >= need {
				return d.Date, x
			}
		}
	}
	t.Fatalf("no slot of %s at %s with %d free seats", svc, hall, need)
	return "", apptSlot{}
}

func (s *stack) book(t *testing.T, token, slotID, svc string, hdr ...string) answer {
	t.Helper()
	return s.call(t, "POST", apiV1+"/appointments", token, map[string]string{"slot_id": slotID, "service_id": svc}, hdr...)
}

// apptState counts the documents the booking engine writes.
type apptState map[string]int64

func (s *stack) apptState(t *testing.T) apptState {
	t.Helper()
	st := apptState{}
	for _, c := range []string{"appointments", "appt_seats", "appt_daylocks", "appt_userslots", "appt_codes", "appt_idem", "appt_halls"} {
		st[c] = s.count(t, c)
	}
	return st
}

func (a apptState) diff(b apptState) string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("%s %d -> %d", k, v, b[k]))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// seatsOf counts the seat documents of one slot.
func (s *stack) seatsOf(t *testing.T, slotID string) int64 {
	t.Helper()
	n, err := s.app.Mongo.DB.Collection("appt_seats").CountDocuments(context.Background(), map[string]any{"slot_id": slotID})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func maskedID(id string) string { return id[:4] + "**********" + id[14:] }

func todayShanghai() string { return time.Now().In(platform.Shanghai()).Format("2006-01-02") }

// slotIDOn rewrites slot ID "<schedule>.<YYYYMMDD>.<HHMM>" for another
// schedule, date or start ("" keeps the part).
func slotIDOn(id, schedule, date, hhmm string) string {
	p := strings.Split(id, ".")
	if schedule != "" {
		p[0] = schedule
	}
	if date != "" {
		p[1] = strings.ReplaceAll(date, "-", "")
	}
	if hhmm != "" {
		p[2] = hhmm
	}
	return strings.Join(p, ".")
}

type staffItem struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Name           string `json:"name"`
	IDNumberMasked string `json:"id_number_masked"`
	ServiceID      string `json:"service_id"`
	UserID         string `json:"user_id"`
}

type staffPage struct {
	HallID string      `json:"hall_id"`
	Date   string      `json:"date"`
	Total  int         `json:"total"`
	Items  []staffItem `json:"items"`
}

// ---- 1. walkthrough ----------------------------------------------------------

// TestAppointmentWalkthrough: a citizen finds a service, books a slot, sees
// the booking everywhere, hall staff see it in their list and CSV, check-in
// before the day is refused, and cancelling frees the seat at once.
func TestAppointmentWalkthrough(t *testing.T) {
	s := getStack(t)
	hall := appointments.DemoHallTianhe

	// Catalog.
	var halls struct {
		Halls []struct {
			ID, Name, Address string
			OpeningHours      []any `json:"opening_hours"`
		} `json:"halls"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/halls", "", nil)), &halls)
	var ids []string
	for _, h := range halls.Halls {
		ids = append(ids, h.ID)
		if h.Name == "" || h.Address == "" || len(h.OpeningHours) == 0 {
			t.Errorf("hall %s incomplete: %+v", h.ID, h)
		}
	}
	if !slices.Contains(ids, appointments.DemoHallTianhe) || !slices.Contains(ids, appointments.DemoHallYuexiu) {
		t.Fatalf("halls: %v", ids)
	}
	var depts struct {
		Departments []struct{ ID, HallID, Name string } `json:"departments"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/halls/"+hall+"/departments", "", nil)), &depts)
	found := false
	for _, d := range depts.Departments {
		found = found || d.ID == "th-rsj"
	}
	if !found || len(depts.Departments) < 3 {
		t.Fatalf("departments: %+v", depts)
	}
	var svcs struct {
		Services []struct{ ID, Name, Code string } `json:"services"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/halls/"+hall+"/services?department_id=th-rsj&q="+url.QueryEscape("社会保障卡"), "", nil)), &svcs)
	if len(svcs.Services) != 1 || svcs.Services[0].ID != thRSJ {
		t.Fatalf("search 社会保障卡: %+v", svcs)
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/halls/"+hall+"/services?q=NO-SUCH-SERVICE", "", nil)), &svcs)
	if len(svcs.Services) != 0 {
		t.Fatalf("search without hits: %+v", svcs)
	}
	g := s.must(t, 200, s.call(t, "GET", apiV1+"/services/"+thRSJ, "", nil))
	var guide struct {
		ID, Name, Code, Type string
		HallID               string `json:"hall_id"`
		Guide                struct {
			Conditions      []string                `json:"conditions"`
			Materials       []struct{ Name string } `json:"materials"`
			Steps           []string                `json:"steps"`
			BookingRequired bool                    `json:"booking_required"`
		} `json:"guide"`
	}
	decodeInto(t, g, &guide)
	if guide.Type != appointments.CategoryPublicServices || guide.Code == "" || guide.HallID != hall ||
		len(guide.Guide.Materials) == 0 || len(guide.Guide.Steps) == 0 || len(guide.Guide.Conditions) == 0 || !guide.Guide.BookingRequired {
		t.Fatalf("guide: %s", g.Raw)
	}

	// Availability: seven working days from tomorrow on.
	dates := s.windowDates(t, hall, thRSJ)
	if len(dates) != 7 {
		t.Fatalf("window has %d dates: %+v", len(dates), dates)
	}
	today := todayShanghai()
	for i, d := range dates {
		if d.Date <= today || (i > 0 && d.Date <= dates[i-1].Date) {
			t.Fatalf("window dates not after today (%s) and ascending: %+v", today, dates)
		}
	}
	date, slot := s.openSlot(t, hall, thRSJ, 0, 1, false)
	if slot.Capacity < 1 || slot.Remaining > slot.Capacity || !slot.End.After(slot.Start) || slot.Start.Format("2006-01-02") != date {
		t.Fatalf("slot: %+v", slot)
	}
	var dateBefore int
	for _, d := range s.windowDates(t, hall, thRSJ) {
		if d.Date == date {
			dateBefore = d.Remaining
		}
	}

	// Book.
	p, token := levelThreeAs(t, s, "欧阳晓明")
	before := s.apptState(t)
	a := s.must(t, 201, s.book(t, token, slot.ID, thRSJ))
	id, code := a.str("id"), a.str("checkin_code")
	if id == "" || a.str("status") != "booked" || len(code) != 8 || !strings.HasPrefix(a.str("checkin_qr"), "BSA1.") ||
		a.str("hall_id") != hall || a.str("service_id") != thRSJ || a.str("date") != date || a.str("slot", "id") != slot.ID {
		t.Fatalf("booking answer: %s", a.Raw)
	}
	var booked struct {
		Slot struct{ Start, End time.Time } `json:"slot"`
	}
	decodeInto(t, a, &booked)
	if !booked.Slot.Start.Equal(slot.Start) || !booked.Slot.End.Equal(slot.End) {
		t.Fatalf("slot times %v-%v, want %v-%v", booked.Slot.Start, booked.Slot.End, slot.Start, slot.End)
	}
	after := s.apptState(t)
	if after["appointments"] != before["appointments"]+1 || after["appt_seats"] != before["appt_seats"]+1 {
		t.Fatalf("after booking: %s", before.diff(after))
	}

	// The citizen sees it.
	mine := s.must(t, 200, s.call(t, "GET", apiV1+"/me/appointments", token, nil))
	var list struct {
		Appointments []struct{ ID, Status string } `json:"appointments"`
	}
	decodeInto(t, mine, &list)
	if len(list.Appointments) != 1 || list.Appointments[0].ID != id || list.Appointments[0].Status != "booked" {
		t.Fatalf("my appointments: %s", mine.Raw)
	}
	one := s.must(t, 200, s.call(t, "GET", apiV1+"/appointments/"+id, token, nil))
	if one.str("id") != id || one.str("status") != "booked" || one.str("checkin_code") != code || one.str("service_name") == "" || one.str("hall_name") == "" {
		t.Fatalf("appointment: %s", one.Raw)
	}
	stranger := s.loginFrom(t, s.newPerson(t))
	if x := s.call(t, "GET", apiV1+"/appointments/"+id, stranger, nil); x.Status != 404 || x.errCode() != "not_found" {
		t.Fatalf("another citizen reads the appointment: %d %s", x.Status, x.Raw)
	}
	if x := s.call(t, "POST", apiV1+"/appointments/"+id+"/cancel", stranger, nil); x.Status != 404 {
		t.Fatalf("another citizen cancels the appointment: %d %s", x.Status, x.Raw)
	}
	if !sectionHas(t, s, token, id) {
		t.Fatal("the citizen page's appointments section lacks the booking")
	}

	// One seat fewer.
	if got := s.slotNow(t, hall, thRSJ, date, slot.ID).Remaining; got != slot.Remaining-1 {
		t.Fatalf("remaining %d after booking, want %d", got, slot.Remaining-1)
	}
	for _, d := range s.windowDates(t, hall, thRSJ) {
		if d.Date == date && d.Remaining != dateBefore-1 {
			t.Fatalf("date remaining %d after booking, want %d", d.Remaining, dateBefore-1)
		}
	}

	// Hall staff: the list shows the full name and the masked ID number only.
	st := s.staffLogin(t, staff.DemoStaff)
	lp := apiV1 + "/staff/halls/" + hall + "/appointments?date=" + date + "&department_id=th-rsj&page_size=100"
	la := s.must(t, 200, s.call(t, "GET", lp, st, nil))
	var page staffPage
	decodeInto(t, la, &page)
	var item *staffItem
	for i := range page.Items {
		if page.Items[i].ID == id {
			item = &page.Items[i]
		}
	}
	if item == nil || page.HallID != hall || page.Date != date || page.Total < 1 {
		t.Fatalf("staff list lacks %s: %s", id, la.Raw)
	}
	if item.Name != p.Name || item.IDNumberMasked != maskedID(p.IDNumber) || item.Status != "booked" || item.ServiceID != thRSJ {
		t.Fatalf("staff item: %+v (want %s %s)", *item, p.Name, maskedID(p.IDNumber))
	}
	if bytes.Contains(la.Raw, []byte(p.IDNumber)) || bytes.Contains(la.Raw, []byte(code)) {
		t.Fatal("staff list shows the full ID number or the check-in code")
	}
	csv := s.must(t, 200, s.call(t, "GET", lp+"&format=csv", st, nil))
	if !bytes.HasPrefix(csv.Raw, []byte(utf8BOM)) {
		t.Fatalf("CSV does not start with the UTF-8 BOM: % x", csv.Raw[:min(8, len(csv.Raw))])
	}
	if ct := csv.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("CSV Content-Type %q", ct)
	}
	if cd := csv.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".csv") {
		t.Fatalf("CSV Content-Disposition %q", cd)
	}
	body := string(csv.Raw)
	if !strings.Contains(body, "\r\n") || !strings.Contains(body, "姓名") || !strings.Contains(body, p.Name) ||
		!strings.Contains(body, maskedID(p.IDNumber)) || !strings.Contains(body, id) || strings.Contains(body, p.IDNumber) {
		t.Fatalf("CSV content:\n%s", body)
	}

	// Check-in is for the appointment's day only (bookings start tomorrow).
	for _, c := range []string{code, strings.ToLower(code[:4]) + "-" + strings.ToLower(code[4:]), one.str("checkin_qr")} {
		x := s.call(t, "POST", apiV1+"/staff/checkin", st, map[string]string{"code": c})
		if x.Status != 409 || x.errCode() != "checkin_not_today" {
			t.Fatalf("check-in with %q before the day: %d %s", c, x.Status, x.Raw)
		}
	}
	if x := s.call(t, "POST", apiV1+"/staff/checkin", st, map[string]string{"code": "ZZZZZZZZ"}); x.Status != 404 {
		t.Fatalf("check-in with an unknown code: %d %s", x.Status, x.Raw)
	}
	if x := s.call(t, "POST", apiV1+"/staff/checkin", st, map[string]string{"code": "not a code!"}); x.Status != 400 || x.errField("field") != "code" {
		t.Fatalf("check-in with a malformed code: %d %s", x.Status, x.Raw)
	}
	if x := s.call(t, "POST", apiV1+"/staff/appointments/"+id+"/complete", st, nil); x.Status != 409 || x.errCode() != "not_checked_in" {
		t.Fatalf("complete before check-in: %d %s", x.Status, x.Raw)
	}
	if got := s.must(t, 200, s.call(t, "GET", apiV1+"/appointments/"+id, token, nil)).str("status"); got != "booked" {
		t.Fatalf("status after refused check-ins: %s", got)
	}

	// Cancel: the seat is free at once.
	c := s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+id+"/cancel", token, nil))
	if c.str("id") != id || c.str("status") != "cancelled" || c.str("cancelled_at") == "" {
		t.Fatalf("cancel: %s", c.Raw)
	}
	if got := s.slotNow(t, hall, thRSJ, date, slot.ID).Remaining; got != slot.Remaining {
		t.Fatalf("remaining %d after cancelling, want %d", got, slot.Remaining)
	}
	if got := s.apptState(t); got["appt_seats"] != before["appt_seats"] || got["appt_daylocks"] != before["appt_daylocks"] || got["appt_userslots"] != before["appt_userslots"] {
		t.Fatalf("after cancelling: %s", before.diff(got))
	}
	if x := s.call(t, "POST", apiV1+"/appointments/"+id+"/cancel", token, nil); x.Status != 409 || x.errCode() != "not_cancellable" {
		t.Fatalf("second cancel: %d %s", x.Status, x.Raw)
	}
	if got := s.must(t, 200, s.call(t, "GET", apiV1+"/appointments/"+id, token, nil)).str("status"); got != "cancelled" {
		t.Fatalf("status after cancel: %s", got)
	}
	if sectionHas(t, s, token, id) {
		t.Fatal("the citizen page still shows the cancelled booking as upcoming")
	}
	if x := s.call(t, "POST", apiV1+"/staff/checkin", st, map[string]string{"code": code}); x.Status != 409 {
		t.Fatalf("check-in of a cancelled appointment: %d %s", x.Status, x.Raw)
	}
	// The same service that day is bookable again.
	a2 := s.must(t, 201, s.book(t, token, slot.ID, thRSJ))
	s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+a2.str("id")+"/cancel", token, nil))
}

// sectionHas reports whether the citizen page's appointments section lists id.
func sectionHas(t *testing.T, s *stack, token, id string) bool {
	t.Helper()
	me := s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil))
	var page struct {
		Sections struct {
			Appointments []struct{ ID string } `json:"appointments"`
		} `json:"sections"`
	}
	decodeInto(t, me, &page)
	for _, a := range page.Sections.Appointments {
		if a.ID == id {
			return true
		}
	}
	return false
}

// ---- 2. idempotency ---------------------------------------------------------

// TestAppointmentIdempotencyKey: a retry with the same key and body gets the
// first answer and books nothing more; the key with another body is 422.
func TestAppointmentIdempotencyKey(t *testing.T) {
	s := getStack(t)
	hall := appointments.DemoHallTianhe
	_, token := levelThree(t, s)
	date, slot := s.openSlot(t, hall, thGAJ, 0, 1, false)
	var other apptSlot
	for _, x := range s.daySlots(t, hall, thGAJ, date) {
		if x.ID != slot.ID && x.Remaining > 0 {
			other = x
		}
	}
	if other.ID == "" {
		t.Fatalf("no second slot on %s", date)
	}
	key := "e2e-" + platformtest.RandomID()

	before := s.apptState(t)
	a1 := s.must(t, 201, s.book(t, token, slot.ID, thGAJ, "Idempotency-Key", key))
	mid := s.apptState(t)
	a2 := s.must(t, 201, s.book(t, token, slot.ID, thGAJ, "Idempotency-Key", key))
	if a1.str("id") == "" || a2.str("id") != a1.str("id") || a2.str("checkin_code") != a1.str("checkin_code") || a2.str("status") != "booked" {
		t.Fatalf("replay differs:\n%s\n%s", a1.Raw, a2.Raw)
	}
	after := s.apptState(t)
	if d := mid.diff(after); d != "" {
		t.Fatalf("the replay wrote: %s", d)
	}
	if after["appointments"] != before["appointments"]+1 || after["appt_seats"] != before["appt_seats"]+1 {
		t.Fatalf("booking twice with one key: %s", before.diff(after))
	}
	var list struct {
		Appointments []struct{ ID string } `json:"appointments"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/appointments", token, nil)), &list)
	if len(list.Appointments) != 1 {
		t.Fatalf("%d appointments, want 1", len(list.Appointments))
	}
	if got := s.slotNow(t, hall, thGAJ, date, slot.ID).Remaining; got != slot.Remaining-1 {
		t.Fatalf("remaining %d, want %d", got, slot.Remaining-1)
	}

	// The same key with another body.
	for _, body := range []map[string]string{
		{"slot_id": other.ID, "service_id": thGAJ},
		{"slot_id": slot.ID, "service_id": thGAJ2}, // same schedule, other service
	} {
		x := s.call(t, "POST", apiV1+"/appointments", token, body, "Idempotency-Key", key)
		if x.Status != 422 || x.errCode() != "idempotency_mismatch" {
			t.Fatalf("key reused with %v: %d %s", body, x.Status, x.Raw)
		}
	}
	if d := after.diff(s.apptState(t)); d != "" {
		t.Fatalf("a mismatched key changed: %s", d)
	}
	if got := s.slotNow(t, hall, thGAJ, date, other.ID).Remaining; got != other.Remaining {
		t.Fatalf("other slot remaining %d, want %d", got, other.Remaining)
	}
	// A malformed key is refused before anything happens.
	for _, k := range []string{"has space", strings.Repeat("k", 256)} {
		x := s.call(t, "POST", apiV1+"/appointments", token, map[string]string{"slot_id": other.ID, "service_id": thGAJ2}, "Idempotency-Key", k)
		if x.Status != 400 || x.errField("field") != "idempotency_key" {
			t.Fatalf("key %.20q: %d %s", k, x.Status, x.Raw)
		}
	}
	if d := after.diff(s.apptState(t)); d != "" {
		t.Fatalf("a malformed key changed: %s", d)
	}
	s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+a1.str("id")+"/cancel", token, nil))
}

// ---- 3. bad input -----------------------------------------------------------

// pastWorkdaySlot is slot id moved to a recent past Monday-to-Friday.
func pastWorkdaySlot(id string) string {
	d := time.Now().In(platform.Shanghai()).AddDate(0, 0, -1)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, -1)
	}
	return slotIDOn(id, "", d.Format("2006-01-02"), "")
}

// beyondWindowSlot is slot id moved to a Monday-to-Friday after the window
// that is no public holiday of the demo calendar.
func beyondWindowSlot(t *testing.T, id, lastDate string) string {
	t.Helper()
	holidays := map[string]bool{}
	for _, c := range appointments.DemoCatalog().Calendar {
		holidays[c.Date] = true
	}
	d, err := time.ParseInLocation("2006-01-02", lastDate, platform.Shanghai())
	if err != nil {
		t.Fatal(err)
	}
	d = d.AddDate(0, 0, 7)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || holidays[d.Format("2006-01-02")] {
		d = d.AddDate(0, 0, 1)
	}
	return slotIDOn(id, "", d.Format("2006-01-02"), "")
}

// TestAppointmentBadInput: every bad request gets a clear 4xx, and nothing
// changes: no document of the booking engine and no free seat.
func TestAppointmentBadInput(t *testing.T) {
	s := getStack(t)
	th, yx := appointments.DemoHallTianhe, appointments.DemoHallYuexiu
	_, tok3 := levelThree(t, s)
	tok1 := s.loginFrom(t, s.newPerson(t)) // real-name level 1

	dates := s.windowDates(t, th, thGAJ2)
	date, slot := s.openSlot(t, th, thGAJ2, 0, 1, false)
	ydate, yslot := s.openSlot(t, yx, yxBDC, 0, 1, false)
	rsjSlot := slotIDOn(slot.ID, "sch-th-rsj", "", "") // same hall and time, another department
	noSchedule := slotIDOn(slot.ID, "sch-nope", "", "")
	offGrid := slotIDOn(slot.ID, "", "", "0915") // no slot starts at 09:15
	past := pastWorkdaySlot(slot.ID)
	beyond := beyondWindowSlot(t, slot.ID, dates[len(dates)-1].Date)
	bookPath := apiV1 + "/appointments"
	seats, yseats := s.seatsOf(t, slot.ID), s.seatsOf(t, yslot.ID)
	body := func(slotID, svc string) map[string]string {
		return map[string]string{"slot_id": slotID, "service_id": svc}
	}

	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code, field               string
	}{
		// Catalog and availability.
		{"unknown hall: departments", "GET", apiV1 + "/halls/hall-nope/departments", "", nil, 404, "not_found", ""},
		{"unknown hall: services", "GET", apiV1 + "/halls/hall-nope/services", "", nil, 404, "not_found", ""},
		{"unknown hall: availability", "GET", availPath("hall-nope", thGAJ2), "", nil, 404, "not_found", ""},
		{"malformed hall id: availability", "GET", availPath("Hall_Nope", thGAJ2), "", nil, 400, "invalid_argument", "hall_id"},
		{"unknown service: guide", "GET", apiV1 + "/services/svc-nope", "", nil, 404, "not_found", ""},
		{"unknown service: availability", "GET", availPath(th, "svc-nope"), "", nil, 404, "not_found", ""},
		{"service of another hall: availability", "GET", availPath(th, yxBDC), "", nil, 400, "invalid_argument", "service_id"},
		{"missing service_id", "GET", apiV1 + "/halls/" + th + "/availability", "", nil, 400, "invalid_argument", "service_id"},
		{"malformed date", "GET", availPath(th, thGAJ2) + "&date=2026-13-45", "", nil, 400, "invalid_argument", "date"},
		{"date in words", "GET", availPath(th, thGAJ2) + "&date=tomorrow", "", nil, 400, "invalid_argument", "date"},
		{"date today (before the window)", "GET", availPath(th, thGAJ2) + "&date=" + todayShanghai(), "", nil, 422, "outside_window", ""},
		{"department of another hall", "GET", apiV1 + "/halls/" + th + "/services?department_id=yx-bdc", "", nil, 400, "invalid_argument", "department_id"},
		{"search too long", "GET", apiV1 + "/halls/" + th + "/services?q=" + strings.Repeat("x", 51), "", nil, 400, "invalid_argument", "q"},

		// Booking: the body.
		{"malformed JSON", "POST", bookPath, tok3, `{"slot_id":`, 400, "invalid_argument", "body"},
		{"not an object", "POST", bookPath, tok3, `["x"]`, 400, "invalid_argument", "body"},
		{"empty body", "POST", bookPath, tok3, ``, 400, "invalid_argument", "body"},
		{"two objects", "POST", bookPath, tok3, `{"slot_id":"a","service_id":"b"}{}`, 400, "invalid_argument", "body"},
		{"wrong type slot_id", "POST", bookPath, tok3, `{"slot_id":123,"service_id":"` + thGAJ2 + `"}`, 400, "invalid_argument", "slot_id"},
		{"wrong type service_id", "POST", bookPath, tok3, `{"slot_id":"` + slot.ID + `","service_id":["x"]}`, 400, "invalid_argument", "service_id"},
		{"unknown field", "POST", bookPath, tok3, `{"slot_id":"` + slot.ID + `","service_id":"` + thGAJ2 + `","hall_id":"` + th + `"}`, 400, "invalid_argument", "hall_id"},
		{"missing slot_id", "POST", bookPath, tok3, map[string]string{"service_id": thGAJ2}, 400, "invalid_argument", "slot_id"},
		{"missing service_id", "POST", bookPath, tok3, map[string]string{"slot_id": slot.ID}, 400, "invalid_argument", "service_id"},
		{"malformed slot_id", "POST", bookPath, tok3, body("not-a-slot", thGAJ2), 400, "invalid_argument", "slot_id"},
		{"slot_id with an impossible date", "POST", bookPath, tok3, body(slotIDOn(slot.ID, "", "2026-13-45", ""), thGAJ2), 400, "invalid_argument", "slot_id"},
		{"malformed service_id", "POST", bookPath, tok3, body(slot.ID, "SVC NOPE"), 400, "invalid_argument", "service_id"},

		// Booking: what the body names.
		{"unknown service", "POST", bookPath, tok3, body(slot.ID, "svc-nope"), 404, "not_found", ""},
		{"unknown slot (no such schedule)", "POST", bookPath, tok3, body(noSchedule, thGAJ2), 404, "not_found", ""},
		{"unknown slot (no such start)", "POST", bookPath, tok3, body(offGrid, thGAJ2), 404, "not_found", ""},
		{"slot of another hall", "POST", bookPath, tok3, body(yslot.ID, thGAJ2), 400, "slot_mismatch", ""},
		{"slot of another department", "POST", bookPath, tok3, body(rsjSlot, thGAJ2), 400, "slot_mismatch", ""},
		{"service of another hall for a slot", "POST", bookPath, tok3, body(slot.ID, yxBDC), 400, "slot_mismatch", ""},
		{"past slot", "POST", bookPath, tok3, body(past, thGAJ2), 409, "slot_closed", ""},
		{"slot beyond the window", "POST", bookPath, tok3, body(beyond, thGAJ2), 422, "outside_window", ""},

		// Booking: who asks.
		{"level 1 citizen", "POST", bookPath, tok1, body(slot.ID, thGAJ2), 403, "realname_required", ""},
		{"no token", "POST", bookPath, "", body(slot.ID, thGAJ2), 401, "unauthenticated", ""},
		{"bad token", "POST", bookPath, "nope", body(slot.ID, thGAJ2), 401, "unauthenticated", ""},
		{"no token: my appointments", "GET", apiV1 + "/me/appointments", "", nil, 401, "unauthenticated", ""},
		{"malformed appointment id", "GET", apiV1 + "/appointments/nope", tok3, nil, 400, "invalid_argument", "id"},
		{"unknown appointment", "GET", apiV1 + "/appointments/ap00000000000000000000", tok3, nil, 404, "not_found", ""},
		{"cancel an unknown appointment", "POST", apiV1 + "/appointments/ap00000000000000000000/cancel", tok3, nil, 404, "not_found", ""},
		{"bad limit", "GET", apiV1 + "/me/appointments?limit=0", tok3, nil, 400, "invalid_argument", "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.apptState(t)
			a := s.call(t, tc.method, tc.path, tc.token, tc.body)
			if a.Status != tc.status || a.errCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", a.Status, a.Raw, tc.status, tc.code)
			}
			if tc.field != "" && a.errField("field") != tc.field {
				t.Fatalf("field = %q, want %q (%s)", a.errField("field"), tc.field, a.Raw)
			}
			if a.errField("message") == "" {
				t.Fatalf("no message: %s", a.Raw)
			}
			if d := before.diff(s.apptState(t)); d != "" {
				t.Fatalf("changed: %s", d)
			}
			// Availability answers may be reused for a second; the seat
			// documents are the truth.
			if got := s.seatsOf(t, slot.ID); got != seats {
				t.Fatalf("seats of %s: %d -> %d", slot.ID, seats, got)
			}
			if got := s.seatsOf(t, yslot.ID); got != yseats {
				t.Fatalf("seats of %s: %d -> %d", yslot.ID, yseats, got)
			}
			if got := s.slotNow(t, th, thGAJ2, date, slot.ID).Remaining; got != slot.Remaining {
				t.Fatalf("remaining %d, want %d", got, slot.Remaining)
			}
			if got := s.slotNow(t, yx, yxBDC, ydate, yslot.ID).Remaining; got != yslot.Remaining {
				t.Fatalf("yuexiu remaining %d, want %d", got, yslot.Remaining)
			}
		})
	}
	var mine struct {
		Appointments []any `json:"appointments"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/appointments", tok3, nil)), &mine)
	if len(mine.Appointments) != 0 {
		t.Fatalf("the bad requests booked: %+v", mine)
	}

	// One active booking per person, service and day.
	t.Run("duplicate booking", func(t *testing.T) {
		first := s.must(t, 201, s.book(t, tok3, slot.ID, thGAJ2))
		var second apptSlot
		for _, x := range s.daySlots(t, th, thGAJ2, date) {
			if x.ID != slot.ID && x.Remaining > 0 {
				second = x
			}
		}
		before := s.apptState(t)
		for _, id := range []string{slot.ID, second.ID} {
			a := s.book(t, tok3, id, thGAJ2)
			if a.Status != 409 || a.errCode() != "duplicate_booking" {
				t.Fatalf("second booking that day: %d %s", a.Status, a.Raw)
			}
		}
		if d := before.diff(s.apptState(t)); d != "" {
			t.Fatalf("changed: %s", d)
		}
		if got := s.slotNow(t, th, thGAJ2, date, second.ID).Remaining; got != second.Remaining {
			t.Fatalf("remaining %d, want %d", got, second.Remaining)
		}
		if got := s.slotNow(t, th, thGAJ2, date, slot.ID).Remaining; got != slot.Remaining-1 {
			t.Fatalf("remaining %d, want %d", got, slot.Remaining-1)
		}
		// The other service of the same department that day is fine, and so
		// is the same service another day — bookings two and three.
		b2 := s.must(t, 201, s.book(t, tok3, second.ID, thGAJ))
		d3, s3 := s.openSlot(t, th, thGAJ2, slices.IndexFunc(dates, func(d apptDate) bool { return d.Date == date })+1, 1, false)
		if d3 == date {
			t.Fatalf("openSlot returned the same date")
		}
		b3 := s.must(t, 201, s.book(t, tok3, s3.ID, thGAJ2))

		// At most three active bookings.
		d4, s4 := s.openSlot(t, th, thTZJC, 0, 1, false)
		before = s.apptState(t)
		a := s.book(t, tok3, s4.ID, thTZJC)
		if a.Status != 409 || a.errCode() != "booking_limit" {
			t.Fatalf("fourth booking: %d %s", a.Status, a.Raw)
		}
		if d := before.diff(s.apptState(t)); d != "" {
			t.Fatalf("changed: %s", d)
		}
		if got := s.slotNow(t, th, thTZJC, d4, s4.ID).Remaining; got != s4.Remaining {
			t.Fatalf("remaining %d, want %d", got, s4.Remaining)
		}
		// A cancelled booking no longer counts.
		s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+b2.str("id")+"/cancel", tok3, nil))
		b4 := s.must(t, 201, s.book(t, tok3, s4.ID, thTZJC))
		for _, b := range []answer{first, b3, b4} {
			s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+b.str("id")+"/cancel", tok3, nil))
		}
	})
}

// ---- 4. staff ---------------------------------------------------------------

// TestStaffAccessAndAdmin: staff log in with a password, see only what their
// role and halls allow, admins change the catalog, and every staff action is
// in the audit log with the client IP.
func TestStaffAccessAndAdmin(t *testing.T) {
	s := getStack(t)
	th, yx := appointments.DemoHallTianhe, appointments.DemoHallYuexiu
	today := todayShanghai()

	// Login.
	badIP := nextClientIP()
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"wrong password", map[string]string{"username": staff.DemoStaff, "password": "wrong-password"}, 401, "bad_credentials", ""},
		{"unknown user", map[string]string{"username": "nobody", "password": staff.DemoPassword}, 401, "bad_credentials", ""},
		{"missing password", map[string]string{"username": staff.DemoStaff}, 400, "invalid_argument", "password"},
		{"unknown field", `{"username":"demo-staff","password":"x","role":"admin"}`, 400, "invalid_argument", "role"},
	} {
		a := s.call(t, "POST", apiV1+"/staff/login", "", tc.body, "X-Forwarded-For", badIP)
		if a.Status != tc.status || a.errCode() != tc.code || (tc.field != "" && a.errField("field") != tc.field) || a.str("token") != "" {
			t.Fatalf("%s: %d %s", tc.name, a.Status, a.Raw)
		}
	}
	admin := s.staffLogin(t, staff.DemoAdmin)
	desk := s.staffLogin(t, staff.DemoStaff)
	finance := s.staffLogin(t, staff.DemoFinance)
	_, citizen := levelThree(t, s)

	// A yuexiu appointment: not demo-staff's hall.
	_, yslot := s.openSlot(t, yx, yxJJ, 0, 1, false)
	ya := s.must(t, 201, s.book(t, citizen, yslot.ID, yxJJ))
	ycode := ya.str("checkin_code")

	listTH := apiV1 + "/staff/halls/" + th + "/appointments?date=" + today
	listYX := apiV1 + "/staff/halls/" + yx + "/appointments?date=" + ya.str("date")
	hallBody := func(id string) map[string]any {
		return map[string]any{
			"id": id, "name": "端到端测试政务服务中心", "address": "广州市海珠区测试路1号",
			"location": map[string]float64{"lat": 23.1, "lng": 113.3}, "phone": "020-00000",
			"opening_hours": []map[string]any{{"weekday": 1, "open": "09:00", "close": "17:00"}, {"weekday": 2, "open": "09:00", "close": "17:00"}},
			"lunch_break":   map[string]string{"start": "12:00", "end": "13:00"},
		}
	}
	newHall := "hall-e2e-" + platformtest.RandomID()

	deskIP := "198.51.99.7"
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"no token", "GET", listTH, "", nil, 401, "unauthenticated"},
		{"citizen token on the staff list", "GET", listTH, citizen, nil, 401, "unauthenticated"},
		{"citizen token on check-in", "POST", apiV1 + "/staff/checkin", citizen, map[string]string{"code": ycode}, 401, "unauthenticated"},
		{"citizen token on admin", "POST", apiV1 + "/staff/admin/halls", citizen, hallBody(newHall), 401, "unauthenticated"},
		{"finance checks in", "POST", apiV1 + "/staff/checkin", finance, map[string]string{"code": ycode}, 403, "forbidden"},
		{"finance lists", "GET", listTH, finance, nil, 403, "forbidden"},
		{"finance completes", "POST", apiV1 + "/staff/appointments/" + ya.str("id") + "/complete", finance, nil, 403, "forbidden"},
		{"finance reads the audit log", "GET", apiV1 + "/staff/audit", finance, nil, 403, "forbidden"},
		{"hall staff list another hall", "GET", listYX, desk, nil, 403, "forbidden"},
		{"hall staff list another hall as CSV", "GET", listYX + "&format=csv", desk, nil, 403, "forbidden"},
		{"hall staff check in at another hall", "POST", apiV1 + "/staff/checkin", desk, map[string]string{"code": ycode}, 403, "wrong_hall"},
		{"hall staff complete at another hall", "POST", apiV1 + "/staff/appointments/" + ya.str("id") + "/complete", desk, nil, 403, "wrong_hall"},
		{"hall staff create a hall", "POST", apiV1 + "/staff/admin/halls", desk, hallBody(newHall), 403, "forbidden"},
		{"hall staff import", "POST", apiV1 + "/staff/admin/import", desk, `{}`, 403, "forbidden"},
		{"hall staff list schedules", "GET", apiV1 + "/staff/admin/halls/" + th + "/schedules", desk, nil, 403, "forbidden"},
		{"hall staff read the audit log", "GET", apiV1 + "/staff/audit", desk, nil, 403, "forbidden"},
		{"list of an unknown hall", "GET", apiV1 + "/staff/halls/hall-nope/appointments", admin, nil, 404, "not_found"},
		{"list with a bad date", "GET", listTH[:strings.Index(listTH, "?")] + "?date=2026-13-45", desk, nil, 400, "invalid_argument"},
		{"list with a bad status", "GET", listTH + "&status=lost", desk, nil, 400, "invalid_argument"},
		{"list with a bad format", "GET", listTH + "&format=xlsx", desk, nil, 400, "invalid_argument"},
		{"list with a bad page", "GET", listTH + "&page=0", desk, nil, 400, "invalid_argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.apptState(t)
			a := s.call(t, tc.method, tc.path, tc.token, tc.body, "X-Forwarded-For", deskIP)
			if a.Status != tc.status || a.errCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", a.Status, a.Raw, tc.status, tc.code)
			}
			if d := before.diff(s.apptState(t)); d != "" {
				t.Fatalf("changed: %s", d)
			}
		})
	}
	if got := s.must(t, 200, s.call(t, "GET", apiV1+"/appointments/"+ya.str("id"), citizen, nil)).str("status"); got != "booked" {
		t.Fatalf("the yuexiu appointment is now %s", got)
	}
	// The admin works at every hall (and is refused check-in only for the day).
	if a := s.call(t, "POST", apiV1+"/staff/checkin", admin, map[string]string{"code": ycode}); a.Status != 409 || a.errCode() != "checkin_not_today" {
		t.Fatalf("admin check-in before the day: %d %s", a.Status, a.Raw)
	}
	yl := s.must(t, 200, s.call(t, "GET", listYX, admin, nil))
	if !bytes.Contains(yl.Raw, []byte(ya.str("id"))) {
		t.Fatalf("admin's yuexiu list lacks the appointment: %s", yl.Raw)
	}
	// demo-staff's own hall, from a known address (audited below).
	s.must(t, 200, s.call(t, "GET", listTH, desk, nil, "X-Forwarded-For", deskIP))
	s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+ya.str("id")+"/cancel", citizen, nil))

	// Admin: create a hall.
	halls := s.count(t, "appt_halls")
	h := s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/halls", admin, hallBody(newHall)))
	if h.str("id") != newHall || h.str("rules", "window_days") != "7" || h.str("rules", "min_realname_level") != "3" || h.str("rules", "cancel_before_minutes") != "120" {
		t.Fatalf("created hall: %s", h.Raw)
	}
	if got := s.count(t, "appt_halls"); got != halls+1 {
		t.Fatalf("halls %d -> %d", halls, got)
	}
	var list struct {
		Halls []struct{ ID, Name string } `json:"halls"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/halls", "", nil)), &list)
	if !slices.ContainsFunc(list.Halls, func(x struct{ ID, Name string }) bool {
		return x.ID == newHall && x.Name == "端到端测试政务服务中心"
	}) {
		t.Fatalf("the new hall is not listed: %+v", list.Halls)
	}
	if a := s.must(t, 200, s.call(t, "GET", apiV1+"/halls/"+newHall+"/departments", "", nil)); a.str("departments") != "[]" {
		t.Fatalf("new hall's departments: %s", a.Raw)
	}
	if a := s.call(t, "POST", apiV1+"/staff/admin/halls", admin, hallBody(newHall)); a.Status != 409 || a.errCode() != "already_exists" {
		t.Fatalf("the same hall again: %d %s", a.Status, a.Raw)
	}

	// Admin: invalid halls create nothing.
	bad := func(edit func(m map[string]any)) map[string]any {
		m := hallBody("hall-e2e-bad")
		edit(m)
		return m
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"missing name", bad(func(m map[string]any) { delete(m, "name") }), "name"},
		{"malformed id", bad(func(m map[string]any) { m["id"] = "Hall_Bad" }), "id"},
		{"no opening hours", bad(func(m map[string]any) { m["opening_hours"] = []any{} }), "opening_hours"},
		{"close before open", bad(func(m map[string]any) {
			m["opening_hours"] = []map[string]any{{"weekday": 1, "open": "17:00", "close": "09:00"}}
		}), "opening_hours[0]"},
		{"weekday 7", bad(func(m map[string]any) {
			m["opening_hours"] = []map[string]any{{"weekday": 7, "open": "09:00", "close": "17:00"}}
		}), "opening_hours[0].weekday"},
		{"latitude 200", bad(func(m map[string]any) { m["location"] = map[string]float64{"lat": 200, "lng": 113} }), "location"},
		{"lunch break backwards", bad(func(m map[string]any) { m["lunch_break"] = map[string]string{"start": "13:00", "end": "12:00"} }), "lunch_break"},
		{"window of 90 days", bad(func(m map[string]any) { m["rules"] = map[string]int{"window_days": 90} }), "rules.window_days"},
		{"unknown field", bad(func(m map[string]any) { m["colour"] = "red" }), "colour"},
		{"wrong type", bad(func(m map[string]any) { m["name"] = 42 }), "name"},
		{"malformed JSON", `{"id":"hall-e2e-bad",`, "body"},
	} {
		t.Run("invalid hall: "+tc.name, func(t *testing.T) {
			before := s.count(t, "appt_halls")
			a := s.call(t, "POST", apiV1+"/staff/admin/halls", admin, tc.body)
			if a.Status != 400 || a.errCode() != "invalid_argument" || a.errField("field") != tc.field {
				t.Fatalf("got %d %s, want 400 field %s", a.Status, a.Raw, tc.field)
			}
			if got := s.count(t, "appt_halls"); got != before {
				t.Fatalf("halls %d -> %d", before, got)
			}
			if x := s.call(t, "GET", apiV1+"/halls/hall-e2e-bad/departments", "", nil); x.Status != 404 {
				t.Fatalf("the invalid hall exists: %d", x.Status)
			}
		})
	}

	// The audit log: who, what, when, from where, how it ended.
	type entry struct {
		At      time.Time `json:"at"`
		Actor   string    `json:"actor"`
		Role    string    `json:"role"`
		Action  string    `json:"action"`
		Target  string    `json:"target"`
		HallID  string    `json:"hall_id"`
		IP      string    `json:"ip"`
		Outcome string    `json:"outcome"`
	}
	audit := func(q string) []entry {
		t.Helper()
		var out struct {
			Entries []entry `json:"entries"`
		}
		decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/staff/audit?"+q, admin, nil)), &out)
		return out.Entries
	}
	has := func(es []entry, what string, ok func(e entry) bool) {
		t.Helper()
		for _, e := range es {
			if e.At.IsZero() || e.Actor == "" || e.Action == "" || e.IP == "" || e.Outcome == "" {
				t.Fatalf("incomplete audit entry: %+v", e)
			}
			if ok(e) {
				return
			}
		}
		t.Fatalf("no audit entry for %s in %+v", what, es)
	}
	list1 := audit("actor=" + staff.DemoStaff + "&action=appointments.list")
	has(list1, "demo-staff listing its hall", func(e entry) bool {
		return e.HallID == th && e.IP == deskIP && e.Outcome == "ok" && e.Role == staff.RoleHallStaff && time.Since(e.At) < 10*time.Minute
	})
	has(list1, "demo-staff refused at another hall", func(e entry) bool {
		return e.HallID == yx && e.IP == deskIP && e.Outcome == "forbidden"
	})
	has(audit("actor="+staff.DemoStaff+"&action=appointments.checkin"), "demo-staff's refused check-in", func(e entry) bool {
		return e.Outcome == "wrong_hall" && e.IP == deskIP
	})
	has(audit("actor="+staff.DemoStaff+"&action=login"), "demo-staff's failed login", func(e entry) bool {
		return e.Outcome == "bad_credentials" && e.IP == badIP
	})
	has(audit("actor="+staff.DemoStaff+"&action=catalog.hall.create"), "demo-staff's refused hall", func(e entry) bool {
		return e.Outcome == "forbidden"
	})
	has(audit("actor="+staff.DemoFinance+"&action=appointments.checkin"), "finance's refused check-in", func(e entry) bool {
		return e.Outcome == "forbidden" && e.Role == staff.RoleFinance
	})
	has(audit("actor="+staff.DemoAdmin+"&action=catalog.hall.create"), "the admin's hall", func(e entry) bool {
		return e.Outcome == "ok"
	})
	has(audit("actor="+staff.DemoAdmin+"&action=appointments.checkin"), "the admin's check-in", func(e entry) bool {
		return e.Outcome == "checkin_not_today"
	})
	if a := s.call(t, "GET", apiV1+"/staff/audit?since=yesterday", admin, nil); a.Status != 400 || a.errField("field") != "since" {
		t.Fatalf("audit with a bad since: %d %s", a.Status, a.Raw)
	}

	// Logout ends the staff session.
	s.must(t, 204, s.call(t, "POST", apiV1+"/staff/logout", finance, nil))
	if a := s.call(t, "GET", apiV1+"/staff/audit", finance, nil); a.Status != 401 {
		t.Fatalf("after logout: %d %s", a.Status, a.Raw)
	}
}

// ---- 5. concurrency ---------------------------------------------------------

// TestAppointmentRaceOverHTTP: 40 citizens race for one slot with fewer
// seats; exactly the free seats are booked and the rest are told slot_full.
// One citizen firing bookings for one service and day at once gets one.
func TestAppointmentRaceOverHTTP(t *testing.T) {
	s := getStack(t)
	hall := appointments.DemoHallTianhe
	const racers = 40

	date, slot := s.openSlot(t, hall, thSCJG, 0, 1, true)
	if slot.Capacity >= racers {
		t.Fatalf("capacity %d: the race needs fewer seats than %d racers", slot.Capacity, racers)
	}
	tokens := make([]string, racers)
	for i := range tokens {
		_, tokens[i] = levelThree(t, s)
	}
	seatsBefore := s.seatsOf(t, slot.ID)
	if seatsBefore != int64(slot.Capacity-slot.Remaining) {
		t.Fatalf("%d seat documents, but capacity %d and remaining %d", seatsBefore, slot.Capacity, slot.Remaining)
	}

	type result struct {
		a   answer
		err error
	}
	results := make([]result, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := s.try("POST", apiV1+"/appointments", tokens[i], map[string]string{"slot_id": slot.ID, "service_id": thSCJG})
			results[i] = result{a, err}
		}()
	}
	close(start)
	wg.Wait()

	won, full := 0, 0
	ids, codes := map[string]bool{}, map[string]bool{}
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Fatalf("racer %d: %v", i, r.err)
		case r.a.Status == 201:
			won++
			ids[r.a.str("id")] = true
			codes[r.a.str("checkin_code")] = true
		case r.a.Status == 409 && r.a.errCode() == "slot_full":
			full++
		default:
			t.Fatalf("racer %d: %d %s", i, r.a.Status, r.a.Raw)
		}
	}
	if won != slot.Remaining || full != racers-slot.Remaining {
		t.Fatalf("%d booked and %d slot_full, want %d and %d", won, full, slot.Remaining, racers-slot.Remaining)
	}
	if len(ids) != won || len(codes) != won {
		t.Fatalf("%d winners but %d distinct ids and %d distinct codes", won, len(ids), len(codes))
	}
	if got := s.seatsOf(t, slot.ID); got != int64(slot.Capacity) {
		t.Fatalf("%d seat documents for the slot, want its capacity %d", got, slot.Capacity)
	}
	n, err := s.app.Mongo.DB.Collection("appointments").CountDocuments(context.Background(), map[string]any{"slot_id": slot.ID, "status": "booked"})
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(slot.Capacity) {
		t.Fatalf("%d booked appointments for the slot, want %d", n, slot.Capacity)
	}
	if got := s.slotNow(t, hall, thSCJG, date, slot.ID).Remaining; got != 0 {
		t.Fatalf("remaining %d after the race, want 0", got)
	}
	for i, r := range results {
		if r.a.Status == 201 {
			continue
		}
		var mine struct {
			Appointments []any `json:"appointments"`
		}
		decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/appointments", tokens[i], nil)), &mine)
		if len(mine.Appointments) != 0 {
			t.Fatalf("racer %d lost but has %d appointments", i, len(mine.Appointments))
		}
	}

	// A freed seat goes to exactly one of the next racers.
	var winner int
	for i, r := range results {
		if r.a.Status == 201 {
			winner = i
			s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+r.a.str("id")+"/cancel", tokens[i], nil))
			break
		}
	}
	losers := []int{}
	for i, r := range results {
		if r.a.Status != 201 && len(losers) < 10 {
			losers = append(losers, i)
		}
	}
	statuses := make([]int, len(losers))
	start = make(chan struct{})
	for j, i := range losers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := s.try("POST", apiV1+"/appointments", tokens[i], map[string]string{"slot_id": slot.ID, "service_id": thSCJG})
			if err == nil {
				statuses[j] = a.Status
			}
		}()
	}
	close(start)
	wg.Wait()
	if c := countOf(statuses, 201); c != 1 || countOf(statuses, 409) != len(losers)-1 {
		t.Fatalf("after one cancel (racer %d): statuses %v, want one 201", winner, statuses)
	}
	if got := s.seatsOf(t, slot.ID); got != int64(slot.Capacity) {
		t.Fatalf("%d seat documents after the rebooking race, want %d", got, slot.Capacity)
	}

	// One citizen, many tabs: one booking of a service per day.
	_, tok := levelThree(t, s)
	day := s.daySlots(t, hall, thTZJC, date)
	var open []apptSlot
	for _, x := range day {
		if x.Remaining > 0 && len(open) < 8 {
			open = append(open, x)
		}
	}
	before := s.apptState(t)
	got := make([]answer, len(open))
	start = make(chan struct{})
	for j, x := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[j], _ = s.try("POST", apiV1+"/appointments", tok, map[string]string{"slot_id": x.ID, "service_id": thTZJC})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, a := range got {
		switch {
		case a.Status == 201:
			ok++
		case a.Status == 409 && a.errCode() == "duplicate_booking":
		default:
			t.Fatalf("tab: %d %s", a.Status, a.Raw)
		}
	}
	after := s.apptState(t)
	if ok != 1 || after["appointments"] != before["appointments"]+1 || after["appt_seats"] != before["appt_seats"]+1 {
		t.Fatalf("%d tabs booked; %s", ok, before.diff(after))
	}
}

func countOf(xs []int, v int) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

// ---- 6. admin catalog: a hall of its own, closures, capacity changes --------

// e2eHall is a hall the admin builds over HTTP, open every day 09:00-17:00,
// with one department, one service and one schedule of hourly slots: tests
// may close its days and change its capacity without touching the demo halls.
type e2eHall struct {
	hall, dept, svc, sched string
	schedBody              map[string]any
}

func (s *stack) newE2EHall(t *testing.T, admin string, capacity int) e2eHall {
	t.Helper()
	r := platformtest.RandomID()
	h := e2eHall{hall: "hall-e2e-" + r, dept: "dept-e2e-" + r, svc: "svc-e2e-" + r, sched: "sch-e2e-" + r}
	var hours []map[string]any
	for d := range 7 {
		hours = append(hours, map[string]any{"weekday": d, "open": "09:00", "close": "17:00"})
	}
	s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/halls", admin, map[string]any{
		"id": h.hall, "name": "端到端测试大厅", "address": "广州市黄埔区测试路2号",
		"location": map[string]float64{"lat": 23.18, "lng": 113.48}, "opening_hours": hours,
	}))
	s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/departments", admin, map[string]any{
		"id": h.dept, "hall_id": h.hall, "name": "测试窗口", "queue_prefix": "e",
	}))
	v := s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/services", admin, map[string]any{
		"id": h.svc, "hall_id": h.hall, "department_id": h.dept, "code": "E2E" + r, "name": "端到端测试事项",
		"type": appointments.CategoryPublicServices,
		"guide": map[string]any{
			"conditions": []string{"测试"}, "steps": []string{"预约", "到场"}, "time_limit_days": 1, "booking_required": true,
			"materials": []map[string]any{{"name": "居民身份证", "originals": 1, "copies": 1, "required": true}},
		},
	}))
	if v.str("type") != appointments.CategoryPublicServices {
		t.Fatalf("service: %s", v.Raw)
	}
	h.schedBody = map[string]any{"id": h.sched, "hall_id": h.hall, "department_id": h.dept, "slot_minutes": 60, "capacity": capacity}
	sc := s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/schedules", admin, h.schedBody))
	if sc.str("capacity") != fmt.Sprint(capacity) {
		t.Fatalf("schedule: %s", sc.Raw)
	}
	return h
}

// eventually waits until cond holds. Availability answers are reused for up
// to a second (api.NewAppointmentRoutes' micro cache); bookings and
// cancellations drop them, admin catalog changes do not, so a read after an
// admin change may show the previous catalog for that long.
func (s *stack) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: not %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAdminClosureDay: an admin-built hall is bookable at once; a closure
// takes its day out of the window and refuses its slots without changing
// anything; lifting the closure makes the day bookable again.
func TestAdminClosureDay(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	h := s.newE2EHall(t, admin, 2)

	dates := s.windowDates(t, h.hall, h.svc)
	if len(dates) != 7 || dates[0].Remaining != 8*2 {
		t.Fatalf("window of the new hall: %+v", dates)
	}
	day := dates[0].Date
	slots := s.daySlots(t, h.hall, h.svc, day)
	if len(slots) != 8 || slots[0].Start.In(platform.Shanghai()).Format("15:04") != "09:00" || slots[0].Capacity != 2 {
		t.Fatalf("slots of %s: %+v", day, slots)
	}
	_, tok := levelThree(t, s)
	_, tok2 := levelThree(t, s)
	early := s.must(t, 201, s.book(t, tok2, slots[1].ID, h.svc)) // made before the closure

	// Close the first day.
	cal := s.must(t, 200, s.call(t, "PUT", apiV1+"/staff/admin/calendar", admin, map[string]any{
		"hall_id": h.hall, "date": day, "kind": "closure", "name": "设备检修",
	}))
	if cal.str("kind") != "closure" {
		t.Fatalf("closure: %s", cal.Raw)
	}
	s.eventually(t, day+" out of the window", func() bool {
		return s.windowDates(t, h.hall, h.svc)[0].Date != day
	})
	closed := s.windowDates(t, h.hall, h.svc)
	if len(closed) != 7 || slices.ContainsFunc(closed, func(d apptDate) bool { return d.Date == day }) || closed[0].Date != dates[1].Date {
		t.Fatalf("window with %s closed: %+v", day, closed)
	}
	if a := s.call(t, "GET", availPath(h.hall, h.svc)+"&date="+day, "", nil); a.Status != 422 || a.errCode() != "outside_window" {
		t.Fatalf("slots of the closed day: %d %s", a.Status, a.Raw)
	}
	before := s.apptState(t)
	for _, sl := range slots[:3] {
		a := s.book(t, tok, sl.ID, h.svc)
		if a.Status != 409 || a.errCode() != "slot_closed" {
			t.Fatalf("booking on the closed day: %d %s", a.Status, a.Raw)
		}
	}
	if d := before.diff(s.apptState(t)); d != "" {
		t.Fatalf("changed: %s", d)
	}
	// The booking made before is cancelled by the closure, with its reason,
	// and its citizen is told.
	got := s.must(t, 200, s.call(t, "GET", apiV1+"/appointments/"+early.str("id"), tok2, nil))
	if got.str("status") != "cancelled" {
		t.Fatalf("earlier booking on the closed day: %s", got.Raw)
	}
	s.eventually(t, "the closure's cancellation message", func() bool {
		return strings.Contains(string(s.must(t, 200, s.call(t, "GET", apiV1+"/me/messages", tok2, nil)).Raw), "appointment_cancelled:"+early.str("id"))
	})

	// Lift the closure.
	s.must(t, 204, s.call(t, "DELETE", apiV1+"/staff/admin/calendar?hall_id="+h.hall+"&date="+day, admin, nil))
	s.eventually(t, day+" back in the window", func() bool {
		return s.windowDates(t, h.hall, h.svc)[0].Date == day
	})
	if again := s.windowDates(t, h.hall, h.svc); len(again) != 7 || again[0].Remaining != 16 {
		t.Fatalf("window after lifting the closure: %+v", again)
	}
	s.must(t, 201, s.book(t, tok, slots[0].ID, h.svc))
}

// capacityFixture is a fresh admin-built hall whose first slot tests fill,
// with four level-3 citizens and the admin's session.
type capacityFixture struct {
	s     *stack
	admin string
	h     e2eHall
	date  string
	slot  apptSlot
	toks  []string
}

func newCapacityFixture(t *testing.T, s *stack, capacity int) *capacityFixture {
	t.Helper()
	f := &capacityFixture{s: s, admin: s.staffLogin(t, staff.DemoAdmin)}
	f.h = s.newE2EHall(t, f.admin, capacity)
	f.date = s.windowDates(t, f.h.hall, f.h.svc)[0].Date
	f.slot = s.daySlots(t, f.h.hall, f.h.svc, f.date)[0]
	f.toks = make([]string, 4)
	for i := range f.toks {
		_, f.toks[i] = levelThree(t, s)
	}
	return f
}

func (f *capacityFixture) setCapacity(t *testing.T, n int) {
	t.Helper()
	f.h.schedBody["capacity"] = n
	f.s.must(t, 200, f.s.call(t, "PUT", apiV1+"/staff/admin/schedules/"+f.h.sched, f.admin, f.h.schedBody))
	f.s.eventually(t, fmt.Sprintf("the slot's capacity is %d", n), func() bool {
		return f.s.slotNow(t, f.h.hall, f.h.svc, f.date, f.slot.ID).Capacity == n
	})
}

func (f *capacityFixture) remaining(t *testing.T) int {
	t.Helper()
	return f.s.slotNow(t, f.h.hall, f.h.svc, f.date, f.slot.ID).Remaining
}

func (f *capacityFixture) book(t *testing.T, who int) answer {
	t.Helper()
	return f.s.book(t, f.toks[who], f.slot.ID, f.h.svc)
}

func (f *capacityFixture) cancel(t *testing.T, who int, a answer) {
	t.Helper()
	f.s.must(t, 200, f.s.call(t, "POST", apiV1+"/appointments/"+a.str("id")+"/cancel", f.toks[who], nil))
}

// mustBeFull checks that the slot shows no free seat and that citizen who
// is refused with slot_full without any change.
func (f *capacityFixture) mustBeFull(t *testing.T, who int, what string) {
	t.Helper()
	if got := f.remaining(t); got != 0 {
		t.Errorf("%s: remaining %d, want 0", what, got)
	}
	before := f.s.apptState(t)
	if a := f.book(t, who); a.Status != 409 || a.errCode() != "slot_full" {
		t.Fatalf("%s: booking answered %d %s (the slot is overbooked)", what, a.Status, a.Raw)
	}
	if d := before.diff(f.s.apptState(t)); d != "" {
		t.Fatalf("%s: changed: %s", what, d)
	}
}

// active counts the slot's booked appointments.
func (f *capacityFixture) active(t *testing.T) int64 {
	t.Helper()
	n, err := f.s.app.Mongo.DB.Collection("appointments").CountDocuments(context.Background(), map[string]any{"slot_id": f.slot.ID, "status": "booked"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAdminCapacityChange: raising a schedule's capacity frees seats at once;
// lowering it is refused (409 capacity_in_use, nothing changed) while seats at
// or above the new capacity are booked, and works once they are free.
func TestAdminCapacityChange(t *testing.T) {
	s := getStack(t)

	t.Run("raise", func(t *testing.T) {
		f := newCapacityFixture(t, s, 2)
		s.must(t, 201, f.book(t, 0))
		s.must(t, 201, f.book(t, 1))
		f.mustBeFull(t, 2, "2 bookings, capacity 2")
		f.setCapacity(t, 3)
		if got := f.remaining(t); got != 1 {
			t.Fatalf("remaining %d after raising the capacity to 3", got)
		}
		s.must(t, 201, f.book(t, 2))
		f.mustBeFull(t, 3, "3 bookings, capacity 3")
	})

	t.Run("lower below the bookings is refused", func(t *testing.T) {
		f := newCapacityFixture(t, s, 3)
		a := []answer{s.must(t, 201, f.book(t, 0)), s.must(t, 201, f.book(t, 1)), s.must(t, 201, f.book(t, 2))}
		before := s.apptState(t)
		f.h.schedBody["capacity"] = 1
		r := s.call(t, "PUT", apiV1+"/staff/admin/schedules/"+f.h.sched, f.admin, f.h.schedBody)
		if r.Status != 409 || r.errCode() != "capacity_in_use" {
			t.Fatalf("lowering below the bookings: %d %s", r.Status, r.Raw)
		}
		if got := f.s.slotNow(t, f.h.hall, f.h.svc, f.date, f.slot.ID).Capacity; got != 3 {
			t.Fatalf("capacity after the refused change: %d, want 3", got)
		}
		if d := before.diff(s.apptState(t)); d != "" {
			t.Fatalf("changed: %s", d)
		}
		f.mustBeFull(t, 3, "3 bookings, capacity 3")
		// Once the seats above the new capacity are free, lowering works and
		// the slot stays exact.
		f.cancel(t, 2, a[2])
		f.cancel(t, 1, a[1])
		f.setCapacity(t, 1)
		f.mustBeFull(t, 3, "1 booking, capacity 1")
		if n := f.active(t); n != 1 {
			t.Fatalf("%d active bookings, want 1", n)
		}
	})

	t.Run("cancel, then lower", func(t *testing.T) {
		f := newCapacityFixture(t, s, 2)
		a0 := s.must(t, 201, f.book(t, 0))
		a1 := s.must(t, 201, f.book(t, 1))
		f.cancel(t, 0, a0) // seat 0 is free again, seat 1 still taken
		f.h.schedBody["capacity"] = 1
		if r := s.call(t, "PUT", apiV1+"/staff/admin/schedules/"+f.h.sched, f.admin, f.h.schedBody); r.Status != 409 || r.errCode() != "capacity_in_use" {
			t.Fatalf("lowering under a held seat 1: %d %s", r.Status, r.Raw)
		}
		f.cancel(t, 1, a1)
		f.setCapacity(t, 1)
		s.must(t, 201, f.book(t, 2))
		f.mustBeFull(t, 3, "1 booking, capacity 1")
		if n := f.active(t); n != 1 {
			t.Fatalf("%d active bookings, want 1", n)
		}
	})
}

// TestStaffCancelOverHTTP: hall staff cancel a citizen's booking with a
// reason: the seat is free at once, the citizen sees the appointment
// cancelled with the reason and gets an inbox message, and every attempt is
// audited. Bad input and other roles change nothing.
func TestStaffCancelOverHTTP(t *testing.T) {
	s := getStack(t)
	hall := appointments.DemoHallTianhe
	desk := s.staffLogin(t, staff.DemoStaff)
	finance := s.staffLogin(t, staff.DemoFinance)
	admin := s.staffLogin(t, staff.DemoAdmin)
	_, token := levelThree(t, s)
	date, slot := s.openSlot(t, hall, thRSJ, 0, 1, false)
	a := s.must(t, 201, s.book(t, token, slot.ID, thRSJ))
	id := a.str("id")
	path := apiV1 + "/staff/appointments/" + id + "/cancel"
	before := s.apptState(t)
	for _, tc := range []struct {
		name, path, token string
		body              any
		status            int
		code, field       string
	}{
		{"no reason", path, desk, map[string]string{}, 400, "invalid_argument", "reason"},
		{"blank reason", path, desk, map[string]string{"reason": "   "}, 400, "invalid_argument", "reason"},
		{"201 characters", path, desk, map[string]string{"reason": strings.Repeat("因", 201)}, 400, "invalid_argument", "reason"},
		{"unknown field", path, desk, `{"reason":"设备故障","notify":false}`, 400, "invalid_argument", "notify"},
		{"no body", path, desk, nil, 400, "invalid_argument", "body"},
		{"malformed id", apiV1 + "/staff/appointments/ap123/cancel", desk, map[string]string{"reason": "设备故障"}, 400, "invalid_argument", "id"},
		{"unknown id", apiV1 + "/staff/appointments/ap00000000000000000000/cancel", desk, map[string]string{"reason": "设备故障"}, 404, "not_found", ""},
		{"citizen token", path, token, map[string]string{"reason": "设备故障"}, 401, "unauthenticated", ""},
		{"finance", path, finance, map[string]string{"reason": "设备故障"}, 403, "forbidden", ""},
	} {
		x := s.call(t, "POST", tc.path, tc.token, tc.body)
		if x.Status != tc.status || x.errCode() != tc.code || (tc.field != "" && x.errField("field") != tc.field) {
			t.Fatalf("%s: %d %s", tc.name, x.Status, x.Raw)
		}
	}
	if d := before.diff(s.apptState(t)); d != "" {
		t.Fatalf("refused cancellations changed: %s", d)
	}
	free := s.slotNow(t, hall, thRSJ, date, slot.ID).Remaining
	c := s.must(t, 200, s.call(t, "POST", path, desk, map[string]string{"reason": "窗口设备故障，今日无法办理"}))
	if c.str("status") != "cancelled" || c.str("cancel_reason") != "窗口设备故障，今日无法办理" || c.str("cancelled_by") != staff.DemoStaff {
		t.Fatalf("staff cancel: %s", c.Raw)
	}
	if got := s.slotNow(t, hall, thRSJ, date, slot.ID).Remaining; got != free+1 {
		t.Fatalf("remaining %d after the cancel, want %d", got, free+1)
	}
	mine := s.must(t, 200, s.call(t, "GET", apiV1+"/appointments/"+id, token, nil))
	if mine.str("status") != "cancelled" || mine.str("cancel_reason") != "窗口设备故障，今日无法办理" {
		t.Fatalf("the citizen's view: %s", mine.Raw)
	}
	var page struct {
		Sections struct {
			Messages []struct {
				Kind string            `json:"kind"`
				Data map[string]string `json:"data"`
			} `json:"messages"`
		} `json:"sections"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)), &page)
	told := false
	for _, m := range page.Sections.Messages {
		told = told || (m.Kind == appointments.KindCancelled && m.Data["appointment_id"] == id && m.Data["reason"] != "")
	}
	if !told {
		t.Fatalf("no cancellation message on the citizen page: %+v", page.Sections.Messages)
	}
	if x := s.call(t, "POST", path, admin, map[string]string{"reason": "再次取消"}); x.Status != 409 || x.errCode() != "not_cancellable" {
		t.Fatalf("cancelling twice: %d %s", x.Status, x.Raw)
	}
	var audit struct {
		Entries []struct {
			Target  string `json:"target"`
			Outcome string `json:"outcome"`
			Actor   string `json:"actor"`
		} `json:"entries"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/staff/audit?action=appointments.cancel", admin, nil)), &audit)
	outcomes := map[string]bool{}
	for _, e := range audit.Entries {
		if e.Target == id {
			outcomes[e.Actor+" "+e.Outcome] = true
		}
	}
	for _, want := range []string{staff.DemoStaff + " ok", staff.DemoFinance + " forbidden", staff.DemoStaff + " invalid_argument", staff.DemoAdmin + " not_cancellable"} {
		if !outcomes[want] {
			t.Errorf("audit lacks %q: %v", want, outcomes)
		}
	}
}
