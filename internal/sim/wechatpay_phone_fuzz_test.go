package sim

import (
	"strings"
	"testing"
)

// FuzzWxpPayParams: the phone's reading of pay_params never panics, and
// whatever it accepts names a prepay_id and is one of the two signed forms,
// its signed string built from the parameters' own values.
func FuzzWxpPayParams(f *testing.F) {
	f.Add([]byte(`{"appId":"wxminiprogram0001","timeStamp":"1773626400","nonceStr":"5K8264ILTKCH16CQ2502SI8ZNMTM67VS","package":"prepay_id=wx16100000abcdefghijklmnopqrstuvwxyz","signType":"RSA","paySign":"c2lnbmF0dXJl"}`))
	f.Add([]byte(`{"appid":"wxmobileapp000001","partnerid":"1900000109","prepayid":"wx16100000abcdefghijklmnopqrstuvwxyz","package":"Sign=WXPay","noncestr":"5K8264ILTKCH16CQ2502SI8ZNMTM67VS","timestamp":1773626400,"sign":"c2lnbmF0dXJl"}`))
	f.Add([]byte(`{"appId":"a","timeStamp":"1","nonceStr":"n","package":"prepay_id=","signType":"RSA","paySign":"x"}`))
	f.Add([]byte(`{"paySign":"x","sign":"y"}`))
	f.Add([]byte(`{"timeStamp":{}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := parseWxpPayParams(raw)
		if err != nil {
			return
		}
		if p.prepayID == "" || p.appID == "" || p.sign == "" || !strings.HasSuffix(p.message, "\n") {
			t.Fatalf("accepted %q as %+v", raw, p)
		}
		switch p.tradeType {
		case "JSAPI":
			if !strings.HasPrefix(p.message, p.appID+"\n") || !strings.HasSuffix(p.message, "\nprepay_id="+p.prepayID+"\n") || p.mchID != "" {
				t.Fatalf("JSAPI %q read as %+v", raw, p)
			}
		case "APP":
			if !strings.HasPrefix(p.message, p.appID+"\n") || !strings.HasSuffix(p.message, "\n"+p.prepayID+"\n") || p.mchID == "" {
				t.Fatalf("APP %q read as %+v", raw, p)
			}
		default:
			t.Fatalf("accepted %q as trade type %q", raw, p.tradeType)
		}
	})
}
