package sim

import (
	"net/http"
	"strings"
	"testing"
)

const testTemplate = "tmpl-progress-0001"

func TestSubscribeSend(t *testing.T) {
	okData := map[string]any{"thing1": map[string]string{"value": "营业执照办理进度更新"}, "time2": map[string]string{"value": "2025年3月1日 10:00"}}
	with := func(k string, v any) map[string]any {
		d := map[string]any{"thing1": map[string]any{"value": "进度更新"}, "time2": map[string]any{"value": "10:00"}}
		d[k] = map[string]any{"value": v}
		return d
	}
	tests := []struct {
		name     string
		credits  int // accepted before sending
		msg      map[string]any
		wantCode int
		wantMsg  string // substring of errmsg
	}{
		{"delivered", 1, map[string]any{"template_id": testTemplate, "data": okData, "page": "", "lang": "", "miniprogram_state": "formal"}, 0, ""},
		{"released page with a query", 1, map[string]any{"template_id": testTemplate, "data": okData, "page": "pages/progress/index?id=7"}, 0, ""},
		{"page not released", 1, map[string]any{"template_id": testTemplate, "data": okData, "page": "pages/secret/index"}, errInvalidPage, "invalid page"},
		{"no credit", 0, map[string]any{"template_id": testTemplate, "data": okData}, errUserRefused, "user refuse to accept the msg"},
		{"unknown template", 1, map[string]any{"template_id": "tmpl-other", "data": okData}, errInvalidTemplateID, "invalid template_id"},
		{"empty template_id", 1, map[string]any{"template_id": "", "data": okData}, errInvalidTemplateID, ""},
		{"empty data", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{}}, errArgumentInvalid, "data.thing1.value is empty"},
		{"a key of the template missing", 1, map[string]any{"template_id": testTemplate, "data": map[string]any{"thing1": map[string]string{"value": "x"}}}, errArgumentInvalid, "data.time2.value is empty"},
		{"thing of 21 characters", 1, map[string]any{"template_id": testTemplate, "data": with("thing1", strings.Repeat("办", 21))}, errArgumentInvalid, "data.thing1.value"},
		{"thing of 20 characters", 1, map[string]any{"template_id": testTemplate, "data": with("thing1", strings.Repeat("办", 20))}, 0, ""},
		{"empty value", 1, map[string]any{"template_id": testTemplate, "data": with("thing1", "")}, errArgumentInvalid, "data.thing1.value"},
		{"a number is not a string", 1, map[string]any{"template_id": testTemplate, "data": with("thing1", 42)}, errArgumentInvalid, "data.thing1.value must be a string"},
		{"a time that is not one", 1, map[string]any{"template_id": testTemplate, "data": with("time2", "明天上午")}, errArgumentInvalid, "data.time2.value"},
		{"keys the template lacks are not delivered", 1, map[string]any{"template_id": testTemplate, "data": with("phrase9", "x")}, 0, ""},
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
			if data, _ := msgs[0]["data"].(map[string]any); len(data) != 2 {
				t.Fatalf("delivered data %v, want the template's two keys", data)
			}
		})
	}
}

