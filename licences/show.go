package licences

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"banshi/internal/platform"
)

// Shown is a show token (亮证码) as text and as a QR code.
type Shown struct {
	Token       string    `json:"token"`
	QRPNG       string    `json:"qr_png"` // base64 of a PNG of the token
	GeneratedAt time.Time `json:"generated_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// qrSize is the QR image's side in pixels.
const qrSize = 256

// Show mints a show token for userID's licence id, signed by Banshi, good
// for TokenLifetime and for one verification. Nothing is stored. Errors:
// ErrNotFound; ErrNotShowable (revoked, expired, not valid);
// ErrSignerUnavailable.
func (s *Service) Show(ctx context.Context, userID, id string) (Shown, error) {
	d, err := s.owned(ctx, userID, id)
	if err != nil {
		return Shown{}, err
	}
	now := s.clock.Now()
	if !view(d, now).Usable {
		return Shown{}, ErrNotShowable
	}
	if s.signer == nil {
		return Shown{}, ErrSignerUnavailable
	}
	tok, c, err := mintToken(s.signer, d.ID, now)
	if err != nil {
		return Shown{}, fmt.Errorf("mint show token: %w", err)
	}
	png, err := qrcode.Encode(tok, qrcode.Medium, qrSize)
	if err != nil {
		return Shown{}, fmt.Errorf("show token QR: %w", err)
	}
	return Shown{Token: tok, QRPNG: base64.StdEncoding.EncodeToString(png),
		GeneratedAt: platform.Local(c.IssuedAt), ExpiresAt: platform.Local(c.ExpiresAt)}, nil
}

// Verifier is who verifies a token at a counter.
type Verifier struct {
	Username string
	Role     string
}

// Verification is a verified token's answer: the licence face and status.
type Verification struct {
	Licence    LicenceView `json:"licence"`
	VerifiedAt time.Time   `json:"verified_at"`
	TokenID    string      `json:"token_id"`
}

// maxClockSkew is how far in the future a token's iat may be (replicas'
// clocks roughly agree).
const maxClockSkew = 30 * time.Second

// Verify checks a show token at a counter and records the verification as a
// use. A token verifies once: the use's insert under "verify:<token id>" is
// the arbiter, so of any number of concurrent verifications exactly one
// succeeds. Errors (nothing recorded): ErrTokenInvalid (malformed, not
// Banshi's signature, issued in the future, unknown licence);
// ErrTokenExpired; ErrTokenUsed; ErrSignerUnavailable.
func (s *Service) Verify(ctx context.Context, by Verifier, token string) (v Verification, err error) {
	defer func() { s.metrics.verification(err) }() // once the outcome is decided (metrics.go)
	if s.signer == nil {
		return Verification{}, ErrSignerUnavailable
	}
	c, signed, sig, err := ParseToken(token)
	if err != nil {
		return Verification{}, err
	}
	if !s.signer.Verify(signed, sig) {
		return Verification{}, ErrTokenInvalid
	}
	now := s.clock.Now()
	if c.IssuedAt.After(now.Add(maxClockSkew)) {
		return Verification{}, ErrTokenInvalid
	}
	if !now.Before(c.ExpiresAt) {
		return Verification{}, ErrTokenExpired
	}
	d, err := s.load(ctx, c.LicenceID)
	if errors.Is(err, ErrNotFound) {
		return Verification{}, ErrTokenInvalid
	}
	if err != nil {
		return Verification{}, err
	}
	at := s.now()
	use := useDoc{ID: UseVerify + ":" + c.ID, LicenceID: d.ID, Kind: UseVerify, By: by.Username, ByRole: by.Role, At: at}
	if _, err := s.uses.InsertOne(ctx, use); err != nil {
		if platform.IsDuplicateKey(err) {
			return Verification{}, ErrTokenUsed
		}
		return Verification{}, fmt.Errorf("record licence use: %w", err)
	}
	return Verification{Licence: view(d, now), VerifiedAt: platform.Local(at), TokenID: c.ID}, nil
}
