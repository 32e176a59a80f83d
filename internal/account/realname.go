package account

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"banshi/internal/platform"
	"banshi/internal/wechat"
)

// RealnameAPI is the WeChat side of real-name authentication.
type RealnameAPI interface {
	CheckRealname(ctx context.Context, openID, name, idNumber, code string) (wechat.RealnameResult, error)
	FaceStart(ctx context.Context, openID, outSeqNo, name, idNumber string) (string, error)
	FaceQuery(ctx context.Context, openID, verifyID, outSeqNo, name, idNumber string) (int, error)
}

var _ RealnameAPI = (*wechat.Client)(nil)

// Sealer encrypts the identity kept between face start and finish, bound to
// the user and the verification (*Cipher implements it).
type Sealer interface {
	Seal(plaintext string, b Binding) ([]byte, error)
	Open(sealed []byte, b Binding) (string, error)
}

var _ Sealer = (*Cipher)(nil)

// faceBinding binds the identity of a pending face verification to its user
// and verify_id, so a sealed identity opens only for the verification it was
// started with.
func faceBinding(userID, verifyID string) Binding {
	return Binding{Collection: "face", ID: userID + "/" + verifyID, Field: "identity"}
}

// Realname raises citizens' real-name level: 2 by declaration (GB 11643
// checks), 3 by WeChat's checkrealnameinfo, 4 by WeChat face verification.
// A failed attempt never lowers the level.
type Realname struct {
	wechat   RealnameAPI
	accounts *Store
	rdb      redis.UniversalClient
	prefix   string
	sealer   Sealer
	clock    platform.Clock
	log      *slog.Logger
}

// NewRealname returns the real-name service. Pending face verifications are
// kept in Redis under prefix for an hour, the identity sealed by sealer.
func NewRealname(api RealnameAPI, accounts *Store, rdb redis.UniversalClient, prefix string, sealer Sealer, clock platform.Clock, log *slog.Logger) *Realname {
	return &Realname{wechat: api, accounts: accounts, rdb: rdb, prefix: prefix, sealer: sealer, clock: clock, log: log}
}

// validate returns the normalised identity or a platform.Invalid error.
func (r *Realname) validate(name, idNumber string) (Identity, error) {
	n, err := ValidateName(name)
	if err != nil {
		return Identity{}, err
	}
	id, err := ValidateIDNumber(idNumber, r.clock.Now())
	if err != nil {
		return Identity{}, err
	}
	return Identity{Name: n, IDNumber: id}, nil
}

// Declare records a name and ID number that pass the GB 11643 checks: level 2.
// A declaration yields to a later proof of the number by another user (see
// Store.RaiseLevel). Errors: platform.Invalid error, ErrRealnameTaken
// (another user proved or declared the number), ErrIdentityLocked,
// ErrNotFound.
func (r *Realname) Declare(ctx context.Context, userID, name, idNumber string) (User, error) {
	id, err := r.validate(name, idNumber)
	if err != nil {
		return User{}, err
	}
	return r.accounts.RaiseLevel(ctx, userID, id, 2)
}

