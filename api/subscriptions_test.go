package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/session"
	"banshi/notify/subscribe"
)

// oneCitizen resolves the token "tok-citizen" to the user "u_sub".
type oneCitizen struct{ SessionResolver }

func (oneCitizen) Authorize(_ context.Context, token string, _ int) (session.Session, platform.RateDecision, error) {
	if token != "tok-citizen" {
		return session.Session{}, platform.RateDecision{}, session.ErrUnauthenticated
	}
	return session.Session{UserID: "u_sub", Channel: "miniprogram", Level: 1}, platform.RateDecision{Allowed: true}, nil
}

type noUsers struct{}

func (noUsers) UserByMiniOpenID(context.Context, string) (string, error) { return "", nil }
func (noUsers) MiniOpenID(context.Context, string) (string, error)       { return "", nil }

type noSender struct{}

func (noSender) SendSubscribe(context.Context, string, string, string, map[string]string) error {
	return nil
}

func newSubscribeServer(t *testing.T) (*Server, *subscribe.Service) {
	t.Helper()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	svc, err := subscribe.New(subscribe.Deps{DB: db, Sender: noSender{}, Users: noUsers{}, Clock: platform.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SeedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakePinger{}, RedisPing: fakePinger{},
		Sessions: oneCitizen{}, Features: []Feature{SubscribeRoutes{Subscriptions: svc}}})
	return srv, svc
}

func serve(srv *Server, method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, r)
	return rec
}

// TestNotifyTemplatesArePublic: the template list needs no session and
// names every event kind's template with its fields (not where Banshi takes
// their values from).
func TestNotifyTemplatesArePublic(t *testing.T) {
	srv, _ := newSubscribeServer(t)
	rec := serve(srv, "GET", "/api/v1/notify/templates", "", "")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var out struct {
		Templates []struct {
			Event      string `json:"event"`
			TemplateID string `json:"template_id"`
			Fields     []map[string]any
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Templates) != len(subscribe.DemoTemplates()) {
		t.Fatalf("%s: %v", rec.Body, err)
	}
	for _, tpl := range out.Templates {
		if tpl.Event == "" || tpl.TemplateID == "" || len(tpl.Fields) == 0 || tpl.Fields[0]["key"] == nil || tpl.Fields[0]["type"] == nil {
			t.Errorf("template %+v", tpl)
		}
		for _, f := range tpl.Fields {
			if _, leaked := f["from"]; leaked {
				t.Errorf("a field's source is internal: %v", f)
			}
		}
	}
}

// TestRecordSubscriptions: the result object of wx.requestSubscribeMessage
// is recorded as it is; without a session 401; bad results 400 naming the
// field, and nothing changed.
func TestRecordSubscriptions(t *testing.T) {
	srv, svc := newSubscribeServer(t)
	const booked = "DEMO-APPOINTMENT-BOOKED"
	good := `{"` + booked + `":"accept","DEMO-APPLICATION-PROGRESS":"reject","errMsg":"requestSubscribeMessage:ok"}`
	if rec := serve(srv, "POST", "/api/v1/me/subscriptions", "", good); rec.Code != 401 {
		t.Fatalf("without a session: %d %s", rec.Code, rec.Body)
	}
	for name, tc := range map[string]struct{ body, field string }{
		"unknown template": {`{"` + booked + `":"accept","NOPE":"accept"}`, "NOPE"},
		"unknown word":     {`{"` + booked + `":"yes"}`, booked},
		"not a string":     {`{"` + booked + `":1}`, "body"},
		"failed call":      {`{"` + booked + `":"accept","errMsg":"requestSubscribeMessage:fail"}`, "errMsg"},
		"no template":      {`{"errMsg":"requestSubscribeMessage:ok"}`, "body"},
		"array":            {`["accept"]`, "body"},
		"null":             {`null`, "body"},
		"two objects":      {`{} {}`, "body"},
	} {
		rec := serve(srv, "POST", "/api/v1/me/subscriptions", "tok-citizen", tc.body)
		var e struct {
			Error struct{ Code, Field string }
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != 400 || e.Error.Code != platform.CodeInvalid || e.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 400 on %s", name, rec.Code, rec.Body, tc.field)
		}
	}
	if c, err := svc.Credit(context.Background(), "u_sub", booked); err != nil || c.Count != 0 || len(c.Log) != 0 {
		t.Fatalf("bad results changed the credit: %+v, %v", c, err)
	}
	rec := serve(srv, "POST", "/api/v1/me/subscriptions", "tok-citizen", good)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `{"template_id":"`+booked+`","result":"accept","credits":1}`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if c, _ := svc.Credit(context.Background(), "u_sub", booked); c.Count != 1 || c.Log[0].At.After(time.Now()) {
		t.Fatalf("credit %+v", c)
	}
}
