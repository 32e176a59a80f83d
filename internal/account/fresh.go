package account

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/wechat"
)

// ErrFreshCheckRequired: exporting or deleting one's data needs a real-name
// check made for that request (a fresh WeChat real-name consent code).
var ErrFreshCheckRequired = platform.NewError("fresh_check_required", "为保护您的个人信息，请先重新完成微信实名核验")

// ErrProvenRequired: the request needs an identity proven at level 3 or 4.
var ErrProvenRequired = platform.NewError("realname_required", "请先完成实名认证（微信实名核验或人脸核身）")

// Recheck proves, for one sensitive request, that the person holding the
// session is the person recorded: WeChat's checkrealnameinfo with a fresh
// consent code against the identity Banshi holds (a level-3 check that
// changes nothing). The user must already be proven (level ≥ 3): else
// ErrProvenRequired. Errors: ErrFreshCheckRequired (no code, or a code
// WeChat does not accept), ErrNeedsMiniProgram, ErrRealnameMismatch,
// ErrUpstream, ErrUpstreamBusy, ErrNotFound.
func (r *Realname) Recheck(ctx context.Context, userID, code string) error {
	if code == "" {
		return ErrFreshCheckRequired
	}
	u, err := r.accounts.Get(ctx, userID)
	if err != nil {
		return err
	}
	if !u.Proven() {
		return ErrProvenRequired
	}
	if u.MiniOpenID == "" {
		return ErrNeedsMiniProgram
	}
	id, err := r.accounts.Identity(ctx, userID)
	if err != nil {
		return err
	}
	res, err := r.wechat.CheckRealname(ctx, u.MiniOpenID, id.Name, id.IDNumber, code)
	if errors.Is(err, wechat.ErrCodeInvalid) {
		return ErrFreshCheckRequired.Wrap(err)
	}
	if err != nil {
		return err
	}
	if !res.Match() {
		r.log.InfoContext(ctx, "fresh realname check mismatch", "user_id", userID)
		return ErrRealnameMismatch
	}
	return nil
}

// LowerFromFace ends the use of a face verification's result when the person
// withdraws consent to it: a level-4 user falls to level 3 (the WeChat
// real-name proof that level 4 includes). It returns the user as now
// stored; a user below level 4 is unchanged. ErrNotFound when there is no
// such user.
func (s *Store) LowerFromFace(ctx context.Context, userID string) (User, error) {
	if _, err := s.users.UpdateOne(ctx, bson.M{"_id": userID, "level": bson.M{"$gt": provenLevel}},
		bson.M{"$set": bson.M{"level": provenLevel, "updated_at": s.now()}}); err != nil {
		return User{}, err
	}
	return s.Get(ctx, userID)
}
