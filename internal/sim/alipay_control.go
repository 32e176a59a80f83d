package sim

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"banshi/internal/platform"
)

// Control endpoints of the Alipay simulator (demo mode and tests). They
// answer JSON, 4xx with {"error":{"code","message"}} on bad input, which
// changes nothing. Orders are named by order_no, Banshi's order number and
// the trade's out_trade_no.
//
//	POST   /sim/alipay/pay {"pay_params":{"order_string"}|{"url"},"outcome":"success"|"fail"|"abandon"}
//	       the payer given the parameters Banshi returned: the app order
//	       string (alipay_app) or the WAP gateway URL (alipay_wap) is opened —
//	       its RSA2 signature verified with the app's public key, the trade
//	       created (WAIT_BUYER_PAY) or found again; success: TRADE_SUCCESS and
//	       the signed trade_status_sync notification to its notify_url; fail
//	       (declined) and abandon (the payer leaves): the trade stays
//	       WAIT_BUYER_PAY, nothing is sent
//	       → 200 {"out_trade_no","trade_status","trade_no"};
//	       400 bad_request, 401 bad_signature, 409 conflict (paid, closed,
//	       past its time_expire, or opened before with another amount)
//	POST   /sim/alipay/orders/{order_no}/notify {"times":N}   N in 1..1000
//	       the paid trade's TRADE_SUCCESS notification posted N times at
//	       once (the same form and signature, as Alipay re-sends it); waits
//	       for the answers → 200 {"times":N,"statuses":{"200":n,…}} ("0": no
//	       answer within 15 s); 404 not_found (never opened), 409 conflict
//	       (not paid)
//	POST   /sim/alipay/bills/discrepancies {"date":"YYYY-MM-DD","kind","order_no"?}
//	       the trade bill zip of that day changes (footer totals and the
//	       汇总 file follow): channel_only adds a 交易 row for an order Banshi
//	       does not have (out_trade_no and trade_no generated, or out_trade_no
//	       = order_no when given; 1.00 yuan, or the amount of an unpaid trade
//	       the simulator knows), missing leaves order_no's rows out, amount
//	       adds 1.00 yuan to order_no's 交易 row → 200 {"order_no","kind"};
//	       400 bad_request, 404 not_found (unknown order_no), 409 conflict
//	       (channel_only of a paid trade; missing or amount of a trade
//	       without a row that day)
//
//	POST   /sim/alipay/control/open {"order_string"} or {"url"}
//	       the payer's phone opens an app order string (alipay_app) or a
//	       WAP gateway URL (alipay_wap): its RSA2 signature is verified with
//	       the app's public key and the trade is created (WAIT_BUYER_PAY)
//	       → 200 {"app_id","out_trade_no","trade_no","total_amount"};
//	       401 bad_signature, 409 conflict (paid, closed, other amount)
//	POST   /sim/alipay/control/pay {"out_trade_no","app_id"?,"buyer_id"?}
//	       the payer pays: TRADE_SUCCESS, and the notification leaves
//	       → 200 {"trade_no"}; 404 not_found (never opened), 409 conflict
//	GET    /sim/alipay/control/faults, PUT (aliFaults), DELETE
//	GET    /sim/alipay/control/callbacks   the latest notifications
//	GET    /sim/alipay/control/keys        {"alipay_public_key"} (bare base64, as the console shows it)

const aliControl = aliPrefix + "/control"

func (a *Alipay) routeControl(mux *http.ServeMux) {
	mux.HandleFunc("POST "+aliPrefix+"/pay", a.handlePhonePay)
	mux.HandleFunc("POST "+aliPrefix+"/orders/{order_no}/notify", handleRedeliver(a.Redeliver, writeAliControlError))
	mux.HandleFunc("POST "+aliPrefix+"/bills/discrepancies", handleDiscrepancy(a.AddBillDiscrepancy, writeAliControlError))
	mux.HandleFunc("POST "+aliControl+"/open", a.handleOpen)
	mux.HandleFunc("POST "+aliControl+"/pay", a.handlePay)
	routeFaults(mux, aliControl+"/faults", &a.mu, &a.faults, (*aliFaults).check)
	routeCallbacks(mux, aliControl+"/callbacks", &a.mu, &a.callbacks)
	mux.HandleFunc("GET "+aliControl+"/keys", a.handleKeys)
}

// Errors of the control Go API.
var (
	errAliNotFound  = errors.New("unknown order")
	errAliConflict  = errors.New("the order is not in a state that allows it")
	errAliApp       = errors.New("app_id is required unless exactly one app is registered, and must be registered")
	errAliSignature = errors.New("the order's signature does not verify with the app's public key")
)

