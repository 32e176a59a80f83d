package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestSimulatorsAloneWorkWithABanshi is the README's "simulators alone"
// recipe: `banshi sim` and a `banshi` with BANSHI_SIM=false and
// BANSHI_WECHAT_API_BASE pointing at it, both started in one folder with no
// other setting, agree on the app secrets, so a citizen logs in (before, every
// login answered errcode 40125: the simulator had fixed secrets, Banshi its own).
func TestSimulatorsAloneWorkWithABanshi(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	dir := t.TempDir()
	simAddr, apiAddr := freeAddr(t), freeAddr(t)
	sim := startProcess(t, dir, nil, "sim", "--addr", simAddr, "--banshi-url", "http://"+apiAddr)
	simBase := "http://" + simAddr
	waitUp(t, sim, simBase+"/sim/clock")
	api := startProcess(t, dir, map[string]string{
		"BANSHI_ADDR": apiAddr, "BANSHI_SIM": "false", "BANSHI_WECHAT_API_BASE": simBase + "/sim/wechat",
		"BANSHI_FCM_ENDPOINT": simBase + "/sim/fcm/v1", "BANSHI_WECHATPAY_BASE_URL": simBase + "/sim/wechatpay",
		"BANSHI_ALIPAY_BASE_URL": simBase + "/sim/alipay", "BANSHI_REGISTRY_BASE": simBase + "/sim/registry",
	}, "serve")
	base := "http://" + apiAddr
	waitUp(t, api, base+"/readyz")

	post := func(url, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m
	}
	if st, _ := post(simBase+"/sim/wechat/users", `{"openid":"o_alone","unionid":"u_alone","real_name":"张三","id_number":"11010519491231002X"}`); st != 201 {
		t.Fatalf("register: %d", st)
	}
	_, c := post(simBase+"/sim/wechat/codes", `{"openid":"o_alone","kind":"miniprogram"}`)
	code, _ := c["code"].(string)
	st, login := post(base+"/api/v1/auth/miniprogram/login", `{"code":"`+code+`"}`)
	if st != 200 || login["token"] == nil {
		t.Fatalf("login through the standalone simulator: %d %v", st, login)
	}
	if st, _ := post(base+"/sim/clock", `{"advance":"1h"}`); st != 404 {
		t.Fatalf("a Banshi with BANSHI_SIM=false mounts no simulator: /sim/clock answered %d", st)
	}

	// The department simulator, told a secret an admin rotated, signs for
	// demo-dept (seeded by Banshi) and posts to --banshi-url.
	do := func(method, url, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m
	}
	_, staffLogin := post(base+"/api/v1/staff/login", `{"username":"demo-admin","password":"banshi-demo"}`)
	admin, _ := staffLogin["token"].(string)
	st, rotated := do("POST", base+"/api/v1/staff/admin/integrations/demo-dept/rotate", admin, "")
	secret, _ := rotated["secret"].(string)
	if st != 200 || secret == "" {
		t.Fatalf("rotate demo-dept: %d %v", st, rotated)
	}
	if st, _ := do("PUT", simBase+"/sim/department/demo-dept", "", `{"secret":"`+secret+`"}`); st != 204 {
		t.Fatalf("tell the simulator: %d", st)
	}
	st, receipt := post(simBase+"/sim/department/demo-dept/applications", `{"application_no":"ALONE1","service_code":"S1","status":"accepted",
		"applicant":{"type":"enterprise","uscc":"91440101MA5CXXXX7X","name":"广州某某科技有限公司"}}`)
	if st != 200 || receipt["application_status"] != "accepted" {
		t.Fatalf("an event through the standalone simulator: %d %v", st, receipt)
	}

	// FCM: the citizen proves his ID number (level 3) and registers a phone;
	// his application's progress reaches the standalone FCM simulator,
	// signed for with the data folder's service account both processes share.
	token, _ := login["token"].(string)
	if st, m := do("POST", base+"/api/v1/me/realname/declare", token, `{"name":"张三","id_number":"11010519491231002X"}`); st != 200 {
		t.Fatalf("declare: %d %v", st, m)
	}
	_, rc := post(simBase+"/sim/wechat/realname-codes", `{"openid":"o_alone"}`)
	rcode, _ := rc["code"].(string)
	if st, m := do("POST", base+"/api/v1/me/realname/check", token, `{"name":"张三","id_number":"11010519491231002X","code":"`+rcode+`"}`); st != 200 {
		t.Fatalf("real-name check: %d %v", st, m)
	}
	if st, m := do("POST", base+"/api/v1/me/devices", token, `{"platform":"android","token":"alone-phone"}`); st != 200 {
		t.Fatalf("register a phone: %d %v", st, m)
	}
	if st, m := post(simBase+"/sim/department/demo-dept/applications", `{"application_no":"ALONE2","service_code":"S1","status":"accepted",
		"applicant":{"type":"person","id_number":"11010519491231002X","name":"张三"}}`); st != 200 {
		t.Fatalf("a person's event: %d %v", st, m)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, got := do("GET", simBase+"/sim/fcm/messages?token=alone-phone", "", "")
		if msgs, _ := got["messages"].([]any); len(msgs) > 0 {
			if data, _ := msgs[0].(map[string]any)["data"].(map[string]any); data["application_no"] != "ALONE2" {
				t.Fatalf("the phone got %v", msgs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no push reached the standalone FCM simulator:\n%s", api.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Payments: the merchants' keys of the data folder are the simulators'
	// too, so a demo bill is paid through the standalone WeChat Pay and its
	// callback reaches this Banshi.
	ordReq, _ := http.NewRequest("POST", base+"/api/v1/bills/DEMO-FS-20260001/orders", bytes.NewBufferString(`{"channel":"wechat_jsapi"}`))
	ordReq.Header.Set("Authorization", "Bearer "+token)
	ordReq.Header.Set("Idempotency-Key", "alone-1")
	ordReq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(ordReq)
	if err != nil {
		t.Fatal(err)
	}
	var order struct {
		OrderNo   string          `json:"order_no"`
		PayParams json.RawMessage `json:"pay_params"`
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || json.Unmarshal(raw, &order) != nil || order.OrderNo == "" {
		t.Fatalf("order through the standalone WeChat Pay: %d %s", resp.StatusCode, raw)
	}
	if st, m := post(simBase+"/sim/wechatpay/pay", `{"pay_params":`+string(order.PayParams)+`,"outcome":"success"}`); st != 200 || m["trade_state"] != "SUCCESS" {
		t.Fatalf("pay: %d %v", st, m)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		_, got := do("GET", base+"/api/v1/orders/"+order.OrderNo, token, "")
		if got["status"] == "paid" || got["status"] == "handled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standalone WeChat Pay's callback never paid the order: %v\n%s", got, api.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
