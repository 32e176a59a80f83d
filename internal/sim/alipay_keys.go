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
	"strings"
)

// AlipayDevKeys are development's Alipay identities: the app's key pair and
// the simulated Alipay's key, minted once into the data folder so that
// restarts keep them (order strings and notifications in flight stay
// verifiable). Never used in production.
type AlipayDevKeys struct {
	AppID         string
	SellerID      string          // the merchant's PID (2088…)
	AppKey        *rsa.PrivateKey // the app's private key (应用私钥)
	AppPrivateKey string          // PKCS#8 PEM: the adapter's PrivateKey
	AlipayKey     *rsa.PrivateKey // the private half of the Alipay public key (the simulator's)
	AlipayPublic  string          // PKIX PEM: the adapter's AlipayPublicKey
}

// aliDevIDs is the non-key part of AlipayDevKeys on disk.
type aliDevIDs struct {
	AppID    string `json:"app_id"`
	SellerID string `json:"seller_id"`
}

// LoadOrCreateAlipayKeys reads the development keys from dir, minting
// (RSA-2048) and writing (0600, dir 0700) those that are missing:
// app_private_key.pem, alipay_key.pem (the private half of the Alipay public
// key) and ids.json. Errors never quote a key.
func LoadOrCreateAlipayKeys(dir string) (AlipayDevKeys, error) {
	var k AlipayDevKeys
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return k, fmt.Errorf("sim alipay keys: %w", err)
	}
	var err error
	if k.AppKey, err = aliLoadOrMintKey(filepath.Join(dir, "app_private_key.pem")); err != nil {
		return k, err
	}
	if k.AlipayKey, err = aliLoadOrMintKey(filepath.Join(dir, "alipay_key.pem")); err != nil {
		return k, err
	}
	idsPath := filepath.Join(dir, "ids.json")
	var ids aliDevIDs
	b, err := os.ReadFile(idsPath)
	switch {
	case err == nil:
		if json.Unmarshal(b, &ids) != nil || len(ids.AppID) != 16 || !strings.HasPrefix(ids.SellerID, "2088") {
			return k, fmt.Errorf("sim alipay keys: %s is not valid; delete it to mint new ids", idsPath)
		}
	case errors.Is(err, fs.ErrNotExist):
		ids = aliDevIDs{AppID: "2021" + randomDigits(12), SellerID: "2088" + randomDigits(12)}
		b, _ = json.MarshalIndent(ids, "", "  ")
		if err := os.WriteFile(idsPath, b, 0o600); err != nil {
			return k, fmt.Errorf("sim alipay keys: %w", err)
		}
	default:
		return k, fmt.Errorf("sim alipay keys: %w", err)
	}
	k.AppID, k.SellerID = ids.AppID, ids.SellerID
	der, _ := x509.MarshalPKCS8PrivateKey(k.AppKey)
	k.AppPrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	k.AlipayPublic = string(publicKeyPEM(&k.AlipayKey.PublicKey))
	return k, nil
}

// aliLoadOrMintKey reads a PKCS#8 RSA key from path, or mints and writes one.
func aliLoadOrMintKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("sim alipay keys: generate %s: %w", filepath.Base(path), err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("sim alipay keys: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sim alipay keys: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("sim alipay keys: %s is not PEM", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	rk, ok := key.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("sim alipay keys: %s is not a PKCS#8 RSA key", path)
	}
	return rk, nil
}
