package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"banshi/internal/staff"
)

const (
	// sessionCookie holds the staff bearer token.
	sessionCookie = "banshi_console"
	// loginCSRFCookie is the login form's double-submit token.
	loginCSRFCookie = "banshi_console_csrf"
	cookiePath      = "/console/"

	ctxAccount = "banshi.console.account"
	ctxToken   = "banshi.console.token"

	msgCSRF = "请求已失效，请刷新页面后重试"
)

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode,
	}
}

// csrfFor is the CSRF token of the session token: HMAC-SHA256, hex.
func (c *Console) csrfFor(token string) string { return csrfUnder(c.csrfKey, token) }

// csrfUnder is the CSRF token of a session token under key.
func csrfUnder(key []byte, token string) string {
	if token == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// csrfValid tells whether got is the CSRF token of the session token: under
// the current key or, during a session secret rotation, the previous one (a
// form rendered before the rotation).
func (c *Console) csrfValid(got, token string) bool {
	if sameToken(got, c.csrfFor(token)) {
		return true
	}
	return len(c.csrfPrevKey) > 0 && sameToken(got, csrfUnder(c.csrfPrevKey, token))
}

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && b != "" && hmac.Equal([]byte(a), []byte(b))
}

func tokenOf(ec echo.Context) string {
	if t, _ := ec.Get(ctxToken).(string); t != "" {
		return t
	}
	if ck, err := ec.Cookie(sessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

func accountOf(ec echo.Context) staff.Account {
	a, _ := ec.Get(ctxAccount).(staff.Account)
	return a
}

// safeNext is next when it is a console path, else the console home (no
// open redirect).
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.Contains(next, "..") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/console/"
}

// toLogin sends the browser to the login page, keeping where it was going.
// htmx requests get HX-Redirect so the whole page goes, not a fragment.
func (c *Console) toLogin(ec echo.Context) error {
	next := ec.Request().URL.RequestURI()
	if ec.Request().Method != http.MethodGet {
		next = ec.Request().Referer()
		if u, err := url.Parse(next); err == nil {
			next = u.RequestURI()
		}
	}
	if ec.Request().Header.Get("HX-Request") == "true" {
		next = ec.Request().Header.Get("HX-Current-URL")
		if u, err := url.Parse(next); err == nil {
			next = u.RequestURI()
		}
	}
	loc := "/console/login?next=" + url.QueryEscape(safeNext(next))
	if ec.Request().Header.Get("HX-Request") == "true" {
		ec.Response().Header().Set("HX-Redirect", loc)
		return ec.NoContent(http.StatusUnauthorized)
	}
	return ec.Redirect(http.StatusSeeOther, loc)
}

// authenticate resolves the session cookie (extending the staff session's
// idle expiry); false when the browser was answered.
func (c *Console) authenticate(ec echo.Context) (bool, error) {
	return c.resolve(ec, c.auth.Authenticate)
}

// resolve resolves the session cookie with how (extending the session or
// not); false when the browser was answered.
func (c *Console) resolve(ec echo.Context, how func(context.Context, string) (staff.Account, error)) (bool, error) {
	token := tokenOf(ec)
	if token == "" {
		return false, c.toLogin(ec)
	}
	acct, err := how(ec.Request().Context(), token)
	if errors.Is(err, staff.ErrUnauthenticated) {
		ec.SetCookie(c.cookie(sessionCookie, "", -1))
		return false, c.toLogin(ec)
	}
	if err != nil {
		return false, c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	ec.Set(ctxAccount, acct)
	ec.Set(ctxToken, token)
	return true, nil
}

// requireSession lets a GET through with a live staff session.
func (c *Console) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		ok, err := c.authenticate(ec)
		if !ok {
			return err
		}
		return next(ec)
	}
}

// requireQuietSession lets through a request the page makes by itself (the
// list's periodic refresh) with a live session, without extending it: an
// unattended console's session ends at its idle expiry, and the next
// refresh sends the browser to the login page.
func (c *Console) requireQuietSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		ok, err := c.resolve(ec, c.auth.Check)
		if !ok {
			return err
		}
		return next(ec)
	}
}

// requirePost checks the CSRF token of a form POST before anything else is
// done (the session is not even read), then the session.
func (c *Console) requirePost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		token := tokenOf(ec)
		if token == "" {
			return c.toLogin(ec)
		}
		if !c.csrfValid(ec.FormValue("csrf"), token) {
			return c.errorPage(ec, http.StatusForbidden, msgCSRF)
		}
		ok, err := c.authenticate(ec)
		if !ok {
			return err
		}
		return next(ec)
	}
}

type loginData struct {
	Username string
	Next     string
	Error    string
}

func (c *Console) loginPage(ec echo.Context) error {
	return c.showLogin(ec, http.StatusOK, loginData{Next: safeNext(ec.QueryParam("next"))})
}

// showLogin renders the login form with a fresh double-submit token.
func (c *Console) showLogin(ec echo.Context, status int, d loginData) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	tok := hex.EncodeToString(b)
	ec.SetCookie(c.cookie(loginCSRFCookie, tok, 3600))
	return c.render(ec, status, "login", view{Title: "工作人员登录", CSRF: tok, Data: d})
}

func (c *Console) login(ec echo.Context) error {
	d := loginData{Username: strings.TrimSpace(ec.FormValue("username")), Next: safeNext(ec.FormValue("next"))}
	ck, err := ec.Cookie(loginCSRFCookie)
	if err != nil || !sameToken(ec.FormValue("csrf"), ck.Value) {
		return c.errorPage(ec, http.StatusForbidden, msgCSRF)
	}
	password := ec.FormValue("password")
	if d.Username == "" || password == "" {
		d.Error = "请输入用户名和密码"
		return c.showLogin(ec, http.StatusBadRequest, d)
	}
	if c.loginLimit != nil {
		if err := c.loginLimit(ec); err != nil {
			d.Error = c.messageOf(ec, err)
			return c.showLogin(ec, statusOf(err), d)
		}
	}
	sess, err := c.auth.Login(ec.Request().Context(), d.Username, password, ec.RealIP())
	if err != nil {
		d.Error = c.messageOf(ec, err)
		return c.showLogin(ec, statusOf(err), d)
	}
	ec.SetCookie(c.cookie(loginCSRFCookie, "", -1))
	ec.SetCookie(c.cookie(sessionCookie, sess.Token, 0))
	return ec.Redirect(http.StatusSeeOther, d.Next)
}

func (c *Console) logout(ec echo.Context) error {
	if err := c.auth.Logout(ec.Request().Context(), tokenOf(ec), ec.RealIP()); err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	ec.SetCookie(c.cookie(sessionCookie, "", -1))
	return ec.Redirect(http.StatusSeeOther, "/console/login")
}
