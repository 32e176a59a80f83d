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
// with a random 12-byte nonce, bound to what the ciphertext is (a Binding,
// sealed in as associated data); the blind index is HMAC-SHA256. Both keys
// are derived from the master key with HKDF-SHA256. A Cipher is safe for
// concurrent use.
//
// Sealed data (format 2) is the version byte 0x02, the nonce, then the GCM
// ciphertext and tag. Format 1, written by earlier releases, is the nonce,
// ciphertext and tag with no version byte and no associated data: it can be
// told from format 2 only by where it is stored (users documents without
// pii_format 2), and is read only there until Store.MigratePII re-seals it.
type Cipher struct {
	aead     cipher.AEAD
	indexKey []byte
}

// formatBound is the version byte of sealed data bound to a Binding.
const formatBound byte = 2

// adLabel starts the associated data of format 2.
const adLabel = "banshi pii v2"

// Binding says what a ciphertext is: the collection (or other store) it
// lives in, the record's ID there, and the field. Its encoding is the
// associated data of the seal, so a ciphertext opens only under the binding
// it was sealed with: moved to another field or another record, it does not
// open. Users' names are bound as {users, <user id>, name}, their ID numbers
// as {users, <user id>, id_number}.
type Binding struct {
	Collection string
	ID         string
	Field      string
}

// userField binds a field of the users document of userID.
func userField(userID, field string) Binding {
	return Binding{Collection: collUsers, ID: userID, Field: field}
}

// associatedData encodes b: adLabel, then each of Collection, ID and Field
// as a 2-byte big-endian length followed by its bytes (so no two bindings
// encode alike). Parts longer than 65535 bytes are an error.
func (b Binding) associatedData() ([]byte, error) {
	out := make([]byte, 0, len(adLabel)+6+len(b.Collection)+len(b.ID)+len(b.Field))
	out = append(out, adLabel...)
	for _, part := range []string{b.Collection, b.ID, b.Field} {
		if len(part) > 0xFFFF {
			return nil, fmt.Errorf("account: PII binding part of %d bytes", len(part))
		}
		out = append(out, byte(len(part)>>8), byte(len(part)))
		out = append(out, part...)
	}
	return out, nil
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

// Seal encrypts plaintext bound to b: 0x02 || nonce || ciphertext || tag,
// different on every call. It fails only if the system's random source fails
// or a part of b is over 65535 bytes.
func (c *Cipher) Seal(plaintext string, b Binding) ([]byte, error) {
	ad, err := b.associatedData()
	if err != nil {
		return nil, err
	}
	ns := c.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+c.aead.Overhead())
	out[0] = formatBound
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("account: PII nonce: %w", err)
	}
	return c.aead.Seal(out, out[1:], []byte(plaintext), ad), nil
}

// Open decrypts what Seal sealed under the same binding. Data of another
// format, too short, altered, sealed under another key, or sealed under
// another binding (moved to another field or record) gives an error, never a
// partial plaintext.
func (c *Cipher) Open(sealed []byte, b Binding) (string, error) {
	ad, err := b.associatedData()
	if err != nil {
		return "", err
	}
	ns := c.aead.NonceSize()
	if len(sealed) < 1+ns+c.aead.Overhead() || sealed[0] != formatBound {
		return "", errCiphertext
	}
	plain, err := c.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad)
	if err != nil {
		return "", errCiphertext
	}
	return string(plain), nil
}

// openFormat1 decrypts data of format 1 (nonce || ciphertext || tag, no
// associated data), which earlier releases wrote: read only from users
// documents without pii_format 2, which MigratePII re-seals.
func (c *Cipher) openFormat1(sealed []byte) (string, error) {
	ns := c.aead.NonceSize()
	if len(sealed) < ns+c.aead.Overhead() {
		return "", errCiphertext
	}
	plain, err := c.aead.Open(nil, sealed[:ns], sealed[ns:], nil)
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
