package account

import (
	"errors"

	"banshi/internal/platform"
)

// The errors of citizens, login and real-name authentication; package api
// maps their codes to HTTP answers. Bad names and ID numbers are
// platform.Invalid errors naming the field ("name", "id_number") and the
// check that failed.
var (
	// ErrNotFound: no such user, or (Identity) no identity recorded for it.
	// Outside authentication it is a 404; the authentication middleware turns
	// a session whose user is gone into 401.
	ErrNotFound = platform.NewError("user_not_found", "用户不存在")
	// ErrRealnameTaken: the ID number is already proven by another user.
	ErrRealnameTaken = platform.NewError("realname_taken", "该身份证号已被其他微信用户实名认证")
	// ErrIdentityLocked: the user already has a recorded identity that differs
	// (other ID number or other name) from the one offered.
	ErrIdentityLocked = platform.NewError("identity_locked", "您已登记了其他身份信息，不能更改")
	// ErrConsentInvalid: the real-name consent code is unknown, expired or reused.
	ErrConsentInvalid = platform.NewError("realname_code_invalid", "实名授权码无效或已使用，请重新授权")
	// ErrRealnameMismatch: WeChat says the name and ID number are not this user's.
	ErrRealnameMismatch = platform.NewError("realname_mismatch", "姓名、身份证号与微信实名信息不一致")
	// ErrFaceUnfinished: the face verification has not been completed on the phone.
	ErrFaceUnfinished = platform.NewError("face_unfinished", "人脸核身尚未完成，请在手机上完成后再试")
	// ErrVerifyUnknown: the verify_id is unknown, expired or not this user's.
	ErrVerifyUnknown = platform.NewError("verification_not_found", "核身记录不存在或已过期，请重新发起")
	// ErrNeedsMiniProgram: the call needs a mini-program openid and the user
	// only logged in through the app.
	ErrNeedsMiniProgram = platform.NewError("miniprogram_login_required", "请先在小程序中登录，再进行实名认证")
)

// errCiphertext is returned by Cipher.Decrypt for short, corrupt or tampered data.
var errCiphertext = errors.New("account: PII ciphertext is invalid or was tampered with")

// errPIIKeyUnknown is returned by Cipher.Open for data sealed under a key id
// the keyring does not hold (a key removed before rotation finished, or a
// ring configured without it).
var errPIIKeyUnknown = errors.New("account: PII ciphertext names a key that is not in the keyring")
