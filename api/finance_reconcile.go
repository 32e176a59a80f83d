package api

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/internal/staff"
	"banshi/payments"
)

// Reconciliations is what finance does with the daily reconciliation of the
// channels' bills (payments.Reconciler).
type Reconciliations interface {
	Run(ctx context.Context, date, channel string) (payments.Reconciliation, error)
	Get(ctx context.Context, date, channel string) (payments.Reconciliation, error)
	WriteCSV(ctx context.Context, w io.Writer, date, channel string) error
	Resolve(ctx context.Context, actor, date, channel, itemID, action, note string) (payments.ReconItem, error)
}

var _ Reconciliations = (*payments.Reconciler)(nil)

// ReconcileRoutes are finance's reconciliation routes under
// /api/v1/finance/reconciliations, for the roles finance and admin,
// authenticated and audited through the staff routes' middleware.
type ReconcileRoutes struct {
	Staff StaffRoutes
	Recon Reconciliations
}

// Register adds the routes.
func (rr ReconcileRoutes) Register(r Router) {
	s := r.Server()
	g := r.Public.Group("/finance/reconciliations")
	roles := []string{staff.RoleFinance, staff.RoleAdmin}
	g.POST("", rr.run, rr.Staff.require(s, "reconciliation.run", roles...))
	g.GET("/:date", rr.get, rr.Staff.require(s, "reconciliation.get", roles...))
	g.POST("/:date/items/:id/resolve", rr.resolve, rr.Staff.require(s, "reconciliation.resolve", roles...))
}

type reconRunRequest struct {
	Date    string `json:"date"`
	Channel string `json:"channel"`
}

// run reconciles a day now: 201 with the reconciliation the first time, 200
// when the day was reconciled before (a re-run keeps resolutions).
func (rr ReconcileRoutes) run(c echo.Context) error {
	var req reconRunRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("date", req.Date, "channel", req.Channel); err != nil {
		return err
	}
	c.Set(ctxAuditTarget, req.Date+"|"+req.Channel)
	ctx := c.Request().Context()
	done, err := rr.Recon.Run(ctx, req.Date, req.Channel)
	if err != nil {
		return err
	}
	rec, err := rr.Recon.Get(ctx, req.Date, req.Channel)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if done.Runs == 1 {
		status = http.StatusCreated
	}
	return c.JSON(status, rec)
}

// get answers a reconciliation with its discrepancies, as JSON or CSV.
func (rr ReconcileRoutes) get(c echo.Context) error {
	date, channel := pathParam(c, "date"), c.QueryParam("channel")
	if err := required("channel", channel); err != nil {
		return err
	}
	c.Set(ctxAuditTarget, date+"|"+channel)
	ctx := c.Request().Context()
	switch c.QueryParam("format") {
	case "", "json":
		rec, err := rr.Recon.Get(ctx, date, channel)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, rec)
	case "csv":
		// WriteCSV returns its errors before writing anything, so a failure
		// still gets the JSON error body.
		var buf bytes.Buffer
		if err := rr.Recon.WriteCSV(ctx, &buf, date, channel); err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderContentDisposition,
			`attachment; filename="reconciliation-`+date+`-`+channel+`.csv"`)
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	default:
		return invalid("format", "enum", "格式应为 json 或 csv")
	}
}

type reconResolveRequest struct {
	Action string `json:"action"`
	Note   string `json:"note"`
}

// resolve resolves one discrepancy on behalf of the signed-in clerk. The
// item's id is unique across channels; ?channel= optionally insists on one.
func (rr ReconcileRoutes) resolve(c echo.Context) error {
	var req reconResolveRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("action", req.Action, "note", req.Note); err != nil {
		return err
	}
	channel := c.QueryParam("channel") // optional: the item's id names its channel
	date, id := pathParam(c, "date"), pathParam(c, "id")
	c.Set(ctxAuditTarget, date+"|"+channel+"|"+id)
	item, err := rr.Recon.Resolve(c.Request().Context(), actor(c).ID, date, channel, id, req.Action, req.Note)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, item)
}
