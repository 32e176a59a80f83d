package console

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/staff"
)

// fakeAccounts keeps accounts in memory with the service's password and role
// rules; passwords are kept to check what was set.
type fakeAccounts struct {
	mu        sync.Mutex
	accounts  map[string]staff.Account
	passwords map[string]string
	revoked   map[string]int // sessions ended (SetPassword, SetDisabled(true))
	writes    int
}

var _ StaffAccounts = (*fakeAccounts)(nil)

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{
		accounts: map[string]staff.Account{
			"admin": {Username: "admin", DisplayName: "管理员", Role: staff.RoleAdmin, HallIDs: []string{}},
			"lisi":  {Username: "lisi", DisplayName: "李四", Role: staff.RoleHallStaff, HallIDs: []string{"h1"}},
		},
		passwords: map[string]string{}, revoked: map[string]int{},
	}
}

func (f *fakeAccounts) CreateAccount(_ context.Context, n staff.NewAccount) (staff.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	switch {
	case !platform.ValidStaffUsername(n.Username):
		return staff.Account{}, platform.Invalid("username", "format", "用户名应为 3 至 32 个小写字母、数字、点、下划线或连字符")
	case len(n.Password) < 8:
		return staff.Account{}, platform.Invalid("password", "length", "密码应为 8 至 72 个字节")
	case n.Role == staff.RoleHallStaff && len(n.HallIDs) == 0:
		return staff.Account{}, platform.Invalid("hall_ids", "range", "大厅工作人员账号须指定 1 至 50 个大厅")
	}
	if _, ok := f.accounts[n.Username]; ok {
		return staff.Account{}, staff.ErrExists
	}
	a := staff.Account{Username: n.Username, DisplayName: n.DisplayName, Role: n.Role, HallIDs: n.HallIDs}
	f.accounts[a.Username], f.passwords[a.Username] = a, n.Password
	f.writes++
	return a, nil
}

func (f *fakeAccounts) ListAccounts(context.Context) ([]staff.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sorted(f.accounts, func(staff.Account) bool { return true }), nil
}

func (f *fakeAccounts) SetPassword(_ context.Context, username, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(password) < 8 {
		return platform.Invalid("password", "length", "密码应为 8 至 72 个字节")
	}
	if _, ok := f.accounts[username]; !ok {
		return staff.ErrNotFound
	}
	f.passwords[username] = password
	f.revoked[username]++
	f.writes++
	return nil
}

func (f *fakeAccounts) SetDisabled(_ context.Context, username string, disabled bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[username]
	if !ok {
		return staff.ErrNotFound
	}
	a.Disabled = disabled
	f.accounts[username] = a
	if disabled {
		f.revoked[username]++
	}
	f.writes++
	return nil
}

func (f *fakeAccounts) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// staffFixture is the console with the fake accounts, logging into logs.
func staffFixture(t *testing.T, logs *bytes.Buffer) (*fixture, *fakeAccounts) {
	t.Helper()
	f := newFixture(t, false)
	accts := newFakeAccounts()
	c, err := New(Deps{Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Auth: f.auth, Desk: f.desk,
		Accounts: accts, Secret: []byte("0123456789abcdef0123456789abcdef"), Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.c, f.h = c, c.Handler()
	return f, accts
}

// TestConsoleStaffAccounts: administrators list, create, disable, enable
// and reset passwords, each audited with its staff.account.* action; the
// page is 403 to others; a password is never rendered nor logged.
func TestConsoleStaffAccounts(t *testing.T) {
	var logs bytes.Buffer
	f, accts := staffFixture(t, &logs)
	for _, tok := range []string{tokStaff, tokFinance} {
		if rec := f.do(http.MethodGet, "/console/admin/staff", tok, nil); rec.Code != http.StatusForbidden {
			t.Fatalf("%s: %d", tok, rec.Code)
		}
		if rec := f.do(http.MethodPost, "/console/admin/staff/lisi/disable", tok, withCSRF(f, tok, url.Values{})); rec.Code != http.StatusForbidden {
			t.Fatalf("%s disable: %d", tok, rec.Code)
		}
	}
	rec := f.do(http.MethodGet, "/console/admin/staff", tokAdmin, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "李四") || !strings.Contains(rec.Body.String(), `id="disable-lisi"`) ||
		strings.Contains(rec.Body.String(), `id="disable-admin"`) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body.String())
	}
	const pw, pw2 = "Secret-Initial-42", "Secret-Reset-77"
	steps := []struct {
		action, path string
		form         url.Values
		shows        string
	}{
		{actionAccountCreate, "/console/admin/staff", url.Values{"username": {"Wangwu"}, "display_name": {"王五"}, "role": {staff.RoleHallStaff},
			"hall_ids": {"h1, h2"}, "password": {pw}}, "王五"},
		{actionAccountDisable, "/console/admin/staff/wangwu/disable", url.Values{}, `id="enable-wangwu"`},
		{actionAccountEnable, "/console/admin/staff/wangwu/enable", url.Values{}, `id="disable-wangwu"`},
		{actionAccountPassword, "/console/admin/staff/password", url.Values{"username": {"wangwu"}, "password": {pw2}}, "已重置 wangwu 的密码"},
	}
	for i, st := range steps {
		rec := f.do(http.MethodPost, st.path, tokAdmin, withCSRF(f, tokAdmin, st.form))
		if rec.Code != http.StatusSeeOther || accts.count() != i+1 {
			t.Fatalf("%s: %d, %d writes %s", st.action, rec.Code, accts.count(), rec.Body.String())
		}
		a := f.auth.audited()
		if last := a[len(a)-1]; last.Action != st.action || last.Target != "wangwu" || last.Outcome != "ok" {
			t.Fatalf("%s audited %+v", st.action, last)
		}
		page := f.do(http.MethodGet, rec.Header().Get("Location"), tokAdmin, nil).Body.String()
		if !strings.Contains(page, st.shows) || strings.Contains(page, pw) || strings.Contains(page, pw2) {
			t.Fatalf("%s: page lacks %q or shows a password:\n%s", st.action, st.shows, page)
		}
	}
	w := accts.accounts["wangwu"]
	if w.Role != staff.RoleHallStaff || !slices.Equal(w.HallIDs, []string{"h1", "h2"}) || w.Disabled || accts.passwords["wangwu"] != pw2 {
		t.Fatalf("account: %+v", w)
	}
	if accts.revoked["wangwu"] != 2 {
		t.Fatalf("sessions ended %d times, want 2 (disable, password)", accts.revoked["wangwu"])
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), pw2) {
		t.Fatalf("a password was logged:\n%s", logs.String())
	}
}

