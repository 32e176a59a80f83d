package licsig

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// SignatureAlgorithm is the only algorithm licences are signed with: SM2
// with SM3 (GB/T 32918.2, OIDs 1.2.156.10197.1.501 and .401) under the
// default user ID 1234567812345678.
const SignatureAlgorithm = "SM2-SM3"

// maxPEM bounds a PEM key's length.
const maxPEM = 4096

// ParsePublicKeyPEM reads an SM2 public key from a PEM "PUBLIC KEY" block
// (PKIX, SubjectPublicKeyInfo). Errors: not PEM, not PKIX, not on the SM2
// curve; they never quote the key.
func ParsePublicKeyPEM(s string) (*ecdsa.PublicKey, error) {
	if len(s) > maxPEM {
		return nil, errors.New("key too long")
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY block")
	}
	k, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKIX public key")
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != sm2.P256() {
		return nil, errors.New("not an SM2 public key")
	}
	return pub, nil
}

// PublicKeyPEM encodes an SM2 public key as a PEM "PUBLIC KEY" block.
func PublicKeyPEM(pub *ecdsa.PublicKey) string {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("licsig: marshal SM2 public key: " + err.Error()) // only for keys not on a known curve
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// ParsePrivateKeyPEM reads an SM2 private key from a PEM "PRIVATE KEY"
// block (PKCS#8). Errors never quote the key.
func ParsePrivateKeyPEM(s string) (*sm2.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM PRIVATE KEY block (PKCS#8)")
	}
	k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS#8 private key")
	}
	priv, ok := k.(*sm2.PrivateKey)
	if !ok {
		return nil, errors.New("not an SM2 private key")
	}
	return priv, nil
}

// PrivateKeyPEM encodes an SM2 private key as a PEM "PRIVATE KEY" block
// (PKCS#8).
func PrivateKeyPEM(priv *sm2.PrivateKey) string {
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		panic("licsig: marshal SM2 private key: " + err.Error())
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// GenerateKey mints an SM2 key pair.
func GenerateKey() (*sm2.PrivateKey, error) { return sm2.GenerateKey(rand.Reader) }

// Sign signs msg with SM2-with-SM3 under the default user ID; the signature
// is ASN.1 DER (SEQUENCE of r, s).
func Sign(priv *sm2.PrivateKey, msg []byte) ([]byte, error) {
	return priv.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
}

// Verify reports whether sig (ASN.1 DER) is pub's SM2-with-SM3 signature of
// msg under the default user ID.
func Verify(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	return sm2.VerifyASN1WithSM2(pub, nil, msg, sig)
}
