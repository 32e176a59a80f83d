package main

import (
	"context"

	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"banshi/appointments"
	"banshi/internal/staff"
)

// TestConsoleExpiredSessionKeepsTheTypedForm: hall staff type a check-in
// code, their session ends (logged out elsewhere) before they press 签到;
// the console sends them to the login page, and after logging in they are
// back on the same page with the code still typed (not submitted: they
// check it and send it again). Nothing was checked in meanwhile.
func TestConsoleExpiredSessionKeepsTheTypedForm(t *testing.T) {
	tab := browserTab(t)
	s := getStack(t)
	hall := appointments.DemoHallTianhe
	consoleLogin(t, tab, s, staff.DemoStaff, `h-halls`)
	const typed = "Z9Z9"
	if err := chromedp.Run(tab,
		chromedp.Navigate(s.url+"/console/halls/"+hall+"/today"),
		chromedp.WaitVisible(`#code`, chromedp.ByID),
		chromedp.SendKeys(`#code`, typed, chromedp.ByID),
	); err != nil {
		t.Fatalf("type the code: %v", err)
	}
	var cookies []*network.Cookie
	if err := chromedp.Run(tab, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{s.url + "/console/"}).Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	token := ""
	for _, c := range cookies {
		if c.Name == "banshi_console" {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("no console session cookie")
	}
	s.must(t, 204, s.call(t, "POST", apiV1+"/staff/logout", token, nil))

	var value, path string
	if err := chromedp.Run(tab,
		chromedp.Click(`#checkin-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#username`, chromedp.ByID),
		chromedp.SendKeys(`#username`, staff.DemoStaff, chromedp.ByID),
		chromedp.SendKeys(`#password`, staff.DemoPassword, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`#code`, chromedp.ByID),
		chromedp.Value(`#code`, &value, chromedp.ByID),
		chromedp.Evaluate(`window.location.pathname`, &path),
	); err != nil {
		saveScreenshot(t, tab, "relogin")
		t.Fatalf("submit with the session gone, log in again: %v", err)
	}
	if path != "/console/halls/"+hall+"/today" || value != typed {
		saveScreenshot(t, tab, "relogin")
		t.Fatalf("back at %q with the code %q, want the today page with %q", path, value, typed)
	}
	// Reloading forgets it: it was kept for the way back from the login only.
	if err := chromedp.Run(tab,
		chromedp.Reload(),
		chromedp.WaitVisible(`#code`, chromedp.ByID),
		chromedp.Value(`#code`, &value, chromedp.ByID),
	); err != nil || value != "" {
		t.Fatalf("after a reload the code is %q (%v)", value, err)
	}
}
