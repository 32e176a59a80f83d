package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/url"
	"strings"
	"testing"

	"banshi/internal/platform"
)

const (
	testPushToken  = "AAAAA"
	testPushAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testPushAppID  = "wxmini"
)

// TestPushSignatureWorkedExample recomputes the example of WeChat's
// message-push page: token AAAAA, timestamp 1714036504, nonce 1514711492.
func TestPushSignatureWorkedExample(t *testing.T) {
	got := pushSignature("AAAAA", "1714036504", "1514711492")
	if !strings.HasPrefix(got, "f464b24f") || !strings.HasSuffix(got, "1696") || got != "f464b24fc39322e44b38aa78f5edd27bd1441696" {
		t.Fatalf("signature = %s, want f464b24f…1696", got)
	}
	p := newTestPush(t, false)
	q := url.Values{"signature": {got}, "timestamp": {"1714036504"}, "nonce": {"1514711492"}, "echostr": {"4375120948345356249"}}
	if echo, err := p.VerifyURL(q); err != nil || echo != "4375120948345356249" {
		t.Fatalf("URL check: %q, %v", echo, err)
	}
	q.Set("signature", strings.Replace(got, "f464", "f465", 1))
	if _, err := p.VerifyURL(q); !errors.Is(err, ErrPushUnverified) {
		t.Fatalf("URL check with a wrong signature: %v", err)
	}
	q.Del("signature")
	if _, err := p.VerifyURL(q); !errors.Is(err, ErrPushUnverified) {
		t.Fatalf("URL check without a signature: %v", err)
	}
}

