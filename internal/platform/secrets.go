package platform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// devSecrets is what development keeps in <data dir>/secrets.json.
type devSecrets struct {
	PIIKey        string `json:"pii_key"`
	SessionSecret string `json:"session_secret"`
	MiniAppSecret string `json:"wechat_mini_secret"`
	OpenAppSecret string `json:"wechat_app_secret"`
	CheckinKey    string `json:"checkin_key"`
	// Added later: a file written before them lacks them (see FillDevSecrets).
	PushToken  string `json:"wechat_push_token,omitempty"`
	PushAESKey string `json:"wechat_push_aes_key,omitempty"`
}

// FillDevSecrets gives every secret not configured a value generated once and
// kept in the data folder, so restarts and several processes sharing the folder
// agree. The file is created atomically (link, never overwrite): when two
// processes race, both end up with the winner's file. Production is untouched.
func (c *Config) FillDevSecrets() error {
	if c.Production() {
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	path := filepath.Join(c.DataDir, "secrets.json")
	s, err := readSecrets(path)
	if errors.Is(err, os.ErrNotExist) {
		s, err = createSecrets(path)
	}
	if err != nil {
		return err
	}
	if c.PIIKey == "" {
		c.PIIKey = Secret(s.PIIKey)
	}
	if c.SessionSecret == "" {
		c.SessionSecret = Secret(s.SessionSecret)
	}
	if c.MiniAppSecret == "" {
		c.MiniAppSecret = Secret(s.MiniAppSecret)
	}
	if c.OpenAppSecret == "" {
		c.OpenAppSecret = Secret(s.OpenAppSecret)
	}
	if c.CheckinKey == "" {
		c.CheckinKey = Secret(s.CheckinKey)
	}
	if s.PushToken == "" || s.PushAESKey == "" {
		if s, err = addPushSecrets(path, s); err != nil {
			return err
		}
	}
	if c.PushToken == "" {
		c.PushToken = Secret(s.PushToken)
	}
	if c.PushAESKey == "" {
		c.PushAESKey = Secret(s.PushAESKey)
	}
	return nil
}

func readSecrets(path string) (devSecrets, error) {
	var s devSecrets
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read %s: %w", path, err)
	}
	if s.PIIKey == "" || s.SessionSecret == "" || s.MiniAppSecret == "" || s.OpenAppSecret == "" || s.CheckinKey == "" {
		return s, fmt.Errorf("%s is incomplete: delete it to regenerate (encrypted demo data becomes unreadable)", path)
	}
	return s, nil
}

func createSecrets(path string) (devSecrets, error) {
	s := devSecrets{
		PIIKey: randomHex(32), SessionSecret: randomHex(32),
		MiniAppSecret: randomHex(16), OpenAppSecret: randomHex(16), CheckinKey: randomHex(32),
		PushToken: randomHex(16), PushAESKey: randomAESKey(),
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secrets-*")
	if err != nil {
		return s, fmt.Errorf("write secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return s, fmt.Errorf("write secrets: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return s, fmt.Errorf("write secrets: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return s, fmt.Errorf("write secrets: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return readSecrets(path) // another process won the race
		}
		return s, fmt.Errorf("write secrets: %w", err)
	}
	return s, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// decodeKey parses a 32-byte key written as 64 hex characters.
func decodeKey(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("must be 64 hexadecimal characters (32 bytes)")
	}
	return b, nil
}

// Key32 decodes a 32-byte secret written as 64 hex characters.
func (s Secret) Key32() ([]byte, error) { return decodeKey(string(s)) }

// HexKey decodes a secret written in hex that must hold at least minBytes
// bytes.
func (s Secret) HexKey(minBytes int) ([]byte, error) {
	b, err := hex.DecodeString(string(s))
	if err != nil || len(b) < minBytes {
		return nil, fmt.Errorf("must be at least %d hexadecimal characters", 2*minBytes)
	}
	return b, nil
}

// randomAESKey returns a random EncodingAESKey: 43 characters of base64 (32
// bytes, WeChat's trailing "=" left off).
func randomAESKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// addPushSecrets gives a secrets file written before the message-push
// secrets existed its push token and EncodingAESKey, and rewrites it. They
// are derived from the file's PII key, so processes sharing the folder that
// upgrade it at once write the same values; the rewrite is a rename, atomic.
func addPushSecrets(path string, s devSecrets) (devSecrets, error) {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, []byte(s.PIIKey))
		m.Write([]byte("banshi development secret: " + label))
		return m.Sum(nil)
	}
	if s.PushToken == "" {
		s.PushToken = hex.EncodeToString(derive("wechat push token"))[:32]
	}
	if s.PushAESKey == "" {
		s.PushAESKey = base64.RawStdEncoding.EncodeToString(derive("wechat push aes key"))
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secrets-*")
	if err != nil {
		return s, fmt.Errorf("upgrade secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return s, fmt.Errorf("upgrade secrets: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return s, fmt.Errorf("upgrade secrets: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return s, fmt.Errorf("upgrade secrets: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return s, fmt.Errorf("upgrade secrets: %w", err)
	}
	return s, nil
}
