package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform"
	"banshi/internal/staff"
)

// StaffAccounts is what administrators do with staff accounts
// (staff.Service): SetPassword and SetDisabled(true) end every session of
// the account themselves.
type StaffAccounts interface {
	CreateAccount(ctx context.Context, n staff.NewAccount) (staff.Account, error)
	ListAccounts(ctx context.Context) ([]staff.Account, error)
	SetPassword(ctx context.Context, username, password string) error
	SetDisabled(ctx context.Context, username string, disabled bool) error
}

var _ StaffAccounts = (*staff.Service)(nil)

// Audit actions of staff accounts. The API has no routes for them yet; these
// are the names it is to use.
const (
	actionAccountCreate   = "staff.account.create"
	actionAccountDisable  = "staff.account.disable"
	actionAccountEnable   = "staff.account.enable"
	actionAccountPassword = "staff.account.password"
)

// errDisableSelf: an administrator cannot lock themselves out.
var errDisableSelf = platform.Invalid("username", "self", "不能停用自己正在使用的账号")

// staffRoutes adds the staff-account page (when accounts are wired); its
// handlers let administrators only.
func (c *Console) staffRoutes(g *echo.Group) {
	if c.accounts == nil {
		return
	}
	g.GET("/admin/staff", c.staffPage, c.requireSession)
	g.POST("/admin/staff", c.createAccount, c.requirePost)
	g.POST("/admin/staff/password", c.resetPassword, c.requirePost)
	g.POST("/admin/staff/:username/disable", c.setDisabled(true), c.requirePost)
	g.POST("/admin/staff/:username/enable", c.setDisabled(false), c.requirePost)
}

// staffData is the staff-account page. Typed passwords are never shown
// again.
type staffData struct {
	Accounts []staff.Account
	Roles    []string
	Self     string
	Notice   string
	Error    string // about a row's action (disable, enable)
	// The create form's values and errors by field.
	New       staff.NewAccount
	HallIDs   string
	NewErrors map[string]string
	// The password form's account and error by field.
	ResetUser   string
	ResetErrors map[string]string
	Halls       string // the halls' IDs, as a hint
}

func (c *Console) staffPage(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	return c.showStaff(ec, http.StatusOK, staffData{Notice: ec.QueryParam("notice"), New: staff.NewAccount{Role: staff.RoleHallStaff}})
}

func (c *Console) showStaff(ec echo.Context, status int, d staffData) error {
	a := accountOf(ec)
	ctx := ec.Request().Context()
	list, err := c.accounts.ListAccounts(ctx)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	d.Accounts, d.Self = list, a.Username
	d.Roles = []string{staff.RoleHallStaff, staff.RoleFinance, staff.RoleAdmin}
	if c.catalog != nil {
		if halls, err := c.catalog.ListHalls(ctx); err == nil {
			ids := make([]string, len(halls))
			for i, h := range halls {
				ids[i] = h.ID
			}
			d.Halls = strings.Join(ids, "、")
		}
	}
	return c.render(ec, status, "admin_staff", view{Title: "工作人员账号", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

func staffURL(notice string) string {
	return "/console/admin/staff?notice=" + url.QueryEscape(notice)
}

// fieldError is the message of err by the field it names (other errors
// under "form").
func (c *Console) fieldError(ec echo.Context, err error) map[string]string {
	field := "form"
	if e, ok := platform.AsError(err); ok && e.Field != "" {
		field = e.Field
	} else if ok && e.Code == staff.ErrExists.Code {
		field = "username"
	}
	return map[string]string{field: c.messageOf(ec, err)}
}

// splitHalls reads hall IDs separated by commas, 、 or spaces.
func splitHalls(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == ' ' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// createAccount adds an account with its initial password.
func (c *Console) createAccount(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	n := staff.NewAccount{Username: ec.FormValue("username"), Password: ec.FormValue("password"),
		DisplayName: strings.TrimSpace(ec.FormValue("display_name")), Role: ec.FormValue("role"),
		HallIDs: splitHalls(ec.FormValue("hall_ids"))}
	acct, err := c.accounts.CreateAccount(ec.Request().Context(), n)
	target := acct.Username
	if target == "" {
		target = strings.ToLower(strings.TrimSpace(n.Username))
	}
	_ = c.audit(ec, actionAccountCreate, target, "", err)
	if err == nil {
		return ec.Redirect(http.StatusSeeOther, staffURL("已创建账号 "+acct.Username))
	}
	n.Password = "" // never shown again
	return c.showStaff(ec, statusOf(err), staffData{New: n, HallIDs: ec.FormValue("hall_ids"), NewErrors: c.fieldError(ec, err)})
}

// resetPassword sets a new password; the account's sessions end.
func (c *Console) resetPassword(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	username := strings.ToLower(strings.TrimSpace(ec.FormValue("username")))
	var err error
	if username == "" {
		err = platform.Invalid("username", "required", "请选择账号")
	} else {
		err = c.accounts.SetPassword(ec.Request().Context(), username, ec.FormValue("password"))
	}
	_ = c.audit(ec, actionAccountPassword, username, "", err)
	if err == nil {
		return ec.Redirect(http.StatusSeeOther, staffURL("已重置 "+username+" 的密码，其登录已全部失效"))
	}
	errs := c.fieldError(ec, err)
	if platform.CodeOf(err) == staff.ErrNotFound.Code {
		errs = map[string]string{"username": c.messageOf(ec, err)}
	}
	return c.showStaff(ec, statusOf(err), staffData{New: staff.NewAccount{Role: staff.RoleHallStaff}, ResetUser: username, ResetErrors: errs})
}

// setDisabled disables (ending every session) or re-enables an account; an
// administrator cannot disable their own account.
func (c *Console) setDisabled(disabled bool) echo.HandlerFunc {
	action, done := actionAccountEnable, "已启用账号 "
	if disabled {
		action, done = actionAccountDisable, "已停用账号 "
	}
	return func(ec echo.Context) error {
		a, ok, err := c.requireAdmin(ec)
		if !ok {
			return err
		}
		username := strings.ToLower(ec.Param("username"))
		if disabled && username == a.Username {
			err = errDisableSelf
		} else {
			err = c.accounts.SetDisabled(ec.Request().Context(), username, disabled)
		}
		_ = c.audit(ec, action, username, "", err)
		if err == nil {
			return ec.Redirect(http.StatusSeeOther, staffURL(done+username))
		}
		return c.showStaff(ec, statusOf(err), staffData{New: staff.NewAccount{Role: staff.RoleHallStaff}, Error: c.messageOf(ec, err)})
	}
}
