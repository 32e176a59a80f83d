package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// TestConsoleIntegrationInBrowser: an administrator registers a department
// system in the console and sees its secret once; the list, reloaded, never
// shows it; the secret signs hooks until the administrator disables the
// system, after which a hook signed with it is refused. axe-core finds no
// WCAG 2 A/AA violation on the list and the secret page.
func TestConsoleIntegrationInBrowser(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	id := "br-" + platformtest.RandomID()[:12]

	consoleLogin(t, tab, s, staff.DemoAdmin, `#h-admin`)
	if err := chromedp.Run(tab,
		chromedp.Click(`a[href="/console/admin/integrations"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#int_id`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the integrations page: %v", err)
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility of the list (axe-core):\n%s", strings.Join(v, "\n"))
	}
	var secret, page string
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#int_id`, id, chromedp.ByID),
		chromedp.SendKeys(`#int_name`, "浏览器测试审批系统", chromedp.ByID),
		chromedp.Click(`input[name="scopes"][value="applications"]`, chromedp.ByQuery),
		chromedp.Click(`#integration-create`, chromedp.ByID),
		chromedp.WaitVisible(`#secret`, chromedp.ByID),
		chromedp.Value(`#secret`, &secret, chromedp.ByID),
		chromedp.OuterHTML(`html`, &page, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("create the integration: %v", err)
	}
	if len(secret) != 64 || strings.Count(page, secret) != 1 {
		t.Fatalf("secret %q shown %d times", secret, strings.Count(page, secret))
	}
	if v := axeViolations(t, tab); len(v) > 0 {
		t.Fatalf("accessibility of the secret page (axe-core):\n%s", strings.Join(v, "\n"))
	}
	d := dept{ID: id, Secret: secret}
	// The secret is the integration's: a signed hook passes the signature
	// check (its body, not JSON, is what is refused).
	if a := s.hook(t, d, []byte("nope"), nil); a.Status != 400 || a.errCode() != "invalid_argument" {
		t.Fatalf("hook signed with the shown secret: %d %s", a.Status, a.errCode())
	}

	// Back to the list, and reloaded: the secret is nowhere.
	row := `#integration-` + id
	if err := chromedp.Run(tab,
		chromedp.Click(`#back-to-list`, chromedp.ByID),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Reload(),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.OuterHTML(`html`, &page, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("reload the list: %v", err)
	}
	if strings.Contains(page, secret) || !strings.Contains(page, "浏览器测试审批系统") {
		t.Fatalf("list after reload shows the secret %v", strings.Contains(page, secret))
	}

	// Disable it: the notice, the row says so, and its hooks are refused.
	var notice string
	if err := chromedp.Run(tab,
		chromedp.Click(row+` form[action$="/disable"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		chromedp.Text(`p.notice`, &notice, chromedp.ByQuery),
		chromedp.WaitVisible(row+` form[action$="/enable"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if !strings.Contains(notice, "已停用") || !strings.Contains(notice, id) {
		t.Fatalf("notice %q", notice)
	}
	if a := s.hook(t, d, []byte("nope"), nil); a.Status != 401 || a.errCode() != "signature_invalid" {
		t.Fatalf("hook of a disabled integration: %d %s", a.Status, a.errCode())
	}
	for _, action := range []string{"integrations.create", "integrations.disable"} {
		if n := s.countWhere(t, "staff_audit", bson.M{"action": action, "actor": staff.DemoAdmin, "target": id, "outcome": "ok"}); n != 1 {
			t.Fatalf("%d audit records of %s", n, action)
		}
	}
}