// TestConsoleStaffAccountsRefused: bad input, a taken username, an admin
// disabling themselves and a CSRF-less post answer 4xx, show the message
// next to the field (typed values kept, the password not) and change
// nothing.
func TestConsoleStaffAccountsRefused(t *testing.T) {
	var logs bytes.Buffer
	f, accts := staffFixture(t, &logs)
	const pw = "Typed-Password-99"
	for _, tc := range []struct {
		name, path string
		form       url.Values
		csrf       bool
		code       int
		errID, msg string
		kept       string
	}{
		{"short password", "/console/admin/staff", url.Values{"username": {"zhaoliu"}, "display_name": {"赵六"}, "role": {staff.RoleFinance}, "password": {"short"}},
			true, 400, "new-password-error", "密码应为 8 至 72 个字节", `value="赵六"`},
		{"bad username", "/console/admin/staff", url.Values{"username": {"赵"}, "role": {staff.RoleFinance}, "password": {pw}},
			true, 400, "new-username-error", "用户名应为", `value="赵"`},
		{"hall staff without halls", "/console/admin/staff", url.Values{"username": {"zhaoliu"}, "role": {staff.RoleHallStaff}, "password": {pw}},
			true, 400, "new-halls-error", "须指定", `value="zhaoliu"`},
		{"taken username", "/console/admin/staff", url.Values{"username": {"lisi"}, "role": {staff.RoleFinance}, "password": {pw}},
			true, 409, "new-username-error", "该账号已存在", `value="lisi"`},
		{"reset short password", "/console/admin/staff/password", url.Values{"username": {"lisi"}, "password": {"short"}},
			true, 400, "reset-password-error", "密码应为", `value="lisi" selected`},
		{"reset unknown account", "/console/admin/staff/password", url.Values{"username": {"nobody"}, "password": {pw}},
			true, 404, "reset-username-error", "该账号不存在", ""},
		{"disable self", "/console/admin/staff/admin/disable", url.Values{}, true, 400, "staff-error", "不能停用自己", ""},
		{"disable unknown", "/console/admin/staff/nobody/disable", url.Values{}, true, 404, "staff-error", "该账号不存在", ""},
		{"no CSRF token", "/console/admin/staff/lisi/disable", url.Values{}, false, 403, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form
			if tc.csrf {
				form = withCSRF(f, tokAdmin, form)
			}
			rec := f.do(http.MethodPost, tc.path, tokAdmin, form)
			body := rec.Body.String()
			if rec.Code != tc.code || (tc.errID != "" && !strings.Contains(body, `id="`+tc.errID+`"`)) ||
				!strings.Contains(body, tc.msg) || !strings.Contains(body, tc.kept) {
				t.Fatalf("%d (want %d), want #%s with %q and %q kept:\n%s", rec.Code, tc.code, tc.errID, tc.msg, tc.kept, body)
			}
			if strings.Contains(body, pw) {
				t.Fatal("the typed password is rendered")
			}
			if accts.count() != 0 {
				t.Fatalf("%d writes", accts.count())
			}
		})
	}
	if a := accts.accounts["admin"]; a.Disabled || len(accts.accounts) != 2 || len(accts.revoked) != 0 {
		t.Fatalf("accounts changed: %+v", accts.accounts)
	}
	if strings.Contains(logs.String(), pw) {
		t.Fatal("a password was logged")
	}
}
