package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/notify"
	"banshi/payments"
)

// The administrators' dashboard (/console/admin/dashboard): four charts of
// a range of days (default the last 14): bookings and no-shows, queue
// waiting times, messages sent and failed by channel, payments and refunds.
// The figures come from read-only statistics of the owning packages.

// AppointmentStats is the appointments' statistics (appointments.Service).
type AppointmentStats interface {
	Stats(ctx context.Context, r platform.DayRange, hallID string) ([]appointments.ApptDayStats, error)
}

// MessageStats is the outbox's statistics (notify.Outbox).
type MessageStats interface {
	Stats(ctx context.Context, r platform.DayRange) ([]notify.ChannelDayStats, error)
}

// PaymentStats is the payments' statistics (payments.Service).
type PaymentStats interface {
	Stats(ctx context.Context, r platform.DayRange) ([]payments.PayDayStats, error)
}

var (
	_ AppointmentStats = (*appointments.Service)(nil)
	_ MessageStats     = (*notify.Outbox)(nil)
	_ PaymentStats     = (*payments.Service)(nil)
)

// Dashboard is where the dashboard's figures come from; the three
// statistics are required. Clock gives "today" of the default range (nil:
// the system clock; development's movable clock moves it).
type Dashboard struct {
	Appointments AppointmentStats
	Messages     MessageStats
	Payments     PaymentStats
	Clock        platform.Clock
}

// Audit action of a dashboard view.
const actionDashboardView = "dashboard.view"

// dashboardDays is the default range: the last 14 days, today included.
const dashboardDays = 14

type dashboardData struct {
	From, To, HallID string // the form's values
	Error            string
	ErrorOf          string
	Charts           []template.HTML
}

func (c *Console) dashboardRoutes(g *echo.Group) {
	if c.dashboard == nil {
		return
	}
	g.GET("/admin/dashboard", c.dashboardPage, c.requireSession)
}