// AlipayOpened is a trade the payer opened.
type AlipayOpened struct {
	AppID       string `json:"app_id"`
	OutTradeNo  string `json:"out_trade_no"`
	TradeNo     string `json:"trade_no"`
	TotalAmount string `json:"total_amount"`
}

// Open plays the payer opening an order: orderString is the app order
// string (alipay.trade.app.pay) or the query of a WAP gateway URL
// (alipay.trade.wap.pay). Its signature is verified like a gateway call,
// then the trade is created, or found again when opened before with the
// same amount. Errors: errAliSignature, errAliConflict (paid, closed,
// another amount), or a message for a bad order.
func (a *Alipay) Open(orderString string) (AlipayOpened, error) {
	if u, err := url.Parse(orderString); err == nil && u.Scheme != "" {
		orderString = u.RawQuery
	}
	values, err := url.ParseQuery(orderString)
	if err != nil {
		return AlipayOpened{}, errors.New("the order string is not a URL query")
	}
	params, ok := singleValues(values)
	if !ok {
		return AlipayOpened{}, errors.New("the order string repeats a parameter")
	}
	call, refusal := a.verifyCall(params)
	switch {
	case refusal != nil && refusal.subCode == "isv.invalid-signature":
		return AlipayOpened{}, errAliSignature
	case refusal != nil:
		return AlipayOpened{}, errors.New(refusal.subCode + ": " + refusal.subMsg)
	case call.method != aliMethodAppPay && call.method != aliMethodWapPay:
		return AlipayOpened{}, errors.New("method must be alipay.trade.app.pay or alipay.trade.wap.pay")
	}
	o, r := a.open(call)
	if r != nil {
		if r.code == aliCodeBusiness {
			return AlipayOpened{}, errors.Join(errAliConflict, errors.New(r.subCode+": "+r.subMsg))
		}
		return AlipayOpened{}, errors.New(r.subCode + ": " + r.subMsg)
	}
	return AlipayOpened{AppID: o.appID, OutTradeNo: o.outTradeNo, TradeNo: o.tradeNo, TotalAmount: yuan(o.totalFen)}, nil
}

