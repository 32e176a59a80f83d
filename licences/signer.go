package licences

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/emmansun/gmsm/sm2"
)

// Signer is Banshi's own SM2 key: it signs show tokens and annotated copies,
// and verifies tokens. Safe for concurrent use.
type Signer struct {
	priv        *sm2.PrivateKey
	pub         *ecdsa.PublicKey
	publicPEM   string
	fingerprint string
}

// NewSigner returns the signer of priv.
func NewSigner(priv *sm2.PrivateKey) (*Signer, error) {
	if priv == nil {
		return nil, errors.New("licences: no signing key")
	}
	pub := &priv.PublicKey
	p := PublicKeyPEM(pub)
	sum := sha256.Sum256([]byte(strings.TrimSpace(p)))
	return &Signer{priv: priv, pub: pub, publicPEM: p, fingerprint: hex.EncodeToString(sum[:])}, nil
}

// NewSignerPEM returns the signer of a PKCS#8 PEM SM2 private key (the
// production setting). Errors never quote the key.
func NewSignerPEM(pemText string) (*Signer, error) {
	priv, err := ParsePrivateKeyPEM(pemText)
	if err != nil {
		return nil, err
	}
	return NewSigner(priv)
}

// Sign signs msg (SM2-with-SM3, default user ID).
func (s *Signer) Sign(msg []byte) ([]byte, error) { return Sign(s.priv, msg) }

// Verify reports whether sig is this key's signature of msg.
func (s *Signer) Verify(msg, sig []byte) bool { return Verify(s.pub, msg, sig) }

// PublicKeyPEM is the public key departments and verifiers check Banshi's
// signatures with.
func (s *Signer) PublicKeyPEM() string { return s.publicPEM }

// Fingerprint is the hex SHA-256 of the public key's PEM (trimmed).
func (s *Signer) Fingerprint() string { return s.fingerprint }
