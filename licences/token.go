package licences

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"time"
)

// Show tokens (亮证码). A token is the text
//
//	BSL1.<payload>.<signature>
//
// payload = base64url (no padding) of the JSON object
// {"jti":"<32 lower-case hex>","lic":"<identifier>","iat":<unix s>,"exp":<unix s>}
// (exactly those keys), signature = base64url (no padding) of Banshi's
// SM2-with-SM3 signature (DER) of the ASCII bytes "BSL1.<payload>". exp is
// iat + TokenLifetime. The token carries no personal data: the identifier
// names a licence, whose holder the verifier sees only masked.

// TokenPrefix starts every show token (its format version).
const TokenPrefix = "BSL1"

// TokenLifetime is how long a show token verifies.
const TokenLifetime = 60 * time.Second

// MaxToken bounds a token's length.
const MaxToken = 1024

var jtiPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TokenClaims is what a show token says.
type TokenClaims struct {
	ID        string // jti: the token's own random id, the one-verification arbiter's key
	LicenceID string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

type tokenPayload struct {
	JTI string `json:"jti"`
	Lic string `json:"lic"`
	IAT int64  `json:"iat"`
	EXP int64  `json:"exp"`
}

// mintToken makes and signs a token for licence id at now.
func mintToken(s *Signer, licenceID string, now time.Time) (string, TokenClaims, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", TokenClaims{}, err
	}
	iat := now.Unix()
	p := tokenPayload{JTI: hex.EncodeToString(b), Lic: licenceID, IAT: iat, EXP: iat + int64(TokenLifetime/time.Second)}
	j, err := json.Marshal(p)
	if err != nil {
		return "", TokenClaims{}, err
	}
	signed := TokenPrefix + "." + base64.RawURLEncoding.EncodeToString(j)
	sig, err := s.Sign([]byte(signed))
	if err != nil {
		return "", TokenClaims{}, err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), p.claims(), nil
}

func (p tokenPayload) claims() TokenClaims {
	return TokenClaims{ID: p.JTI, LicenceID: p.Lic, IssuedAt: time.Unix(p.IAT, 0).UTC(), ExpiresAt: time.Unix(p.EXP, 0).UTC()}
}

// ParseToken checks a token's shape and returns its claims, the bytes its
// signature covers, and the signature; it does not verify the signature nor
// judge the time. Errors: ErrTokenInvalid for anything malformed — too long,
// not three dot-separated parts, another prefix, base64url that is not
// canonical, a payload that is not exactly the four keys with a 32-hex jti,
// a well-formed identifier, iat > 0 and exp = iat + TokenLifetime.
func ParseToken(token string) (TokenClaims, []byte, []byte, error) {
	if len(token) == 0 || len(token) > MaxToken {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != TokenPrefix {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != parts[1] {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(sig) == 0 || len(sig) > maxSignature || base64.RawURLEncoding.EncodeToString(sig) != parts[2] {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	var p tokenPayload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	if _, err := dec.Token(); err != io.EOF {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	if !jtiPattern.MatchString(p.JTI) || p.IAT <= 0 || p.IAT > 1<<40 || p.EXP != p.IAT+int64(TokenLifetime/time.Second) {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	if _, err := ParseIdentifier("token", p.Lic); err != nil {
		return TokenClaims{}, nil, nil, ErrTokenInvalid
	}
	return p.claims(), []byte(parts[0] + "." + parts[1]), sig, nil
}
