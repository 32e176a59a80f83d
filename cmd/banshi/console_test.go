package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleLoginSharesTheLoginLimit: the console's login form counts
// against the same per-IP login limit as the API's logins
// (BANSHI_RATE_LOGIN, 300 a minute in the tests): past it, the form answers
// 429 with the API's Chinese message and no password is checked.
func TestConsoleLoginSharesTheLoginLimit(t *testing.T) {
	s := getStack(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ip := fmt.Sprintf("10.%d.%d.%d", rand.IntN(250), rand.IntN(250), rand.IntN(250)+1)
	get, err := client.Get(s.url + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(get.Body)
	get.Body.Close()
	csrfRe := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	m := csrfRe.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	csrf := string(m[1])
	post := func() (int, string) {
		// A name no account can have: refused without a password check.
		// Every answer of the form renews its double-submit token.
		form := url.Values{"csrf": {csrf}, "username": {"!!"}, "password": {"x"}}
		req, _ := http.NewRequest("POST", s.url+"/console/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", ip)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if m := csrfRe.FindSubmatch(b); m != nil {
			csrf = string(m[1])
		}
		return res.StatusCode, string(b)
	}
	// 300 a minute with a burst of 300: the limit refills 5 a second while
	// the attempts run, so the refusal comes a little after the 300th.
	refused := 0
	for i := range 400 {
		code, body := post()
		if code == http.StatusTooManyRequests {
			if i < 300 || !strings.Contains(body, `role="alert"`) {
				t.Fatalf("attempt %d refused:\n%s", i+1, body)
			}
			refused = i + 1
			break
		}
		if code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d\n%s", i+1, code, body)
		}
	}
	if refused == 0 {
		t.Fatal("400 console logins from one address, none refused")
	}
	// The API's login from that address is over the same limit.
	req, _ := http.NewRequest("POST", s.url+apiV1+"/staff/login", strings.NewReader(`{"username":"demo-staff","password":"x"}`))
	req.Header.Set("X-Forwarded-For", ip)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("API login from the same address: %d", res.StatusCode)
	}
}
