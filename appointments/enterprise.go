package appointments

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Enterprises says who acts for an enterprise (enterprises.Service).
type Enterprises interface {
	// MayActFor reports whether userID acts for the enterprise uscc now
	// with a scope covering the service item code item.
	MayActFor(ctx context.Context, userID, uscc, item string) (bool, error)
}

// Errors of bookings on behalf of an enterprise.
var (
	// ErrNotActingFor: the citizen does not act for the enterprise now, or
	// their scope does not cover the service.
	ErrNotActingFor = platform.NewError("not_acting_for_enterprise", "您不能代表该企业预约此事项")
	// ErrEnterpriseLimit: the enterprise has MaxPerEnterpriseDay booked
	// appointments on that day already.
	ErrEnterpriseLimit = platform.NewError("enterprise_booking_limit", "该企业当天的有效预约已达上限")
)

// OnBehalfOf names the enterprise a booking is made for.
type OnBehalfOf struct {
	USCC string `json:"uscc"`
}

// validate checks the enterprise's code (nil is no enterprise). Errors:
// invalid_argument, field "on_behalf_of.uscc" (required, or the check
// platform.ParseUSCC names).
func (o *OnBehalfOf) validate() error {
	if o == nil {
		return nil
	}
	o.USCC = strings.TrimSpace(o.USCC)
	if o.USCC == "" {
		return invalid("on_behalf_of.uscc", "required", "请填写代办企业的统一社会信用代码")
	}
	if _, err := platform.ParseUSCC(o.USCC); err != nil {
		if pe, ok := platform.AsError(err); ok {
			c := *pe
			c.Field = "on_behalf_of.uscc"
			return &c
		}
		return err
	}
	return nil
}

// checkOnBehalf checks that who may book service v for the enterprise o
// (nil: nothing to check): a member in force whose scope covers the
// service's item code. Errors: ErrNotActingFor, the port's errors.
func (s *Service) checkOnBehalf(ctx context.Context, who Citizen, o *OnBehalfOf, v *ServiceItem) error {
	if o == nil {
		return nil
	}
	if s.ents == nil {
		return ErrNotActingFor
	}
	ok, err := s.ents.MayActFor(ctx, who.ID, o.USCC, v.Code)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotActingFor
	}
	return nil
}

// entSlotID is the arbiter of the enterprise's k-th booking of date.
func entSlotID(uscc, date string, k int) string { return fmt.Sprintf("ent|%s|%s|%d", uscc, date, k) }

// takeEnterpriseSlot holds one of the enterprise's MaxPerEnterpriseDay
// slots of the booking's day (arbiters like the user slots, so any number
// of concurrent bookings for one enterprise book at most that many).
// Nothing to do for a booking of one's own. Errors: ErrEnterpriseLimit,
// storage errors.
func (b *booking) takeEnterpriseSlot(ctx context.Context, arb func(id string) arbiterDoc) error {
	if b.uscc == "" {
		return nil
	}
	for k := range b.s.cfg.maxPerEntDay {
		id := entSlotID(b.uscc, b.sl.Date, k)
		ok, err := b.s.acquire(ctx, b.s.userslots, arb(id), holdsBooking)
		if err != nil {
			return err
		}
		if ok {
			b.entSlot = id
			return nil
		}
	}
	return ErrEnterpriseLimit
}

// ListForEnterprise returns the upcoming booked appointments made on
// behalf of the enterprise uscc whose service item code items covers
// (covers nil: all), the soonest first, at most limit (1–100, else 50),
// without their check-in codes (those stay with the citizen who booked).
// Errors: storage errors.
func (s *Service) ListForEnterprise(ctx context.Context, uscc string, covers func(code string) bool, limit int) ([]Appointment, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	cur, err := s.appts.Find(ctx, bson.M{"on_behalf_of": uscc, "status": StatusBooked, "start": bson.M{"$gt": s.clock.Now()}},
		options.Find().SetSort(bson.D{{Key: "start", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list appointments of an enterprise: %w", err)
	}
	var docs []apptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list appointments of an enterprise: %w", err)
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	out := []Appointment{}
	for i := range docs {
		code := ""
		if v := cat.services[docs[i].ServiceID]; v != nil {
			code = v.Code
		}
		if covers != nil && !covers(code) {
			continue
		}
		a := s.view(cat, &docs[i])
		a.CheckinCode, a.CheckinQR = "", ""
		out = append(out, a)
	}
	return slices.Clip(out), nil
}
