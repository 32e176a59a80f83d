package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// sealed in as associated data); the blind index is HMAC-SHA256. A Cipher
// holds a keyring (NewKeyring): master keys with short ids, oldest first.
// Each master key's encryption key is derived from it with HKDF-SHA256; the
// blind-index key is derived from the FIRST (oldest) master key only, so
// that lookups by blind index keep working across rotations (rotating it
// would need every index recomputed, which Banshi does not do). A Cipher is
// safe for concurrent use.
//
// Seal writes format 3 under the current (last) key: the version byte 0x03,
// one byte giving the key id's length, the key id, the nonce, then the GCM
// ciphertext and tag; the associated data binds both the Binding and the
// key id. Open also reads format 2, written by earlier releases under the
// one master key there was (the first key of the ring): the version byte
// 0x02, the nonce, the ciphertext and tag. Format 1, older still, is the
// nonce, ciphertext and tag with no version byte and no associated data: it
// can be told from the others only by where it is stored (users documents
// without pii_format 2), and is read only there until Store.MigratePII
// re-seals it.
type Cipher struct {
	initial  cipher.AEAD            // the first key's: formats 1 and 2
	keys     map[string]cipher.AEAD // by key id: format 3
	ids      []string               // key ids, oldest first
	current  string                 // the last key's id: what Seal writes
	indexKey []byte                 // derived from the first key
}

// Version bytes of sealed data.
const (
	formatBound byte = 2 // bound to a Binding, under the first key, no key id
	formatKeyed byte = 3 // bound to a Binding and the key id it names
)

// Associated data labels of formats 2 and 3.
const (
	adLabel      = "banshi pii v2"
	adLabelKeyed = "banshi pii v3"
)

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

// associatedData encodes b for format 2: adLabel, then each of Collection,
// ID and Field as a 2-byte big-endian length followed by its bytes (so no
// two bindings encode alike). Parts longer than 65535 bytes are an error.
func (b Binding) associatedData() ([]byte, error) {
	return encodeAD(adLabel, b.Collection, b.ID, b.Field)
}

// keyedAssociatedData encodes b and the key id for format 3: adLabelKeyed,
// then Collection, ID, Field and keyID, each length-prefixed as in format 2.
func (b Binding) keyedAssociatedData(keyID string) ([]byte, error) {
	return encodeAD(adLabelKeyed, b.Collection, b.ID, b.Field, keyID)
}

func encodeAD(label string, parts ...string) ([]byte, error) {
	n := len(label)
	for _, p := range parts {
		n += 2 + len(p)
	}
	out := make([]byte, 0, n)
	out = append(out, label...)
	for _, part := range parts {
		if len(part) > 0xFFFF {
			return nil, fmt.Errorf("account: PII binding part of %d bytes", len(part))
		}
		out = append(out, byte(len(part)>>8), byte(len(part)))
		out = append(out, part...)
	}
	return out, nil
}

// NewCipher returns a Cipher with the one master key masterKey, which must
// be 32 bytes (otherwise an error, which never contains key material), under
// the id InitialKeyID. It is NewKeyring with one key.
func NewCipher(masterKey []byte) (*Cipher, error) {
	return NewKeyring([]PIIKey{{ID: InitialKeyID, Master: masterKey}})
}

// NewKeyring returns a Cipher holding keys, oldest first: the first key
// opens formats 1 and 2 and is the blind-index key's source; the last is the
// current key, under which Seal writes. Errors (which never contain key
// material): no keys, a key id that is empty, longer than 32 bytes or not
// of letters, digits, '.', '_' and '-', two keys with one id or one master
// key, a master key not of 32 bytes.
func NewKeyring(keys []PIIKey) (*Cipher, error) {
	if len(keys) == 0 {
		return nil, errors.New("account: PII keyring has no key")
	}
	c := &Cipher{keys: make(map[string]cipher.AEAD, len(keys))}
	seen := map[string]string{}
	for i, k := range keys {
		if err := checkKeyID(k.ID); err != nil {
			return nil, err
		}
		if _, dup := c.keys[k.ID]; dup {
			return nil, fmt.Errorf("account: PII key id %q appears twice", k.ID)
		}
		if len(k.Master) != masterKeySize {
			return nil, fmt.Errorf("account: PII master key %q must be %d bytes, got %d", k.ID, masterKeySize, len(k.Master))
		}
		if other, dup := seen[string(k.Master)]; dup {
			return nil, fmt.Errorf("account: PII keys %q and %q are the same key", other, k.ID)
		}
		seen[string(k.Master)] = k.ID
		aead, err := newAEAD(k.Master)
		if err != nil {
			return nil, err
		}
		c.keys[k.ID] = aead
		c.ids = append(c.ids, k.ID)
		if i == 0 {
			c.initial = aead
			if c.indexKey, err = deriveKey(k.Master, hkdfInfoIndex); err != nil {
				return nil, err
			}
		}
	}
	c.current = keys[len(keys)-1].ID
	return c, nil
}

