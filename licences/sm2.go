package licences

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/sm2"

	"banshi/licences/licsig"
)

// SignatureAlgorithm is the only algorithm licences are signed with
// (licsig.SignatureAlgorithm): SM2 with SM3, default user ID.
const SignatureAlgorithm = licsig.SignatureAlgorithm

// ParsePublicKeyPEM reads an SM2 public key (licsig.ParsePublicKeyPEM).
func ParsePublicKeyPEM(s string) (*ecdsa.PublicKey, error) { return licsig.ParsePublicKeyPEM(s) }

// PublicKeyPEM encodes an SM2 public key (licsig.PublicKeyPEM).
func PublicKeyPEM(pub *ecdsa.PublicKey) string { return licsig.PublicKeyPEM(pub) }

// ParsePrivateKeyPEM reads a PKCS#8 SM2 private key (licsig.ParsePrivateKeyPEM).
func ParsePrivateKeyPEM(s string) (*sm2.PrivateKey, error) { return licsig.ParsePrivateKeyPEM(s) }

// PrivateKeyPEM encodes an SM2 private key (licsig.PrivateKeyPEM).
func PrivateKeyPEM(priv *sm2.PrivateKey) string { return licsig.PrivateKeyPEM(priv) }

// GenerateKey mints an SM2 key pair.
func GenerateKey() (*sm2.PrivateKey, error) { return licsig.GenerateKey() }

// Sign signs msg with SM2-with-SM3 under the default user ID (licsig.Sign).
func Sign(priv *sm2.PrivateKey, msg []byte) ([]byte, error) { return licsig.Sign(priv, msg) }

// Verify reports whether sig is pub's signature of msg (licsig.Verify).
func Verify(pub *ecdsa.PublicKey, msg, sig []byte) bool { return licsig.Verify(pub, msg, sig) }

// LoadOrCreateDevKey reads development's SM2 key from path (PKCS#8 PEM), or
// mints one and writes it there (0600, the folder 0700), created whole and
// once: of processes racing to mint it, all end up with the winner's. Never
// used in production, whose key is configuration. Errors never quote a key.
func LoadOrCreateDevKey(path string) (*sm2.PrivateKey, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("licence signing key: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, gerr := GenerateKey()
		if gerr != nil {
			return nil, fmt.Errorf("licence signing key: %w", gerr)
		}
		won, werr := createOnce(path, []byte(PrivateKeyPEM(key)))
		if werr != nil {
			return nil, fmt.Errorf("licence signing key: %w", werr)
		}
		if won {
			return key, nil
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("licence signing key: %w", err)
	}
	key, err := ParsePrivateKeyPEM(string(b))
	if err != nil {
		return nil, fmt.Errorf("licence signing key %s: %w", path, err)
	}
	return key, nil
}

// createOnce writes b (0600) to path unless it exists, by linking a
// temporary file into place; won is false when path existed.
func createOnce(path string, b []byte) (won bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
