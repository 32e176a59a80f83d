package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/internal/staff"
)

// fakeRegistry keeps integrations and their secrets in memory, with the
// registry's checks on what Create is given.
type fakeRegistry struct {
	mu      sync.Mutex
	list    map[string]integrations.Integration
	secrets map[string]string
}

var _ Integrations = (*fakeRegistry)(nil)

func newFakeRegistry() *fakeRegistry {
	return &fakeRegistry{list: map[string]integrations.Integration{}, secrets: map[string]string{}}
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *fakeRegistry) Create(_ context.Context, n integrations.New) (integrations.WithSecret, error) {
	if !platform.ValidCatalogID(n.ID) {
		return integrations.WithSecret{}, platform.Invalid("id", "format", "编号应为 1 至 48 个小写字母、数字或连字符")
	}
	if strings.TrimSpace(n.Name) == "" {
		return integrations.WithSecret{}, platform.Invalid("name", "length", "名称为 1 至 100 个字")
	}
	if len(n.Scopes) == 0 {
		return integrations.WithSecret{}, platform.Invalid("scopes", "required", "至少授予一个权限范围")
	}
	for i, s := range n.Scopes {
		if !slices.Contains(integrations.AllScopes(), s) {
			return integrations.WithSecret{}, platform.Invalid("scopes["+string(rune('0'+i))+"]", "enum", "权限范围应为 applications、bills 或 licences")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.list[n.ID]; ok {
		return integrations.WithSecret{}, integrations.ErrExists
	}
	now := time.Now()
	i := integrations.Integration{ID: n.ID, Name: n.Name, Scopes: n.Scopes, CallbackURL: n.CallbackURL, CreatedAt: now, UpdatedAt: now}
	r.list[n.ID], r.secrets[n.ID] = i, randomSecret()
	return integrations.WithSecret{Integration: i, Secret: r.secrets[n.ID]}, nil
}

func (r *fakeRegistry) List(context.Context) ([]integrations.Integration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []integrations.Integration
	for _, i := range r.list {
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b integrations.Integration) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (r *fakeRegistry) Rotate(_ context.Context, id string) (integrations.WithSecret, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.list[id]
	if !ok {
		return integrations.WithSecret{}, integrations.ErrNotFound
	}
	now := time.Now()
	until := now.Add(integrations.RotationOverlap)
	i.RotatedAt, i.PreviousValidUntil = &now, &until
	r.list[id], r.secrets[id] = i, randomSecret()
	return integrations.WithSecret{Integration: i, Secret: r.secrets[id]}, nil
}

func (r *fakeRegistry) SetDisabled(_ context.Context, id string, disabled bool) (integrations.Integration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.list[id]
	if !ok {
		return integrations.Integration{}, integrations.ErrNotFound
	}
	i.Disabled = disabled
	r.list[id] = i
	return i, nil
}

// snapshot is the registry's state, to prove a refused request changed
// nothing.
func (r *fakeRegistry) snapshot() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	ids := make([]string, 0, len(r.list))
	for id := range r.list {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		i := r.list[id]
		b.WriteString(id + "|" + i.Name + "|" + strings.Join(i.Scopes, ",") + "|" + r.secrets[id])
		if i.Disabled {
			b.WriteString("|disabled")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// withOps rebuilds f's console with the operations pages of d, logging to
// log (nil: discarded).
func withOps(t *testing.T, f *fixture, log *slog.Logger, d Deps) {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d.Log, d.Auth, d.Desk = log, f.auth, f.desk
	d.Secret, d.Heartbeat = []byte("0123456789abcdef0123456789abcdef"), time.Second
	c, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	f.c, f.h = c, c.Handler()
}

// lastAudit is the newest audit entry of action.
func lastAudit(t *testing.T, f *fixture, action string) staff.Entry {
	t.Helper()
	a := f.auth.audited()
	for i := len(a) - 1; i >= 0; i-- {
		if a[i].Action == action {
			return a[i]
		}
	}
	t.Fatalf("no audit entry %s in %+v", action, a)
	return staff.Entry{}
}

// TestConsoleAdminPagesAdminOnly: every operations page answers 200 to an
// administrator and the 403 page to hall staff and finance, the refusal
// audited under the API's action name.
func TestConsoleAdminPagesAdminOnly(t *testing.T) {
	f := newFixture(t, false)
	withOps(t, f, nil, Deps{Integrations: newFakeRegistry(), Outbox: newFakeOutbox(), AuditLog: &fakeAuditLog{},
		EvaluationStats: fakeStats{}})
	for _, tc := range []struct{ path, action, marker string }{
		{"/console/admin/integrations", actionIntegrationsList, `id="integration-form"`},
		{"/console/admin/outbox", actionOutboxList, `id="outbox-filter"`},
		{"/console/admin/audit", actionAuditList, `id="audit-filter"`},
		{"/console/admin/evaluations", actionEvaluationStats, `id="stats-table"`},
	} {
		if rec := f.do(http.MethodGet, tc.path, tokAdmin, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tc.marker) {
			t.Fatalf("%s admin: %d %s", tc.path, rec.Code, rec.Body.String())
		}
		if e := lastAudit(t, f, tc.action); e.Actor != "admin" || e.Outcome != "ok" {
			t.Fatalf("%s: audit %+v", tc.path, e)
		}
		for _, tok := range []string{tokStaff, tokFinance} {
			rec := f.do(http.MethodGet, tc.path, tok, nil)
			if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), tc.marker) {
				t.Fatalf("%s as %s: %d", tc.path, tok, rec.Code)
			}
			if e := lastAudit(t, f, tc.action); e.Actor == "admin" || e.Outcome != "forbidden" {
				t.Fatalf("%s as %s: refusal audit %+v", tc.path, tok, e)
			}
		}
		if rec := f.do(http.MethodGet, tc.path, "", nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("%s without a session: %d", tc.path, rec.Code)
		}
	}
	// The home page links them for administrators.
	home := f.do(http.MethodGet, "/console/", tokAdmin, nil).Body.String()
	for _, p := range []string{"/console/admin/integrations", "/console/admin/outbox", "/console/admin/audit", "/console/admin/evaluations"} {
		if !strings.Contains(home, `href="`+p+`"`) {
			t.Fatalf("home page does not link %s", p)
		}
	}
	// Unwired, the pages are not there.
	g := newFixture(t, false)
	if rec := g.do(http.MethodGet, "/console/admin/integrations", tokAdmin, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("unwired integrations page: %d", rec.Code)
	}
}

// TestConsoleIntegrationSecretShownOnce: the secret of a new integration is
// on its answer page exactly once (no-store), never on the list, in the log
// output or the audit log; a rotation shows a different secret once with
// the overlap the registry gives, and neither secret is listed afterwards.
func TestConsoleIntegrationSecretShownOnce(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, false)
	reg := newFakeRegistry()
	withOps(t, f, log, Deps{Integrations: reg})

	form := url.Values{"id": {"dept-hr"}, "name": {"人社审批系统"}, "scopes": {"applications", "bills"}, "callback_url": {"https://hr.example.gov.cn/cb"}}
	rec := f.do(http.MethodPost, "/console/admin/integrations", tokAdmin, withCSRF(f, tokAdmin, form))
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	secret := reg.secrets["dept-hr"]
	if len(secret) != 64 || strings.Count(rec.Body.String(), secret) != 1 {
		t.Fatalf("create answer shows the secret %d times:\n%s", strings.Count(rec.Body.String(), secret), rec.Body.String())
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("secret page Cache-Control %q", cc)
	}
	if e := lastAudit(t, f, actionIntegrationsCreate); e.Target != "dept-hr" || e.Outcome != "ok" {
		t.Fatalf("create audit %+v", e)
	}
	list := f.do(http.MethodGet, "/console/admin/integrations", tokAdmin, nil)
	if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), "人社审批系统") || strings.Contains(list.Body.String(), secret) {
		t.Fatalf("list: %d, secret listed %v", list.Code, strings.Contains(list.Body.String(), secret))
	}

	rec = f.do(http.MethodPost, "/console/admin/integrations/dept-hr/rotate", tokAdmin, withCSRF(f, tokAdmin, url.Values{}))
	rotated := reg.secrets["dept-hr"]
	body := rec.Body.String()
	if rec.Code != http.StatusOK || rotated == secret || strings.Count(body, rotated) != 1 || strings.Contains(body, secret) ||
		!strings.Contains(body, `id="overlap"`) || !strings.Contains(body, "24 小时") {
		t.Fatalf("rotate: %d, new secret differs %v:\n%s", rec.Code, rotated != secret, body)
	}
	if e := lastAudit(t, f, actionIntegrationsRotate); e.Target != "dept-hr" || e.Outcome != "ok" {
		t.Fatalf("rotate audit %+v", e)
	}
	list = f.do(http.MethodGet, "/console/admin/integrations", tokAdmin, nil)
	if strings.Contains(list.Body.String(), secret) || strings.Contains(list.Body.String(), rotated) {
		t.Fatal("a secret is on the list after rotation")
	}
	for _, s := range []string{secret, rotated} {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("a secret is in the log output:\n%s", logs.String())
		}
		for _, e := range f.auth.audited() {
			if strings.Contains(e.Target+e.Detail, s) {
				t.Fatalf("a secret is in the audit log: %+v", e)
			}
		}
	}
}

