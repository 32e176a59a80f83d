package sim

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Message push (消息推送): the simulator POSTs the mini-program's events to
// the URL of its push settings, as WeChat does (reference: "Message push to
// the mini-program's server"): signed query, plain or safe mode, JSON or XML,
// "success" expected within pushTimeout, retried pushRetries times.

// Push delivery limits.
const (
	pushTimeout    = 5 * time.Second
	pushRetries    = 3
	pushRetryDelay = 200 * time.Millisecond // WeChat waits seconds; tests should not
	maxPushRecords = 1000
)

// PushConfig is the message-push setting of a mini-program in WeChat's
// console.
type PushConfig struct {
	URL            string `json:"url"`
	Token          string `json:"token"`            // 3 to 32 letters or digits
	EncodingAESKey string `json:"encoding_aes_key"` // 43 characters; needed for safe mode
	Safe           bool   `json:"safe"`             // safe mode: the body encrypted, msg_signature in the query
	Format         string `json:"format"`           // "json" (default) or "xml"
	// Duplicates delivers every push this many extra times after its
	// success, as WeChat does when it misses an answer.
	Duplicates int `json:"duplicates"`
}

// check reports what is wrong with c, or "". A URL or a token may be
// missing (nothing is pushed until both are set).
func (c PushConfig) check() string {
	switch {
	case c.URL != "" && !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://"):
		return "url must be http(s)"
	case c.Token != "" && (len(c.Token) < 3 || len(c.Token) > 32 || strings.Trim(c.Token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != ""):
		return "token must be 3 to 32 letters or digits"
	case c.Safe && aesKey(c.EncodingAESKey) == nil:
		return "safe mode needs a 43-character encoding_aes_key"
	case c.Format != "" && c.Format != "json" && c.Format != "xml":
		return `format must be "json" or "xml"`
	case c.Duplicates < 0 || c.Duplicates > 10:
		return "duplicates must be 0..10"
	}
	return ""
}

// aesKey decodes an EncodingAESKey, nil when it is not one.
func aesKey(encodingAESKey string) []byte {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if len(encodingAESKey) != 43 || err != nil || len(key) != 32 {
		return nil
	}
	return key
}

// pushRecord is one push and what became of it.
type pushRecord struct {
	ID       int    `json:"id"`
	AppID    string `json:"appid"`
	OpenID   string `json:"openid"`
	Event    string `json:"event"`
	Message  string `json:"message"`  // the message before encryption
	Attempts int    `json:"attempts"` // deliveries tried, duplicates included
	Status   string `json:"status"`   // pending, delivered, failed, not_configured
	Answer   string `json:"answer"`   // the last answer: "200 success", an error
}

// pushItem is one List item, its fields in WeChat's order.
type pushItem [][2]string

// SetPush sets the message-push settings of mini-program appID without the
// URL check the console makes (for wiring a server not yet listening).
// Nothing is pushed until both URL and Token are set. Errors: an unknown
// appid, or a setting WeChat's console would refuse.
func (w *WeChat) SetPush(appID string, c PushConfig) error {
	if problem := c.check(); problem != "" {
		return fmt.Errorf("sim push settings: %s", problem)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.appLocked(appID)
	if app == nil {
		return fmt.Errorf("sim push settings: unknown mini-program %q", appID)
	}
	app.push = c
	return nil
}

// FlushPushes waits until every push started so far is delivered or has
// failed.
func (w *WeChat) FlushPushes() { w.pushing.Wait() }

// originalID is the mini-program's original id (gh_…), stable per appid.
func originalID(appID string) string {
	sum := sha256.Sum256([]byte("sim-original-id\x00" + appID))
	return "gh_" + hex.EncodeToString(sum[:6])
}

// pushLocked records a push of event with items for openID from appID and
// starts delivering it. Callers hold w.mu.
func (w *WeChat) pushLocked(appID, openID, event string, items []pushItem) {
	app := w.appLocked(appID)
	if app == nil {
		return
	}
	cfg := app.push
	msg := pushMessage(cfg.Format, originalID(appID), openID, w.now().Unix(), event, items)
	w.pushSeq++
	rec := &pushRecord{ID: w.pushSeq, AppID: appID, OpenID: openID, Event: event, Message: string(msg), Status: "pending"}
	w.pushes = append(w.pushes, rec)
	if len(w.pushes) > maxPushRecords {
		w.pushes = w.pushes[len(w.pushes)-maxPushRecords:]
	}
	if cfg.URL == "" || cfg.Token == "" {
		rec.Status = "not_configured"
		return
	}
	w.pushing.Add(1)
	go func() {
		defer w.pushing.Done()
		w.deliver(rec, appID, openID, cfg, msg)
	}()
}

// deliver POSTs msg until WeChat's rule says it arrived (HTTP 200 with
// "success" or an empty body), at most 1+pushRetries times, then its
// duplicates.
func (w *WeChat) deliver(rec *pushRecord, appID, openID string, cfg PushConfig, msg []byte) {
	delivered := false
	for attempt := 0; attempt <= pushRetries && !delivered; attempt++ {
		if attempt > 0 {
			time.Sleep(pushRetryDelay)
		}
		var answer string
		delivered, answer = w.postPush(appID, openID, cfg, msg)
		w.mu.Lock()
		rec.Attempts++
		rec.Answer = answer
		w.mu.Unlock()
	}
	for i := 0; delivered && i < cfg.Duplicates; i++ {
		_, answer := w.postPush(appID, openID, cfg, msg)
		w.mu.Lock()
		rec.Attempts++
		rec.Answer = answer
		w.mu.Unlock()
	}
	w.mu.Lock()
	rec.Status = "failed"
	if delivered {
		rec.Status = "delivered"
	}
	w.mu.Unlock()
	w.log.Debug("sim wechat: push", "event", rec.Event, "status", rec.Status, "attempts", rec.Attempts)
}

// postPush sends one push of msg and reports whether it was accepted.
func (w *WeChat) postPush(appID, openID string, cfg PushConfig, msg []byte) (bool, string) {
	ts, nonce := strconv.FormatInt(w.now().Unix(), 10), randomDigits(10)
	q := url.Values{"signature": {pushSignature(cfg.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}
	body := msg
	if cfg.Safe {
		enc := encryptPush(aesKey(cfg.EncodingAESKey), appID, msg)
		q.Set("openid", openID)
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", pushSignature(cfg.Token, ts, nonce, enc))
		if cfg.Format == "xml" {
			body = []byte("<xml><ToUserName><![CDATA[" + originalID(appID) + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
		} else {
			body, _ = json.Marshal(map[string]string{"ToUserName": originalID(appID), "Encrypt": enc})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	sep := "?"
	if strings.Contains(cfg.URL, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL+sep+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return false, err.Error()
	}
	if cfg.Format == "xml" {
		req.Header.Set("Content-Type", "text/xml")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.pushClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	answer := strings.TrimSpace(string(b))
	return resp.StatusCode == http.StatusOK && (answer == "success" || answer == ""), fmt.Sprintf("%d %s", resp.StatusCode, answer)
}

// pushMessage builds the message of an event: JSON with List an object for
// one item and an array for several, or XML with the Lists wrapped in the
// event's element (SubscribeMsgPopupEvent, …).
func pushMessage(format, toUser, fromUser string, created int64, event string, items []pushItem) []byte {
	if format == "xml" {
		var b strings.Builder
		b.WriteString("<xml><ToUserName><![CDATA[" + toUser + "]]></ToUserName><FromUserName><![CDATA[" + fromUser + "]]></FromUserName>")
		b.WriteString("<CreateTime>" + strconv.FormatInt(created, 10) + "</CreateTime><MsgType><![CDATA[event]]></MsgType>")
		b.WriteString("<Event><![CDATA[" + event + "]]></Event>")
		wrapper := xmlWrapper(event)
		b.WriteString("<" + wrapper + ">")
		for _, it := range items {
			b.WriteString("<List>")
			for _, kv := range it {
				b.WriteString("<" + kv[0] + "><![CDATA[" + kv[1] + "]]></" + kv[0] + ">")
			}
			b.WriteString("</List>")
		}
		b.WriteString("</" + wrapper + "></xml>")
		return []byte(b.String())
	}
	list := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m := map[string]any{}
		for _, kv := range it {
			// Numbers as WeChat sends them: some as integers, some as strings.
			if n, err := strconv.ParseInt(kv[1], 10, 64); err == nil && (kv[0] == "MsgID" || kv[0] == "ErrorCode") {
				m[kv[0]] = n
			} else {
				m[kv[0]] = kv[1]
			}
		}
		list = append(list, m)
	}
	var listValue any = list
	if len(list) == 1 {
		listValue = list[0]
	}
	b, _ := json.Marshal(map[string]any{
		"ToUserName": toUser, "FromUserName": fromUser, "CreateTime": created,
		"MsgType": "event", "Event": event, "List": listValue,
	})
	return b
}

// xmlWrapper is the element wrapping an event's Lists in XML.
func xmlWrapper(event string) string {
	switch event {
	case eventSubscribePopup:
		return "SubscribeMsgPopupEvent"
	case eventSubscribeChange:
		return "SubscribeMsgChangeEvent"
	default:
		return "SubscribeMsgSentEvent"
	}
}

// Events the simulator pushes.
const (
	eventSubscribePopup  = "subscribe_msg_popup_event"
	eventSubscribeChange = "subscribe_msg_change_event"
	eventSubscribeSent   = "subscribe_msg_sent_event"
)

// pushSignature is SHA-1 (hex) of the parts sorted and concatenated.
func pushSignature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// encryptPush is safe mode's Encrypt field: base64 of AES-256-CBC (IV =
// key[:16]) of 16 random bytes ‖ 4-byte big-endian length ‖ msg ‖ appid,
// PKCS#7-padded to 32-byte blocks.
func encryptPush(key []byte, appID string, msg []byte) string {
	plain := make([]byte, 16, 20+len(msg)+len(appID)+32)
	_, _ = rand.Read(plain)
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(msg)))
	plain = append(plain, msg...)
	plain = append(plain, appID...)
	pad := 32 - len(plain)%32
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key) // 32 bytes: checked by PushConfig.check
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
