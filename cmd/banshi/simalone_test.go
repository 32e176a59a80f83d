package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
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
	sim := startProcess(t, dir, nil, "sim", "--addr", simAddr)
	simBase := "http://" + simAddr
	waitUp(t, sim, simBase+"/sim/clock")
	api := startProcess(t, dir, map[string]string{
		"BANSHI_ADDR": apiAddr, "BANSHI_SIM": "false", "BANSHI_WECHAT_API_BASE": simBase + "/sim/wechat",
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
	if st, _ := post(simBase+"/sim/wechat/users", `{"openid":"o_alone","unionid":"u_alone"}`); st != 201 {
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
}
