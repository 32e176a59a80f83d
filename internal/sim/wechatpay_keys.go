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

// WeChatPayDevKeys are development's WeChat Pay identities: the merchant's
// API key and the simulated WeChat Pay's keys, minted once into the data
// folder so that restarts keep them (orders and callbacks in flight stay
// verifiable). Never used in production.
type WeChatPayDevKeys struct {
	MerchantKey    *rsa.PrivateKey
	MerchantKeyPEM string // PKCS#8: the adapter's PrivateKeyPEM
	MerchantSerial string
	APIv3Key       string
	PublicKey      *rsa.PrivateKey // the private half of the WeChat Pay public key (the simulator's)
	PublicKeyID    string
	PublicKeyPEM   string // the adapter's PublicKeyPEM
	CertificateKey *rsa.PrivateKey
}

// wxpDevIDs is the non-key part of WeChatPayDevKeys on disk.
type wxpDevIDs struct {
	MerchantSerial string `json:"merchant_serial"`
	APIv3Key       string `json:"apiv3_key"`
	PublicKeyID    string `json:"public_key_id"`
}

// LoadOrCreateWeChatPayKeys reads the development keys from dir, minting
// (RSA-2048) and writing (0600, dir 0700) those that are missing:
// merchant_key.pem, wechatpay_public_key.pem (private half),
// platform_cert_key.pem and ids.json. Errors never quote a key.
func LoadOrCreateWeChatPayKeys(dir string) (WeChatPayDevKeys, error) {
	var k WeChatPayDevKeys
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return k, fmt.Errorf("sim wechatpay keys: %w", err)
	}
	var err error
	if k.MerchantKey, err = loadOrMintKey(filepath.Join(dir, "merchant_key.pem")); err != nil {
		return k, err
	}
	if k.PublicKey, err = loadOrMintKey(filepath.Join(dir, "wechatpay_public_key.pem")); err != nil {
		return k, err
	}
	if k.CertificateKey, err = loadOrMintKey(filepath.Join(dir, "platform_cert_key.pem")); err != nil {
		return k, err
	}
	idsPath := filepath.Join(dir, "ids.json")
	var ids wxpDevIDs
	b, err := os.ReadFile(idsPath)
	switch {
	case err == nil:
		if json.Unmarshal(b, &ids) != nil || len(ids.APIv3Key) != 32 || ids.MerchantSerial == "" || !strings.HasPrefix(ids.PublicKeyID, "PUB_KEY_ID_") {
			return k, fmt.Errorf("sim wechatpay keys: %s is not valid; delete it to mint new ids", idsPath)
		}
	case errors.Is(err, fs.ErrNotExist):
		ids = wxpDevIDs{
			MerchantSerial: strings.ToUpper(randomAlnum(40)),
			APIv3Key:       randomAlnum(32),
			PublicKeyID:    "PUB_KEY_ID_01" + randomDigits(30),
		}
		b, _ = json.MarshalIndent(ids, "", "  ")
		if err := os.WriteFile(idsPath, b, 0o600); err != nil {
			return k, fmt.Errorf("sim wechatpay keys: %w", err)
		}
	default:
		return k, fmt.Errorf("sim wechatpay keys: %w", err)
	}
	k.MerchantSerial, k.APIv3Key, k.PublicKeyID = ids.MerchantSerial, ids.APIv3Key, ids.PublicKeyID
	der, _ := x509.MarshalPKCS8PrivateKey(k.MerchantKey)
	k.MerchantKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	k.PublicKeyPEM = string(publicKeyPEM(&k.PublicKey.PublicKey))
	return k, nil
}

// loadOrMintKey reads a PKCS#8 RSA key from path, or mints and writes one.
func loadOrMintKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("sim wechatpay keys: generate %s: %w", filepath.Base(path), err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("sim wechatpay keys: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sim wechatpay keys: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("sim wechatpay keys: %s is not PEM", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	rk, ok := key.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("sim wechatpay keys: %s is not a PKCS#8 RSA key", path)
	}
	return rk, nil
}
