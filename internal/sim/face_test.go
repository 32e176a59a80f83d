package sim

import (
	"net/http"
	"testing"
)

func TestFaceVerification(t *testing.T) {
	const name, id = "王五", "440101198505051234"
	tests := []struct {
		name     string
		certName string
		certNo   string
		outcome  string // "" leaves the phone step out
		// query edits the queryverifyinfo body.
		query   func(q map[string]string)
		wantRet int // verify_ret when wantErr is 0
		wantErr int // errcode
	}{
		{"success", name, id, outcomeSuccess, nil, verifyRetOK, 0},
		{"face mismatch", name, id, outcomeFail, nil, verifyRetFaceFailed, 0},
		{"someone else's identity", "赵六", "440101197001011111", outcomeSuccess, nil, verifyRetIDMismatch, 0},
		{"own name, other ID number", name, "440101197001011111", outcomeSuccess, nil, verifyRetIDMismatch, 0},
		{"phone step not done", name, id, "", nil, verifyRetNotFinished, 0},
		{"cert_hash of another ID number", name, id, outcomeSuccess, func(q map[string]string) { q["cert_hash"] = certHash("IDENTITY_CARD", name, "440101197001011111") }, 0, errArgumentInvalid},
		{"cert_hash in the old base64 form", name, id, outcomeSuccess, func(q map[string]string) { q["cert_hash"] = "4EsFcqyga0zMQWwB+1ej1527EEv36lGrzaplqEnbTXM=" }, 0, errArgumentInvalid},
		{"other openid", name, id, outcomeSuccess, func(q map[string]string) { q["openid"] = "oother" }, 0, errArgumentInvalid},
		{"other out_seq_no", name, id, outcomeSuccess, func(q map[string]string) { q["out_seq_no"] = "seq-2" }, 0, errArgumentInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			openID, _ := f.user(createUserRequest{RealName: name, IDNumber: id})
			tok := f.token()
			body := f.wxPost("/cityservice/face/identify/getverifyid", tok, map[string]any{
				"out_seq_no": "seq-1",
				"cert_info":  map[string]string{"cert_type": "IDENTITY_CARD", "cert_name": tc.certName, "cert_no": tc.certNo},
				"openid":     openID,
			})
			verifyID, _ := body["verify_id"].(string)
			if errcode(body) != 0 || verifyID == "" || body["expires_in"] != float64(3600) {
				t.Fatalf("getverifyid: %v", body)
			}
			if tc.outcome != "" {
				if status, body := f.do(http.MethodPost, "/face/"+verifyID+"/complete", map[string]string{"outcome": tc.outcome}); status != http.StatusNoContent {
					t.Fatalf("complete: %d %v", status, body)
				}
			}
			q := map[string]string{"verify_id": verifyID, "out_seq_no": "seq-1", "cert_hash": certHash("IDENTITY_CARD", tc.certName, tc.certNo), "openid": openID}
			if tc.query != nil {
				tc.query(q)
			}
			body = f.wxPost("/cityservice/face/identify/queryverifyinfo", tok, q)
			if tc.wantErr != 0 {
				if errcode(body) != tc.wantErr || body["verify_ret"] != nil {
					t.Fatalf("queryverifyinfo = %v, want errcode %d and no verify_ret", body, tc.wantErr)
				}
				return
			}
			if errcode(body) != 0 || body["verify_ret"] != float64(tc.wantRet) {
				t.Fatalf("queryverifyinfo = %v, want verify_ret %d", body, tc.wantRet)
			}
		})
	}
}

// TestCertHashWorkedExample reproduces the example of WeChat's
// face-verification page: 张三 / 310101199801011234.
func TestCertHashWorkedExample(t *testing.T) {
	const want = "3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b"
	if got := certHash("IDENTITY_CARD", "张三", "310101199801011234"); got != want {
		t.Fatalf("certHash = %s, want %s", got, want)
	}
}

