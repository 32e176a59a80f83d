package platform

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// SecretBox seals small secrets Banshi must be able to read back (the
// signing secrets of department integrations): AES-256-GCM under a key
// derived from a master key and a purpose, a fresh nonce per seal, and
// associated data binding each ciphertext to what it belongs to (so a
// ciphertext copied to another record does not open). Format: version byte
// 1 ‖ 12-byte nonce ‖ sealed data and tag.
type SecretBox struct {
	aead cipher.AEAD
}

const secretBoxV1 = 1

// errSealed is the one error Open returns for anything that does not open.
var errSealed = errors.New("platform: sealed secret is invalid, tampered with, or belongs elsewhere")

// NewSecretBox derives the box's key from master (32 bytes) for purpose
// (e.g. "banshi integration secrets v1"): boxes of different purposes cannot
// open each other's ciphertexts.
func NewSecretBox(master []byte, purpose string) (*SecretBox, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("platform: secret box master key must be 32 bytes, got %d", len(master))
	}
	key, err := hkdf.Key(sha256.New, master, nil, purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("platform: derive secret box key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad.
func (b *SecretBox) Seal(plaintext, aad string) ([]byte, error) {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = secretBoxV1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return b.aead.Seal(out, out[1:], []byte(plaintext), []byte(aad)), nil
}

// Open decrypts what Seal produced with the same aad; anything else is an
// error (never a partial plaintext).
func (b *SecretBox) Open(sealed []byte, aad string) (string, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != secretBoxV1 {
		return "", errSealed
	}
	plain, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(aad))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}