// TestSubscribeValueRules checks each kind's rule by content as well as by
// length (reference: "Data value rules").
func TestSubscribeValueRules(t *testing.T) {
	const tpl = "tmpl-every-kind"
	keys := []string{"thing1", "number2", "letter3", "symbol4", "character_string5", "phrase6", "name7", "amount8",
		"phone_number9", "car_number10", "time11", "date12", "enum13"}
	good := map[string]string{
		"thing1": "户口迁入登记", "number2": "3.14", "letter3": "ABCdef", "symbol4": "%", "character_string5": "A012-2025/03",
		"phrase6": "已受理", "name7": "张三", "amount8": "¥12.50", "phone_number9": "+86-20-12345678", "car_number10": "粤A12345",
		"time11": "2019年10月1日 15:01", "date12": "2019-10-01", "enum13": "已办结",
	}
	tests := []struct {
		key, value string
		ok         bool
	}{
		{"thing1", strings.Repeat("长", 20), true},
		{"thing1", strings.Repeat("长", 21), false},
		{"number2", "12345", true},
		{"number2", "12a45", false},
		{"number2", "十二", false},
		{"number2", strings.Repeat("1", 33), false},
		{"letter3", "abc1", false},
		{"letter3", "办", false},
		{"symbol4", "%-+", true},
		{"symbol4", "a", false},
		{"symbol4", "%%%%%%", false},
		{"character_string5", "办件A012", false},
		{"character_string5", strings.Repeat("a", 33), false},
		{"phrase6", "已办结", true},
		{"phrase6", "done", false},
		{"phrase6", "已经办理完成了", false},
		{"phrase6", "已办结1", false},
		{"name7", "买买提·艾力", true},
		{"name7", "Zhang San", true},
		{"name7", "张San", false},
		{"name7", strings.Repeat("张", 11), false},
		{"name7", strings.Repeat("a", 21), false},
		{"amount8", "12.50元", true},
		{"amount8", "12,50", false},
		{"amount8", "¥12345678901", false},
		{"phone_number9", "020-1234x", false},
		{"phone_number9", strings.Repeat("1", 18), false},
		{"car_number10", "粤A123456", true},
		{"car_number10", "粤A1234567", false},
		{"time11", "15:01", true},
		{"time11", "25:01", false},
		{"time11", "下午三点", false},
		{"date12", "2019年13月1日", false},
		{"enum13", "已受理", false},
	}
	f := newFixture(t)
	f.wc.AddTemplate(testMiniApp, tpl, keys, map[string][]string{"enum13": {"已办结", "已退回"}})
	openID, _ := f.user(createUserRequest{})
	tok := f.token()
	for _, tc := range tests {
		data := map[string]any{}
		for k, v := range good {
			data[k] = map[string]string{"value": v}
		}
		data[tc.key] = map[string]string{"value": tc.value}
		acceptTemplate(f, openID, tpl, 1)
		body := f.wxPost("/cgi-bin/message/subscribe/send", tok, map[string]any{"touser": openID, "template_id": tpl, "data": data})
		msg, _ := body["errmsg"].(string)
		switch {
		case tc.ok && errcode(body) != 0:
			t.Errorf("%s=%q refused: %v", tc.key, tc.value, body)
		case !tc.ok && (errcode(body) != errArgumentInvalid || !strings.Contains(msg, "data."+tc.key+".value")):
			t.Errorf("%s=%q: %v, want 47003 naming the key", tc.key, tc.value, body)
		}
	}
	data := map[string]any{}
	for k, v := range good {
		data[k] = map[string]string{"value": v}
	}
	acceptTemplate(f, openID, tpl, 1)
	if body := f.wxPost("/cgi-bin/message/subscribe/send", tok, map[string]any{"touser": openID, "template_id": tpl, "data": data}); errcode(body) != 0 {
		t.Fatalf("every good value: %v", body)
	}
}

func TestSubscribeReleasedPages(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	acceptTemplate(f, openID, testTemplate, 3)
	send := func(page string) int {
		return errcode(f.wxPost("/cgi-bin/message/subscribe/send", f.token(), map[string]any{
			"touser": openID, "template_id": testTemplate, "page": page,
			"data": map[string]any{"thing1": map[string]string{"value": "进度更新"}, "time2": map[string]string{"value": "10:00"}},
		}))
	}
	if status, body := f.do(http.MethodPut, "/apps/"+testMiniApp+"/settings", map[string]any{"released_pages": []string{"pages/new/index"}}); status != http.StatusOK {
		t.Fatalf("settings: %d %v", status, body)
	}
	if got := send("pages/index/index"); got != errInvalidPage {
		t.Fatalf("a page no longer released: errcode %d, want %d", got, errInvalidPage)
	}
	if got := send("/pages/new/index?x=1"); got != 0 {
		t.Fatalf("the released page: errcode %d", got)
	}
	status, body := f.do(http.MethodGet, "/apps/"+testMiniApp+"/settings", nil)
	if pages, _ := body["released_pages"].([]any); status != http.StatusOK || len(pages) != 1 || pages[0] != "pages/new/index" || body["unionid_bound"] != true {
		t.Fatalf("settings: %d %v", status, body)
	}
	for name, tc := range map[string]struct {
		method, path string
		body         any
		want         int
	}{
		"settings, unknown app":     {http.MethodPut, "/apps/wxnope/settings", map[string]any{}, http.StatusNotFound},
		"settings, page with query": {http.MethodPut, "/apps/" + testMiniApp + "/settings", map[string]any{"released_pages": []string{"a?b"}}, http.StatusBadRequest},
		"template, unknown app":     {http.MethodPut, "/apps/wxnope/templates/t1", map[string]any{"keys": []string{"thing1"}}, http.StatusNotFound},
		"template, no keys":         {http.MethodPut, "/apps/" + testMiniApp + "/templates/t1", map[string]any{}, http.StatusBadRequest},
		"template, enum no values":  {http.MethodPut, "/apps/" + testMiniApp + "/templates/t1", map[string]any{"keys": []string{"enum1"}}, http.StatusBadRequest},
		"template added":            {http.MethodPut, "/apps/" + testMiniApp + "/templates/t1", map[string]any{"keys": []string{"thing1"}}, http.StatusNoContent},
		"subscribe, unknown tmpl":   {http.MethodPost, "/subscriptions", map[string]any{"openid": openID, "template_id": "t-none"}, http.StatusNotFound},
	} {
		if status, body := f.do(tc.method, tc.path, tc.body); status != tc.want {
			t.Errorf("%s: %d %v, want %d", name, status, body, tc.want)
		}
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
			"data": map[string]any{"thing1": map[string]string{"value": "进度更新"}, "time2": map[string]string{"value": "10:00"}},
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
