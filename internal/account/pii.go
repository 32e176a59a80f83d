package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// HKDF info strings: one derived key per purpose, so the encryption key and the
// blind-index key are independent although both come from one master key.
const (
	hkdfInfoEnc   = "banshi pii enc v1"
	hkdfInfoIndex = "banshi pii index v1"
)

// masterKeySize is the required master key length (AES-256).
const masterKeySize = 32

// Cipher encrypts PII and computes blind indexes. Encryption is AES-256-GCM
// with a random 12-byte nonce prepended to the sealed data; the blind index is
// HMAC-SHA256. Both keys are derived from the master key with HKDF-SHA256.
// A Cipher is safe for concurrent use.
type Cipher struct {
	aead     cipher.AEAD
	indexKey []byte
}

// NewCipher derives the PII keys from masterKey, which must be 32 bytes
// (otherwise an error, which never contains key material).
func NewCipher(masterKey []byte) (*Cipher, error) {
	if len(masterKey) != masterKeySize {
		return nil, fmt.Errorf("account: PII master key must be %d bytes, got %d", masterKeySize, len(masterKey))
	}
	encKey, err := deriveKey(masterKey, hkdfInfoEnc)
	if err != nil {
		return nil, err
	}
	indexKey, err := deriveKey(masterKey, hkdfInfoIndex)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("account: PII cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("account: PII cipher: %w", err)
	}
	return &Cipher{aead: aead, indexKey: indexKey}, nil
}

func deriveKey(master []byte, info string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(info)), key); err != nil {
		return nil, fmt.Errorf("account: derive PII key: %w", err)
	}
	return key, nil
}

// Encrypt seals plaintext; the result is nonce || ciphertext || tag, different
// on every call. It fails only if the system's random source fails.
func (c *Cipher) Encrypt(plaintext string) ([]byte, error) {
	ns := c.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+c.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("account: PII nonce: %w", err)
	}
	return c.aead.Seal(out, out, []byte(plaintext), nil), nil
}

// Decrypt opens what Encrypt sealed. Data that is too short, was altered, or
// was sealed under another key gives an error (never a partial plaintext).
func (c *Cipher) Decrypt(ciphertext []byte) (string, error) {
	ns := c.aead.NonceSize()
	if len(ciphertext) < ns+c.aead.Overhead() {
		return "", errCiphertext
	}
	plain, err := c.aead.Open(nil, ciphertext[:ns], ciphertext[ns:], nil)
	if err != nil {
		return "", errCiphertext
	}
	return string(plain), nil
}

// BlindIndex returns the lowercase hex HMAC-SHA256 of kind+"\x00"+value under
// the index key: deterministic for one master key, so it can be a lookup key or
// a unique _id, and unlinkable across keys and kinds. kind names the field,
// e.g. "id_number". Callers normalise value first.
func (c *Cipher) BlindIndex(kind, value string) string {
	m := hmac.New(sha256.New, c.indexKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
