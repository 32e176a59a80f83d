package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform"
	"banshi/internal/staff"
	"banshi/payments"
)

// FinanceOrders is what finance does with payment orders: search them,
// read one and refund it (payments.Service, as the API's finance routes).
type FinanceOrders interface {
	SearchOrders(ctx context.Context, q payments.OrderSearch) ([]payments.OrderRow, error)
	FinanceOrder(ctx context.Context, orderNo string) (payments.FinanceOrderView, error)
	Refund(ctx context.Context, actor, orderNo string, r payments.RefundRequestBody) (payments.RefundView, error)
}

// Reconciliations is what finance does with the daily reconciliation of the
// channels' bills (payments.Reconciler).
type Reconciliations interface {
	Run(ctx context.Context, date, channel string) (payments.Reconciliation, error)
	Get(ctx context.Context, date, channel string) (payments.Reconciliation, error)
	WriteCSV(ctx context.Context, w io.Writer, date, channel string) error
	Resolve(ctx context.Context, actor, date, channel, itemID, action, note string) (payments.ReconItem, error)
}

var (
	_ FinanceOrders   = (*payments.Service)(nil)
	_ Reconciliations = (*payments.Reconciler)(nil)
)

// Finance is the finance pages' services.
type Finance struct {
	Orders FinanceOrders
	Recon  Reconciliations
}

// Audit actions of the finance pages, as the API names them.
const (
	actionOrderRead = "payments.order.read"
	// The API has no order search; its audit action is the console's own.
	actionOrderSearch  = "payments.order.search"
	actionRefund       = "payments.refund"
	actionReconGet     = "reconciliation.get"
	actionReconRun     = "reconciliation.run"
	actionReconResolve = "reconciliation.resolve"
)

var errFinanceOnly = platform.NewError("forbidden", "仅财务人员和管理员可以使用财务页面")

// financeRoutes adds the finance pages (finance and admin only).
func (c *Console) financeRoutes(g *echo.Group) {
	g.GET("/finance/orders", c.financeOrders, c.requireSession, c.requireFinance(actionOrderSearch))
	g.GET("/finance/orders/:order_no", c.financeOrder, c.requireSession, c.requireFinance(actionOrderRead))
	g.POST("/finance/orders/:order_no/refunds", c.refund, c.requirePost, c.requireFinance(actionRefund))
	g.GET("/finance/reconciliations", c.reconciliation, c.requireSession, c.requireFinance(actionReconGet))
	g.GET("/finance/reconciliations.csv", c.reconciliationCSV, c.requireSession, c.requireFinance(actionReconGet))
	g.POST("/finance/reconciliations", c.reconRun, c.requirePost, c.requireFinance(actionReconRun))
	g.POST("/finance/reconciliations/items/:id/resolve", c.reconResolve, c.requirePost, c.requireFinance(actionReconResolve))
}

// requireFinance answers the 403 page to anyone but finance and admins,
// auditing the refused action as the API does; it runs after
// requireSession or requirePost.
func (c *Console) requireFinance(action string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			if !accountOf(ec).HasRole(staff.RoleFinance, staff.RoleAdmin) {
				target := ec.Param("order_no")
				if target == "" {
					target = ec.Param("id")
				}
				_ = c.audit(ec, action, target, "", errFinanceOnly)
				return c.errorPage(ec, http.StatusForbidden, errFinanceOnly.Message)
			}
			return next(ec)
		}
	}
}

// yuan formats fen as yuan with two decimals: 12345 → "123.45".
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + strconv.FormatInt(fen/100, 10) + "." + strconv.FormatInt(fen%100/10, 10) + strconv.FormatInt(fen%10, 10)
}

// parseYuan reads a positive amount typed in yuan ("12", "12.3", "12.34")
// exactly into fen; more than two decimals are refused, not rounded.
func parseYuan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	bad := platform.Invalid("amount", "format", "请输入金额（元），最多两位小数")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (dot && (frac == "" || len(frac) > 2)) {
		return 0, bad
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, bad
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, bad
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	fen := w*100 + f
	if fen <= 0 {
		return 0, platform.Invalid("amount", "range", "退款金额应大于 0")
	}
	return fen, nil
}

