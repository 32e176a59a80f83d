package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
)

// Booking is what the appointment routes need of the booking engine.
type Booking interface {
	ListHalls(ctx context.Context) ([]appointments.Hall, error)
	GetHall(ctx context.Context, hallID string) (appointments.Hall, error)
	ListDepartments(ctx context.Context, hallID string) ([]appointments.Department, error)
	ListServices(ctx context.Context, hallID, departmentID, q string) ([]appointments.ServiceItem, error)
	GetService(ctx context.Context, serviceID string) (appointments.ServiceItem, error)
	Availability(ctx context.Context, hallID, serviceID string) (appointments.Availability, error)
	DaySlots(ctx context.Context, hallID, serviceID, date string) (appointments.DaySlots, error)
	Book(ctx context.Context, who appointments.Citizen, req appointments.BookRequest, idempotencyKey string) (appointments.Appointment, error)
	ListMine(ctx context.Context, userID string, upcoming bool, limit int) ([]appointments.Appointment, error)
	Get(ctx context.Context, userID, appointmentID string) (appointments.Appointment, error)
	Cancel(ctx context.Context, userID, appointmentID string) (appointments.Appointment, error)
}

var _ Booking = (*appointments.Service)(nil)

// AppointmentRoutes is the citizen side of hall appointment booking: the
// catalog and availability (public: citizens browse before logging in) and
// booking (authenticated).
type AppointmentRoutes struct {
	Booking Booking
	// AvailabilityTTL is how long an availability answer is reused in this
	// process (0: not cached). Bookings and cancellations here drop it.
	AvailabilityTTL time.Duration
	cache           *microCache
}

// NewAppointmentRoutes returns the routes with their availability cache.
func NewAppointmentRoutes(b Booking, availabilityTTL time.Duration) AppointmentRoutes {
	return AppointmentRoutes{Booking: b, AvailabilityTTL: availabilityTTL, cache: newMicroCache(availabilityTTL)}
}

// Register adds the routes.
func (a AppointmentRoutes) Register(r Router) {
	r.Public.GET("/halls", a.halls)
	r.Public.GET("/halls/:hall_id/departments", a.departments)
	r.Public.GET("/halls/:hall_id/services", a.services)
	r.Public.GET("/halls/:hall_id/availability", a.availability)
	r.Public.GET("/services/:service_id", a.service)
	r.Citizen(http.MethodPost, "/appointments", a.book(r.Server()))
	r.Citizen(http.MethodGet, "/me/appointments", a.mine)
	r.Citizen(http.MethodGet, "/appointments/:id", a.get)
	r.Citizen(http.MethodPost, "/appointments/:id/cancel", a.cancel(r.Server()))
}

func (a AppointmentRoutes) halls(c echo.Context) error {
	hs, err := a.Booking.ListHalls(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"halls": hs})
}

func (a AppointmentRoutes) departments(c echo.Context) error {
	ds, err := a.Booking.ListDepartments(c.Request().Context(), pathParam(c, "hall_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"departments": ds})
}

func (a AppointmentRoutes) services(c echo.Context) error {
	q := c.QueryParam("q")
	if len([]rune(q)) > 50 {
		return invalid("q", "length", "搜索词最多 50 个字")
	}
	ss, err := a.Booking.ListServices(c.Request().Context(), pathParam(c, "hall_id"), c.QueryParam("department_id"), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"services": ss})
}

func (a AppointmentRoutes) service(c echo.Context) error {
	s, err := a.Booking.GetService(c.Request().Context(), pathParam(c, "service_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (a AppointmentRoutes) availability(c echo.Context) error {
	serviceID, date := c.QueryParam("service_id"), c.QueryParam("date")
	if err := required("service_id", serviceID); err != nil {
		return err
	}
	hallID := pathParam(c, "hall_id")
	// fill may outlive this request (the cache shares it with other callers
	// and lets it finish when this one goes away), and Echo reuses c for
	// another request then: fill reads nothing from c.
	fill := func(ctx context.Context) ([]byte, error) {
		var v any
		var err error
		if date != "" {
			v, err = a.Booking.DaySlots(ctx, hallID, serviceID, date)
		} else {
			v, err = a.Booking.Availability(ctx, hallID, serviceID)
		}
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		return append(b, '\n'), err
	}
	var body []byte
	var err error
	if a.cache == nil || a.AvailabilityTTL <= 0 {
		body, err = fill(c.Request().Context())
	} else {
		body, err = a.cache.get(c.Request().Context(), hallID+"|"+serviceID+"|"+date, fill)
	}
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, body)
}

// Changed drops cached availability; called after a booking or cancellation
// here, and after catalog changes by admins.
func (a AppointmentRoutes) Changed() {
	if a.cache != nil {
		a.cache.clear()
	}
}

func (a AppointmentRoutes) book(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req appointments.BookRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		if err := required("slot_id", req.SlotID, "service_id", req.ServiceID); err != nil {
			return err
		}
		uid := userID(c)
		who := appointments.Citizen{ID: uid, RealnameLevel: sessionLevel(c)}
		appt, err := a.Booking.Book(c.Request().Context(), who, req, c.Request().Header.Get("Idempotency-Key"))
		if err != nil {
			return err
		}
		a.Changed()
		s.PageChanged(c, uid)
		return c.JSON(http.StatusCreated, appt)
	}
}

func (a AppointmentRoutes) mine(c echo.Context) error {
	upcoming := c.QueryParam("upcoming") == "true"
	limit := 50
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return invalid("limit", "range", "条数应为 1 至 100 的整数")
		}
		limit = n
	}
	list, err := a.Booking.ListMine(c.Request().Context(), userID(c), upcoming, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"appointments": list})
}

func (a AppointmentRoutes) get(c echo.Context) error {
	appt, err := a.Booking.Get(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, appt)
}

func (a AppointmentRoutes) cancel(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		appt, err := a.Booking.Cancel(c.Request().Context(), userID(c), pathParam(c, "id"))
		if err != nil {
			return err
		}
		a.Changed()
		s.PageChanged(c, userID(c))
		return c.JSON(http.StatusOK, appt)
	}
}
