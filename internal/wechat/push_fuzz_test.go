package wechat

import (
	"errors"
	"testing"
)

// FuzzParseEvent: any message parses or is refused, never panics, and a
// parsed event has what Banshi relies on.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{popupJSONObject, popupJSONArray, sentJSONWrapped, changeXML, popupXML, sentXMLBare} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ev, err := ParseEvent(msg)
		if err != nil {
			return
		}
		if ev.FromUserName == "" || ev.MsgType == "" || ev.CreateTime <= 0 {
			t.Fatalf("parsed an event without its common fields: %+v", ev)
		}
		if n := len(ev.Popup) + len(ev.Change) + len(ev.Sent); n > maxPushItems {
			t.Fatalf("%d items", n)
		}
		for _, s := range ev.Sent {
			if s.MsgID == "" || s.TemplateID == "" {
				t.Fatalf("sent item %+v", s)
			}
		}
	})
}

// FuzzOpen: a push body, sent in plain or safe mode with correct signatures
// for whatever it holds, opens or is refused as unverified or malformed.
func FuzzOpen(f *testing.F) {
	var rnd [16]byte
	enc := encryptPush(f, testPushAppID, rnd, []byte(popupJSONArray))
	f.Add([]byte(popupXML), false)
	f.Add([]byte(sentJSONWrapped), false)
	f.Add([]byte(`{"ToUserName":"gh_1","Encrypt":"`+enc+`"}`), true)
	f.Add([]byte(`<xml><Encrypt><![CDATA[`+enc+`]]></Encrypt></xml>`), true)
	plain, safe := newTestPush(f, false), newTestPush(f, true)
	f.Fuzz(func(t *testing.T, body []byte, safeMode bool) {
		q, p := plainQuery(), plain
		if safeMode {
			e, _ := envelope(body)
			q, p = safeQuery(e), safe
		}
		_, err := p.Open(q, body)
		if err != nil && !errors.Is(err, ErrPushUnverified) && !errors.Is(err, ErrPushMalformed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// FuzzDecrypt: any Encrypt field decrypts to a message for this appid or is
// refused; it never panics, and nothing else decrypts as ours.
func FuzzDecrypt(f *testing.F) {
	var rnd [16]byte
	f.Add(encryptPush(f, testPushAppID, rnd, []byte(popupXML)))
	f.Add(encryptPush(f, "wxother", rnd, []byte(popupXML)))
	f.Add(encryptPush(f, testPushAppID, rnd, nil))
	f.Add("")
	p := newTestPush(f, true)
	f.Fuzz(func(t *testing.T, enc string) {
		msg, err := p.decrypt(enc)
		if err == nil && len(msg) > len(enc) {
			t.Fatalf("decrypted %d bytes from %d characters", len(msg), len(enc))
		}
	})
}