// ordersData is the order search page.
type ordersData struct {
	Q        payments.OrderSearch
	States   []string
	Channels []string
	Rows     []payments.OrderRow
	Searched bool
	Error    string
	Field    string // the filter the error is about
	Limit    int
}

func (c *Console) financeOrders(ec echo.Context) error {
	q := payments.OrderSearch{
		OrderNo: strings.TrimSpace(ec.QueryParam("order_no")), BillNo: strings.TrimSpace(ec.QueryParam("bill_no")),
		Status: ec.QueryParam("status"), Channel: ec.QueryParam("channel"), From: ec.QueryParam("from"), To: ec.QueryParam("to"),
	}
	d := ordersData{Q: q, States: payments.OrderStates(), Limit: payments.OrderSearchLimit,
		Channels: []string{payments.ProviderWeChatPay, payments.ProviderAlipay}}
	rows, err := c.finance.Orders.SearchOrders(ec.Request().Context(), q)
	target := url.Values{"order_no": {q.OrderNo}, "bill_no": {q.BillNo}, "status": {q.Status}, "channel": {q.Channel},
		"from": {q.From}, "to": {q.To}}.Encode()
	if aerr := c.audit(ec, actionOrderSearch, target, "", err); aerr != nil && err == nil {
		err = errAuditUnavailable
	}
	status := http.StatusOK
	if err != nil {
		e, ok := platform.AsError(err)
		if !ok || platform.CodeOf(err) != platform.CodeInvalid {
			return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
		}
		d.Error, d.Field, status = e.Message, e.Field, http.StatusBadRequest
	} else {
		d.Rows, d.Searched = rows, true
	}
	a := accountOf(ec)
	return c.render(ec, status, "finance_orders", view{Title: "缴费订单", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// orderData is the order page: the order and the refund form's state.
type orderData struct {
	Order       payments.FinanceOrderView
	Amount      string // typed, kept on error
	Reason      string
	AmountError string
	ReasonError string
	FormError   string
	Notice      string
}

// loadOrder reads the order and audits the reading; it answers the browser
// itself (and returns false) on any failure.
func (c *Console) loadOrder(ec echo.Context, orderNo string) (payments.FinanceOrderView, bool, error) {
	o, err := c.finance.Orders.FinanceOrder(ec.Request().Context(), orderNo)
	if aerr := c.audit(ec, actionOrderRead, orderNo, "", err); aerr != nil && err == nil {
		err = errAuditUnavailable
	}
	if err != nil {
		return o, false, c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	return o, true, nil
}

func (c *Console) financeOrder(ec echo.Context) error {
	o, ok, err := c.loadOrder(ec, ec.Param("order_no"))
	if !ok {
		return err
	}
	return c.showOrder(ec, http.StatusOK, orderData{Order: o, Notice: ec.QueryParam("notice")})
}

func (c *Console) showOrder(ec echo.Context, status int, d orderData) error {
	a := accountOf(ec)
	return c.render(ec, status, "finance_order", view{Title: "订单 " + d.Order.OrderNo, Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// refund asks the channel to refund part of an order. The form carries the
// refundable amount it showed; the service refuses when it changed since.
func (c *Console) refund(ec echo.Context) error {
	a := accountOf(ec)
	orderNo := ec.Param("order_no")
	amount, reason := ec.FormValue("amount"), strings.TrimSpace(ec.FormValue("reason"))
	fen, err := parseYuan(amount)
	var expected int64
	if err == nil && reason == "" {
		err = platform.Invalid("reason", "required", "请填写退款原因")
	}
	if err == nil {
		var perr error
		expected, perr = strconv.ParseInt(ec.FormValue("expected_refundable_fen"), 10, 64)
		if perr != nil {
			err = platform.Invalid("expected_refundable_fen", "format", "页面已过期，请刷新后重试")
		}
	}
	var rv payments.RefundView
	if err == nil {
		rv, err = c.finance.Orders.Refund(ec.Request().Context(), a.Username, orderNo,
			payments.RefundRequestBody{AmountFen: fen, Reason: reason, ExpectedRefundableFen: &expected})
	}
	_ = c.audit(ec, actionRefund, orderNo, "", err)
	if err == nil {
		return ec.Redirect(http.StatusSeeOther, "/console/finance/orders/"+url.PathEscape(orderNo)+"?notice="+
			url.QueryEscape("已提交退款 "+yuan(rv.AmountFen)+" 元，退款单号 "+rv.RefundNo))
	}
	o, ok, lerr := c.loadOrder(ec, orderNo)
	if !ok {
		return lerr
	}
	d := orderData{Order: o, Amount: amount, Reason: ec.FormValue("reason")}
	msg := c.messageOf(ec, err)
	e, _ := platform.AsError(err)
	switch {
	case e != nil && e.Field == "reason":
		d.ReasonError = msg
	case e != nil && e.Field == "expected_refundable_fen":
		d.FormError = msg
	case e == nil:
		d.FormError = msg
	default: // the amount, refundable_changed, refund_exceeds_refundable, ...
		d.AmountError = msg
	}
	return c.showOrder(ec, statusOf(err), d)
}

// reconData is the reconciliation page.
type reconData struct {
	Date, Channel string
	Channels      []string
	Actions       []string
	Rec           *payments.Reconciliation
	CSVURL        string
	Notice        string
	Error         string
	ItemID        string // the item whose resolve failed
	ItemError     string
	Action, Note  string
	status        int // of a refused look-up (a bad date), else 0
}

func (c *Console) reconQuery(ec echo.Context) reconData {
	return reconData{
		Date: strings.TrimSpace(ec.QueryParam("date")), Channel: ec.QueryParam("channel"),
		Channels: []string{payments.ProviderWeChatPay, payments.ProviderAlipay},
		Actions:  []string{payments.ReconExplained, payments.ReconTakeChannel, payments.ReconRefund},
		Notice:   ec.QueryParam("notice"),
	}
}

// loadRecon reads the day's reconciliation (when date and channel are
// given) and audits it; false when the browser was answered.
func (c *Console) loadRecon(ec echo.Context, d *reconData) (bool, error) {
	if d.Date == "" || d.Channel == "" {
		return true, nil
	}
	rec, err := c.finance.Recon.Get(ec.Request().Context(), d.Date, d.Channel)
	if aerr := c.audit(ec, actionReconGet, d.Date+"|"+d.Channel, "", err); aerr != nil && err == nil {
		err = errAuditUnavailable
	}
	switch {
	case err == nil:
		d.Rec = &rec
		d.CSVURL = "/console/finance/reconciliations.csv?" + url.Values{"date": {d.Date}, "channel": {d.Channel}}.Encode()
	case strings.HasSuffix(platform.CodeOf(err), "not_found"):
		d.Error = "该日该渠道尚未对账"
	default:
		if statusOf(err) >= 500 || platform.CodeOf(err) == "" {
			return false, c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
		}
		d.Error, d.status = c.messageOf(ec, err), statusOf(err)
	}
	return true, nil
}

func (c *Console) reconciliation(ec echo.Context) error {
	d := c.reconQuery(ec)
	if ok, err := c.loadRecon(ec, &d); !ok {
		return err
	}
	return c.showRecon(ec, max(d.status, http.StatusOK), d)
}

func (c *Console) showRecon(ec echo.Context, status int, d reconData) error {
	a := accountOf(ec)
	return c.render(ec, status, "finance_recon", view{Title: "对账", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

func (c *Console) reconciliationCSV(ec echo.Context) error {
	date, channel := ec.QueryParam("date"), ec.QueryParam("channel")
	var buf bytes.Buffer
	err := c.finance.Recon.WriteCSV(ec.Request().Context(), &buf, date, channel)
	if aerr := c.audit(ec, actionReconGet, date+"|"+channel, "", err); aerr != nil && err == nil {
		err = errAuditUnavailable
	}
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	ec.Response().Header().Set(echo.HeaderContentDisposition,
		`attachment; filename="reconciliation-`+url.PathEscape(date)+`-`+url.PathEscape(channel)+`.csv"`)
	return ec.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

func reconURL(date, channel, notice string) string {
	v := url.Values{"date": {date}, "channel": {channel}}
	if notice != "" {
		v.Set("notice", notice)
	}
	return "/console/finance/reconciliations?" + v.Encode()
}

// reconRun reconciles the form's day and channel now.
func (c *Console) reconRun(ec echo.Context) error {
	date, channel := strings.TrimSpace(ec.FormValue("date")), ec.FormValue("channel")
	var err error
	if date == "" || channel == "" {
		err = platform.Invalid("date", "required", "请选择日期和渠道")
	} else {
		_, err = c.finance.Recon.Run(ec.Request().Context(), date, channel)
	}
	_ = c.audit(ec, actionReconRun, date+"|"+channel, "", err)
	if err == nil {
		return ec.Redirect(http.StatusSeeOther, reconURL(date, channel, "已完成对账"))
	}
	d := c.reconQuery(ec)
	d.Date, d.Channel, d.Notice = date, channel, ""
	if ok, lerr := c.loadRecon(ec, &d); !ok {
		return lerr
	}
	d.Error = c.messageOf(ec, err)
	return c.showRecon(ec, statusOf(err), d)
}

// reconResolve resolves one discrepancy with the form's action and note.
func (c *Console) reconResolve(ec echo.Context) error {
	a := accountOf(ec)
	id := ec.Param("id")
	date, channel := ec.FormValue("date"), ec.FormValue("channel")
	action, note := ec.FormValue("action"), strings.TrimSpace(ec.FormValue("note"))
	var err error
	switch {
	case action == "":
		err = platform.Invalid("action", "required", "请选择处理方式")
	case note == "":
		err = platform.Invalid("note", "required", "请填写说明")
	default:
		_, err = c.finance.Recon.Resolve(ec.Request().Context(), a.Username, date, channel, id, action, note)
	}
	_ = c.audit(ec, actionReconResolve, date+"|"+channel+"|"+id, "", err)
	if err == nil {
		return ec.Redirect(http.StatusSeeOther, reconURL(date, channel, "已处理差错 "+id))
	}
	d := c.reconQuery(ec)
	d.Date, d.Channel, d.Notice = date, channel, ""
	if ok, lerr := c.loadRecon(ec, &d); !ok {
		return lerr
	}
	d.ItemID, d.ItemError, d.Action, d.Note = id, c.messageOf(ec, err), action, ec.FormValue("note")
	return c.showRecon(ec, statusOf(err), d)
}

// orderLabel is the Chinese name of an order state.
func orderLabel(s string) string {
	switch s {
	case payments.OrderPaying:
		return "待支付"
	case payments.OrderPaid:
		return "已支付"
	case payments.OrderHandled:
		return "已办理"
	case payments.OrderHandleFailed:
		return "办理失败"
	case payments.OrderRefunding:
		return "退款中"
	case payments.OrderRefunded:
		return "已退款"
	case payments.OrderPartiallyRefunded:
		return "部分退款"
	case payments.OrderClosed:
		return "已关闭"
	}
	return s
}

// reconLabel is the Chinese name of a reconciliation kind, action, status or
// channel.
func reconLabel(s string) string {
	switch s {
	case payments.ReconChannelOnly:
		return "长款（仅渠道有）"
	case payments.ReconMissingAtChannel:
		return "短款（渠道缺失）"
	case payments.ReconAmountMismatch:
		return "金额不符"
	case payments.ReconStatusMismatch:
		return "状态不符"
	case payments.ReconRefundMismatch:
		return "退款不符"
	case payments.ReconTakeChannel:
		return "以渠道为准"
	case payments.ReconRefund:
		return "原路退回"
	case payments.ReconExplained:
		return "已核实无需处理"
	case payments.ReconRunning:
		return "对账中"
	case payments.ReconDone:
		return "已完成"
	case payments.ReconFailed:
		return "失败"
	case payments.ProviderWeChatPay:
		return "微信支付"
	case payments.ProviderAlipay:
		return "支付宝"
	}
	return s
}
