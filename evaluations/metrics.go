package evaluations

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the evaluation service's Prometheus series: ratings stored,
// by subject kind, level (the score: satisfied … dissatisfied) and channel
// (mobile, or system_default for the sweeper's default rating). A rating is
// counted once its insert succeeded; the loser of a race for the same
// result (ErrAlreadyEvaluated) counts nothing. A nil *Metrics records
// nothing.
type Metrics struct {
	ratings *prometheus.CounterVec
}

// NewMetrics registers the evaluation series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_evaluation_ratings_total", Help: "Evaluations stored, by subject kind, level and channel.",
		}, []string{"kind", "level", "channel"}),
	}
	reg.MustRegister(m.ratings)
	return m
}

// rated counts the evaluation d the caller stored.
func (m *Metrics) rated(d evalDoc) {
	if m == nil {
		return
	}
	m.ratings.WithLabelValues(d.Kind, d.Level, d.Channel).Inc()
}
