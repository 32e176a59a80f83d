package appointments

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the booking engine's Prometheus series. Each event is counted
// once, right after the write that decided it succeeded (the appointment
// insert that committed a booking, the conditional status update that won a
// cancellation, no-show, check-in or call): never for an answer replayed
// under an Idempotency-Key, a duplicate, or a lost race. Labels come from
// bounded sets (hall IDs of the catalog, error codes, fixed words), never a
// person or an appointment. A nil *Metrics records nothing.
type Metrics struct {
	bookings      *prometheus.CounterVec
	cancellations *prometheus.CounterVec
	noShows       *prometheus.CounterVec
	checkins      *prometheus.CounterVec
	calls         *prometheus.CounterVec
}

// Values of the labels of the appointment series.
const (
	OutcomeBooked = "booked" // bookings_total{outcome}: anything else is the refusal's error code

	CancelledByCitizen = "citizen" // cancellations_total{by}
	CancelledByStaff   = "staff"
	CancelledBySystem  = "system" // the sweeper, for a day the hall did not open

	NoShowBySweep = "sweep" // no_shows_total{source}
	NoShowByStaff = "staff"

	CallFirst  = "call" // queue_calls_total{kind}: CallNext
	CallRecall = "recall"
)

// NewMetrics registers the appointment series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		bookings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_appointment_bookings_total",
			Help: "Booking requests decided, by hall and outcome (booked, or the refusal's error code); replayed answers are not counted.",
		}, []string{"hall", "outcome"}),
		cancellations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_appointment_cancellations_total", Help: "Booked appointments cancelled, by hall and by whom (citizen, staff, system).",
		}, []string{"hall", "by"}),
		noShows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_appointment_no_shows_total", Help: "Booked appointments turned no-show, by hall and source (sweep, staff).",
		}, []string{"hall", "source"}),
		checkins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_appointment_checkins_total", Help: "Appointments checked in at the hall.",
		}, []string{"hall"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_appointment_queue_calls_total", Help: "Queue calls at the counters, by hall and kind (call, recall).",
		}, []string{"hall", "kind"}),
	}
	reg.MustRegister(m.bookings, m.cancellations, m.noShows, m.checkins, m.calls)
	return m
}

// booked counts a booking whose appointment document was stored.
func (m *Metrics) booked(hall string) {
	if m == nil {
		return
	}
	m.bookings.WithLabelValues(hall, OutcomeBooked).Inc()
}

// refused counts a booking refused by a rule, under the error's code. An
// error without a code (storage, a timeout: the HTTP series show those as
// 5xx) is not a refusal and is not counted.
func (m *Metrics) refused(hall string, err error) {
	if m == nil {
		return
	}
	if code := Code(err); code != "" {
		m.bookings.WithLabelValues(hall, code).Inc()
	}
}

func (m *Metrics) cancelled(hall, by string) {
	if m == nil {
		return
	}
	m.cancellations.WithLabelValues(hall, by).Inc()
}

func (m *Metrics) noShow(hall, source string) {
	if m == nil {
		return
	}
	m.noShows.WithLabelValues(hall, source).Inc()
}

func (m *Metrics) checkedIn(hall string) {
	if m == nil {
		return
	}
	m.checkins.WithLabelValues(hall).Inc()
}

func (m *Metrics) called(hall, kind string) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(hall, kind).Inc()
}

// cancelledBy is the by label of a cancellation made by by (cancelBooked's
// argument: "" the citizen, cancelledBySystem, or a staff ID).
func cancelledBy(by string) string {
	switch by {
	case "":
		return CancelledByCitizen
	case cancelledBySystem:
		return CancelledBySystem
	}
	return CancelledByStaff
}
