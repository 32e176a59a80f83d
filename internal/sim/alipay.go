package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"banshi/internal/platform"
)

// The Alipay simulator (Alipay, built by NewAlipay) answers the Alipay
// OpenAPI gateway (https://openapi.alipay.com/gateway.do) under
// "/sim/alipay": POST /sim/alipay/gateway.do. gopay's Alipay client has no
// proxy-host setter, so the adapter reaches it through a host-rewriting
// http.RoundTripper. It follows shared/reference/payments.md:
//
//   - every call carries the public parameters app_id, method, charset
//     (utf-8), sign_type (RSA2), timestamp, version and biz_content (JSON),
//     in the form body or the query string, and sign: RSA-SHA256 (PKCS#1
//     v1.5, base64) over every other non-empty parameter, sorted by name,
//     joined "k=v&…", verified with the app's registered public key (else
//     40002 isv.invalid-signature);
//   - every answer is {"<method with underscores>_response":{…},"sign":"…"}
//     with HTTP 200, signed with the private half of the Alipay public key
//     over the exact bytes of the inner object; business refusals are code
//     40004 with ACQ.* sub_codes, a missing parameter 40001, an invalid one
//     40002, an outage 20000 (injected);
//   - app and WAP payments are signed by the merchant alone (no call): the
//     payer's phone opening the order string or the gateway URL is played
//     by POST /sim/alipay/control/open (or a GET of the gateway URL), which
//     verifies its signature and creates the trade (WAIT_BUYER_PAY);
//   - asynchronous notifications are form POSTs (notify_type
//     trade_status_sync), RSA2-signed over every field but sign and
//     sign_type, amounts as yuan strings, retried on Alipay's schedule until
//     the merchant answers the text "success";
//   - the trade bill's download URL serves a zip of GBK CSV files
//     (…_业务明细.csv and …_业务明细(汇总).csv).
//
// Control endpoints under /sim/alipay/control play the payer's phone and
// inject faults: see alipay_control.go.

// Alipay simulator paths and limits.
const (
	aliPrefix        = "/sim/alipay"
	aliMaxBody       = 1 << 20
	aliCallbackWait  = 15 * time.Second // how long Alipay waits for "success"
	aliDownloadTTL   = 30 * time.Second // a bill_download_url lives this long
	aliBillReadyHour = 9                // bills of day D are ready at 09:00 on D+1
	aliMaxCallbacks  = 1000
	aliTimeLayout    = time.DateTime // Alipay's "yyyy-MM-dd HH:mm:ss", Asia/Shanghai
)

// aliRetrySchedule is Alipay's notification retry schedule after a failed
// delivery: 8 deliveries in all over about 25 hours.
var aliRetrySchedule = []time.Duration{
	4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
}

// AlipayApp is an application registered with the simulated Alipay
// (public-key mode).
type AlipayApp struct {
	AppID     string
	PublicKey *rsa.PublicKey // the app's public key (应用公钥): verifies its requests and order strings
	SellerID  string         // the merchant's PID (2088…); generated when ""
}

// AlipayOptions configures the simulator.
type AlipayOptions struct {
	Clock platform.Clock // nil => platform.SystemClock{}
	Log   *slog.Logger   // nil => discard
	Apps  []AlipayApp
	// AlipayKey is the private half of the Alipay public key (支付宝公钥):
	// it signs answers and notifications. Generated when nil.
	AlipayKey *rsa.PrivateKey
	// RetrySchedule replaces Alipay's notification retry delays (tests use
	// milliseconds); nil => Alipay's 7 retries over ~25 h.
	RetrySchedule []time.Duration
	// Client delivers notifications; nil => a client with a 15 s limit.
	Client *http.Client
	// BillsAnyDay serves the bill of any day at once, today's too
	// (development); otherwise a day's bill is ready at 09:00 the next day.
	BillsAnyDay bool
}

// Alipay simulates the Alipay OpenAPI gateway and the payer's phone. Build
// it with NewAlipay, serve Handler, and Close it to stop notification
// deliveries. Safe for concurrent use.
type Alipay struct {
	billsAnyDay bool
	clock       platform.Clock
	log         *slog.Logger
	key         *rsa.PrivateKey
	cb          *callbackSender // delivers notifications until Close

	mu        sync.Mutex
	apps      map[string]*AlipayApp
	orders    map[string]*aliOrder  // by app_id|out_trade_no
	trades    map[string]*aliOrder  // by trade_no
	refunds   map[string]*aliRefund // by app_id|out_trade_no|out_request_no
	downloads map[string]*aliDownload
	billEdits map[string]*billEdits // by app_id|YYYY-MM-DD: discrepancies put in that day's bill
	faults    aliFaults
	callbacks []*aliCallback // the latest aliMaxCallbacks
}

