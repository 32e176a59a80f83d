// Package observe builds Banshi's business and outbox Prometheus series on
// one registry, the one /metrics serves (cmd/banshi), so that the
// deployment's alert rules and dashboard (deploy/) can be checked against
// exactly the series Banshi registers. The HTTP series are the API
// server's own (api/metrics.go).
package observe

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"banshi/appointments"
	"banshi/evaluations"
	"banshi/licences"
	"banshi/notify"
	"banshi/payments"
)

// Set is every service's series, each handed to its service's Deps.
type Set struct {
	Appointments *appointments.Metrics
	Payments     *payments.Metrics // the order service's and the reconciler's
	Licences     *licences.Metrics
	Evaluations  *evaluations.Metrics
	Outbox       *notify.Metrics
}

// Register registers every series of the Set on reg. depth counts the
// outbox by state at scrape time (notify.Outbox.Depth); nil leaves the
// depth out. It panics, as prometheus.MustRegister does, when reg has one of
// the series already.
func Register(reg prometheus.Registerer, depth func(ctx context.Context) (map[string]int64, error)) Set {
	return Set{
		Appointments: appointments.NewMetrics(reg),
		Payments:     payments.NewMetrics(reg),
		Licences:     licences.NewMetrics(reg),
		Evaluations:  evaluations.NewMetrics(reg),
		Outbox:       notify.NewMetrics(reg, depth),
	}
}
