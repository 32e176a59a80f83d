package enterprises

import (
	"context"
	"errors"

	"banshi/internal/account"
	"banshi/notify"
)

// KindInvitation is the message kind telling a citizen of an invitation.
const KindInvitation = "enterprise_invitation"

// MessageKinds lists the kinds of messages this package sends, for the
// citizens' notification preferences.
func MessageKinds() []notify.KindInfo {
	return []notify.KindInfo{{Kind: KindInvitation, Name: "企业邀请"}}
}

// Notifier publishes a message to a citizen (*notify.Outbox).
type Notifier interface {
	Notify(ctx context.Context, m notify.Message) error
}

// Owners finds the citizen who proved an ID number (*account.Store).
type Owners interface {
	// ProvenOwnerOfIndex returns the user who proved the ID number with
	// blind index idx. Errors: account.ErrNotFound.
	ProvenOwnerOfIndex(ctx context.Context, idx string) (string, error)
}

var (
	_ Notifier = (*notify.Outbox)(nil)
	_ Owners   = (*account.Store)(nil)
)

// invitationMessageID is the message of the invitation memberID: one per
// invitation however often it is published.
func invitationMessageID(memberID string) string { return KindInvitation + ":" + memberID }

// tellInvitee tells the invitee of d, when someone proved its ID number
// under the invited name, that an invitation waits (the message names the
// enterprise and role, no personal data). Best effort: a failure is logged,
// the invitation stands and is listed either way.
func (s *Service) tellInvitee(ctx context.Context, d memberDoc, invitee Invitee) {
	if s.notifier == nil || s.owners == nil {
		return
	}
	uid, err := s.owners.ProvenOwnerOfIndex(ctx, d.IDIndex)
	if errors.Is(err, account.ErrNotFound) {
		return
	}
	if err == nil {
		var same bool
		if same, err = s.people.CheckIdentity(ctx, uid, invitee); err == nil && !same {
			return
		}
	}
	if err == nil {
		role := "经办人"
		if d.Role == RoleAdministrator {
			role = "管理员"
		}
		err = s.notifier.Notify(ctx, notify.Message{
			ID: invitationMessageID(d.ID), UserID: uid, Kind: KindInvitation, Title: "企业邀请",
			Body:      d.Enterprise + " 邀请您担任" + role + "，请在“企业邀请”中查看并接受或拒绝。",
			Data:      map[string]string{"invitation_id": d.ID, "uscc": d.USCC, "role": d.Role},
			CreatedAt: s.now(),
		})
	}
	if err != nil {
		s.log.WarnContext(ctx, "invitation message not sent", "err", err, "member_id", d.ID)
	}
}
