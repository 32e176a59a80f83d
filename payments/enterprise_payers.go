package payments

import "context"

// EnterpriseMembers says who acts for an enterprise (enterprises.Service).
type EnterpriseMembers interface {
	// MayActFor reports whether userID acts for the enterprise uscc now
	// with a scope covering item ("" needs all-business authority).
	MayActFor(ctx context.Context, userID, uscc, item string) (bool, error)
}

// memberMayPay reports whether userID may pay the enterprise's bill
// without the notice's code: the enterprise's legal representative, an
// administrator, or an agent whose scope covers the bill's kind (agents'
// items name bill kinds, e.g. social_insurance), each within their
// validity. Always false for a person's bill or without Members.
func (s *Service) memberMayPay(ctx context.Context, userID string, bill billDoc) (bool, error) {
	if s.members == nil || bill.Payer.Type != PayerEnterprise || bill.USCC == "" {
		return false, nil
	}
	return s.members.MayActFor(ctx, userID, bill.USCC, bill.Kind)
}
