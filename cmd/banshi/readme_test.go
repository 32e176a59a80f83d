package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeBlock returns the first ```sh block of README.md after heading.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, heading)
	if i < 0 {
		t.Fatalf("README.md has no %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	if start < 0 {
		t.Fatalf("no sh block after %q", heading)
	}
	s = s[start+len("```sh\n"):]
	return s[:strings.Index(s, "```")]
}

// TestREADMEWalkthrough runs the README's curl walkthrough literally, as a
// newcomer would, against a fresh `banshi` process started with no
// configuration but its address and data folder, then runs it a second time
// (the walkthrough says it can be re-run).
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Banshi process")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	addr := freeAddr(t)
	dir := t.TempDir()
	p := startProcess(t, dir, map[string]string{"BANSHI_ADDR": addr}, "serve")
	base := "http://" + addr
	waitUp(t, p, base+"/readyz")

	// Start-up names the demo department system, never its secret.
	for i := 0; i < 50 && !strings.Contains(p.Output(), "demo department system"); i++ {
		time.Sleep(100 * time.Millisecond) // printed just after serving starts
	}
	if out := p.Output(); !strings.Contains(out, "demo department system: demo-dept") || regexp.MustCompile(`[0-9a-f]{64}`).MatchString(out) {
		t.Errorf("start-up output: the demo-dept line is missing, or a secret is printed:\n%s", out)
	}

	script := readmeBlock(t, "## Walkthrough")
	if !strings.Contains(script, "B=http://127.0.0.1:8080\n") {
		t.Fatal("the walkthrough no longer starts with B=http://127.0.0.1:8080")
	}
	script = strings.Replace(script, "B=http://127.0.0.1:8080\n", "B="+base+"\n", 1)
	for round := 1; round <= 2; round++ {
		cmd := exec.Command("bash", "-u", "-c", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("round %d: the walkthrough failed: %v\n%s", round, err, out)
		}
		o := string(out)
		if os.Getenv("BANSHI_SHOW_WALKTHROUGH") != "" {
			t.Logf("round %d:\n%s", round, o)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`"realname_level":4`),
			regexp.MustCompile(`"favorites":\["11440106007482133H4440111009000"\]`),
			regexp.MustCompile(`"code":"check_digit"|"check":"check_digit"`),
			regexp.MustCompile(`"status":"booked"`),
			regexp.MustCompile(`"code":"checkin_not_today"`),
			regexp.MustCompile(`"status":"checked_in","queue_number":"A\d{3}"|"queue_number":"A\d{3}"`),
			regexp.MustCompile(`"call_state":"called","window":"3"`),
			regexp.MustCompile(`"status":"completed"`),
			regexp.MustCompile(`"status":"cancelled"`),
			regexp.MustCompile(`"event_id":"sim-[0-9a-f]{16}","application_no":"GZ\d+","duplicate":false,"application_status":"accepted"`),
			regexp.MustCompile(`"duplicate":false,"application_status":"needs_materials"`),
			regexp.MustCompile(`"duplicate":false,"application_status":"approved"`),
			regexp.MustCompile(`"duplicate":false,"application_status":"delivered"`),
			regexp.MustCompile(`\{"applications":\[\{"application_no":"GZ\d+","service_code":"11440106007482133H4440111009000","source":"demo-dept","status":"delivered"`),
			regexp.MustCompile(`"timeline":\[\{"status":"accepted"[^]]*\{"status":"needs_materials"[^}]*"materials_missing":\[\{"name":"户口簿复印件","reason":"原件不清晰"\}`),
			regexp.MustCompile(`"kind":"application_delivered","title":"办件结果已送达","body":"[^"]*运单号 EMS1234567890`),
			regexp.MustCompile(`"kind":"application_materials","title":"请补正材料","body":"[^"]*1\. 户口簿复印件（原件不清晰）；2\. 近期免冠照片`),
			regexp.MustCompile(`"kind":"application_result"`),
			regexp.MustCompile(`"kind":"application_progress"`),
			// On the phone (FCM) and in WeChat (subscribe messages), fitted to the templates.
			regexp.MustCompile(`\{"messages":\[\{[^]]*"data":\{"application_no":"GZ\d+"[^}]*"kind":"application_progress"`),
			regexp.MustCompile(`"kind":"application_delivered"[^}]*\}[^]]*\]\}|"data":\{[^}]*"kind":"application_delivered"`),
			regexp.MustCompile(`"template_id":"DEMO-APPLICATION-PROGRESS","page":"pages/progress/index\?no=GZ\d+","data":\{"character_string1":\{"value":"GZ\d+"\},"phrase2":\{"value":"已受理"\}`),
			regexp.MustCompile(`"template_id":"DEMO-APPLICATION-MATERIALS"`),
			// 查缴办: a WeChat payment handled, an Alipay payment refused and refunded, a
			// reconciliation with one discrepancy resolved.
			regexp.MustCompile(`"bill_no":"FS\d+","duplicate":false,"state":"unpaid"`),
			regexp.MustCompile(`"trade_state":"SUCCESS"`),
			regexp.MustCompile(`"status":"handled"[^\n]*"to":"paid","cause":"callback"[^\n]*"to":"handled","cause":"department_accepted"`),
			regexp.MustCompile(`"trade_status":"TRADE_SUCCESS"`),
			regexp.MustCompile(`"status":"refunded","amount_fen":38000,"refunded_fen":38000[^\n]*"cause":"department_refused"`),
			regexp.MustCompile(`"kind":"payment_refunded","title":"退款成功","body":"缴费单 SB\d+ 的 380\.00 元已原路退回`),
			regexp.MustCompile(`"summary":\{"matched":\d+,"channel_only":1,`),
			regexp.MustCompile(`"kind":"channel_only"[^\n]*"resolution":\{"action":"explained","note":"测试商户号的补单，已与渠道核实","by":"demo-finance"`),
			regexp.MustCompile(`\{"enterprises":\[\{"uscc":"91440101MA5CXXXX7X","name":"广州某某科技有限公司","role":"legal_representative"`),
			// 电子证照: issued, shown, verified once at the counter.
			regexp.MustCompile(`"identifier":"1\.2\.156\.3005\.2\.[0-9A-Z.]+","status":"valid","duplicate":false`),
			regexp.MustCompile(`\{"token":"BSL1\.`),
			regexp.MustCompile(`\{"licence":\{"id":"1\.2\.156\.3005\.2\.[^"]+"[^\n]*"holder":\{"name":"\*三","code":"1101\*{10}002X"[^\n]*"status":"valid"`),
			regexp.MustCompile(`"code":"licence_token_used"`),
			regexp.MustCompile(`\{"uses":\[\{`),
			// 好差评: a 差评 whose ticket is handled; the citizen sees the reply.
			regexp.MustCompile(`"level":"dissatisfied","level_name":"不满意"[^\n]*"ticket":\{"state":"open"\}`),
			regexp.MustCompile(`"state":"closed"[^\n]*"callback":\{"by":"demo-admin"[^\n]*"outcome":"satisfied"`),
			regexp.MustCompile(`"ticket":\{"state":"closed","reply":"您好，已在办事指南中补充材料示例，感谢您的监督。"`),
			regexp.MustCompile(`\{"format":"banshi-personal-data/1","user_id":"u_[a-z0-9]+"`),
			regexp.MustCompile(`"purpose":"face_verification","version":"face-2026-01"`),
			// Members: an agent invited, seen on the page, withdrawn, audited.
			regexp.MustCompile(`"role":"agent","state":"pending","name_masked":"\*四","id_number_masked":"4401\*{10}0015"`),
			regexp.MustCompile(`"viewer":\{"role":"legal_representative"`),
			regexp.MustCompile(`"state":"withdrawn"`),
			regexp.MustCompile(`"action":"withdraw"[^\n]*"action":"invite_agent"`),
			regexp.MustCompile(`(?m)^204$`),
			regexp.MustCompile(`"code":"unauthenticated"`),
		} {
			if !want.MatchString(o) {
				t.Errorf("round %d: the walkthrough's output lacks %s\n%s", round, want, o)
			}
		}
		if strings.Contains(o, `"code":"internal"`) {
			t.Errorf("round %d: an internal error:\n%s", round, o)
		}
		if t.Failed() {
			return
		}
	}
}