func newTestPush(t testing.TB, safe bool) *Push {
	t.Helper()
	p, err := NewPush(PushConfig{Token: testPushToken, EncodingAESKey: testPushAESKey, AppID: testPushAppID, Safe: safe})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// encryptPush is the sender's side of safe mode: the Encrypt field of msg
// for appID, with the 16 random bytes given.
func encryptPush(t testing.TB, appID string, random [16]byte, msg []byte) string {
	t.Helper()
	key, err := platform.DecodeEncodingAESKey(testPushAESKey)
	if err != nil {
		t.Fatal(err)
	}
	plain := append(random[:], binary.BigEndian.AppendUint32(nil, uint32(len(msg)))...)
	plain = append(append(plain, msg...), appID...)
	pad := 32 - len(plain)%32
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// plainQuery is a plain-mode push query signed with the test token.
func plainQuery() url.Values {
	return url.Values{"signature": {pushSignature(testPushToken, "1714036504", "1514711492")}, "timestamp": {"1714036504"}, "nonce": {"1514711492"}}
}

// safeQuery is a safe-mode push query for the Encrypt field enc.
func safeQuery(enc string) url.Values {
	q := plainQuery()
	q.Set("openid", "oUser")
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", pushSignature(testPushToken, "1714036504", "1514711492", enc))
	return q
}

const (
	popupJSONObject = `{"ToUserName":"gh_123456789abc","FromUserName":"oUser","CreateTime":"1620963428","MsgType":"event","Event":"subscribe_msg_popup_event","List":{"PopupScene":"0","SubscribeStatusString":"accept","TemplateId":"TPL1"}}`
	popupJSONArray  = `{"ToUserName":"gh_123456789abc","FromUserName":"oUser","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_popup_event","List":[{"PopupScene":0,"SubscribeStatusString":"accept","TemplateId":"TPL1"},{"PopupScene":"0","SubscribeStatusString":"reject","TemplateId":"TPL2"}]}`
	sentJSONWrapped = `{"ToUserName":"gh_123456789abc","FromUserName":"oUser","CreateTime":"1620963428","MsgType":"event","Event":"subscribe_msg_sent_event","SubscribeMsgSentEvent":{"List":{"TemplateId":"TPL1","MsgID":1700827132819554304,"ErrorCode":"0","ErrorStatus":"success"}}}`
	changeXML       = `<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1620963428</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_change_event]]></Event><SubscribeMsgChangeEvent><List><TemplateId><![CDATA[TPL1]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List></SubscribeMsgChangeEvent></xml>`
	popupXML        = `<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1620963428</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List><TemplateId><![CDATA[TPL1]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List><List><TemplateId><![CDATA[TPL2]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent></xml>`
	sentXMLBare     = `<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName><CreateTime>1620963428</CreateTime><MsgType>event</MsgType><Event>subscribe_msg_sent_event</Event><List><TemplateId>TPL1</TemplateId><MsgID>1700827132819554304</MsgID><ErrorCode>43101</ErrorCode><ErrorStatus>fail: user refuse</ErrorStatus></List></xml>`
)

func TestParseEventShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		msg   string
		check func(Event) bool
	}{
		"JSON, List an object, numbers as strings": {popupJSONObject, func(e Event) bool {
			return e.Event == EventSubscribePopup && len(e.Popup) == 1 && e.Popup[0] == PopupItem{"TPL1", "accept", 0} && e.CreateTime == 1620963428
		}},
		"JSON, List an array, numbers as integers": {popupJSONArray, func(e Event) bool {
			return len(e.Popup) == 2 && e.Popup[1] == PopupItem{"TPL2", "reject", 0} && e.CreateTime == 1620963428
		}},
		"JSON, List wrapped, a large MsgID": {sentJSONWrapped, func(e Event) bool {
			return e.Event == EventSubscribeSent && len(e.Sent) == 1 && e.Sent[0] == SentItem{"TPL1", "1700827132819554304", 0, "success"}
		}},
		"XML change event": {changeXML, func(e Event) bool {
			return e.Event == EventSubscribeChange && len(e.Change) == 1 && e.Change[0] == ChangeItem{"TPL1", "reject"} && e.ToUserName == "gh_123456789abc"
		}},
		"XML popup, two wrapped Lists": {popupXML, func(e Event) bool {
			return len(e.Popup) == 2 && e.Popup[0].Status == "accept" && e.Popup[1].TemplateID == "TPL2"
		}},
		"XML sent, Lists not wrapped": {sentXMLBare, func(e Event) bool {
			return len(e.Sent) == 1 && e.Sent[0].ErrorCode == 43101 && e.Sent[0].ErrorStatus == "fail: user refuse"
		}},
		"a plain text message": {`{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1620963428,"MsgType":"text","Content":"你好","MsgId":23456789012345678}`, func(e Event) bool {
			return e.MsgType == "text" && e.MsgID == "23456789012345678" && e.Event == ""
		}},
	} {
		ev, err := ParseEvent([]byte(tc.msg))
		if err != nil || !tc.check(ev) {
			t.Errorf("%s: %+v, %v", name, ev, err)
		}
	}
	for name, msg := range map[string]string{
		"empty":                  ``,
		"not XML or JSON":        `hello`,
		"no FromUserName":        `{"CreateTime":1,"MsgType":"event"}`,
		"CreateTime not numeric": `{"FromUserName":"o","CreateTime":"yesterday","MsgType":"event"}`,
		"List a string":          `{"FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"subscribe_msg_popup_event","List":"x"}`,
		"item without template":  `{"FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"subscribe_msg_popup_event","List":{"SubscribeStatusString":"accept"}}`,
		"MsgID not a number":     `{"FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"subscribe_msg_sent_event","List":{"TemplateId":"T","MsgID":"abc"}}`,
		"bad XML":                `<xml><FromUserName>o</xml>`,
	} {
		if _, err := ParseEvent([]byte(msg)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestOpenPlainAndSafe(t *testing.T) {
	plain, safe := newTestPush(t, false), newTestPush(t, true)
	var rnd [16]byte
	copy(rnd[:], "0123456789abcdef")

	// Plain mode: signature checked, body parsed.
	if ev, err := plain.Open(plainQuery(), []byte(popupXML)); err != nil || len(ev.Popup) != 2 {
		t.Fatalf("plain XML: %+v, %v", ev, err)
	}
	bad := plainQuery()
	bad.Set("nonce", "1514711493")
	if _, err := plain.Open(bad, []byte(popupXML)); !errors.Is(err, ErrPushUnverified) {
		t.Fatalf("plain push with a wrong signature: %v", err)
	}
	if _, err := safe.Open(plainQuery(), []byte(popupXML)); !errors.Is(err, ErrPushUnverified) {
		t.Fatalf("plain push when safe mode is required: %v", err)
	}

	// Safe mode, JSON and XML envelopes.
	enc := encryptPush(t, testPushAppID, rnd, []byte(popupJSONArray))
	for name, body := range map[string]string{
		"JSON envelope": `{"ToUserName":"gh_123456789abc","Encrypt":"` + enc + `"}`,
		"XML envelope":  `<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><Encrypt><![CDATA[` + enc + `]]></Encrypt></xml>`,
	} {
		for _, p := range []*Push{plain, safe} {
			if ev, err := p.Open(safeQuery(enc), []byte(body)); err != nil || len(ev.Popup) != 2 {
				t.Errorf("%s: %+v, %v", name, ev, err)
			}
		}
	}

	// Safe mode refusals: every one is ErrPushUnverified.
	other := encryptPush(t, "wxother", rnd, []byte(popupJSONArray))
	tampered := []byte(enc)
	tampered[10] ^= 1
	wrongSig := safeQuery(enc)
	wrongSig.Set("msg_signature", pushSignature(testPushToken, "1714036504", "1514711492", "x"))
	onlySig := safeQuery(enc)
	onlySig.Del("msg_signature")
	for name, tc := range map[string]struct {
		q    url.Values
		body string
	}{
		"another appid":           {safeQuery(other), `{"Encrypt":"` + other + `"}`},
		"tampered ciphertext":     {safeQuery(string(tampered)), `{"Encrypt":"` + string(tampered) + `"}`},
		"wrong msg_signature":     {wrongSig, `{"Encrypt":"` + enc + `"}`},
		"no msg_signature":        {onlySig, `{"Encrypt":"` + enc + `"}`},
		"no Encrypt":              {safeQuery(""), `{"ToUserName":"gh_1"}`},
		"not base64":              {safeQuery("!!!!"), `{"Encrypt":"!!!!"}`},
		"envelope neither format": {safeQuery(enc), enc},
	} {
		if _, err := safe.Open(tc.q, []byte(tc.body)); !errors.Is(err, ErrPushUnverified) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Verified but not a message: malformed, not unverified.
	junk := encryptPush(t, testPushAppID, rnd, []byte("hello"))
	if _, err := safe.Open(safeQuery(junk), []byte(`{"Encrypt":"`+junk+`"}`)); !errors.Is(err, ErrPushMalformed) {
		t.Fatalf("a verified push that is not a message: %v", err)
	}
}

func TestNewPushChecksSettings(t *testing.T) {
	for name, cfg := range map[string]PushConfig{
		"short token":         {Token: "ab"},
		"token with symbols":  {Token: "abc-def"},
		"short AES key":       {Token: "abcdef", EncodingAESKey: "abc"},
		"safe without key":    {Token: "abcdef", AppID: "wx", Safe: true},
		"safe without appid":  {Token: "abcdef", EncodingAESKey: testPushAESKey, Safe: true},
		"AES key not base64!": {Token: "abcdef", EncodingAESKey: strings.Repeat("!", 43)},
	} {
		if _, err := NewPush(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
