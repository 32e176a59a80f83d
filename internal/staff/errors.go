package staff

import "banshi/internal/platform"

// The errors of staff accounts and sessions; package api maps their codes to
// HTTP answers. Bad input is a platform.Invalid error naming the field.
var (
	ErrBadCredentials  = platform.NewError("bad_credentials", "用户名或密码错误")
	ErrUnauthenticated = platform.NewError("unauthenticated", "请先登录工作人员账号")
	ErrForbidden       = platform.NewError("forbidden", "您的角色无权进行此操作")
	ErrInvalid         = platform.NewError(platform.CodeInvalid, "请求参数有误")
	ErrExists          = platform.NewError("already_exists", "该账号已存在")
	ErrNotFound        = platform.NewError("not_found", "该账号不存在")
	// Login throttling (lockout.go); Until is when to try again.
	ErrLocked           = platform.NewError("login_locked", "密码错误次数过多，该账号暂时不能登录，请稍后再试")
	ErrLoginRateLimited = platform.NewError("rate_limited", "该账号登录尝试过于频繁，请稍后再试")
	ErrBusy             = platform.NewError("login_busy", "登录人数较多，请稍后再试")
)

func invalid(field, check, msg string) error { return platform.Invalid(field, check, msg) }