// TestConsoleIntegrationRefusals: a bad form answers 4xx with the message
// next to its field and the typed values kept; a post without the CSRF
// token, or by hall staff, is refused; none of them changes the registry.
func TestConsoleIntegrationRefusals(t *testing.T) {
	f := newFixture(t, false)
	reg := newFakeRegistry()
	withOps(t, f, nil, Deps{Integrations: reg})
	if rec := f.do(http.MethodPost, "/console/admin/integrations", tokAdmin,
		withCSRF(f, tokAdmin, url.Values{"id": {"dept-a"}, "name": {"甲"}, "scopes": {"bills"}})); rec.Code != http.StatusCreated {
		t.Fatalf("setup: %d", rec.Code)
	}
	good := url.Values{"id": {"dept-b"}, "name": {"乙系统"}, "scopes": {"licences"}}
	for _, tc := range []struct {
		name, token, method, path string
		form                      url.Values
		code                      int
		field, kept               string // the field marked invalid and a typed value kept
	}{
		{"bad id", tokAdmin, http.MethodPost, "/console/admin/integrations",
			withCSRF(f, tokAdmin, url.Values{"id": {"Dept B!"}, "name": {"乙系统"}, "scopes": {"licences"}}), http.StatusBadRequest, `id="int_id"`, `value="乙系统"`},
		{"no scope", tokAdmin, http.MethodPost, "/console/admin/integrations",
			withCSRF(f, tokAdmin, url.Values{"id": {"dept-b"}, "name": {"乙系统"}}), http.StatusBadRequest, `<fieldset aria-invalid="true"`, `value="dept-b"`},
		{"unknown scope", tokAdmin, http.MethodPost, "/console/admin/integrations",
			withCSRF(f, tokAdmin, url.Values{"id": {"dept-b"}, "name": {"乙系统"}, "scopes": {"payroll"}}), http.StatusBadRequest, `<fieldset aria-invalid="true"`, `value="dept-b"`},
		{"existing id", tokAdmin, http.MethodPost, "/console/admin/integrations",
			withCSRF(f, tokAdmin, url.Values{"id": {"dept-a"}, "name": {"重复"}, "scopes": {"bills"}}), http.StatusConflict, "", `value="重复"`},
		{"no CSRF token", tokAdmin, http.MethodPost, "/console/admin/integrations", good, http.StatusForbidden, "", ""},
		{"hall staff", tokStaff, http.MethodPost, "/console/admin/integrations", withCSRF(f, tokStaff, good), http.StatusForbidden, "", ""},
		{"rotate without CSRF", tokAdmin, http.MethodPost, "/console/admin/integrations/dept-a/rotate", url.Values{}, http.StatusForbidden, "", ""},
		{"disable without CSRF", tokAdmin, http.MethodPost, "/console/admin/integrations/dept-a/disable", url.Values{}, http.StatusForbidden, "", ""},
		{"disable by hall staff", tokStaff, http.MethodPost, "/console/admin/integrations/dept-a/disable", withCSRF(f, tokStaff, url.Values{}), http.StatusForbidden, "", ""},
		{"rotate unknown", tokAdmin, http.MethodPost, "/console/admin/integrations/nope/rotate", withCSRF(f, tokAdmin, url.Values{}), http.StatusNotFound, "", ""},
		{"disable unknown", tokAdmin, http.MethodPost, "/console/admin/integrations/nope/disable", withCSRF(f, tokAdmin, url.Values{}), http.StatusNotFound, "", ""},
	} {
		before := reg.snapshot()
		rec := f.do(tc.method, tc.path, tc.token, tc.form)
		body := rec.Body.String()
		if rec.Code != tc.code || reg.snapshot() != before {
			t.Fatalf("%s: %d (want %d), registry changed %v\n%s", tc.name, rec.Code, tc.code, reg.snapshot() != before, body)
		}
		if tc.code == http.StatusBadRequest || tc.code == http.StatusConflict {
			if !strings.Contains(body, `id="integration-error"`) || !strings.Contains(body, tc.kept) {
				t.Fatalf("%s: message or typed value missing:\n%s", tc.name, body)
			}
			if tc.field != "" && !strings.Contains(body, tc.field) {
				t.Fatalf("%s: field %s not shown", tc.name, tc.field)
			}
			if tc.field == `id="int_id"` && !strings.Contains(body, `value="licences" checked`) {
				t.Fatalf("%s: the ticked scope is not kept:\n%s", tc.name, body)
			}
			if tc.field == `id="int_id"` && !strings.Contains(body, `value="Dept B!" aria-invalid="true"`) {
				t.Fatalf("%s: the id field is not marked invalid:\n%s", tc.name, body)
			}
		}
		if tc.code == http.StatusNotFound && !strings.Contains(body, `id="row-error"`) {
			t.Fatalf("%s: no message:\n%s", tc.name, body)
		}
	}
	if e := lastAudit(t, f, actionIntegrationsDisable); e.Outcome != "not_found" || e.Target != "nope" {
		t.Fatalf("refused disable audit %+v", e)
	}
}

