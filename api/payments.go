package api

import (
	"context"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/internal/staff"
	"banshi/payments"
	"banshi/payments/alipay"
	"banshi/payments/wechatpay"
)

// Orders is what the payment routes need of the order service.
type Orders interface {
	CreateOrder(ctx context.Context, userID, billNo, key string, req payments.OrderRequest) (payments.OrderView, bool, error)
	GetOrder(ctx context.Context, userID, orderNo string) (payments.OrderView, error)
	Callback(ctx context.Context, provider string, h http.Header, body []byte) (payments.Provider, payments.CallbackOutcome, error)
	Refund(ctx context.Context, actor, orderNo string, r payments.RefundRequestBody) (payments.RefundView, error)
	FinanceOrder(ctx context.Context, orderNo string) (payments.FinanceOrderView, error)
}

var _ Orders = (*payments.Service)(nil)

// PaymentRoutes are 缴 and 办: citizens' orders, the channels' callbacks
// and finance's refunds.
type PaymentRoutes struct {
	Staff  StaffRoutes
	Orders Orders
}

// callbackBodyLimit is the largest callback body read (both channels' own
// limits are far below it).
const callbackBodyLimit = max(wechatpay.MaxNotifyBody, alipay.MaxNotifyBody)

// Register adds the routes.
func (p PaymentRoutes) Register(r Router) {
	s := r.Server()
	r.Citizen(http.MethodPost, "/bills/:bill_no/orders", p.create)
	r.Citizen(http.MethodGet, "/orders/:order_no", p.get)
	r.Public.POST("/hooks/wechatpay", p.callback(payments.ProviderWeChatPay))
	r.Public.POST("/hooks/alipay", p.callback(payments.ProviderAlipay))
	finance := []string{staff.RoleFinance, staff.RoleAdmin}
	g := r.Public.Group("/finance/orders")
	g.GET("/:order_no", p.financeOrder, p.Staff.require(s, "payments.order.read", finance...), auditTargetParam("order_no"))
	g.POST("/:order_no/refunds", p.refund, p.Staff.require(s, "payments.refund", finance...), auditTargetParam("order_no"))
}

// auditTargetParam names the path parameter that is the audit record's
// target.
func auditTargetParam(name string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(ctxAuditTarget, pathParam(c, name))
			return next(c)
		}
	}
}

func (p PaymentRoutes) create(c echo.Context) error {
	var req payments.OrderRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, _, err := p.Orders.CreateOrder(c.Request().Context(), userID(c), pathParam(c, "bill_no"), c.Request().Header.Get("Idempotency-Key"), req)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, v)
}

func (p PaymentRoutes) get(c echo.Context) error {
	v, err := p.Orders.GetOrder(c.Request().Context(), userID(c), pathParam(c, "order_no"))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, v)
}

// callback reads the exact body (no middleware has parsed it), has the
// service verify it before anything parses it, and answers as the channel
// expects: its acknowledgement once recorded, else its refusal (which makes
// it send again, or — for a forgery — changes nothing).
func (p PaymentRoutes) callback(provider string) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		w := c.Response()
		refuse := wechatpay.RefuseNotification
		if provider == payments.ProviderAlipay {
			refuse = alipay.RefuseNotification
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, callbackBodyLimit))
		if err != nil {
			refuse(w, http.StatusRequestEntityTooLarge)
			return nil
		}
		prov, outcome, _ := p.Orders.Callback(req.Context(), provider, req.Header, body)
		switch outcome {
		case payments.CallbackAck:
			prov.AckNotification(w)
		case payments.CallbackRefuse:
			refuse(w, http.StatusUnauthorized)
		case payments.CallbackReject:
			refuse(w, http.StatusBadRequest)
		case payments.CallbackNoProvider:
			refuse(w, http.StatusNotFound)
		default:
			refuse(w, http.StatusInternalServerError)
		}
		return nil
	}
}

func (p PaymentRoutes) financeOrder(c echo.Context) error {
	v, err := p.Orders.FinanceOrder(c.Request().Context(), pathParam(c, "order_no"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (p PaymentRoutes) refund(c echo.Context) error {
	var req payments.RefundRequestBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, _ := c.Get(ctxStaff).(staff.Account)
	v, err := p.Orders.Refund(c.Request().Context(), a.Username, pathParam(c, "order_no"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}