func TestFaceErrors(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{RealName: "王五", IDNumber: "440101198505051234"})
	tok := f.token()
	cert := map[string]string{"cert_type": "IDENTITY_CARD", "cert_name": "王五", "cert_no": "440101198505051234"}
	for name, tc := range map[string]struct {
		body map[string]any
		want int
	}{
		"unknown openid":    {map[string]any{"out_seq_no": "s", "cert_info": cert, "openid": "ounknown"}, errInvalidOpenID},
		"missing out_seq":   {map[string]any{"cert_info": cert, "openid": openID}, errDataFormat},
		"missing cert_info": {map[string]any{"out_seq_no": "s", "openid": openID}, errDataFormat},
		"missing openid":    {map[string]any{"out_seq_no": "s", "cert_info": cert}, errDataFormat},
		"other cert_type":   {map[string]any{"out_seq_no": "s", "cert_info": map[string]string{"cert_type": "PASSPORT", "cert_name": "a", "cert_no": "b"}, "openid": openID}, errDataFormat},
	} {
		if got := errcode(f.wxPost("/cityservice/face/identify/getverifyid", tok, tc.body)); got != tc.want {
			t.Errorf("getverifyid %s: errcode %d, want %d", name, got, tc.want)
		}
	}

	body := f.wxPost("/cityservice/face/identify/getverifyid", tok, map[string]any{"out_seq_no": "s", "cert_info": cert, "openid": openID})
	verifyID := body["verify_id"].(string)
	for name, tc := range map[string]struct {
		path       string
		body       any
		wantStatus int
	}{
		"unknown verify_id": {"/face/nope/complete", map[string]string{"outcome": outcomeSuccess}, http.StatusNotFound},
		"bad outcome":       {"/face/" + verifyID + "/complete", map[string]string{"outcome": "maybe"}, http.StatusBadRequest},
	} {
		status, body := f.do(http.MethodPost, tc.path, tc.body)
		if status != tc.wantStatus {
			t.Errorf("complete %s: %d, want %d", name, status, tc.wantStatus)
		}
		if errBody, _ := body["error"].(map[string]any); errBody["code"] == nil || errBody["message"] == nil {
			t.Errorf("complete %s: body %v lacks error.code/message", name, body)
		}
	}
	if status, _ := f.do(http.MethodPost, "/face/"+verifyID+"/complete", map[string]string{"outcome": outcomeSuccess}); status != http.StatusNoContent {
		t.Fatalf("complete: %d", status)
	}
	if status, _ := f.do(http.MethodPost, "/face/"+verifyID+"/complete", map[string]string{"outcome": outcomeFail}); status != http.StatusConflict {
		t.Fatalf("second complete: %d, want 409", status)
	}

	query := map[string]string{"verify_id": verifyID, "out_seq_no": "s", "cert_hash": certHash("IDENTITY_CARD", cert["cert_name"], cert["cert_no"]), "openid": openID}
	if got := f.wxPost("/cityservice/face/identify/queryverifyinfo", tok, query); got["verify_ret"] != float64(verifyRetOK) {
		t.Fatalf("query: %v", got)
	}
	unknown := map[string]string{"verify_id": "nope", "out_seq_no": "s", "cert_hash": query["cert_hash"], "openid": openID}
	if got := errcode(f.wxPost("/cityservice/face/identify/queryverifyinfo", tok, unknown)); got != errDataFormat {
		t.Errorf("unknown verify_id: errcode %d, want %d", got, errDataFormat)
	}
	f.clock.Advance(verifyIDTTL)
	tok = f.token()
	if got := errcode(f.wxPost("/cityservice/face/identify/queryverifyinfo", tok, query)); got != errDataFormat {
		t.Errorf("expired verify_id: errcode %d, want %d", got, errDataFormat)
	}
	if status, _ := f.do(http.MethodPost, "/face/"+verifyID+"/complete", map[string]string{"outcome": outcomeSuccess}); status != http.StatusNotFound {
		t.Errorf("complete expired: %d, want 404", status)
	}
}
