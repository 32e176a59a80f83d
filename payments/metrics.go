package payments

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series of payments and reconciliation. Each
// event is counted once, right after the write that decided it succeeded:
// an order's move to paid (the compare-and-swap that won), a refund's move
// to succeeded or failed, a reconciliation's recorded end, a discrepancy
// item's first insert. Duplicate and replayed callbacks, lost races and
// re-runs finding a known discrepancy count nothing. Labels come from
// bounded sets: the channel (wechatpay, alipay), fixed reason and outcome
// words, discrepancy kinds; never an order, a person or finance's free-text
// reason. A nil *Metrics records nothing.
type Metrics struct {
	paid          *prometheus.CounterVec
	paidFen       *prometheus.CounterVec
	refunds       *prometheus.CounterVec
	refundedFen   *prometheus.CounterVec
	refused       *prometheus.CounterVec
	reconRuns     *prometheus.CounterVec
	discrepancies *prometheus.CounterVec
}

// RefundByFinance is the reason label of a refund finance asked for; an
// automatic refund is labelled with its cause (paid_after_close,
// bill_paid_by_other_order, bill_missing, department_refused,
// department_timeout).
const RefundByFinance = "finance"

// NewMetrics registers the payment and reconciliation series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		paid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_payment_orders_paid_total", Help: "Orders that became paid, by channel (counted once, whatever the number of callbacks).",
		}, []string{"channel"}),
		paidFen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_payment_paid_fen_total", Help: "Money received on paid orders, in fen, by channel.",
		}, []string{"channel"}),
		refunds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_payment_refunds_total", Help: "Refunds settled, by channel, reason (finance, or the automatic refund's cause) and outcome (succeeded, failed).",
		}, []string{"channel", "reason", "outcome"}),
		refundedFen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_payment_refunded_fen_total", Help: "Money refunded (succeeded refunds), in fen, by channel and reason.",
		}, []string{"channel", "reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_payment_callbacks_refused_total", Help: "Payment callbacks refused, by channel and code (not_verified, malformed, mismatch).",
		}, []string{"channel", "code"}),
		reconRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_reconciliation_runs_total", Help: "Reconciliation runs recorded, by channel and status (done, failed).",
		}, []string{"channel", "status"}),
		discrepancies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_reconciliation_discrepancies_total", Help: "Reconciliation discrepancies found for the first time, by channel and kind (a re-run finding the same one counts nothing).",
		}, []string{"channel", "kind"}),
	}
	reg.MustRegister(m.paid, m.paidFen, m.refunds, m.refundedFen, m.refused, m.reconRuns, m.discrepancies)
	return m
}

// orderPaid counts an order the caller moved to paid.
func (m *Metrics) orderPaid(channel string, fen int64) {
	if m == nil {
		return
	}
	m.paid.WithLabelValues(channel).Inc()
	m.paidFen.WithLabelValues(channel).Add(float64(fen))
}

// refundSettled counts a refund the caller moved to succeeded or failed.
func (m *Metrics) refundSettled(r refundDoc, state string) {
	if m == nil {
		return
	}
	reason := refundReason(r.By)
	m.refunds.WithLabelValues(r.Provider, reason, state).Inc()
	if state == RefundSucceeded {
		m.refundedFen.WithLabelValues(r.Provider, reason).Add(float64(r.AmountFen))
	}
}

// refundReason is the reason label of a refund asked for by by: "auto:<why>"
// for an automatic one (why a key of autoReasons), else a finance actor.
func refundReason(by string) string {
	if why, ok := strings.CutPrefix(by, "auto:"); ok {
		if _, known := autoReasons[why]; known {
			return why
		}
		return "auto"
	}
	return RefundByFinance
}

// callbackRefused counts a callback answered CallbackRefuse or
// CallbackReject, under a code of err.
func (m *Metrics) callbackRefused(channel string, outcome CallbackOutcome, err error) {
	if m == nil {
		return
	}
	code := "malformed"
	switch {
	case outcome == CallbackRefuse:
		code = "not_verified"
	case errors.Is(err, ErrMismatch):
		code = "mismatch"
	}
	m.refused.WithLabelValues(channel, code).Inc()
}

func (m *Metrics) reconRun(channel, status string) {
	if m == nil {
		return
	}
	m.reconRuns.WithLabelValues(channel, status).Inc()
}

func (m *Metrics) discrepancy(channel, kind string) {
	if m == nil {
		return
	}
	m.discrepancies.WithLabelValues(channel, kind).Inc()
}
