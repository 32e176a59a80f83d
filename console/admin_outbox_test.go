package console

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/notify"
)

// fakeOutbox holds deliveries by id, with the outbox's rules: an unknown
// state filter is refused, only failed and dead deliveries are retried.
type fakeOutbox struct {
	mu    sync.Mutex
	all   map[string]notify.DeliveryView
	lists int
}

var _ Outbox = (*fakeOutbox)(nil)

func newFakeOutbox() *fakeOutbox {
	now := time.Now()
	o := &fakeOutbox{all: map[string]notify.DeliveryView{}}
	for i, d := range []notify.DeliveryView{
		{ID: "m1|wechat", State: notify.StateDead, LastCode: "43101", LastError: "user refuse to accept the msg"},
		{ID: "m2|sms", State: notify.StateFailed, LastCode: "timeout"},
		{ID: "m3|wechat", State: notify.StateSent},
		{ID: "m4|inbox", State: notify.StateDead, LastCode: "deadline"},
	} {
		d.Channel, d.Kind, d.Attempts, d.UpdatedAt = strings.Split(d.ID, "|")[1], "appointment.reminder", 3, now.Add(-time.Duration(i)*time.Minute)
		o.all[d.ID] = d
	}
	return o
}

func (o *fakeOutbox) List(_ context.Context, state string, limit int) ([]notify.DeliveryView, error) {
	if state != "" && !slices.Contains(notify.States(), state) {
		return nil, platform.Invalid("state", "enum", "状态应为 "+strings.Join(notify.States(), "、")+" 之一")
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lists++
	var out []notify.DeliveryView
	for _, d := range o.all {
		if state == "" || d.State == state {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b notify.DeliveryView) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	return out[:min(limit, len(out))], nil
}

func (o *fakeOutbox) Retry(_ context.Context, id string) (notify.DeliveryView, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.all[id]
	if !ok {
		return notify.DeliveryView{}, notify.ErrNotFound
	}
	if d.State != notify.StateFailed && d.State != notify.StateDead {
		return notify.DeliveryView{}, notify.ErrNotRetryable
	}
	d.State, d.UpdatedAt, d.LastCode, d.LastError = notify.StatePending, time.Now(), "", ""
	o.all[id] = d
	return d, nil
}

func (o *fakeOutbox) state(id string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.all[id].State
}

func (o *fakeOutbox) states() map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[string]string{}
	for id, d := range o.all {
		m[id] = d.State
	}
	return m
}

// TestConsoleOutboxDeadLetters: the page lists the dead letters by default
// and other states on request; retrying a dead letter queues it again (its
// state changes), audited as the API's outbox.retry, and comes back to the
// same filter with a notice.
func TestConsoleOutboxDeadLetters(t *testing.T) {
	f := newFixture(t, false)
	ob := newFakeOutbox()
	withOps(t, f, nil, Deps{Outbox: ob})
	body := f.do(http.MethodGet, "/console/admin/outbox", tokAdmin, nil).Body.String()
	if !strings.Contains(body, "m1|wechat") || !strings.Contains(body, "m4|inbox") || strings.Contains(body, "m2|sms") || strings.Contains(body, "m3|wechat") {
		t.Fatalf("default list is not the dead letters:\n%s", body)
	}
	body = f.do(http.MethodGet, "/console/admin/outbox?state=all&limit=2", tokAdmin, nil).Body.String()
	if strings.Count(body, "<tr><td>") != 2 || !strings.Contains(body, "<td>m2|sms</td>") {
		t.Fatalf("all, limit 2:\n%s", body)
	}
	body = f.do(http.MethodGet, "/console/admin/outbox?state=sent", tokAdmin, nil).Body.String()
	if !strings.Contains(body, "m3|wechat") || strings.Contains(body, `action="/console/admin/outbox/retry"`) {
		t.Fatalf("a sent delivery is listed with a retry button:\n%s", body)
	}

	rec := f.do(http.MethodPost, "/console/admin/outbox/retry", tokAdmin, withCSRF(f, tokAdmin, url.Values{"id": {"m1|wechat"}, "state": {"dead"}}))
	if rec.Code != http.StatusSeeOther || ob.state("m1|wechat") != notify.StatePending {
		t.Fatalf("retry: %d, state %s", rec.Code, ob.state("m1|wechat"))
	}
	if e := lastAudit(t, f, actionOutboxRetry); e.Target != "m1|wechat" || e.Outcome != "ok" {
		t.Fatalf("retry audit %+v", e)
	}
	body = f.do(http.MethodGet, rec.Header().Get("Location"), tokAdmin, nil).Body.String()
	if !strings.Contains(body, "已重新排队投递 m1|wechat") || strings.Contains(body, "<td>m1|wechat</td>") || !strings.Contains(body, "<td>m4|inbox</td>") {
		t.Fatalf("after retry:\n%s", body)
	}
}

// TestConsoleOutboxRefusals: a bad filter answers 400 with the message next
// to it; a retry of a sent or unknown delivery answers the service's 4xx on
// that row; without the CSRF token or by hall staff it is refused; none of
// them changes a delivery.
func TestConsoleOutboxRefusals(t *testing.T) {
	f := newFixture(t, false)
	ob := newFakeOutbox()
	withOps(t, f, nil, Deps{Outbox: ob})
	before := ob.states()
	for _, tc := range []struct {
		name, token, method, target string
		form                        url.Values
		code                        int
		shows                       string
	}{
		{"limit 0", tokAdmin, http.MethodGet, "/console/admin/outbox?limit=0", nil, http.StatusBadRequest, `value="0" aria-invalid="true"`},
		{"limit words", tokAdmin, http.MethodGet, "/console/admin/outbox?limit=abc", nil, http.StatusBadRequest, "条数应为 1 至 200 的整数"},
		{"unknown state", tokAdmin, http.MethodGet, "/console/admin/outbox?state=lost", nil, http.StatusBadRequest, `<select id="state" name="state" aria-invalid="true"`},
		{"retry sent", tokAdmin, http.MethodPost, "/console/admin/outbox/retry", withCSRF(f, tokAdmin, url.Values{"id": {"m3|wechat"}}), http.StatusConflict, "m3|wechat：只有失败或已放弃的消息可以重新投递"},
		{"retry unknown", tokAdmin, http.MethodPost, "/console/admin/outbox/retry", withCSRF(f, tokAdmin, url.Values{"id": {"nope|sms"}}), http.StatusNotFound, "未找到该消息投递记录"},
		{"no CSRF token", tokAdmin, http.MethodPost, "/console/admin/outbox/retry", url.Values{"id": {"m1|wechat"}}, http.StatusForbidden, ""},
		{"hall staff", tokStaff, http.MethodPost, "/console/admin/outbox/retry", withCSRF(f, tokStaff, url.Values{"id": {"m1|wechat"}}), http.StatusForbidden, ""},
	} {
		rec := f.do(tc.method, tc.target, tc.token, tc.form)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.shows) {
			t.Fatalf("%s: %d (want %d)\n%s", tc.name, rec.Code, tc.code, rec.Body.String())
		}
		if after := ob.states(); !maps.Equal(before, after) {
			t.Fatalf("%s changed the outbox: %v", tc.name, after)
		}
	}
	if e := lastAudit(t, f, actionOutboxRetry); e.Outcome != "forbidden" {
		t.Fatalf("refused retry audit %+v", e)
	}
}
