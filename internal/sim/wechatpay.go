package sim

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"banshi/internal/platform"
)

// The WeChat Pay simulator (WeChatPay, built by NewWeChatPay) answers the
// WeChat Pay API v3 (https://api.mch.weixin.qq.com) under "/sim/wechatpay":
// gopay's SetProxyHost("http://host:port/sim/wechatpay") points every call
// at it. It follows shared/reference/payments.md:
//
//   - every request must carry a valid WECHATPAY2-SHA256-RSA2048
//     Authorization signed with a registered merchant's key and serial
//     (else 401 SIGN_ERROR); the request's timestamp is not checked against
//     the simulator's clock, which development moves forward while gopay
//     signs with the wall clock;
//   - every answer (errors and 204 included) is signed with the WeChat Pay
//     public key (Wechatpay-Serial "PUB_KEY_ID_…") or, in certificate mode or
//     when the request names a certificate serial, with the newest platform
//     certificate's key;
//   - errors are {"code","message"} with WeChat's codes and statuses;
//   - callbacks are AES-256-GCM encrypted with the merchant's APIv3 key,
//     signed like answers, and retried on WeChat's schedule until the
//     merchant answers 2xx within 5 s.
//
// Control endpoints under /sim/wechatpay/control play the payer's phone and
// the merchant console, and inject faults: see wechatpay_control.go.

// WeChat Pay simulator paths and limits.
const (
	wxpPrefix         = "/sim/wechatpay"
	wxpMaxBody        = 1 << 20
	wxpCallbackWait   = 5 * time.Second  // WeChat waits this long for the merchant's answer
	wxpDownloadTTL    = 30 * time.Second // a bill download_url lives this long
	wxpBillReadyHour  = 10               // bills of day D are ready at 10:00 on D+1
	wxpBillMaxAgeDays = 93               // bills of the last three months only
	wxpMaxCallbacks   = 1000             // callback records kept for GET /control/callbacks
	wxpFeeMilliPerFen = 6                // the 0.60% rate: 6 milli-fen per fen
)

// wxpRetrySchedule is WeChat's callback retry schedule after a failed
// delivery (reference: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h,
// 3h, 3h, 6h, 6h).
var wxpRetrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// Signing modes of the simulator's answers and callbacks.
const (
	WeChatPaySignPublicKey   = "public_key"  // 微信支付公钥 (PUB_KEY_ID_…)
	WeChatPaySignCertificate = "certificate" // 平台证书 (certificate serial)
)

// WeChatPayMerchant is a merchant registered with the simulated WeChat Pay.
type WeChatPayMerchant struct {
	MchID     string
	SerialNo  string         // the merchant API certificate's serial, as in Authorization
	PublicKey *rsa.PublicKey // verifies the merchant's requests
	APIv3Key  string         // 32 bytes: encrypts callbacks and certificates
	AppIDs    []string       // mini-program and app appids bound to the merchant
}

// WeChatPayOptions configures the simulator.
type WeChatPayOptions struct {
	Clock     platform.Clock // nil => platform.SystemClock{}
	Log       *slog.Logger   // nil => discard
	Merchants []WeChatPayMerchant
	// PublicKey is the private half of the WeChat Pay public key and
	// PublicKeyID its id ("PUB_KEY_ID_…"); generated when nil / empty.
	PublicKey   *rsa.PrivateKey
	PublicKeyID string
	// CertificateKey is the platform certificate's key; generated when nil.
	// The certificate itself is minted at start with a random serial.
	CertificateKey *rsa.PrivateKey
	// SignWith is WeChatPaySignPublicKey (default) or WeChatPaySignCertificate.
	SignWith string
	// RetrySchedule replaces WeChat's callback retry delays (tests use
	// milliseconds); nil => WeChat's 15 retries over 24 h.
	RetrySchedule []time.Duration
	// ManualRefunds leaves refunds PROCESSING until POST
	// /sim/wechatpay/control/refunds/{out_refund_no}; otherwise a refund
	// succeeds (and its callback leaves) right after it is accepted.
	ManualRefunds bool
	// BillsAnyDay serves the trade bill of any day at once, today's too
	// (development: a reconciliation can be shown on the day); otherwise a
	// day's bill is ready at 10:00 the next day, as WeChat's.
	BillsAnyDay bool
	// Client delivers callbacks; nil => a client with WeChat's 5 s limit.
	Client *http.Client
}

// WeChatPay simulates WeChat Pay API v3 and the payer's phone. Build it with
// NewWeChatPay, serve Handler, and Close it to stop callback deliveries.
// Safe for concurrent use.
type WeChatPay struct {
	clock         platform.Clock
	log           *slog.Logger
	cb            *callbackSender // delivers callbacks until Close
	manualRefunds bool
	billsAnyDay   bool

	// keysMu guards the signing keys; it may be taken while mu is held,
	// never the other way round.
	keysMu    sync.Mutex
	publicKey *wxpSigner
	certs     []*wxpSigner // oldest first; the last one signs
	signWith  string

	mu           sync.Mutex
	merchants    map[string]*wxpMerchant // by mchid
	orders       map[string]*wxpOrder    // by mchid|out_trade_no
	transactions map[string]*wxpOrder    // by transaction_id
	prepays      map[string]*wxpOrder    // by prepay_id
	refunds      map[string]*wxpRefund   // by mchid|out_refund_no
	downloads    map[string]*wxpDownload
	billEdits    map[string]*billEdits // by mchid|YYYY-MM-DD: discrepancies put in that day's bill
	faults       wxpFaults
	held         []*wxpCallback // callbacks held by the reorder fault
	callbacks    []*wxpCallback // the latest wxpMaxCallbacks callbacks
}

