package main

import (
	"bytes"
	"testing"

	"github.com/prometheus/common/expfmt"

	"banshi/appointments"
	"banshi/internal/platform/platformtest"
)

// scrape reads /metrics as Prometheus does and returns the value of the
// counter name{labels} (0 when the series is absent) and the families' names.
func (s *stack) scrape(t *testing.T, name string, labels map[string]string) (float64, map[string]bool) {
	t.Helper()
	m := s.must(t, 200, s.call(t, "GET", "/metrics", "", nil))
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	names := map[string]bool{}
	for n := range fams {
		names[n] = true
	}
	f := fams[name]
	if f == nil {
		return 0, names
	}
next:
	for _, x := range f.GetMetric() {
		if len(x.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range x.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		return x.GetCounter().GetValue(), names
	}
	return 0, names
}

// TestMetricsAfterBooking: a booking through the API shows on /metrics (the
// one registry app.go builds) as banshi_appointment_bookings_total of its
// hall, once, although it was sent twice under one Idempotency-Key; the
// HTTP and outbox series are on the same page.
func TestMetricsAfterBooking(t *testing.T) {
	s := getStack(t)
	hall := appointments.DemoHallTianhe
	_, token := levelThree(t, s)
	_, slot := s.openSlot(t, hall, thGAJ, 0, 1, false)
	labels := map[string]string{"hall": hall, "outcome": appointments.OutcomeBooked}
	before, _ := s.scrape(t, "banshi_appointment_bookings_total", labels)
	key := "metrics-" + platformtest.RandomID()
	s.must(t, 201, s.book(t, token, slot.ID, thGAJ, "Idempotency-Key", key))
	s.must(t, 201, s.book(t, token, slot.ID, thGAJ, "Idempotency-Key", key))
	after, names := s.scrape(t, "banshi_appointment_bookings_total", labels)
	if after != before+1 {
		t.Fatalf("bookings_total{hall=%q,outcome=booked} went from %v to %v, want +1", hall, before, after)
	}
	// The alert rules (deploy/prometheus/alerts.yaml) name the booking route so.
	if n, _ := s.scrape(t, "banshi_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/appointments", "status": "201"}); n < 2 {
		t.Errorf("banshi_http_requests_total{method=POST,route=/api/v1/appointments,status=201} is %v, want at least 2", n)
	}
	for _, n := range []string{"banshi_http_requests_total", "banshi_http_request_duration_seconds", "banshi_outbox_depth"} {
		if !names[n] {
			t.Errorf("/metrics lacks %s", n)
		}
	}
}
