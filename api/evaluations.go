package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"banshi/evaluations"
	"banshi/internal/staff"
)

// Evaluations is what the 好差评 routes call (evaluations.Service).
type Evaluations interface {
	Evaluate(ctx context.Context, userID string, r evaluations.Request) (evaluations.Evaluation, error)
	ForUser(ctx context.Context, userID string) ([]evaluations.Evaluation, error)
	ListTickets(ctx context.Context, actor evaluations.Actor, q evaluations.TicketQuery) ([]evaluations.Ticket, error)
	GetTicket(ctx context.Context, actor evaluations.Actor, id string) (evaluations.Ticket, error)
	Verify(ctx context.Context, actor evaluations.Actor, id, note string) (evaluations.Ticket, error)
	Rectify(ctx context.Context, actor evaluations.Actor, id, note string) (evaluations.Ticket, error)
	Reply(ctx context.Context, actor evaluations.Actor, id, reply string) (evaluations.Ticket, error)
	Callback(ctx context.Context, actor evaluations.Actor, id, outcome, note string) (evaluations.Ticket, error)
	FileAppeal(ctx context.Context, actor evaluations.Actor, id, kind, reason string) (evaluations.Ticket, error)
	ReviewAppeal(ctx context.Context, actor evaluations.Actor, id string, upheld bool, note string) (evaluations.Ticket, error)
	StatsFor(ctx context.Context, by, from, to string) (evaluations.Stats, error)
	ExportFor(ctx context.Context, w io.Writer, coding, from, to string) error
}

var _ Evaluations = (*evaluations.Service)(nil)

// EvaluationRoutes are 好差评: citizens rate and follow their evaluations;
// hall staff and admins handle the rectification tickets of 差评s; admins
// review appeals and read statistics and the export. Staff routes
// authenticate and audit through the staff routes' middleware.
type EvaluationRoutes struct {
	Staff StaffRoutes
	Evals Evaluations
}

// Register adds the routes.
func (e EvaluationRoutes) Register(r Router) {
	s := r.Server()
	r.Citizen(http.MethodPost, "/evaluations", e.evaluate)
	r.Citizen(http.MethodGet, "/me/evaluations", e.mine)
	desk := []string{staff.RoleAdmin, staff.RoleHallStaff}
	admin := staff.RoleAdmin
	g := r.Public.Group("/staff/evaluation-tickets")
	g.GET("", e.listTickets, e.Staff.require(s, "evaluations.tickets.list", desk...))
	g.GET("/:id", e.getTicket, e.Staff.require(s, "evaluations.tickets.read", desk...))
	g.POST("/:id/verify", e.note(e.Evals.Verify), e.Staff.require(s, "evaluations.tickets.verify", desk...))
	g.POST("/:id/rectify", e.note(e.Evals.Rectify), e.Staff.require(s, "evaluations.tickets.rectify", desk...))
	g.POST("/:id/reply", e.reply, e.Staff.require(s, "evaluations.tickets.reply", desk...))
	g.POST("/:id/callback", e.callback, e.Staff.require(s, "evaluations.tickets.callback", desk...))
	g.POST("/:id/appeal", e.appeal, e.Staff.require(s, "evaluations.tickets.appeal", desk...))
	g.POST("/:id/review", e.review, e.Staff.require(s, "evaluations.tickets.review", admin))
	a := r.Public.Group("/staff/admin/evaluations")
	a.GET("/stats", e.stats, e.Staff.require(s, "evaluations.stats", admin))
	a.GET("/export", e.export, e.Staff.require(s, "evaluations.export", admin))
}

func (e EvaluationRoutes) evaluate(c echo.Context) error {
	var req evaluations.Request
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := e.Evals.Evaluate(c.Request().Context(), userID(c), req)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, v)
}

func (e EvaluationRoutes) mine(c echo.Context) error {
	list, err := e.Evals.ForUser(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"evaluations": list})
}

func evalActor(c echo.Context) evaluations.Actor {
	a, _ := c.Get(ctxStaff).(staff.Account)
	return evaluations.Actor{ID: a.Username, Role: a.Role, HallIDs: a.HallIDs}
}

func (e EvaluationRoutes) listTickets(c echo.Context) error {
	q := evaluations.TicketQuery{State: c.QueryParam("state")}
	switch v := c.QueryParam("overdue"); v {
	case "", "false":
	case "true":
		q.Overdue = true
	default:
		return invalid("overdue", "format", "overdue 应为 true 或 false")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return invalid("limit", "range", "条数应为 1 至 200 的整数")
		}
		q.Limit = n
	}
	list, err := e.Evals.ListTickets(c.Request().Context(), evalActor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tickets": list})
}

func (e EvaluationRoutes) getTicket(c echo.Context) error {
	t, err := e.Evals.GetTicket(c.Request().Context(), evalActor(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// ticketNoteRequest is the body of verify and rectify.
type ticketNoteRequest struct {
	Note string `json:"note"`
}

func (e EvaluationRoutes) note(step func(context.Context, evaluations.Actor, string, string) (evaluations.Ticket, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req ticketNoteRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		t, err := step(c.Request().Context(), evalActor(c), pathParam(c, "id"), req.Note)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, t)
	}
}

type ticketReplyRequest struct {
	Reply string `json:"reply"`
}

func (e EvaluationRoutes) reply(c echo.Context) error {
	var req ticketReplyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	t, err := e.Evals.Reply(c.Request().Context(), evalActor(c), pathParam(c, "id"), req.Reply)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

type ticketCallbackRequest struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

func (e EvaluationRoutes) callback(c echo.Context) error {
	var req ticketCallbackRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	t, err := e.Evals.Callback(c.Request().Context(), evalActor(c), pathParam(c, "id"), req.Outcome, req.Note)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

type ticketAppealRequest struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

func (e EvaluationRoutes) appeal(c echo.Context) error {
	var req ticketAppealRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	t, err := e.Evals.FileAppeal(c.Request().Context(), evalActor(c), pathParam(c, "id"), req.Kind, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

type ticketReviewRequest struct {
	Upheld *bool  `json:"upheld"`
	Note   string `json:"note"`
}

func (e EvaluationRoutes) review(c echo.Context) error {
	var req ticketReviewRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Upheld == nil {
		return invalid("upheld", "required", "请说明申诉是否成立")
	}
	t, err := e.Evals.ReviewAppeal(c.Request().Context(), evalActor(c), pathParam(c, "id"), *req.Upheld, req.Note)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (e EvaluationRoutes) stats(c echo.Context) error {
	st, err := e.Evals.StatsFor(c.Request().Context(), c.QueryParam("by"), c.QueryParam("from"), c.QueryParam("to"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// export answers the CSV, built in memory so that an error still gets the
// JSON error body.
func (e EvaluationRoutes) export(c echo.Context) error {
	coding := c.QueryParam("coding")
	if coding == "" {
		coding = evaluations.CodingGBT39046
	}
	var buf bytes.Buffer
	if err := e.Evals.ExportFor(c.Request().Context(), &buf, coding, c.QueryParam("from"), c.QueryParam("to")); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="evaluations-`+coding+`.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
