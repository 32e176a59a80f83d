package enterprises

import (
	"context"
	"fmt"
	"strings"

	"banshi/internal/platform"
)

// Claim makes userID the legal representative of the enterprise uscc in
// Banshi. The checks, in this order:
//   - uscc, surrounding spaces trimmed, present (else invalid_argument,
//     field "uscc", check "required") and well-formed (platform.ParseUSCC; a
//     wrong check character alone passes, the registry decides): else its
//     invalid_argument error, field "uscc", naming the check;
//   - the user at real-name level 4: else ErrRealnameRequired;
//   - the registry knows the enterprise: else ErrEnterpriseNotFound, or
//     ErrRegistryUnavailable when it cannot tell;
//   - registered as 存续 or 在业: else ErrEnterpriseInactive;
//   - the user's proven name and ID number are the registered legal
//     representative's: else ErrNotLegalRepresentative;
//   - nobody else claimed it: else ErrEnterpriseClaimed.
//
// It returns the claim and created: true when this call made it, false when
// the user had claimed it already (the stored claim, unchanged). Of any
// number of concurrent claims of one enterprise exactly one creates it (the
// _id is the USCC); the others get it as theirs or ErrEnterpriseClaimed.
// Nothing is stored on an error. Other errors: storage errors,
// account.ErrNotFound for an unknown user.
func (s *Service) Claim(ctx context.Context, userID, uscc string) (Membership, bool, error) {
	uscc = strings.TrimSpace(uscc)
	if uscc == "" {
		return Membership{}, false, platform.Invalid("uscc", "required", "请填写统一社会信用代码")
	}
	code, err := platform.ParseUSCC(uscc)
	if err != nil {
		return Membership{}, false, err
	}
	user, err := s.people.Get(ctx, userID)
	if err != nil {
		return Membership{}, false, err
	}
	if user.Level < claimLevel || !user.Proven() {
		return Membership{}, false, ErrRealnameRequired
	}
	rec, err := s.registry.Lookup(ctx, code.Code)
	if err != nil {
		return Membership{}, false, err
	}
	if !rec.Active() {
		return Membership{}, false, ErrEnterpriseInactive
	}
	same, err := s.people.CheckIdentity(ctx, userID, rec.LegalRepresentative)
	if err != nil {
		return Membership{}, false, err
	}
	if !same {
		s.log.InfoContext(ctx, "enterprise claim refused: not the legal representative", "user_id", userID, "uscc", code.Code)
		return Membership{}, false, ErrNotLegalRepresentative
	}

	doc := claimDoc{USCC: code.Code, Name: rec.Name, UserID: userID, ClaimedAt: s.clock.Now().UTC().Truncate(timePrecision)}
	var existing *claimDoc
	held, err := platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
		Coll: s.claims, Doc: doc, HolderField: "user_id",
		Judge: func(_ context.Context, cur claimDoc) (platform.ClaimVerdict, error) {
			if cur.UserID == userID {
				existing = &cur
				return platform.ClaimOurs, nil
			}
			return platform.ClaimLive, nil
		},
	})
	switch {
	case err != nil:
		return Membership{}, false, fmt.Errorf("enterprises: claim %s: %w", code.Code, err)
	case !held:
		s.log.InfoContext(ctx, "enterprise claim refused: claimed by another user", "user_id", userID, "uscc", code.Code)
		return Membership{}, false, ErrEnterpriseClaimed
	case existing != nil:
		return existing.membership(), false, nil
	}
	// The audit trail of claims (no personal data: the enterprise's code
	// and the user id).
	s.log.InfoContext(ctx, "enterprise claimed", "user_id", userID, "uscc", code.Code, "role", RoleLegalRepresentative)
	return doc.membership(), true, nil
}
