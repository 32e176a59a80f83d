package platform

import (
	"encoding/base64"
	"errors"
)

// ValidPushToken reports a message-push Token WeChat's console accepts: 3 to
// 32 letters or digits.
func ValidPushToken(t string) bool {
	if len(t) < 3 || len(t) > 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// DecodeEncodingAESKey decodes a message-push EncodingAESKey: 43 characters of
// base64 (with the "=" WeChat leaves off added back) giving 32 bytes.
func DecodeEncodingAESKey(k string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(k + "=")
	if len(k) != 43 || err != nil || len(key) != 32 {
		return nil, errors.New("the EncodingAESKey must be 43 characters of base64 (32 bytes)")
	}
	return key, nil
}
