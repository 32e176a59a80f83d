package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"banshi/appointments"
	"banshi/internal/account"
)

// The routes of the soak's mix, as reported.
const (
	routeSimCode      = "POST /sim/wechat/codes (the phone's part)"
	routeLogin        = "POST /api/v1/auth/miniprogram/login"
	routeMe           = "GET /api/v1/me"
	routeHalls        = "GET /api/v1/halls"
	routeServices     = "GET /api/v1/halls/{id}/services"
	routeAvailability = "GET /api/v1/halls/{id}/availability"
	routeBook         = "POST /api/v1/appointments"
	routeCancel       = "POST /api/v1/appointments/{id}/cancel"
	routeMessages     = "GET /api/v1/me/messages"
	routeBills        = "GET /api/v1/me/bills"
)

// SoakRoutes are the names of every route the soak's mix sends, as its
// report prints them.
func SoakRoutes() []string {
	return []string{routeSimCode, routeLogin, routeMe, routeHalls, routeServices,
		routeAvailability, routeBook, routeCancel, routeMessages, routeBills}
}

// An action is what one arrival of the soak does as a citizen.
type action int

const (
	actLogin        action = iota // WeChat mini-program login through the simulator: a code, then the login
	actMe                         // GET /me
	actHalls                      // the halls list
	actServices                   // a hall's services
	actAvailability               // a service's availability
	actBookCancel                 // book a seat, then cancel it
	actMessages                   // the inbox
	actBills                      // the bills list
)

// soakSequence is the mix's 100 actions in a shuffled order (fixed seed: a
// run is repeatable); arrival i does sequence[i%100]. Of every 100
// arrivals: 3 logins, 25 /me, 10 halls, 10 services, 20 availability, 7
// bookings (each cancelled right after, so the seats never run out), 15
// inboxes, 10 bills lists. Reads dominate, as for a citizen opening the app.
func soakSequence() []action {
	weights := map[action]int{
		actLogin: 3, actMe: 25, actHalls: 10, actServices: 10, actAvailability: 20,
		actBookCancel: 7, actMessages: 15, actBills: 10,
	}
	var seq []action
	for a := actLogin; a <= actBills; a++ {
		for range weights[a] {
			seq = append(seq, a)
		}
	}
	rand.New(rand.NewPCG(15, 15)).Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
	return seq
}

// The soak's hall: not part of the demo data, added for the run. Level 2
// (a declared identity) may book there, which is what the soak's citizens
// reach through the simulator.
const (
	soakHall    = "soak-hall"
	soakDept    = "soak-dept"
	soakService = "soak-svc"
)

// soakFixture is what the soak's citizens act with.
type soakFixture struct {
	base     string
	client   *http.Client
	rec      *recorder
	tokens   []string    // sessions of the acting citizens (reads)
	free     chan string // tokens of citizens with no booking in progress
	loginIDs []string    // simulator openids that only log in
	slots    []string    // bookable slots of soakService
}

// prepareSoakSlots adds (or replaces) the soak's hall, open every day from
// 08:00 to 18:00 with hourly slots of capacity seats, and returns every
// slot of its booking window that starts more than 3 hours from now (so
// cancelling stays allowed).
func prepareSoakSlots(ctx context.Context, cat Catalog, capacity int) ([]string, error) {
	var hours []appointments.OpeningHours
	for d := range 7 {
		hours = append(hours, appointments.OpeningHours{Weekday: d, Open: "08:00", Close: "18:00"})
	}
	in := appointments.CatalogImport{
		Halls: []appointments.Hall{{ID: soakHall, Name: "浸泡测试大厅", OpeningHours: hours,
			Rules: appointments.HallRules{MinRealnameLevel: 2}}},
		Departments: []appointments.Department{{ID: soakDept, HallID: soakHall, Name: "浸泡测试窗口", QueuePrefix: "S"}},
		Services: []appointments.ServiceItem{{ID: soakService, HallID: soakHall, DepartmentID: soakDept,
			Code: "SOAK", Name: "浸泡测试事项", Type: appointments.CategoryPublicServices}},
		Schedules: []appointments.Schedule{{ID: "soak-sched", HallID: soakHall, DepartmentID: soakDept,
			SlotMinutes: 60, Capacity: capacity}},
	}
	if _, err := cat.Import(ctx, in); err != nil {
		return nil, fmt.Errorf("import the soak hall: %w", err)
	}
	dates, err := cat.BookingWindow(ctx, soakHall)
	if err != nil {
		return nil, err
	}
	earliest := time.Now().Add(3 * time.Hour)
	var slots []string
	for _, d := range dates {
		day, err := cat.DaySlots(ctx, soakHall, soakService, d)
		if err != nil {
			return nil, err
		}
		for _, sl := range day.Slots {
			if sl.Start.After(earliest) && sl.Remaining > 0 {
				slots = append(slots, sl.ID)
			}
		}
	}
	if len(slots) == 0 {
		return nil, errors.New("the soak hall has no bookable slot")
	}
	return slots, nil
}

