package licences

import (
	"errors"

	"banshi/internal/platform"
)

// Errors of licences; package api maps their codes to HTTP answers. Bad
// input is a platform.Invalid error naming the field and the check.
var (
	// ErrNotFound: no such licence for this caller — also another holder's,
	// or one another department issued, so that nobody learns which exist.
	ErrNotFound = platform.NewError("licence_not_found", "未找到该电子证照")
	// ErrExists: an issue names an identifier that is stored already.
	ErrExists = platform.NewError("licence_exists", "该证照标识已存在")
	// ErrNoIssuerKey: the integration registered no SM2 public key, so its
	// licences cannot be verified and are refused.
	ErrNoIssuerKey = platform.NewError("issuer_key_missing", "该对接系统未登记 SM2 公钥，不能签发电子证照")
	// ErrSignature: the issuer's SM2 signature does not verify over the
	// canonical metadata with the integration's key.
	ErrSignature = platform.NewError("licence_signature_invalid", "电子证照签名验证失败")
	// ErrNotShowable: a revoked, expired or otherwise not valid licence
	// cannot be shown, authorised or copied.
	ErrNotShowable = platform.NewError("licence_not_valid", "该电子证照已注销或已过期，不能出示或使用")
	// ErrLicenceRevoked: an update or revoke of a licence already revoked.
	ErrLicenceRevoked = platform.NewError("licence_revoked", "该电子证照已注销")
	// ErrTokenInvalid: a show token that is malformed or whose signature
	// is not Banshi's.
	ErrTokenInvalid = platform.NewError("licence_token_invalid", "亮证码无效")
	// ErrTokenExpired: a show token past its expiry.
	ErrTokenExpired = platform.NewError("licence_token_expired", "亮证码已过期，请让持证人刷新")
	// ErrTokenUsed: a show token that was verified once already.
	ErrTokenUsed = platform.NewError("licence_token_used", "亮证码已被核验过，请让持证人刷新")
	// ErrSignerUnavailable: Banshi has no SM2 signing key configured
	// (BANSHI_LICENCE_SM2_KEY in production).
	ErrSignerUnavailable = platform.NewError("licence_signer_unavailable", "电子证照签章服务未配置")
	// ErrAuthorizationNotFound: no such authorisation for this caller.
	ErrAuthorizationNotFound = platform.NewError("authorization_not_found", "未找到该用证授权")
	// ErrAuthorizationInactive: the authorisation was withdrawn or has
	// expired.
	ErrAuthorizationInactive = platform.NewError("authorization_inactive", "该用证授权已撤回或已过期")
	// ErrIntegrationUnknown: an authorisation names an integration that does
	// not exist, is disabled, or was not granted the licences scope.
	ErrIntegrationUnknown = platform.NewError("integration_not_found", "未找到可用证的部门系统")

	// errChanged: a compare-and-swap found the licence changed since it was
	// read; the caller re-reads.
	errChanged = errors.New("licences: the licence changed")
)