// dashboardPage shows the charts of ?from=&to= (YYYY-MM-DD, at most 31
// days; both empty: the last 14 days) and ?hall_id= (appointments only).
// A bad range or hall answers 400 with the message and the typed values.
func (c *Console) dashboardPage(ec echo.Context) error {
	a, ok, err := c.requireAdmin(ec)
	if !ok {
		return err
	}
	ctx := ec.Request().Context()
	d := dashboardData{From: strings.TrimSpace(ec.QueryParam("from")), To: strings.TrimSpace(ec.QueryParam("to")),
		HallID: strings.TrimSpace(ec.QueryParam("hall_id"))}
	var r platform.DayRange
	if d.From == "" && d.To == "" {
		var now time.Time
		if c.dashboard.Clock != nil {
			now = c.dashboard.Clock.Now()
		} else {
			now = time.Now()
		}
		r = platform.LastDays(now, dashboardDays)
	} else {
		r, err = platform.ParseDayRange(d.From, d.To, platform.MaxStatsDays)
	}
	if err == nil {
		d.From, d.To = r.From, r.To
		d.Charts, err = c.dashboardCharts(ctx, r, d.HallID)
	}
	_ = c.audit(ec, actionDashboardView, d.From+".."+d.To, d.HallID, err)
	status := http.StatusOK
	if err != nil {
		var pe *platform.Error
		if !errors.As(err, &pe) {
			return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
		}
		status, d.Error, d.ErrorOf, d.Charts = statusOf(err), pe.Message, pe.Field, nil
	}
	return c.render(ec, status, "admin_dashboard", view{Title: "数据看板", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// dashboardCharts reads the three statistics and draws the four charts.
func (c *Console) dashboardCharts(ctx context.Context, r platform.DayRange, hallID string) ([]template.HTML, error) {
	appts, err := c.dashboard.Appointments.Stats(ctx, r, hallID)
	if err != nil {
		return nil, err
	}
	msgs, err := c.dashboard.Messages.Stats(ctx, r)
	if err != nil {
		return nil, err
	}
	pays, err := c.dashboard.Payments.Stats(ctx, r)
	if err != nil {
		return nil, err
	}
	span := r.From + " 至 " + r.To
	where := "全部大厅"
	if hallID != "" {
		where = "大厅 " + hallID
	}
	return []template.HTML{
		BarChart(bookingsChart(appts, span, where)),
		LineChart(waitsChart(appts, span, where)),
		BarChart(messagesChart(msgs, span)),
		BarChart(paymentsChart(pays, r.Days(), span)),
	}, nil
}

func bookingsChart(days []appointments.ApptDayStats, span, where string) Chart {
	c := Chart{ID: "chart-bookings", Title: "每日预约与爽约", Unit: "人次",
		Desc:   fmt.Sprintf("%s，%s：每日新增预约、爽约、办结、取消的数量。", span, where),
		Series: []Series{{Name: "预约"}, {Name: "爽约"}, {Name: "办结"}, {Name: "取消"}}}
	for _, d := range days {
		c.Labels = append(c.Labels, d.Date)
		for i, v := range []int{d.Booked, d.NoShows, d.Completed, d.Cancelled} {
			c.Series[i].Values = append(c.Series[i].Values, float64(v))
		}
	}
	return c
}

func waitsChart(days []appointments.ApptDayStats, span, where string) Chart {
	c := Chart{ID: "chart-waits", Title: "每日排队等候时间", Unit: "分钟",
		Desc:   fmt.Sprintf("%s，%s：签到到叫号的等候时间，每日中位数与第 90 百分位（分钟）。", span, where),
		Series: []Series{{Name: "中位数（分钟）"}, {Name: "P90（分钟）"}}, Extra: []Series{{Name: "叫号人数"}}}
	for _, d := range days {
		c.Labels = append(c.Labels, d.Date)
		c.Series[0].Values = append(c.Series[0].Values, d.WaitMedianMin)
		c.Series[1].Values = append(c.Series[1].Values, d.WaitP90Min)
		c.Extra[0].Cells = append(c.Extra[0].Cells, fmt.Sprint(d.Waits))
	}
	return c
}

// channelLabel is the Chinese name of a message channel.
func channelLabel(ch string) string {
	switch ch {
	case notify.ChannelInbox:
		return "站内信"
	case "wechat_subscribe":
		return "微信订阅消息"
	case "fcm":
		return "FCM 推送"
	case "department":
		return "部门回调"
	}
	return ch
}

func messagesChart(rows []notify.ChannelDayStats, span string) Chart {
	c := Chart{ID: "chart-messages", Title: "各渠道消息发送与失败", Head: "渠道", Unit: "条",
		Desc:   span + "：各渠道发送成功与失败（放弃重试）的消息数，合计。",
		Series: []Series{{Name: "已发送"}, {Name: "失败"}, {Name: "跳过"}}}
	idx := map[string]int{}
	for _, r := range rows {
		i, ok := idx[r.Channel]
		if !ok {
			i = len(c.Labels)
			idx[r.Channel] = i
			c.Labels = append(c.Labels, channelLabel(r.Channel))
			for s := range c.Series {
				c.Series[s].Values = append(c.Series[s].Values, 0)
			}
		}
		c.Series[0].Values[i] += float64(r.Sent)
		c.Series[1].Values[i] += float64(r.Failed)
		c.Series[2].Values[i] += float64(r.Skipped)
	}
	return c
}

func paymentsChart(rows []payments.PayDayStats, days []string, span string) Chart {
	type sum struct {
		paid, refunded       int
		paidFen, refundedFen int64
	}
	by := map[string]*sum{}
	for _, d := range days {
		by[d] = &sum{}
	}
	for _, r := range rows {
		if s := by[r.Date]; s != nil {
			s.paid += r.Paid
			s.paidFen += r.PaidFen
			s.refunded += r.Refunded
			s.refundedFen += r.RefundedFen
		}
	}
	c := Chart{ID: "chart-payments", Title: "每日缴费与退款", Unit: "元",
		Desc:   span + "：每日缴费成功与退款成功的金额（元），表中为精确到分的金额与笔数。",
		Series: []Series{{Name: "缴费"}, {Name: "退款"}}}
	for _, d := range days {
		s := by[d]
		c.Labels = append(c.Labels, d)
		c.Series[0].Values = append(c.Series[0].Values, float64(s.paidFen)/100)
		c.Series[0].Cells = append(c.Series[0].Cells, fmt.Sprintf("%s 元（%d 分，%d 笔）", yuan(s.paidFen), s.paidFen, s.paid))
		c.Series[1].Values = append(c.Series[1].Values, float64(s.refundedFen)/100)
		c.Series[1].Cells = append(c.Series[1].Cells, fmt.Sprintf("%s 元（%d 分，%d 笔）", yuan(s.refundedFen), s.refundedFen, s.refunded))
	}
	return c
}