// open creates (or finds again) the trade of a verified app or WAP payment.
func (a *Alipay) open(c *aliCall) (*aliOrder, *aliRefusal) {
	b := c.biz
	fen, ok := fenOfYuan(b.TotalAmount)
	now := a.now()
	var expire time.Time
	if b.TimeExpire != "" {
		t, err := time.ParseInLocation(aliTimeLayout, b.TimeExpire, platform.Shanghai())
		if err != nil {
			return nil, aliRefuse(aliCodeInvalid, "isv.invalid-parameter", "time_expire 格式应为 yyyy-MM-dd HH:mm:ss")
		}
		expire = t
	}
	notifyURL := c.params["notify_url"]
	switch {
	case !aliNoPattern.MatchString(b.OutTradeNo):
		return nil, aliRefuse(aliCodeInvalid, "isv.invalid-parameter", "out_trade_no 应为1-64位字母、数字或下划线")
	case !ok || fen < 1 || fen > 100_000_000_00:
		return nil, aliRefuse(aliCodeInvalid, "isv.invalid-parameter", "total_amount 应为0.01-100000000之间、最多两位小数的金额")
	case b.Subject == "" || len(b.Subject) > 256:
		return nil, aliRefuse(aliCodeInvalid, "isv.invalid-parameter", "subject 长度应为1-256")
	case notifyURL != "" && !strings.HasPrefix(notifyURL, "http://") && !strings.HasPrefix(notifyURL, "https://"):
		return nil, aliRefuse(aliCodeInvalid, "isv.invalid-parameter", "notify_url 应为 http(s) 地址")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := aliOrderKey(c.app.AppID, b.OutTradeNo)
	if o := a.orders[key]; o != nil {
		a.expireLocked(o)
		switch {
		case o.paid():
			return nil, aliRefuse(aliCodeBusiness, "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
		case o.status == aliTradeClosed:
			return nil, aliRefuse(aliCodeBusiness, "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
		case o.totalFen != fen || o.subject != b.Subject:
			return nil, aliRefuse(aliCodeBusiness, "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		}
		return o, nil
	}
	if !expire.IsZero() && !expire.After(now) {
		return nil, aliRefuse(aliCodeBusiness, "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
	}
	o := &aliOrder{
		appID: c.app.AppID, outTradeNo: b.OutTradeNo, method: c.method, subject: b.Subject,
		passback: b.PassbackParams, notifyURL: notifyURL, totalFen: fen, timeExpire: expire,
		created: now.Truncate(time.Second), status: aliWaitBuyerPay,
		tradeNo: now.In(platform.Shanghai()).Format("20060102") + "22001" + randomDigits(15),
	}
	a.orders[key] = o
	a.trades[o.tradeNo] = o
	a.log.Debug("sim alipay: order opened", "app_id", o.appID, "out_trade_no", o.outTradeNo, "total_fen", o.totalFen)
	return o, nil
}

// appLocked resolves an optional app id.
func (a *Alipay) appLocked(appID string) *AlipayApp {
	if appID == "" && len(a.apps) == 1 {
		for _, app := range a.apps {
			return app
		}
	}
	return a.apps[appID]
}

// Pay plays the payer paying the opened order outTradeNo of appID ("" when
// one app is registered): TRADE_SUCCESS, and the notification leaves.
// buyerID "" is generated. Errors: errAliNotFound (never opened),
// errAliConflict (paid, closed or past its time_expire).
func (a *Alipay) Pay(appID, outTradeNo, buyerID string) (tradeNo string, err error) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	app := a.appLocked(appID)
	if app == nil {
		return "", errAliApp
	}
	o := a.orders[aliOrderKey(app.AppID, outTradeNo)]
	if o == nil {
		return "", errAliNotFound
	}
	a.expireLocked(o)
	if o.status != aliWaitBuyerPay {
		return "", errAliConflict
	}
	a.payLocked(o, buyerID, now)
	return o.tradeNo, nil
}

// payLocked makes the payable trade o TRADE_SUCCESS at now, paid by buyerID
// ("" → generated), and sends its notification.
func (a *Alipay) payLocked(o *aliOrder, buyerID string, now time.Time) {
	if buyerID == "" {
		buyerID = "2088" + randomDigits(12)
	}
	o.buyerID = buyerID
	o.buyerLogonID = "159****" + randomDigits(4)
	o.status = aliTradeSuccess
	o.paidAt = now.Truncate(time.Second)
	o.successBody = a.notifyLocked(o, nil)
}

func (a *Alipay) handleOpen(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		OrderString string `json:"order_string"`
		URL         string `json:"url"`
	}
	if err := decodeBody(r, &req); err != nil || (req.OrderString == "") == (req.URL == "") {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"order_string"} or {"url"}`)
		return
	}
	s := req.OrderString
	if s == "" {
		s = req.URL
	}
	o, err := a.Open(s)
	switch {
	case err == nil:
		writeControl(rw, http.StatusOK, o)
	case errors.Is(err, errAliSignature):
		writeControlError(rw, http.StatusUnauthorized, "bad_signature", err.Error())
	case errors.Is(err, errAliConflict):
		writeControlError(rw, http.StatusConflict, "conflict", err.Error())
	default:
		writeControlError(rw, http.StatusBadRequest, "bad_request", err.Error())
	}
}

func (a *Alipay) handlePay(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		OutTradeNo string `json:"out_trade_no"`
		AppID      string `json:"app_id"`
		BuyerID    string `json:"buyer_id"`
	}
	if err := decodeBody(r, &req); err != nil || req.OutTradeNo == "" {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"out_trade_no","app_id"?,"buyer_id"?}`)
		return
	}
	no, err := a.Pay(req.AppID, req.OutTradeNo, req.BuyerID)
	switch {
	case err == nil:
		writeControl(rw, http.StatusOK, map[string]string{"trade_no": no})
	case errors.Is(err, errAliNotFound):
		writeControlError(rw, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, errAliConflict):
		writeControlError(rw, http.StatusConflict, "conflict", err.Error())
	default:
		writeControlError(rw, http.StatusBadRequest, "bad_request", err.Error())
	}
}

func (a *Alipay) handleKeys(rw http.ResponseWriter, _ *http.Request) {
	writeControl(rw, http.StatusOK, map[string]string{
		"alipay_public_key":     pemBody(a.PublicKeyPEM()),
		"alipay_public_key_pem": string(a.PublicKeyPEM()),
	})
}

// pemBody is the base64 body of a PEM block on one line, as Alipay's
// console shows keys.
func pemBody(p []byte) string {
	var b strings.Builder
	for _, line := range strings.Split(string(p), "\n") {
		if line == "" || strings.HasPrefix(line, "-----") {
			continue
		}
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}
