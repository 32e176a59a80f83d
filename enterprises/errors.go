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

// Errors of members, invitations and the enterprise page.
var (
	// ErrNotMember: the citizen does not act for the enterprise (no claim,
	// no membership in force). Also answered for an enterprise nobody
	// claimed, so that it tells nothing about other enterprises.
	ErrNotMember = platform.NewError("not_enterprise_member", "您不是该企业的成员，不能查看或办理该企业的事项")
	// ErrNotPermitted: the citizen acts for the enterprise but their role
	// does not allow this change (only the legal representative appoints
	// administrators and reads the audit trail; agents invite nobody; an
	// administrator changes only what they granted).
	ErrNotPermitted = platform.NewError("enterprise_role_forbidden", "您在该企业的角色不能进行此项操作")
	// ErrAdministratorLimit: the enterprise has MaxAdministrators
	// administrators (pending or active) already.
	ErrAdministratorLimit = platform.NewError("administrator_limit", "该企业的管理员已满5名，请先撤销一名再任命")
	// ErrAlreadyMember: the person invited already holds a live binding to
	// the enterprise (pending or active), or is its legal representative.
	ErrAlreadyMember = platform.NewError("already_member", "此人已是该企业的成员或已有待接受的邀请")
	// ErrInviteSelf: a citizen invited or appointed themself.
	ErrInviteSelf = platform.Invalid("invitee", "self", "不能邀请或任命自己")
	// ErrMemberNotFound: no member (or invitation) with that id in the
	// enterprise, or not one the caller may see.
	ErrMemberNotFound = platform.NewError("member_not_found", "未找到该成员或邀请")
	// ErrInvitationNotFound: no pending invitation with that id for the
	// caller (another's, answered, withdrawn or unknown).
	ErrInvitationNotFound = platform.NewError("invitation_not_found", "未找到该邀请")
	// ErrMemberState: the change does not fit the member's state (withdraw
	// an accepted binding, revoke a pending one, change an ended one).
	ErrMemberState = platform.NewError("member_state_conflict", "该成员当前的状态不能进行此项操作")
	// ErrInviteeLevel: answering an invitation needs a proven identity
	// (real-name level 3 or more).
	ErrInviteeLevel = platform.NewError("realname_required", "接受企业邀请需要先完成实名认证（3级或以上）")
	// ErrMemberBusy: the member kept changing under a change; retry.
	ErrMemberBusy = platform.NewError("member_busy", "该成员信息正在被修改，请稍后重试")
)
