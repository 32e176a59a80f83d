package integrations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
	"banshi/licences"
)

// SM2Key is an integration's registered SM2 public key, with which Banshi
// verifies the licences it issues (scope licences).
type SM2Key struct {
	ID           string    `json:"id"`
	PublicKeyPEM string    `json:"sm2_public_key"`
	Fingerprint  string    `json:"fingerprint"` // hex SHA-256 of the PEM's DER
	UpdatedAt    time.Time `json:"updated_at"`
}

// keyDoc is the part of an integrations document SetSM2Key writes.
type keyDoc struct {
	ID        string    `bson:"_id"`
	PEM       string    `bson:"sm2_public_key,omitempty"`
	KeyAt     time.Time `bson:"sm2_key_at,omitempty"`
	Disabled  bool      `bson:"disabled"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func sm2Key(d keyDoc) SM2Key {
	pub, err := licences.ParsePublicKeyPEM(d.PEM)
	fp := ""
	if err == nil {
		sum := sha256.Sum256([]byte(strings.TrimSpace(licences.PublicKeyPEM(pub))))
		fp = hex.EncodeToString(sum[:])
	}
	return SM2Key{ID: d.ID, PublicKeyPEM: d.PEM, Fingerprint: fp, UpdatedAt: platform.Local(d.KeyAt)}
}

// SetSM2Key registers (replacing any earlier) the SM2 public key of
// integration id: a PEM "PUBLIC KEY" block on the SM2 curve, stored
// re-encoded. Licences signed with an earlier key are refused from then on.
// Errors: platform.Invalid (field sm2_public_key, check format), ErrNotFound;
// nothing is written on any error.
func (r *Registry) SetSM2Key(ctx context.Context, id, pemText string) (SM2Key, error) {
	pub, err := licences.ParsePublicKeyPEM(strings.TrimSpace(pemText))
	if err != nil {
		return SM2Key{}, platform.Invalid("sm2_public_key", "format", "应为 PEM 格式的 SM2 公钥")
	}
	now := r.clock.Now().UTC().Truncate(time.Millisecond)
	var d keyDoc
	err = r.coll.FindOneAndUpdate(ctx, bson.M{"_id": id},
		bson.M{"$set": bson.M{"sm2_public_key": licences.PublicKeyPEM(pub), "sm2_key_at": now, "updated_at": now}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return SM2Key{}, ErrNotFound
	}
	if err != nil {
		return SM2Key{}, fmt.Errorf("set integration sm2 key: %w", err)
	}
	return sm2Key(d), nil
}

// IssuerKey returns the SM2 public key (PEM) integration id registered, ""
// when it registered none or is disabled. Errors: ErrNotFound.
func (r *Registry) IssuerKey(ctx context.Context, id string) (string, error) {
	var d keyDoc
	err := r.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read integration sm2 key: %w", err)
	}
	if d.Disabled {
		return "", nil
	}
	return d.PEM, nil
}
