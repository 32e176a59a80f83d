package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/evaluations"
	"banshi/internal/platform"
)

// EvaluationStats reads the 好差评 statistics (evaluations.Service, as the
// API's stats route): grouped by a dimension over a period of dates.
type EvaluationStats interface {
	StatsFor(ctx context.Context, by, from, to string) (evaluations.Stats, error)
}

var _ EvaluationStats = (*evaluations.Service)(nil)

// actionEvaluationStats is the API's audit action of the statistics.
const actionEvaluationStats = "evaluations.stats"

// evalStatsData is the statistics page.
type evalStatsData struct {
	By, From, To string // the filters as typed
	Dims         []string
	Levels       []string
	Stats        *evaluations.Stats
	ToDay        string // the last day counted (To is exclusive)
	Chart        barChart
	Error        string
	ErrorOf      string
}

// evalRoutes adds the statistics page (when wired).
func (c *Console) evalStatsRoutes(g *echo.Group) {
	if c.evalStats == nil {
		return
	}
	g.GET("/admin/evaluations", c.evalStatsPage, c.requireSession, c.adminOnly(actionEvaluationStats))
}

// evalStatsPage shows the statistics of the filters (by hall and the
// service's default period when none are given); a bad filter answers 400
// with the message next to it.
func (c *Console) evalStatsPage(ec echo.Context) error {
	a := accountOf(ec)
	d := evalStatsData{By: evaluations.ByHall, From: ec.QueryParam("from"), To: ec.QueryParam("to"),
		Dims:   []string{evaluations.ByHall, evaluations.ByDepartment, evaluations.ByService, evaluations.ByChannel, evaluations.ByStaff},
		Levels: evaluations.Levels()}
	if ec.QueryParams().Has("by") {
		d.By = ec.QueryParam("by")
	}
	st, err := c.evalStats.StatsFor(ec.Request().Context(), d.By, d.From, d.To)
	_ = c.audit(ec, actionEvaluationStats, "", "", err)
	status := http.StatusOK
	switch {
	case err == nil:
		d.Stats = &st
		d.ToDay = platform.Local(st.To.Add(-time.Nanosecond)).Format(time.DateOnly)
		d.Chart = statsChart(st)
	case platform.CodeOf(err) == platform.CodeInvalid:
		status, d.Error = statusOf(err), c.messageOf(ec, err)
		if pe, ok := platform.AsError(err); ok {
			d.ErrorOf = pe.Field
		}
	default:
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	return c.render(ec, status, "admin_evaluations", view{Title: "好差评统计", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// barChart is a horizontal bar chart drawn as inline SVG attributes (no
// style, no script: the CSP forbids them): per group one bar of its
// effective evaluations, the 差评 part drawn over its start.
type barChart struct {
	Width, Height int
	BarX, BarH    int // where the bars start, and their height
	Bars          []bar
}

type bar struct {
	Label      string
	Y, TextY   int
	ValueX     int // where the figures after the bar start
	W, BadW    int // pixel widths of the total and of the 差评s
	Total, Bad int
}

// Layout of the chart, in SVG user units.
const (
	chartLabelW = 160
	chartBarMax = 420
	chartRow    = 26
	chartBarH   = 18
)

// statsChart lays out st's groups as bars scaled to the largest total.
func statsChart(st evaluations.Stats) barChart {
	ch := barChart{Width: chartLabelW + chartBarMax + 140, Height: chartRow*len(st.Groups) + 8, BarX: chartLabelW, BarH: chartBarH}
	most := 0
	for _, g := range st.Groups {
		most = max(most, g.Total)
	}
	for i, g := range st.Groups {
		bad := g.Counts[evaluations.LevelDissatisfied] + g.Counts[evaluations.LevelVeryDissatisfied]
		b := bar{Label: groupLabel(g.Key), Y: 4 + i*chartRow, TextY: 4 + i*chartRow + 14, Total: g.Total, Bad: bad}
		if most > 0 {
			b.W, b.BadW = g.Total*chartBarMax/most, bad*chartBarMax/most
		}
		b.ValueX = chartLabelW + b.W + 6
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}

// groupLabel is a group's key as shown ("" is an unknown value).
func groupLabel(k string) string {
	if k == "" {
		return "（未记录）"
	}
	return k
}

// dimLabel is the Chinese name of a statistics dimension.
func dimLabel(by string) string {
	switch by {
	case evaluations.ByHall:
		return "大厅"
	case evaluations.ByDepartment:
		return "部门"
	case evaluations.ByService:
		return "事项"
	case evaluations.ByChannel:
		return "渠道"
	case evaluations.ByStaff:
		return "工作人员"
	}
	return by
}

// percent formats a share (0..1) as a percentage with one decimal.
func percent(r float64) string { return strconv.FormatFloat(r*100, 'f', 1, 64) + "%" }
