package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"banshi/internal/platform"
)

// Message push (消息推送): WeChat POSTs events of the mini-program (subscribe
// popups, changes, delivery results, …) to Banshi's URL. silenceper v2.1.14's
// receiver checks only the plain-mode signature, never msg_signature, picks
// XML only from a text/xml Content-Type and parses CreateTime as an integer,
// so Banshi verifies, decrypts and parses pushes itself (reference: "Message
// push to the mini-program's server").

// The errors of message push; package api maps their codes to HTTP answers.
var (
	// ErrPushUnverified: a push (or URL check) whose signature or
	// msg_signature is wrong, whose encrypted body does not decrypt to a
	// message for this mini-program, or a plain-mode push while safe mode is
	// required. Nothing of it is read further.
	ErrPushUnverified = platform.NewError("wechat_push_unverified", "微信消息推送校验失败")
	// ErrPushMalformed: a verified push whose message is not WeChat's XML or
	// JSON.
	ErrPushMalformed = platform.NewError("wechat_push_malformed", "微信消息推送的内容无法解析")
)

// PushConfig is the message-push setting of the mini-program in WeChat's
// console.
type PushConfig struct {
	Token          string // 3 to 32 letters or digits
	EncodingAESKey string // 43 characters (base64 of 32 bytes without "="); needed to read safe mode
	AppID          string // the mini-program's appid: every decrypted message must name it
	Safe           bool   // refuse plain-mode pushes (safe mode, 安全模式)
}

// Push verifies and opens WeChat's message pushes. Safe for concurrent use.
type Push struct {
	token string
	key   []byte // nil without an EncodingAESKey
	appID string
	safe  bool
}

// NewPush checks cfg and returns the receiver. Errors name the bad setting.
func NewPush(cfg PushConfig) (*Push, error) {
	if !platform.ValidPushToken(cfg.Token) {
		return nil, errors.New("wechat push: the token must be 3 to 32 letters or digits")
	}
	p := &Push{token: cfg.Token, appID: cfg.AppID, safe: cfg.Safe}
	if cfg.EncodingAESKey != "" {
		key, err := platform.DecodeEncodingAESKey(cfg.EncodingAESKey)
		if err != nil {
			return nil, fmt.Errorf("wechat push: %w", err)
		}
		p.key = key
	}
	if cfg.Safe && (p.key == nil || cfg.AppID == "") {
		return nil, errors.New("wechat push: safe mode needs the EncodingAESKey and the appid")
	}
	return p, nil
}

// pushSignature is WeChat's signature of a push: the SHA-1, in lower-case
// hex, of the given strings sorted and concatenated. With token, timestamp and
// nonce it is the query's signature; with the Encrypt field added, safe
// mode's msg_signature.
func pushSignature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// sameSignature compares a received signature with the expected one in
// constant time.
func sameSignature(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// VerifyURL answers WeChat's URL check (GET ?signature&timestamp&nonce&echostr):
// the echostr, unchanged, when the signature is right. Errors: ErrPushUnverified.
func (p *Push) VerifyURL(q url.Values) (string, error) {
	if !p.signed(q) {
		return "", ErrPushUnverified
	}
	return q.Get("echostr"), nil
}

// signed checks the query's signature (sent in both modes).
func (p *Push) signed(q url.Values) bool {
	ts, nonce, sig := q.Get("timestamp"), q.Get("nonce"), q.Get("signature")
	return ts != "" && nonce != "" && sig != "" && sameSignature(sig, pushSignature(p.token, ts, nonce))
}

// Open verifies one pushed message and returns it parsed. It checks the
// query's signature first; a safe-mode push (encrypt_type=aes) must also
// carry the msg_signature of its Encrypt field, decrypt with the
// EncodingAESKey and name this mini-program's appid. Only then is the
// message parsed, as XML or JSON (sniffed from its first character). Errors:
// ErrPushUnverified (nothing was read past the failed check),
// ErrPushMalformed (verified, but not a WeChat message).
func (p *Push) Open(q url.Values, body []byte) (Event, error) {
	if !p.signed(q) {
		return Event{}, ErrPushUnverified
	}
	msg := body
	switch q.Get("encrypt_type") {
	case "aes":
		if p.key == nil {
			return Event{}, ErrPushUnverified.Wrap(errors.New("safe-mode push without an EncodingAESKey configured"))
		}
		enc, err := envelope(body)
		if err != nil {
			return Event{}, ErrPushUnverified.Wrap(err)
		}
		if !sameSignature(q.Get("msg_signature"), pushSignature(p.token, q.Get("timestamp"), q.Get("nonce"), enc)) {
			return Event{}, ErrPushUnverified.Wrap(errors.New("msg_signature does not match"))
		}
		if msg, err = p.decrypt(enc); err != nil {
			return Event{}, ErrPushUnverified.Wrap(err)
		}
	case "", "raw":
		if p.safe {
			return Event{}, ErrPushUnverified.Wrap(errors.New("plain-mode push refused: safe mode is required"))
		}
	default:
		return Event{}, ErrPushUnverified.Wrap(errors.New("unknown encrypt_type"))
	}
	ev, err := ParseEvent(msg)
	if err != nil {
		return Event{}, ErrPushMalformed.Wrap(err)
	}
	return ev, nil
}

// envelope returns the Encrypt field of a safe-mode body, JSON
// {"ToUserName","Encrypt"} or XML <xml><ToUserName/><Encrypt/></xml>.
func envelope(body []byte) (string, error) {
	var env struct {
		Encrypt string `json:"Encrypt" xml:"Encrypt"`
	}
	var err error
	switch firstByte(body) {
	case '{':
		err = json.Unmarshal(body, &env)
	case '<':
		err = xml.Unmarshal(body, &env)
	default:
		err = errors.New("neither XML nor JSON")
	}
	if err != nil {
		return "", fmt.Errorf("safe-mode envelope: %w", err)
	}
	if env.Encrypt == "" {
		return "", errors.New("safe-mode envelope without Encrypt")
	}
	return env.Encrypt, nil
}

// firstByte returns the first byte of b that is not white space, or 0.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// decrypt opens a safe-mode Encrypt field: base64 of AES-256-CBC (key from
// the EncodingAESKey, IV its first 16 bytes, PKCS#7 padding to 32-byte
// blocks) of 16 random bytes, the message length (4 bytes, big-endian), the
// message and the appid, which must be this mini-program's.
func (p *Push) decrypt(enc string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(data) < 32 || len(data)%aes.BlockSize != 0 {
		return nil, errors.New("the Encrypt field is not base64 of whole AES blocks")
	}
	block, err := aes.NewCipher(p.key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, p.key[:aes.BlockSize]).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 32 || pad > len(plain) {
		return nil, errors.New("bad padding")
	}
	for _, c := range plain[len(plain)-pad:] {
		if int(c) != pad {
			return nil, errors.New("bad padding")
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, errors.New("decrypted message too short")
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	rest := plain[20:]
	if uint64(n) > uint64(len(rest)) {
		return nil, errors.New("decrypted length out of range")
	}
	msg, appID := rest[:n], rest[n:]
	if subtle.ConstantTimeCompare(appID, []byte(p.appID)) != 1 {
		return nil, errors.New("decrypted message is for another appid")
	}
	return msg, nil
}
