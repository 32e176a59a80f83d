package account

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// InitialKeyID is the id of the key given alone (BANSHI_PII_KEY): the first
// key of every ring, under which format-2 data was sealed and from which the
// blind-index key is derived.
const InitialKeyID = "k1"

// maxKeyIDLen bounds a key id (it is written into every format-3 ciphertext).
const maxKeyIDLen = 32

// PIIKey is one master key of a keyring and its short id.
type PIIKey struct {
	ID     string
	Master []byte // 32 bytes
}

// String never shows the key material.
func (k PIIKey) String() string { return "PIIKey(" + k.ID + ")" }

// checkKeyID accepts 1 to 32 letters, digits, '.', '_' and '-'.
func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("account: PII key id %q must be 1 to %d characters", id, maxKeyIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("account: PII key id %q: only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// KeyringFromConfig builds the keyring of the settings: initial (the master
// key BANSHI_PII_KEY, id InitialKeyID, always first) followed by the keys of
// more (BANSHI_PII_KEYS: "id:hex,id:hex,...", each 64 hex characters, in the
// order they were added; may be empty). The current key, under which new data
// is sealed, is seal (BANSHI_PII_SEAL_KEY) when given, else the LAST key; the
// others are kept to open what was sealed under them until `banshi
// rotate-pii-key` has re-sealed it. Naming an older key as seal lets a new key
// be rolled out for reading first, so no replica ever meets data sealed under
// a key it does not have. Errors name the bad entry by its position and id,
// never its key material; an unknown seal id is an error.
func KeyringFromConfig(initial []byte, more, seal string) (*Cipher, error) {
	keys := []PIIKey{{ID: InitialKeyID, Master: initial}}
	if strings.TrimSpace(more) != "" {
		for i, entry := range strings.Split(more, ",") {
			id, hexKey, ok := strings.Cut(strings.TrimSpace(entry), ":")
			if !ok {
				return nil, fmt.Errorf("BANSHI_PII_KEYS entry %d: want id:64-hex-characters", i+1)
			}
			master, err := hex.DecodeString(hexKey)
			if err != nil || len(master) != masterKeySize {
				return nil, fmt.Errorf("BANSHI_PII_KEYS entry %d (%q): the key must be 64 hexadecimal characters", i+1, id)
			}
			keys = append(keys, PIIKey{ID: id, Master: master})
		}
	}
	c, err := NewKeyring(keys)
	if err != nil || seal == "" {
		return c, err
	}
	if _, ok := c.keys[seal]; !ok {
		return nil, fmt.Errorf("BANSHI_PII_SEAL_KEY %q: no such key id in BANSHI_PII_KEY (k1) and BANSHI_PII_KEYS", seal)
	}
	c.current = seal
	return c, nil
}
