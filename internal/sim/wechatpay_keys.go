package sim

import (
	"crypto/rsa"
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
	const what = "wechatpay"
	var k WeChatPayDevKeys
	if err := devKeyDir(what, dir); err != nil {
		return k, err
	}
	var err error
	if k.MerchantKey, err = loadOrMintRSAKey(what, filepath.Join(dir, "merchant_key.pem")); err != nil {
		return k, err
	}
	if k.PublicKey, err = loadOrMintRSAKey(what, filepath.Join(dir, "wechatpay_public_key.pem")); err != nil {
		return k, err
	}
	if k.CertificateKey, err = loadOrMintRSAKey(what, filepath.Join(dir, "platform_cert_key.pem")); err != nil {
		return k, err
	}
	ids, err := loadOrMintJSON(what, filepath.Join(dir, "ids.json"),
		func() wxpDevIDs {
			return wxpDevIDs{
				MerchantSerial: strings.ToUpper(randomAlnum(40)),
				APIv3Key:       randomAlnum(32),
				PublicKeyID:    "PUB_KEY_ID_01" + randomDigits(30),
			}
		},
		func(ids wxpDevIDs) bool {
			return len(ids.APIv3Key) == 32 && ids.MerchantSerial != "" && strings.HasPrefix(ids.PublicKeyID, "PUB_KEY_ID_")
		})
	if err != nil {
		return k, err
	}
	k.MerchantSerial, k.APIv3Key, k.PublicKeyID = ids.MerchantSerial, ids.APIv3Key, ids.PublicKeyID
	k.MerchantKeyPEM = pkcs8PEM(k.MerchantKey)
	k.PublicKeyPEM = string(publicKeyPEM(&k.PublicKey.PublicKey))
	return k, nil
}