// newAEAD returns AES-256-GCM under the encryption key derived from master.
func newAEAD(master []byte) (cipher.AEAD, error) {
	encKey, err := deriveKey(master, hkdfInfoEnc)
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
	return aead, nil
}

func deriveKey(master []byte, info string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(info)), key); err != nil {
		return nil, fmt.Errorf("account: derive PII key: %w", err)
	}
	return key, nil
}

// CurrentKeyID is the id of the key Seal writes under (the last of the ring).
func (c *Cipher) CurrentKeyID() string { return c.current }

// KeyIDs lists the ring's key ids, oldest first.
func (c *Cipher) KeyIDs() []string { return append([]string(nil), c.ids...) }

// Seal encrypts plaintext bound to b under the current key, in format 3:
// 0x03 || len(key id) || key id || nonce || ciphertext || tag, different on
// every call. It fails only if the system's random source fails or a part of
// b is over 65535 bytes.
func (c *Cipher) Seal(plaintext string, b Binding) ([]byte, error) {
	ad, err := b.keyedAssociatedData(c.current)
	if err != nil {
		return nil, err
	}
	aead := c.keys[c.current]
	head := 2 + len(c.current)
	ns := aead.NonceSize()
	out := make([]byte, head+ns, head+ns+len(plaintext)+aead.Overhead())
	out[0] = formatKeyed
	out[1] = byte(len(c.current))
	copy(out[2:], c.current)
	if _, err := rand.Read(out[head:]); err != nil {
		return nil, fmt.Errorf("account: PII nonce: %w", err)
	}
	return aead.Seal(out, out[head:], []byte(plaintext), ad), nil
}

// SealedKeyID returns the id of the key sealed names (format 3) or implies
// (format 2: the first key of the ring), without decrypting it; ok is false
// for data of no known format. The id need not be in the ring.
func (c *Cipher) SealedKeyID(sealed []byte) (id string, ok bool) {
	if len(sealed) == 0 {
		return "", false
	}
	switch sealed[0] {
	case formatBound:
		return c.ids[0], true
	case formatKeyed:
		if len(sealed) < 2 || len(sealed) < 2+int(sealed[1]) || sealed[1] == 0 {
			return "", false
		}
		return string(sealed[2 : 2+int(sealed[1])]), true
	}
	return "", false
}

// Open decrypts what Seal sealed under the same binding, with the key it
// names (format 3), or format 2 with the first key. Data of another format,
// too short, altered (its key id too), sealed under another binding (moved
// to another field or record) or under a key that is not in the ring (then
// the error is errPIIKeyUnknown) gives an error, never a partial plaintext.
func (c *Cipher) Open(sealed []byte, b Binding) (string, error) {
	if len(sealed) == 0 {
		return "", errCiphertext
	}
	var (
		aead cipher.AEAD
		ad   []byte
		body []byte
		err  error
	)
	switch sealed[0] {
	case formatBound:
		aead, body = c.initial, sealed[1:]
		ad, err = b.associatedData()
	case formatKeyed:
		id, ok := c.SealedKeyID(sealed)
		if !ok {
			return "", errCiphertext
		}
		if aead = c.keys[id]; aead == nil {
			return "", errPIIKeyUnknown
		}
		body = sealed[2+len(id):]
		ad, err = b.keyedAssociatedData(id)
	default:
		return "", errCiphertext
	}
	if err != nil {
		return "", err
	}
	ns := aead.NonceSize()
	if len(body) < ns+aead.Overhead() {
		return "", errCiphertext
	}
	plain, err := aead.Open(nil, body[:ns], body[ns:], ad)
	if err != nil {
		return "", errCiphertext
	}
	return string(plain), nil
}

// openFormat1 decrypts data of format 1 (nonce || ciphertext || tag, no
// associated data) with the first key, which earlier releases wrote: read
// only from users documents without pii_format 2, which MigratePII re-seals.
func (c *Cipher) openFormat1(sealed []byte) (string, error) {
	ns := c.initial.NonceSize()
	if len(sealed) < ns+c.initial.Overhead() {
		return "", errCiphertext
	}
	plain, err := c.initial.Open(nil, sealed[:ns], sealed[ns:], nil)
	if err != nil {
		return "", errCiphertext
	}
	return string(plain), nil
}

// BlindIndex returns the lowercase hex HMAC-SHA256 of kind+"\x00"+value under
// the index key, derived from the first master key of the ring whatever the
// current key: deterministic for one keyring's first key, so it can be a lookup key or
// a unique _id, and unlinkable across keys and kinds. kind names the field,
// e.g. "id_number". Callers normalise value first.
func (c *Cipher) BlindIndex(kind, value string) string {
	m := hmac.New(sha256.New, c.indexKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
