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
)

func invalid(field, check, msg string) error { return platform.Invalid(field, check, msg) }
