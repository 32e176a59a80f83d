package wechatpay_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/payments"
	"banshi/payments/wechatpay"
)

// fuzzProvider is an adapter in public-key mode that makes no call.
func fuzzProvider(t testing.TB, clock platform.Clock) *wechatpay.Provider {
	t.Helper()
	testKeys(t)
	p, err := wechatpay.New(wechatpay.Config{
		MchID: testMchID, MiniProgramAppID: testMiniApp, SerialNo: testSerial, PrivateKeyPEM: merchantPEM,
		APIv3Key: testAPIv3Key, PublicKeyID: testPubKeyID, PublicKeyPEM: wxPayPubPEM,
		BaseURL: "http://127.0.0.1:1", Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// refundResource is a decrypted REFUND.* resource.
func refundResource(status string) map[string]any {
	return map[string]any{
		"mchid": testMchID, "out_trade_no": "ORD0000100", "transaction_id": "4200000000202603160000000001",
		"out_refund_no": "RF00000100", "refund_id": "50000000000000000000000001", "refund_status": status,
		"success_time": "2026-03-16T11:00:00+08:00", "user_received_account": "支付用户零钱",
		"amount": map[string]any{"total": 100, "refund": 40, "payer_total": 100, "payer_refund": 40},
	}
}

// FuzzParseNotification feeds callback bodies and headers to the parser:
// signed by the WeChat Pay key (so the parsing behind the signature is
// fuzzed) or not, at a timestamp offset, under a serial. Whatever comes in,
// the parser answers a notification or ErrNotVerified / ErrMalformed, never
// panics, and never accepts what is unsigned, stale or under another serial.
func FuzzParseNotification(f *testing.F) {
	f.Add(envelope(f, "TRANSACTION.SUCCESS", paidTransaction(testMchID), testAPIv3Key), true, int64(0), testPubKeyID)
	f.Add(envelope(f, "REFUND.SUCCESS", refundResource("SUCCESS"), testAPIv3Key), true, int64(-120), testPubKeyID)
	f.Add([]byte(`{"id":"x","resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"","ciphertext":"AA=="}}`), true, int64(0), testPubKeyID)
	f.Add([]byte(`{}`), false, int64(400), "PUB_KEY_ID_X")
	clock := platform.NewManualClock(time.Now())
	p := fuzzProvider(f, clock)
	f.Fuzz(func(t *testing.T, body []byte, sign bool, offset int64, serial string) {
		if offset > 1<<40 || offset < -(1<<40) {
			offset = 0
		}
		now := clock.Now()
		var h http.Header
		if sign {
			h = signedHeaders(wxPayKey, serial, now.Add(time.Duration(offset)*time.Second), body)
		} else {
			h = signedHeaders(strangerKey, serial, now.Add(time.Duration(offset)*time.Second), body)
		}
		n, err := p.ParseNotification(ctx, h, body)
		switch {
		case err == nil:
			if !sign || serial != testPubKeyID || offset > 300 || offset < -300 {
				t.Fatalf("accepted: sign=%v serial=%q offset=%d", sign, serial, offset)
			}
			if (n.Kind != payments.NotifyPayment && n.Kind != payments.NotifyRefund) || n.Trade.OrderNo == "" {
				t.Fatalf("accepted an empty notification %+v", n)
			}
		case errors.Is(err, payments.ErrNotVerified), errors.Is(err, payments.ErrMalformed):
			if n != (payments.Notification{}) {
				t.Fatalf("refused but returned %+v", n)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzBillReader feeds files to the bill reader: it ends in io.EOF with
// totals equal to its rows' sums, or in ErrMalformed, never panics.
func FuzzBillReader(f *testing.F) {
	f.Add([]byte(sampleBill))
	f.Add([]byte("\uFEFF交易时间\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := wechatpay.NewBillReader(io.NopCloser(bytes.NewReader(data)), "")
		rows, err := readAll(br)
		if err != nil {
			if !errors.Is(err, payments.ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var tot payments.BillTotals
		tot.Trades = int64(len(rows))
		for _, r := range rows {
			if r.AmountFen < 0 || r.OrderNo == "" || (r.Kind != payments.BillPayment && r.Kind != payments.BillRefund) {
				t.Fatalf("bad row %+v", r)
			}
			tot.FeeMilliFen += r.FeeMilliFen
			if r.Kind == payments.BillRefund {
				tot.RefundedFen += r.AmountFen
			}
		}
		got := br.Totals()
		if got.Trades != tot.Trades || got.RefundedFen != tot.RefundedFen || got.FeeMilliFen != tot.FeeMilliFen {
			t.Fatalf("totals %+v, rows %+v", got, tot)
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpora
// (testdata/fuzz/...) when BANSHI_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BANSHI_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set BANSHI_WRITE_FUZZ_SEEDS=1 to regenerate the seed corpora")
	}
	write := func(fuzz, name string, values ...any) {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, v := range values {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case bool:
				fmt.Fprintf(&b, "bool(%v)\n", v)
			case int64:
				fmt.Fprintf(&b, "int64(%d)\n", v)
			case string:
				fmt.Fprintf(&b, "string(%q)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pay := envelope(t, "TRANSACTION.SUCCESS", paidTransaction(testMchID), testAPIv3Key)
	write("FuzzParseNotification", "payment", pay, true, int64(0), testPubKeyID)
	write("FuzzParseNotification", "payment-stale", pay, true, int64(301), testPubKeyID)
	write("FuzzParseNotification", "payment-unsigned", pay, false, int64(0), testPubKeyID)
	write("FuzzParseNotification", "payment-other-serial", pay, true, int64(0), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
	write("FuzzParseNotification", "refund-success", envelope(t, "REFUND.SUCCESS", refundResource("SUCCESS"), testAPIv3Key), true, int64(0), testPubKeyID)
	write("FuzzParseNotification", "refund-abnormal", envelope(t, "REFUND.ABNORMAL", refundResource("ABNORMAL"), testAPIv3Key), true, int64(0), testPubKeyID)
	write("FuzzParseNotification", "refund-mismatch", envelope(t, "REFUND.CLOSED", refundResource("SUCCESS"), testAPIv3Key), true, int64(0), testPubKeyID)
	write("FuzzParseNotification", "other-key", envelope(t, "TRANSACTION.SUCCESS", paidTransaction(testMchID), "another-apiv3-key-0123456789abcd"), true, int64(0), testPubKeyID)
	write("FuzzParseNotification", "not-json", []byte("{\"id\":"), true, int64(0), testPubKeyID)
	write("FuzzBillReader", "sample", []byte(sampleBill))
	write("FuzzBillReader", "no-bom-lf", []byte(bytes.ReplaceAll([]byte(sampleBill[3:]), []byte("\r\n"), []byte("\n"))))
	write("FuzzBillReader", "truncated", []byte(sampleBill[:len(sampleBill)/2]))
	write("FuzzBillReader", "negative", []byte(bytes.Replace([]byte(sampleBill), []byte("`0.99,`0.00,`0,"), []byte("`-0.99,`0.00,`0,"), 1)))
}