// wxpMerchant is a registered merchant and its base account balance.
type wxpMerchant struct {
	WeChatPayMerchant
	appIDs     map[string]bool
	balanceFen int64 // what refunds may take: payments received minus refunds
}

// wxpOrder is one transaction (JSAPI or APP).
type wxpOrder struct {
	mchID, appID, outTradeNo string
	tradeType                string // JSAPI or APP
	description, attach      string
	notifyURL                string
	totalFen                 int64
	payerOpenID              string
	prepayID                 string
	timeExpire               time.Time // zero: none
	created                  time.Time
	state                    string // NOTPAY, SUCCESS, REFUND, CLOSED
	transactionID            string
	paidAt                   time.Time
	refundedFen              int64  // accepted refunds not failed
	successBody              []byte // the TRANSACTION.SUCCESS callback's body, for redeliveries
}

// wxpRefund is one refund of an order.
type wxpRefund struct {
	mchID, outTradeNo, transactionID string
	outRefundNo, refundID            string
	reason, notifyURL                string
	refundFen, totalFen              int64
	status                           string // PROCESSING, SUCCESS, ABNORMAL, CLOSED
	created, succeeded               time.Time
}

// wxpDownload is a bill file behind a download token.
type wxpDownload struct {
	mchID   string
	content []byte
	expires time.Time
}

// NewWeChatPay returns a simulator for the given merchants. It fails only
// when a key cannot be generated or a merchant is unusable.
func NewWeChatPay(o WeChatPayOptions) (*WeChatPay, error) {
	if o.Clock == nil {
		o.Clock = platform.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RetrySchedule == nil {
		o.RetrySchedule = wxpRetrySchedule
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: wxpCallbackWait}
	}
	switch o.SignWith {
	case "":
		o.SignWith = WeChatPaySignPublicKey
	case WeChatPaySignPublicKey, WeChatPaySignCertificate:
	default:
		return nil, fmt.Errorf("sim wechatpay: SignWith must be %q or %q", WeChatPaySignPublicKey, WeChatPaySignCertificate)
	}
	w := &WeChatPay{
		clock:         o.Clock,
		log:           o.Log,
		cb:            newCallbackSender(o.Client, wxpCallbackWait, o.RetrySchedule),
		manualRefunds: o.ManualRefunds,
		billsAnyDay:   o.BillsAnyDay,
		merchants:     map[string]*wxpMerchant{},
		signWith:      o.SignWith,
		orders:        map[string]*wxpOrder{},
		transactions:  map[string]*wxpOrder{},
		prepays:       map[string]*wxpOrder{},
		billEdits:     map[string]*billEdits{},
		refunds:       map[string]*wxpRefund{},
		downloads:     map[string]*wxpDownload{},
	}
	for _, m := range o.Merchants {
		if m.MchID == "" || m.SerialNo == "" || m.PublicKey == nil || len(m.APIv3Key) != 32 {
			return nil, fmt.Errorf("sim wechatpay: merchant %q needs a serial, a public key and a 32-byte APIv3 key", m.MchID)
		}
		wm := &wxpMerchant{WeChatPayMerchant: m, appIDs: map[string]bool{}}
		for _, a := range m.AppIDs {
			wm.appIDs[a] = true
		}
		w.merchants[m.MchID] = wm
	}
	var err error
	if w.publicKey, err = newPublicKeySigner(o.PublicKey, o.PublicKeyID); err != nil {
		return nil, err
	}
	cert, err := newCertSigner(o.CertificateKey, w.clock.Now())
	if err != nil {
		return nil, err
	}
	w.certs = []*wxpSigner{cert}
	return w, nil
}

// Close stops callback deliveries and waits for those under way.
func (w *WeChatPay) Close() {
	w.cb.close()
}

// PublicKeyPEM returns the WeChat Pay public key (PKIX PEM) and its id, as
// the merchant downloads them from WeChat Pay's console.
func (w *WeChatPay) PublicKeyPEM() (pemText []byte, id string) {
	w.keysMu.Lock()
	defer w.keysMu.Unlock()
	return publicKeyPEM(&w.publicKey.key.PublicKey), w.publicKey.serial
}

// CertificateSerials returns the serials of the platform certificates, the
// newest last.
func (w *WeChatPay) CertificateSerials() []string {
	w.keysMu.Lock()
	defer w.keysMu.Unlock()
	out := make([]string, len(w.certs))
	for i, c := range w.certs {
		out[i] = c.serial
	}
	return out
}

// Handler serves the protocol and control endpoints under /sim/wechatpay/.
func (w *WeChatPay) Handler() http.Handler {
	mux := http.NewServeMux()
	w.routeProtocol(mux)
	w.routeControl(mux)
	return mux
}

func (w *WeChatPay) now() time.Time { return w.clock.Now() }

func orderKey(mchID, no string) string { return mchID + "|" + no }
