package platform

import "github.com/prometheus/client_golang/prometheus"

// BreakerMetrics are the circuit breakers' Prometheus series, labelled by
// upstream: banshi_breaker_state (0 closed, 1 half-open, 2 open),
// banshi_breaker_rejections_total (calls refused at once while open) and
// banshi_breaker_opens_total. A nil *BreakerMetrics records nothing.
type BreakerMetrics struct {
	state      *prometheus.GaugeVec
	rejections *prometheus.CounterVec
	opens      *prometheus.CounterVec
}

// NewBreakerMetrics registers the breakers' series on reg. It panics, as
// prometheus.MustRegister does, when reg has them already.
func NewBreakerMetrics(reg prometheus.Registerer) *BreakerMetrics {
	m := &BreakerMetrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "banshi_breaker_state", Help: "Circuit breaker state by upstream: 0 closed, 1 half-open, 2 open.",
		}, []string{"upstream"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_breaker_rejections_total", Help: "Calls an open circuit breaker refused at once, by upstream.",
		}, []string{"upstream"}),
		opens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_breaker_opens_total", Help: "Times a circuit breaker opened, by upstream.",
		}, []string{"upstream"}),
	}
	reg.MustRegister(m.state, m.rejections, m.opens)
	return m
}

func (m *BreakerMetrics) set(name string, s BreakerState) {
	if m == nil {
		return
	}
	m.state.WithLabelValues(name).Set(float64(s))
	m.rejections.WithLabelValues(name) // the series exist from the start
	m.opens.WithLabelValues(name)
}

func (m *BreakerMetrics) rejected(name string) {
	if m == nil {
		return
	}
	m.rejections.WithLabelValues(name).Inc()
}

func (m *BreakerMetrics) opened(name string) {
	if m == nil {
		return
	}
	m.opens.WithLabelValues(name).Inc()
}
