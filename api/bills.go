package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/payments"
)

// BillQueries is what the bill routes read.
type BillQueries interface {
	ForUser(ctx context.Context, userID string) ([]payments.BillView, error)
	Lookup(ctx context.Context, billNo, code string) (payments.BillView, error)
}

var _ BillQueries = (*payments.Bills)(nil)

// DefaultBillLookupPerIP is how many bill lookups by verification code a
// client IP may make per minute when BillRoutes leaves it zero.
const DefaultBillLookupPerIP = 20

// BillRoutes show bills (查): the citizen's own, and any bill to whoever
// holds its paper notice.
type BillRoutes struct {
	Bills BillQueries
	// LookupPerIP limits GET /bills/{bill_no} per client IP per minute
	// (BANSHI_RATE_BILL_LOOKUP); 0 means DefaultBillLookupPerIP.
	LookupPerIP int
}

// Register adds the routes.
func (b BillRoutes) Register(r Router) {
	r.Citizen(http.MethodGet, "/me/bills", b.mine)
	r.Public.GET("/bills/:bill_no", b.lookup(r.Server()))
}

func (b BillRoutes) mine(c echo.Context) error {
	list, err := b.Bills.ForUser(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"bills": list})
}

// lookup answers a bill to whoever gives its verification code. It is
// limited per client IP and fails closed (an unlimited lookup would let
// codes be guessed); a wrong code answers exactly as an unknown bill.
func (b BillRoutes) lookup(s *Server) echo.HandlerFunc {
	perMinute := b.LookupPerIP
	if perMinute == 0 {
		perMinute = DefaultBillLookupPerIP
	}
	return func(c echo.Context) error {
		noStore(c) // the answer shows a payer, however masked
		if err := s.allow(c, "rl:bill:"+c.RealIP(), perMinute); err != nil {
			return err
		}
		code := c.QueryParam("code")
		switch {
		case code == "":
			return invalid("code", "required", "请填写账单上的查验码")
		case !payments.BillCodePattern.MatchString(code):
			return invalid("code", "format", "查验码应为 4 至 32 个字母或数字")
		}
		v, err := b.Bills.Lookup(c.Request().Context(), pathParam(c, "bill_no"), code)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}