// Alipay trade states.
const (
	aliWaitBuyerPay = "WAIT_BUYER_PAY"
	aliTradeSuccess = "TRADE_SUCCESS"
	aliTradeClosed  = "TRADE_CLOSED" // unpaid and closed, or paid and fully refunded
)

// aliOrder is one trade, created when the payer opens the order.
type aliOrder struct {
	appID, outTradeNo, tradeNo string
	method                     string // alipay.trade.app.pay or alipay.trade.wap.pay
	subject, passback          string
	notifyURL                  string
	totalFen                   int64
	timeExpire                 time.Time // zero: none
	created                    time.Time
	status                     string
	buyerID, buyerLogonID      string
	paidAt                     time.Time
	refundedFen                int64
	successBody                string // the TRADE_SUCCESS notification's form, for redeliveries
}

// paid reports whether the payer paid (refunded or not).
func (o *aliOrder) paid() bool { return !o.paidAt.IsZero() }

// aliRefund is one refund (out_request_no) of an order; Alipay refunds
// synchronously.
type aliRefund struct {
	appID, outTradeNo, tradeNo, outRequestNo string
	reason                                   string
	refundFen                                int64
	at                                       time.Time
}

// aliDownload is a bill zip behind a download token.
type aliDownload struct {
	appID   string
	content []byte
	expires time.Time
}

// NewAlipay returns a simulator for the given apps. It fails only when a
// key cannot be generated or an app is unusable.
func NewAlipay(o AlipayOptions) (*Alipay, error) {
	if o.Clock == nil {
		o.Clock = platform.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RetrySchedule == nil {
		o.RetrySchedule = aliRetrySchedule
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: aliCallbackWait}
	}
	if o.AlipayKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("sim alipay: generate the Alipay key: %w", err)
		}
		o.AlipayKey = k
	}
	a := &Alipay{
		clock: o.Clock, log: o.Log, key: o.AlipayKey, billsAnyDay: o.BillsAnyDay,
		cb:   newCallbackSender(o.Client, aliCallbackWait, o.RetrySchedule),
		apps: map[string]*AlipayApp{}, orders: map[string]*aliOrder{}, trades: map[string]*aliOrder{},
		refunds: map[string]*aliRefund{}, downloads: map[string]*aliDownload{}, billEdits: map[string]*billEdits{},
	}
	for _, app := range o.Apps {
		if app.AppID == "" || app.PublicKey == nil {
			return nil, fmt.Errorf("sim alipay: app %q needs an app id and a public key", app.AppID)
		}
		if app.SellerID == "" {
			app.SellerID = "2088" + randomDigits(12)
		}
		a.apps[app.AppID] = &app
	}
	return a, nil
}

// Close stops notification deliveries and waits for those under way.
func (a *Alipay) Close() {
	a.cb.close()
}

// PublicKeyPEM returns the Alipay public key (PKIX PEM), as the merchant
// downloads it from Alipay's console.
func (a *Alipay) PublicKeyPEM() []byte { return publicKeyPEM(&a.key.PublicKey) }

// Handler serves the gateway, the bill downloads and the control endpoints
// under /sim/alipay/.
func (a *Alipay) Handler() http.Handler {
	mux := http.NewServeMux()
	a.routeProtocol(mux)
	a.routeControl(mux)
	return mux
}

func (a *Alipay) now() time.Time { return a.clock.Now() }

// aliSignContent is the string Alipay signs: every parameter but those in
// skip, without empty values, sorted by name, joined "k=v&…" (values not
// escaped).
func aliSignContent(params map[string]string, skip ...string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if v == "" || slices.Contains(skip, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// aliVerify checks an RSA2 signature (base64) over content with pub.
func aliVerify(pub *rsa.PublicKey, content, sign string) bool {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(content))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
}

// singleValues flattens form values; a parameter given twice with
// different values is refused (ok false): which one was signed would be
// ambiguous. (gopay sends charset=utf-8 both in the query and the body.)
func singleValues(v url.Values) (map[string]string, bool) {
	out := make(map[string]string, len(v))
	for k, vs := range v {
		for _, x := range vs[1:] {
			if x != vs[0] {
				return nil, false
			}
		}
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	return out, true
}

// fenOfYuan parses an Alipay amount ("0.01", "12", "12.3", "12.30") into
// fen, exactly; ok is false for anything else (signs, exponents, spaces,
// more than two decimals, more than 12 integer digits).
func fenOfYuan(s string) (int64, bool) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (hasDot && (len(frac) == 0 || len(frac) > 2)) {
		return 0, false
	}
	var fen int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, false
		}
		fen = fen*10 + int64(c-'0')
	}
	frac += "00"[:2-len(frac)]
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
		fen = fen*10 + int64(c-'0')
	}
	return fen, true
}

// aliTime formats t as Alipay does: "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai.
func aliTime(t time.Time) string { return t.In(platform.Shanghai()).Format(aliTimeLayout) }

func aliOrderKey(appID, no string) string { return appID + "|" + no }