// TestConsoleIntegrationDisableEnable: disabling and enabling go back to
// the list with a notice and the state shown, audited as the API's.
func TestConsoleIntegrationDisableEnable(t *testing.T) {
	f := newFixture(t, false)
	reg := newFakeRegistry()
	withOps(t, f, nil, Deps{Integrations: reg})
	f.do(http.MethodPost, "/console/admin/integrations", tokAdmin, withCSRF(f, tokAdmin, url.Values{"id": {"dept-a"}, "name": {"甲系统"}, "scopes": {"bills"}}))
	rec := f.do(http.MethodPost, "/console/admin/integrations/dept-a/disable", tokAdmin, withCSRF(f, tokAdmin, url.Values{}))
	if rec.Code != http.StatusSeeOther || !reg.list["dept-a"].Disabled {
		t.Fatalf("disable: %d, disabled %v", rec.Code, reg.list["dept-a"].Disabled)
	}
	page := f.do(http.MethodGet, rec.Header().Get("Location"), tokAdmin, nil).Body.String()
	if !strings.Contains(page, "已停用 甲系统") || !strings.Contains(page, `action="/console/admin/integrations/dept-a/enable"`) {
		t.Fatalf("after disable:\n%s", page)
	}
	if e := lastAudit(t, f, actionIntegrationsDisable); e.Target != "dept-a" || e.Outcome != "ok" {
		t.Fatalf("disable audit %+v", e)
	}
	rec = f.do(http.MethodPost, "/console/admin/integrations/dept-a/enable", tokAdmin, withCSRF(f, tokAdmin, url.Values{}))
	if rec.Code != http.StatusSeeOther || reg.list["dept-a"].Disabled {
		t.Fatalf("enable: %d", rec.Code)
	}
	if e := lastAudit(t, f, actionIntegrationsEnable); e.Target != "dept-a" || e.Outcome != "ok" {
		t.Fatalf("enable audit %+v", e)
	}
}
