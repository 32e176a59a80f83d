package sim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The payment simulators' development keys live in a data folder, one file a
// key, minted on first use. The helpers here are shared by
// LoadOrCreateAlipayKeys and LoadOrCreateWeChatPayKeys: every file is written
// 0600 (the folder 0700) and only ever created whole and once — a file is
// written beside its final name and linked into place, so processes racing to
// mint the same file agree on the one that won (the loser reads it back).
// Errors are prefixed "sim <what> keys" and never quote a key.

// devKeyDir creates dir (0700) for the development keys of what.
func devKeyDir(what, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sim %s keys: %w", what, err)
	}
	return nil
}

// loadOrMintRSAKey reads a PKCS#8 PEM RSA key from path, or mints an RSA-2048
// key and writes it there. Errors: the file cannot be read or written, is not
// PEM, or does not hold a PKCS#8 RSA key.
func loadOrMintRSAKey(what, path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, gerr := rsa.GenerateKey(rand.Reader, 2048)
		if gerr != nil {
			return nil, fmt.Errorf("sim %s keys: generate %s: %w", what, filepath.Base(path), gerr)
		}
		won, werr := createOnce(path, []byte(pkcs8PEM(key)))
		if werr != nil {
			return nil, fmt.Errorf("sim %s keys: %w", what, werr)
		}
		if won {
			return key, nil
		}
		b, err = os.ReadFile(path) // another process minted it first: use theirs
	}
	if err != nil {
		return nil, fmt.Errorf("sim %s keys: %w", what, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("sim %s keys: %s is not PEM", what, path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	rk, ok := key.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("sim %s keys: %s is not a PKCS#8 RSA key", what, path)
	}
	return rk, nil
}

// loadOrMintJSON reads the JSON document at path into T, or writes mint()
// there (indented). A document that does not parse or that valid rejects is
// an error naming the file, to be deleted by hand.
func loadOrMintJSON[T any](what, path string, mint func() T, valid func(T) bool) (T, error) {
	var v T
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		fresh := mint()
		out, _ := json.MarshalIndent(fresh, "", "  ")
		won, werr := createOnce(path, out)
		if werr != nil {
			return v, fmt.Errorf("sim %s keys: %w", what, werr)
		}
		if won {
			return fresh, nil
		}
		b, err = os.ReadFile(path) // another process minted it first: use theirs
	}
	if err != nil {
		return v, fmt.Errorf("sim %s keys: %w", what, err)
	}
	if json.Unmarshal(b, &v) != nil || !valid(v) {
		return v, fmt.Errorf("sim %s keys: %s is not valid; delete it to mint new ids", what, path)
	}
	return v, nil
}

// createOnce writes b (0600) to path unless path exists: it writes a
// temporary file in the same folder and hard-links it into place, so no
// reader ever sees a partial file and of racing writers exactly one wins.
// won is false when path already existed (nothing is written then).
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
	if err := tmp.Chmod(0o600); err != nil {
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

// pkcs8PEM is key as PKCS#8 PEM ("PRIVATE KEY").
func pkcs8PEM(key *rsa.PrivateKey) string {
	der, _ := x509.MarshalPKCS8PrivateKey(key) // an RSA key always marshals
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