// Check matches the identity against WeChat Pay's real-name record through
// checkrealnameinfo: level 3. Errors: platform.Invalid error,
// ErrNeedsMiniProgram, ErrConsentInvalid, ErrRealnameMismatch, ErrUpstream,
// ErrUpstreamBusy, ErrRealnameTaken, ErrIdentityLocked.
func (r *Realname) Check(ctx context.Context, userID, name, idNumber, code string) (User, error) {
	id, err := r.validate(name, idNumber)
	if err != nil {
		return User{}, err
	}
	u, err := r.accounts.Get(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if u.MiniOpenID == "" {
		return User{}, ErrNeedsMiniProgram
	}
	res, err := r.wechat.CheckRealname(ctx, u.MiniOpenID, id.Name, id.IDNumber, code)
	if errors.Is(err, wechat.ErrCodeInvalid) {
		return User{}, ErrConsentInvalid.Wrap(err)
	}
	if err != nil {
		return User{}, err
	}
	if !res.Match() {
		r.log.InfoContext(ctx, "realname check mismatch", "user_id", userID, "verify_openid", res.VerifyOpenID, "verify_real_name", res.VerifyRealName)
		return User{}, ErrRealnameMismatch
	}
	return r.accounts.RaiseLevel(ctx, userID, id, 3)
}

// pendingFace is what Banshi remembers between face start and finish.
type pendingFace struct {
	UserID   string `json:"uid"`
	OutSeqNo string `json:"seq"`
	Sealed   []byte `json:"id"` // sealed JSON of Identity
}

func (r *Realname) faceKey(verifyID string) string { return r.prefix + "face:" + verifyID }

// FaceStart begins a WeChat face verification of the given identity and
// returns the verify_id for wx.requestFacialVerify. Errors:
// platform.Invalid error, ErrNeedsMiniProgram, ErrUpstream, ErrUpstreamBusy,
// *APIError (ErrUpstreamRefused).
func (r *Realname) FaceStart(ctx context.Context, userID, name, idNumber string) (string, error) {
	id, err := r.validate(name, idNumber)
	if err != nil {
		return "", err
	}
	u, err := r.accounts.Get(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.MiniOpenID == "" {
		return "", ErrNeedsMiniProgram
	}
	seq := make([]byte, 12)
	if _, err := rand.Read(seq); err != nil {
		return "", err
	}
	outSeqNo := hex.EncodeToString(seq)
	verifyID, err := r.wechat.FaceStart(ctx, u.MiniOpenID, outSeqNo, id.Name, id.IDNumber)
	if err != nil {
		return "", err
	}
	plain, _ := json.Marshal(id)
	sealed, err := r.sealer.Seal(string(plain), faceBinding(userID, verifyID))
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(pendingFace{UserID: userID, OutSeqNo: outSeqNo, Sealed: sealed})
	if err := r.rdb.Set(ctx, r.faceKey(verifyID), b, time.Hour).Err(); err != nil {
		return "", fmt.Errorf("remember face verification: %w", err)
	}
	return verifyID, nil
}

// FaceFinish asks WeChat for the result of verifyID and raises the level to 4
// when verified. Errors: ErrVerifyUnknown (unknown, expired, another user's),
// ErrFaceUnfinished (the phone step is not done; try again),
// ErrRealnameMismatch (face or identity failed, or WeChat says the identity,
// openid or out_seq_no are not those of the verify_id; the verification is
// spent),
// ErrUpstream, ErrUpstreamBusy, ErrRealnameTaken,
// ErrIdentityLocked.
func (r *Realname) FaceFinish(ctx context.Context, userID, verifyID string) (User, error) {
	if verifyID == "" || len(verifyID) > 256 {
		return User{}, ErrVerifyUnknown
	}
	raw, err := r.rdb.Get(ctx, r.faceKey(verifyID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return User{}, ErrVerifyUnknown
	}
	if err != nil {
		return User{}, fmt.Errorf("read face verification: %w", err)
	}
	var p pendingFace
	if err := json.Unmarshal(raw, &p); err != nil || p.UserID != userID {
		return User{}, ErrVerifyUnknown
	}
	plain, err := r.sealer.Open(p.Sealed, faceBinding(userID, verifyID))
	if err != nil {
		return User{}, ErrVerifyUnknown
	}
	var id Identity
	if err := json.Unmarshal([]byte(plain), &id); err != nil {
		return User{}, ErrVerifyUnknown
	}
	u, err := r.accounts.Get(ctx, userID)
	if err != nil {
		return User{}, err
	}
	ret, err := r.wechat.FaceQuery(ctx, u.MiniOpenID, verifyID, p.OutSeqNo, id.Name, id.IDNumber)
	if errors.Is(err, wechat.ErrFaceMismatch) {
		// WeChat will never verify this verify_id against this identity.
		r.rdb.Del(ctx, r.faceKey(verifyID))
		r.log.InfoContext(ctx, "face verification refused: identity does not match the verify_id", "user_id", userID, "errcode", wechat.Errcode(err))
		return User{}, ErrRealnameMismatch.Wrap(err)
	}
	if err != nil {
		return User{}, err
	}
	switch {
	case ret == 10000:
		r.rdb.Del(ctx, r.faceKey(verifyID))
		return r.accounts.RaiseLevel(ctx, userID, id, 4)
	case ret >= 90000:
		return User{}, ErrFaceUnfinished
	default:
		r.rdb.Del(ctx, r.faceKey(verifyID))
		r.log.InfoContext(ctx, "face verification failed", "user_id", userID, "verify_ret", ret)
		return User{}, ErrRealnameMismatch
	}
}
