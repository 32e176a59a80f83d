package sim

import (
	"crypto/rsa"
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
	const what = "alipay"
	var k AlipayDevKeys
	if err := devKeyDir(what, dir); err != nil {
		return k, err
	}
	var err error
	if k.AppKey, err = loadOrMintRSAKey(what, filepath.Join(dir, "app_private_key.pem")); err != nil {
		return k, err
	}
	if k.AlipayKey, err = loadOrMintRSAKey(what, filepath.Join(dir, "alipay_key.pem")); err != nil {
		return k, err
	}
	ids, err := loadOrMintJSON(what, filepath.Join(dir, "ids.json"),
		func() aliDevIDs {
			return aliDevIDs{AppID: "2021" + randomDigits(12), SellerID: "2088" + randomDigits(12)}
		},
		func(ids aliDevIDs) bool { return len(ids.AppID) == 16 && strings.HasPrefix(ids.SellerID, "2088") })
	if err != nil {
		return k, err
	}
	k.AppID, k.SellerID = ids.AppID, ids.SellerID
	k.AppPrivateKey = pkcs8PEM(k.AppKey)
	k.AlipayPublic = string(publicKeyPEM(&k.AlipayKey.PublicKey))
	return k, nil
}
