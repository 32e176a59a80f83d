package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform"
	"banshi/notify"
)

// Outbox is what administrators do with the notification outbox, through
// the same service as the API's admin routes: look at deliveries by state
// (the dead letters first) and queue a failed or dead one again.
type Outbox interface {
	List(ctx context.Context, state string, limit int) ([]notify.DeliveryView, error)
	Retry(ctx context.Context, id string) (notify.DeliveryView, error)
}

var _ Outbox = (*notify.Outbox)(nil)

// Audit actions of the outbox page, as the API names them.
const (
	actionOutboxList  = "outbox.list"
	actionOutboxRetry = "outbox.retry"
)

// outboxAll is the state filter's value for every state (the service's "").
const outboxAll = "all"

// outboxData is the outbox page.
type outboxData struct {
	State   string // the filter as typed: a state, or outboxAll
	Limit   string
	States  []string
	List    []notify.DeliveryView
	Notice  string
	Error   string
	ErrorOf string // "state", "limit", or the delivery id a retry failed on
}

// outboxRoutes adds the outbox page (when wired).
func (c *Console) outboxRoutes(g *echo.Group) {
	if c.outbox == nil {
		return
	}
	g.GET("/admin/outbox", c.outboxPage, c.requireSession, c.adminOnly(actionOutboxList))
	g.POST("/admin/outbox/retry", c.retryDelivery, c.requirePost, c.adminOnly(actionOutboxRetry))
}

// outboxPage lists deliveries of the state filter (dead letters when none
// is given), at most limit (1..200, as the API), most recently changed
// first.
func (c *Console) outboxPage(ec echo.Context) error {
	d := outboxData{State: notify.StateDead, Limit: ec.QueryParam("limit"), Notice: ec.QueryParam("notice")}
	if ec.QueryParams().Has("state") {
		d.State = ec.QueryParam("state")
	}
	return c.showOutbox(ec, http.StatusOK, d)
}

// showOutbox checks d's filters, lists the deliveries (audited as the API's
// list) and renders d; a bad filter answers 400 with the message next to
// it and an empty list.
func (c *Console) showOutbox(ec echo.Context, status int, d outboxData) error {
	a := accountOf(ec)
	d.States = notify.States()
	list, err := c.listOutbox(ec.Request().Context(), d.State, d.Limit)
	_ = c.audit(ec, actionOutboxList, "", "", err)
	switch {
	case err == nil:
		d.List = list
	case platform.CodeOf(err) == platform.CodeInvalid:
		status, d.Error = statusOf(err), c.messageOf(ec, err)
		if pe, ok := platform.AsError(err); ok {
			d.ErrorOf = pe.Field
		}
	default:
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	return c.render(ec, status, "admin_outbox", view{Title: "消息投递", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// listOutbox reads the filters as the API does and lists.
func (c *Console) listOutbox(ctx context.Context, state, limit string) ([]notify.DeliveryView, error) {
	n := 0
	if limit != "" {
		v, err := strconv.Atoi(limit)
		if err != nil || v < 1 || v > 200 {
			return nil, platform.Invalid("limit", "range", "条数应为 1 至 200 的整数")
		}
		n = v
	}
	if state == outboxAll {
		state = ""
	}
	return c.outbox.List(ctx, state, n)
}

// retryDelivery queues a failed or dead delivery again and goes back to the
// list it came from with a notice; a refusal shows the list with the
// message on that delivery.
func (c *Console) retryDelivery(ec echo.Context) error {
	id := ec.FormValue("id")
	back := outboxData{State: ec.FormValue("state"), Limit: ec.FormValue("limit")}
	if back.State == "" {
		back.State = notify.StateDead
	}
	_, err := c.outbox.Retry(ec.Request().Context(), id)
	_ = c.audit(ec, actionOutboxRetry, id, "", err)
	if err != nil {
		back.Error, back.ErrorOf = c.messageOf(ec, err), id
		return c.showOutbox(ec, statusOf(err), back)
	}
	q := url.Values{"state": {back.State}, "notice": {"已重新排队投递 " + id}}
	if back.Limit != "" {
		q.Set("limit", back.Limit)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/admin/outbox?"+q.Encode())
}

// outboxStateLabel is the Chinese name of a delivery state.
func outboxStateLabel(s string) string {
	switch s {
	case notify.StatePending:
		return "待发送"
	case notify.StateSending:
		return "发送中"
	case notify.StateSent:
		return "已送达"
	case notify.StateFailed:
		return "失败待重试"
	case notify.StateSkipped:
		return "无需发送"
	case notify.StateDead:
		return "已放弃（死信）"
	case outboxAll:
		return "全部"
	}
	return s
}
