package enterprises

import "banshi/internal/platform"

// Errors for clients; api/errors.go gives their statuses. Malformed codes
// are platform.ParseUSCC's invalid_argument errors (field "uscc").
var (
	// ErrRealnameRequired: claiming needs real-name level 4 (face
	// verification).
	ErrRealnameRequired = platform.NewError("realname_required", "认领企业需要先完成人脸核身实名认证")
	// ErrNotLegalRepresentative: the claimer's proven name and ID number are
	// not the registered legal representative's.
	ErrNotLegalRepresentative = platform.NewError("not_legal_representative", "您不是该企业登记的法定代表人，不能认领该企业")
	// ErrEnterpriseClaimed: another citizen claimed the enterprise.
	ErrEnterpriseClaimed = platform.NewError("enterprise_claimed", "该企业已被他人认领")
	// ErrEnterpriseNotFound: the registry has no enterprise with the code.
	ErrEnterpriseNotFound = platform.NewError("enterprise_not_found", "市场监管登记信息中没有该统一社会信用代码的企业")
	// ErrEnterpriseInactive: the registration status is neither 存续 nor 在业.
	ErrEnterpriseInactive = platform.NewError("enterprise_inactive", "该企业的登记状态不是存续或在业，不能认领")
	// ErrRegistryUnavailable: the registry did not answer, answered an
	// error, or answered something that is not a record of the code asked.
	ErrRegistryUnavailable = platform.NewError("registry_unavailable", "企业登记信息暂时无法查询，请稍后再试")
)
