package licences

import (
	"github.com/prometheus/client_golang/prometheus"

	"banshi/internal/platform"
)

// Metrics are the licence service's Prometheus series: verifications of
// show tokens at counters, by outcome. A verification is counted once its
// use record is stored (the insert that makes the token used); a refusal
// under its error code (licence_token_used for a token verified before,
// licence_token_expired, licence_token_invalid, …). Errors without a code
// (storage) are not counted. A nil *Metrics records nothing.
type Metrics struct {
	verifications *prometheus.CounterVec
}

// OutcomeVerified is the outcome label of a verification that succeeded.
const OutcomeVerified = "verified"

// NewMetrics registers the licence series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_licence_verifications_total", Help: "Licence show tokens verified at counters, by outcome (verified, or the refusal's error code).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.verifications)
	return m
}

// verification counts the outcome of one Verify.
func (m *Metrics) verification(err error) {
	if m == nil {
		return
	}
	outcome := OutcomeVerified
	if err != nil {
		if outcome = platform.CodeOf(err); outcome == "" {
			return
		}
	}
	m.verifications.WithLabelValues(outcome).Inc()
}
