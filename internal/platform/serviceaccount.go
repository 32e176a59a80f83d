package platform

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ServiceAccount is the part of a Google service-account key file (the JSON
// the Cloud console downloads) that FCM's OAuth 2.0 JWT-bearer exchange uses.
type ServiceAccount struct {
	Type         string `json:"type"` // "service_account"
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"` // the JWT's kid
	PrivateKey   string `json:"private_key"`    // PKCS#8 PEM
	ClientEmail  string `json:"client_email"`   // the JWT's iss
	ClientID     string `json:"client_id"`
	AuthURI      string `json:"auth_uri"`
	TokenURI     string `json:"token_uri"` // where the JWT is exchanged; the JWT's aud
}

// ParseServiceAccount reads a service-account key file and checks that it is
// one: type "service_account", a project, a client email, a token URI and an
// RSA private key in PEM. It returns the key too.
func ParseServiceAccount(jsonKey []byte) (ServiceAccount, *rsa.PrivateKey, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(jsonKey, &sa); err != nil {
		return sa, nil, fmt.Errorf("service account: not JSON: %w", err)
	}
	switch {
	case sa.Type != "service_account":
		return sa, nil, fmt.Errorf("service account: type is %q, want \"service_account\"", sa.Type)
	case sa.ProjectID == "" || sa.ClientEmail == "" || sa.TokenURI == "":
		return sa, nil, errors.New("service account: project_id, client_email and token_uri are required")
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return sa, nil, errors.New("service account: private_key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	if err != nil {
		return sa, nil, errors.New("service account: private_key is not an RSA key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return sa, nil, errors.New("service account: private_key is not an RSA key")
	}
	return sa, rk, nil
}

// NewServiceAccountKey mints a service-account key file of projectID whose
// JWTs are exchanged at tokenURI: a fresh 2048-bit RSA key, as Google's
// console would download it. For development and tests (the FCM simulator
// trusts it when told); production uses the file Google issued.
func NewServiceAccountKey(projectID, tokenURI string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("service account: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("service account: %w", err)
	}
	kid := make([]byte, 20)
	_, _ = rand.Read(kid)
	id := make([]byte, 10)
	_, _ = rand.Read(id)
	clientID := ""
	for _, b := range id {
		clientID += fmt.Sprintf("%d", int(b)%10)
	}
	sa := ServiceAccount{
		Type:         "service_account",
		ProjectID:    projectID,
		PrivateKeyID: hex.EncodeToString(kid),
		PrivateKey:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ClientEmail:  "firebase-adminsdk@" + projectID + ".iam.gserviceaccount.com",
		ClientID:     "1" + clientID + clientID,
		AuthURI:      "https://accounts.google.com/o/oauth2/auth",
		TokenURI:     tokenURI,
	}
	return json.MarshalIndent(sa, "", "  ")
}

// WithTokenURI returns the key file jsonKey with its token_uri replaced,
// every other field kept as it was. Development points the credential it
// minted at the simulator Banshi is told to use.
func WithTokenURI(jsonKey []byte, tokenURI string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(jsonKey, &m); err != nil {
		return nil, fmt.Errorf("service account: not JSON: %w", err)
	}
	m["token_uri"] = tokenURI
	return json.MarshalIndent(m, "", "  ")
}

// DevServiceAccountFile is where development keeps its FCM service account,
// in the data folder.
const DevServiceAccountFile = "fcm-service-account.json"

// DevServiceAccount returns the service account of projectID kept in
// <dir>/fcm-service-account.json, minting it the first time, so that a
// development Banshi and `banshi sim` started from the same folder share it
// (the simulator trusts it, Banshi signs with it). Its token_uri is a
// placeholder: the user of the key points it at the simulator
// (WithTokenURI). The file is created atomically (link, never overwrite):
// processes racing to create it all end up with the winner's. A file of
// another project is an error (delete it to mint a new one).
func DevServiceAccount(dir, projectID string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	path := filepath.Join(dir, DevServiceAccountFile)
	b, err := readDevServiceAccount(path, projectID)
	if !errors.Is(err, os.ErrNotExist) {
		return b, err
	}
	key, err := NewServiceAccountKey(projectID, "http://127.0.0.1:8080/sim/fcm/token")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".fcm-service-account-*")
	if err != nil {
		return nil, fmt.Errorf("write service account: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(key)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write service account: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return readDevServiceAccount(path, projectID) // another process won the race
		}
		return nil, fmt.Errorf("write service account: %w", err)
	}
	return key, nil
}

func readDevServiceAccount(path, projectID string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sa, _, err := ParseServiceAccount(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to mint a new one)", path, err)
	}
	if sa.ProjectID != projectID {
		return nil, fmt.Errorf("%s is of FCM project %q, not %q (delete it to mint a new one)", path, sa.ProjectID, projectID)
	}
	return b, nil
}

// ValidProjectID reports a Google Cloud project id: 6 to 30 lower-case
// letters, digits or hyphens, starting with a letter, not ending with a
// hyphen.
func ValidProjectID(id string) bool {
	if len(id) < 6 || len(id) > 30 || id[0] < 'a' || id[0] > 'z' || strings.HasSuffix(id, "-") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
