package console

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform"
	"banshi/internal/staff"
)

// AuditLog reads the staff audit log (staff.Service, as the API's audit
// route): entries by actor, action and time range, newest first.
type AuditLog interface {
	ListAudit(ctx context.Context, q staff.AuditQuery) ([]staff.Entry, error)
}

var _ AuditLog = (*staff.Service)(nil)

// actionAuditList: reading the audit log is itself audited, as in the API.
const actionAuditList = "audit.list"

// localMinute is the layout of the page's time filters (a datetime-local
// field, Asia/Shanghai).
const localMinute = "2006-01-02T15:04"

// auditPageSize is the default number of entries per page.
const auditPageSize = 50

// auditFilter is the page's filters as typed.
type auditFilter struct {
	Actor   string
	Action  string
	Target  string
	HallID  string
	Outcome string
	Since   string // localMinute
	Until   string // localMinute
	Limit   string
	// After is the paging cursor: the last entry of the previous page,
	// "<RFC 3339 nano time>|<entry id>".
	After string
}

// auditData is the audit log page.
type auditData struct {
	F       auditFilter
	Entries []staff.Entry
	Next    template.URL // the next page, "" on the last page
	First   template.URL // the first page of the same filters
	Error   string
	ErrorOf string
}

// auditRoutes adds the audit log page (when wired).
func (c *Console) auditRoutes(g *echo.Group) {
	if c.auditLog == nil {
		return
	}
	g.GET("/admin/audit", c.auditPage, c.requireSession, c.adminOnly(actionAuditList))
}

// auditPage lists the audit log by the filters, newest first, one page
// after the cursor; a bad filter answers 400 with the message next to it.
func (c *Console) auditPage(ec echo.Context) error {
	a := accountOf(ec)
	f := auditFilter{Actor: strings.TrimSpace(ec.QueryParam("actor")), Action: strings.TrimSpace(ec.QueryParam("action")),
		Target: strings.TrimSpace(ec.QueryParam("target")), HallID: strings.TrimSpace(ec.QueryParam("hall_id")),
		Outcome: strings.TrimSpace(ec.QueryParam("outcome")),
		Since:   ec.QueryParam("since"), Until: ec.QueryParam("until"), Limit: ec.QueryParam("limit"), After: ec.QueryParam("after")}
	d := auditData{F: f}
	entries, next, err := c.readAudit(ec.Request().Context(), f)
	_ = c.audit(ec, actionAuditList, "", "", err)
	status := http.StatusOK
	switch {
	case err == nil:
		d.Entries = entries
		if next != "" {
			d.Next = template.URL("/console/admin/audit?" + next)
		}
		if f.After != "" {
			d.First = template.URL("/console/admin/audit?" + f.query().Encode())
		}
	case platform.CodeOf(err) == platform.CodeInvalid:
		status, d.Error = statusOf(err), c.messageOf(ec, err)
		if pe, ok := platform.AsError(err); ok {
			d.ErrorOf = pe.Field
		}
	default:
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	return c.render(ec, status, "admin_audit", view{Title: "审计日志", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// readAudit checks f, reads one page and returns it with the next page's
// query ("" when this is the last). Errors: platform.Invalid naming the
// filter; storage errors.
func (c *Console) readAudit(ctx context.Context, f auditFilter) ([]staff.Entry, string, error) {
	q := staff.AuditQuery{Actor: f.Actor, Action: f.Action, Target: f.Target, HallID: f.HallID, Outcome: f.Outcome}
	for _, p := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", f.Since, &q.Since}, {"until", f.Until, &q.Until}} {
		if p.v == "" {
			continue
		}
		t, err := time.ParseInLocation(localMinute, p.v, platform.Shanghai())
		if err != nil {
			return nil, "", platform.Invalid(p.name, "format", "时间格式应为 年-月-日T时:分，如 2026-11-23T09:30")
		}
		*p.dst = t
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return nil, "", platform.Invalid("until", "range", "结束时间应晚于开始时间")
	}
	size := auditPageSize
	if f.Limit != "" {
		n, err := strconv.Atoi(f.Limit)
		if err != nil || n < 1 || n > 999 {
			return nil, "", platform.Invalid("limit", "range", "每页条数应为 1 至 999 的整数")
		}
		size = n
	}
	if f.After != "" {
		at, id, ok := strings.Cut(f.After, "|")
		t, err := time.Parse(time.RFC3339Nano, at)
		if !ok || err != nil || id == "" {
			return nil, "", platform.Invalid("after", "format", "翻页位置无效，请从第一页重新查询")
		}
		q.Before = &staff.AuditCursor{At: t, ID: id}
	}
	q.Limit = size + 1 // one more tells whether there is a next page
	out, err := c.auditLog.ListAudit(ctx, q)
	if err != nil {
		return nil, "", err
	}
	if len(out) <= size {
		return out, "", nil
	}
	out = out[:size]
	last := out[len(out)-1]
	next := f.query()
	next.Set("after", last.At.UTC().Format(time.RFC3339Nano)+"|"+last.ID)
	return out, next.Encode(), nil
}

// query is f's filters (not the cursor) as a query.
func (f auditFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target, "hall_id": f.HallID,
		"outcome": f.Outcome, "since": f.Since, "until": f.Until, "limit": f.Limit} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}
