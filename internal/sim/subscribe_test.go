package sim

import (
	"net/http"
	"strings"
	"testing"
)

const testTemplate = "tmpl-progress-0001"

func TestSubscribeSend(t *testing.T) {
	okData := map[string]any{"thing1": map[string]string{"value": "营业执照办理进度更新"}, "time2": map[string]string{"value": "2025年3月1日 10:00"}}
	tests := []struct {
		name     string
		credits  int // accepted before sending
		msg      map[string]any
		wantCode int
		wantMsg  string // substring of errmsg
	}{
		{"delivered", 1, map[string]any{"template_id": testTemplate, "data": okData, "page": "", "lang": "", "miniprogram_state": "formal"}, 0, ""},
		{"no credit", 0, map[string]any{"template_id": testTemplate, "data": okData}, errUserRefused, "user refuse to accept the msg"},
		{"credit for another template", 0, map[string]any{"template_id": "tmpl-other", "data": okData}, errUserRefused, ""},
		{"empty template_id", 1, map[string]any{"template_id": "", "data": okData}, errInvalidTemplateID, ""},
		{"empty data", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{}}, errArgumentInvalid, "data"},
		{"thing of 21 characters", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{
			"thing3": map[string]string{"value": strings.Repeat("办", 21)},
		}}, errArgumentInvalid, "data.thing3.value"},
		{"thing of 20 characters", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{
			"thing3": map[string]string{"value": strings.Repeat("办", 20)},
		}}, 0, ""},
		{"empty value", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{
			"thing1": map[string]string{"value": ""},
		}}, errArgumentInvalid, "data.thing1.value"},
		{"phrase too long", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{
			"phrase4": map[string]string{"value": "已经办理完成了"},
		}}, errArgumentInvalid, "data.phrase4.value"},
		{"numeric value", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{
			"number5": map[string]any{"value": 42},
		}}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			openID, _ := f.user(createUserRequest{})
			if tc.credits > 0 {
				acceptTemplate(f, openID, testTemplate, tc.credits)
			}
			tc.msg["touser"] = openID
			body := f.wxPost("/cgi-bin/message/subscribe/send", f.token(), tc.msg)
			if got := errcode(body); got != tc.wantCode {
				t.Fatalf("errcode = %d, want %d (%v)", got, tc.wantCode, body)
			}
			msgs := messages(f, openID)
			if tc.wantCode != 0 {
				if msg, _ := body["errmsg"].(string); !strings.Contains(msg, tc.wantMsg) {
					t.Errorf("errmsg %q does not contain %q", msg, tc.wantMsg)
				}
				if len(msgs) != 0 {
					t.Errorf("a refused message was recorded: %v", msgs)
				}
				return
			}
			if body["errmsg"] != "ok" || body["msgid"] == nil {
				t.Errorf("body %v", body)
			}
			if len(msgs) != 1 || msgs[0]["template_id"] != testTemplate || msgs[0]["sent_at"] != "2025-03-01T02:00:00Z" {
				t.Fatalf("messages %v", msgs)
			}
		})
	}
}

func TestSubscribeCredits(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	acceptTemplate(f, openID, testTemplate, 2)
	acceptTemplate(f, openID, testTemplate, 0) // default count 1
	tok := f.token()
	send := func(n int) int {
		return errcode(f.wxPost("/cgi-bin/message/subscribe/send", tok, map[string]any{
			"touser": openID, "template_id": testTemplate, "page": "pages/progress/index?id=" + string(rune('0'+n)),
			"data": map[string]any{"thing1": map[string]string{"value": "进度更新"}},
		}))
	}
	for i := 1; i <= 3; i++ {
		if got := send(i); got != 0 {
			t.Fatalf("send %d: errcode %d", i, got)
		}
	}
	if got := send(4); got != errUserRefused {
		t.Fatalf("send past credits: errcode %d, want %d", got, errUserRefused)
	}
	msgs := messages(f, openID)
	if len(msgs) != 3 || msgs[2]["page"] != "pages/progress/index?id=3" {
		t.Fatalf("messages %v", msgs)
	}
	data, _ := msgs[0]["data"].(map[string]any)
	if item, _ := data["thing1"].(map[string]any); item["value"] != "进度更新" {
		t.Fatalf("data %v", msgs[0]["data"])
	}
	if got := errcode(f.wxPost("/cgi-bin/message/subscribe/send", tok, map[string]any{
		"touser": "ounknown", "template_id": testTemplate, "data": map[string]any{"thing1": map[string]string{"value": "x"}},
	})); got != errInvalidOpenID {
		t.Fatalf("unknown touser: errcode %d, want %d", got, errInvalidOpenID)
	}
}

// acceptTemplate accepts template count times for openID (0: omit count).
func acceptTemplate(f *fixture, openID, template string, count int) {
	f.t.Helper()
	req := map[string]any{"openid": openID, "template_id": template}
	if count > 0 {
		req["count"] = count
	}
	if status, body := f.do(http.MethodPost, "/subscriptions", req); status != http.StatusNoContent {
		f.t.Fatalf("subscribe: %d %v", status, body)
	}
}

// messages lists what openID received.
func messages(f *fixture, openID string) []map[string]any {
	f.t.Helper()
	status, body := f.do(http.MethodGet, "/messages?openid="+openID, nil)
	if status != http.StatusOK {
		f.t.Fatalf("messages: %d %v", status, body)
	}
	list, _ := body["messages"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, m := range list {
		out = append(out, m.(map[string]any))
	}
	return out
}