// newCitizen plays a new citizen's phone against the WeChat simulator: a
// WeChat user with identity number id, a mini-program login, a declared
// identity (level 2). It returns the session token.
func newCitizen(ctx context.Context, base, id string) (string, error) {
	var u struct{ OpenID string }
	if err := postJSON(ctx, base, "/sim/wechat/users", "", map[string]string{"real_name": "李四", "id_number": id}, &u); err != nil {
		return "", err
	}
	var c struct{ Code string }
	if err := postJSON(ctx, base, "/sim/wechat/codes", "", map[string]string{"openid": u.OpenID, "kind": "miniprogram"}, &c); err != nil {
		return "", err
	}
	var l struct{ Token string }
	if err := postJSON(ctx, base, "/api/v1/auth/miniprogram/login", "", map[string]string{"code": c.Code}, &l); err != nil {
		return "", err
	}
	if err := postJSON(ctx, base, "/api/v1/me/realname/declare", l.Token, map[string]string{"name": "李四", "id_number": id}, nil); err != nil {
		return "", err
	}
	return l.Token, nil
}

// soakID is the identity number of the soak's citizen i (i < 40,000):
// distinct for every i.
func soakID(i int) string {
	return account.WithCheckDigit(fmt.Sprintf("440106%04d%02d%02d%03d", 1960+i/1000%40, 1+i%12, 1+i%28, i%1000))
}

// prepareSoakCitizens logs n citizens in through the simulator (as a phone
// would) and creates logins simulator users that only log in during the
// soak (their sessions are trimmed per user, so they are kept apart from
// the citizens whose tokens the reads use).
func prepareSoakCitizens(ctx context.Context, f *soakFixture, n, logins int) error {
	for i := range n {
		tok, err := newCitizen(ctx, f.base, soakID(i))
		if err != nil {
			return fmt.Errorf("soak citizen %d: %w", i, err)
		}
		f.tokens = append(f.tokens, tok)
	}
	f.free = make(chan string, n)
	for _, t := range f.tokens {
		f.free <- t
	}
	for i := range logins {
		var u struct{ OpenID string }
		if err := postJSON(ctx, f.base, "/sim/wechat/users", "", map[string]string{"real_name": "张三", "id_number": soakID(n + i)}, &u); err != nil {
			return fmt.Errorf("soak login user %d: %w", i, err)
		}
		f.loginIDs = append(f.loginIDs, u.OpenID)
	}
	return nil
}

// act performs arrival i's action.
func (f *soakFixture) act(ctx context.Context, a action, i int) {
	tok := f.tokens[i%len(f.tokens)]
	switch a {
	case actLogin:
		var c struct{ Code string }
		if !f.do(ctx, routeSimCode, http.MethodPost, "/sim/wechat/codes", "", map[string]string{"openid": f.loginIDs[i%len(f.loginIDs)], "kind": "miniprogram"}, http.StatusOK, &c) {
			return
		}
		f.do(ctx, routeLogin, http.MethodPost, "/api/v1/auth/miniprogram/login", "", map[string]string{"code": c.Code}, http.StatusOK, nil)
	case actMe:
		f.do(ctx, routeMe, http.MethodGet, "/api/v1/me", tok, nil, http.StatusOK, nil)
	case actHalls:
		f.do(ctx, routeHalls, http.MethodGet, "/api/v1/halls", "", nil, http.StatusOK, nil)
	case actServices:
		hall := soakHall
		if i%2 == 0 {
			hall = "hall-tianhe" // the demo hall, larger
		}
		f.do(ctx, routeServices, http.MethodGet, "/api/v1/halls/"+hall+"/services", "", nil, http.StatusOK, nil)
	case actAvailability:
		f.do(ctx, routeAvailability, http.MethodGet, "/api/v1/halls/"+soakHall+"/availability?service_id="+soakService, tok, nil, http.StatusOK, nil)
	case actBookCancel:
		var t string
		select {
		case t = <-f.free:
		default: // every citizen is still booking: the target is behind the rate
			f.rec.fail(routeBook, 0, "no_free_citizen")
			return
		}
		defer func() { f.free <- t }()
		var appt struct{ ID string }
		body := map[string]string{"slot_id": f.slots[i%len(f.slots)], "service_id": soakService}
		if !f.do(ctx, routeBook, http.MethodPost, "/api/v1/appointments", t, body, http.StatusCreated, &appt) {
			return
		}
		f.do(ctx, routeCancel, http.MethodPost, "/api/v1/appointments/"+appt.ID+"/cancel", t, struct{}{}, http.StatusOK, nil)
	case actMessages:
		f.do(ctx, routeMessages, http.MethodGet, "/api/v1/me/messages", tok, nil, http.StatusOK, nil)
	case actBills:
		f.do(ctx, routeBills, http.MethodGet, "/api/v1/me/bills", tok, nil, http.StatusOK, nil)
	}
}

// do sends one request (body as JSON if not nil, token as Bearer if not
// empty), records it under route — its latency if the answer is want, else
// an error with the status and the API's error code — and decodes a wanted
// answer into out (if not nil). It reports whether the answer was want.
func (f *soakFixture) do(ctx context.Context, route, method, path, token string, body any, want int, out any) bool {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.rec.fail(route, -1, "marshal")
			return false
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.base+path, rd)
	if err != nil {
		f.rec.fail(route, -1, "request")
		return false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		f.rec.fail(route, -1, transportCode(err))
		return false
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		f.rec.fail(route, -1, "read")
		return false
	}
	if resp.StatusCode != want {
		var e struct {
			Error struct{ Code string } // the API's {"error":{"code":…}}
		}
		_ = json.Unmarshal(raw, &e)
		f.rec.fail(route, resp.StatusCode, e.Error.Code)
		return false
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			f.rec.fail(route, resp.StatusCode, "undecodable")
			return false
		}
	}
	f.rec.ok(route, d)
	return true
}

// transportCode names a transport error briefly for the report.
func transportCode(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout"):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "transport"
	}
}
