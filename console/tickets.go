package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"banshi/evaluations"
)

// Tickets is what hall staff do with the 差评 tickets of their halls
// (核实 → 整改 → 反馈), through the same service and rules as the staff API.
type Tickets interface {
	ListTickets(ctx context.Context, actor evaluations.Actor, q evaluations.TicketQuery) ([]evaluations.Ticket, error)
	Verify(ctx context.Context, actor evaluations.Actor, id, note string) (evaluations.Ticket, error)
	Rectify(ctx context.Context, actor evaluations.Actor, id, note string) (evaluations.Ticket, error)
	Reply(ctx context.Context, actor evaluations.Actor, id, reply string) (evaluations.Ticket, error)
}

var _ Tickets = (*evaluations.Service)(nil)

type ticketsData struct {
	State   string
	States  []string
	Tickets []evaluations.Ticket
	Notice  string
	Error   string
	ErrorOf string // the ticket the error is about
	Note    string // kept on error
}

// ticketRoutes adds the tickets page (when wired).
func (c *Console) ticketRoutes(g *echo.Group) {
	if c.tickets == nil {
		return
	}
	g.GET("/evaluation-tickets", c.ticketsPage, c.requireSession)
	g.POST("/evaluation-tickets/:id/:step", c.ticketStep, c.requirePost)
}

func evalActor(ec echo.Context) evaluations.Actor {
	a := accountOf(ec)
	return evaluations.Actor{ID: a.Username, Role: a.Role, HallIDs: a.HallIDs}
}

func (c *Console) ticketsPage(ec echo.Context) error {
	if _, ok, err := c.requireDesk(ec); !ok {
		return err
	}
	d := ticketsData{State: ec.QueryParam("state"), Notice: ec.QueryParam("notice")}
	return c.showTickets(ec, http.StatusOK, d)
}

func (c *Console) showTickets(ec echo.Context, status int, d ticketsData) error {
	a := accountOf(ec)
	d.States = evaluations.TicketStates()
	list, err := c.tickets.ListTickets(ec.Request().Context(), evalActor(ec), evaluations.TicketQuery{State: d.State, Limit: 100})
	_ = c.audit(ec, "evaluations.tickets.list", "", "", err)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	d.Tickets = list
	return c.render(ec, status, "tickets", view{Title: "差评工单", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// ticketStep takes a ticket its next step (verify, rectify, reply) with the
// typed note; out-of-order steps are refused by the service.
func (c *Console) ticketStep(ec echo.Context) error {
	if _, ok, err := c.requireDesk(ec); !ok {
		return err
	}
	id, step, note := ec.Param("id"), ec.Param("step"), ec.FormValue("note")
	var do func(context.Context, evaluations.Actor, string, string) (evaluations.Ticket, error)
	switch step {
	case "verify":
		do = c.tickets.Verify
	case "rectify":
		do = c.tickets.Rectify
	case "reply":
		do = c.tickets.Reply
	default:
		return c.errorPage(ec, http.StatusNotFound, "没有这个操作")
	}
	_, err := do(ec.Request().Context(), evalActor(ec), id, note)
	_ = c.audit(ec, "evaluations.tickets."+step, id, "", err)
	if err == nil {
		return ec.Redirect(http.StatusSeeOther, "/console/evaluation-tickets?notice="+url.QueryEscape("工单已更新"))
	}
	return c.showTickets(ec, statusOf(err), ticketsData{Error: c.messageOf(ec, err), ErrorOf: id, Note: note})
}

// ticketStateLabel is the Chinese name of a ticket state.
func ticketStateLabel(s string) string {
	switch s {
	case evaluations.StateOpen:
		return "待核实"
	case evaluations.StateVerified:
		return "已核实"
	case evaluations.StateRectified:
		return "已整改"
	case evaluations.StateReplied:
		return "已反馈"
	case evaluations.StateClosed:
		return "已回访"
	case evaluations.StateAppealed:
		return "申诉中"
	case evaluations.StateAnnulled:
		return "评价无效"
	}
	return s
}

// nextTicketStep is the step the staff take next in state, with its label.
func nextTicketStep(state string) []string {
	switch state {
	case evaluations.StateOpen:
		return []string{"verify", "核实"}
	case evaluations.StateVerified:
		return []string{"rectify", "整改"}
	case evaluations.StateRectified:
		return []string{"reply", "反馈"}
	}
	return nil
}
