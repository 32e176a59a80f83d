package notify

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the outbox's Prometheus series: deliveries by channel and
// outcome code, send latency by channel, dead letters by channel (counted
// once, when a delivery's final dead outcome is first recorded), and the
// outbox depth by state (counted at scrape time, at most every few
// seconds). A nil *Metrics records nothing.
type Metrics struct {
	outcomes *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	dead     *prometheus.CounterVec
}

// NewMetrics registers the outbox series on reg. depth counts deliveries by
// state (Outbox.Depth); nil leaves the depth out.
func NewMetrics(reg prometheus.Registerer, depth func(ctx context.Context) (map[string]int64, error)) *Metrics {
	m := &Metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_outbox_deliveries_total", Help: "Outbox delivery attempts by channel and outcome code (ok, or the channel's error code).",
		}, []string{"channel", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "banshi_outbox_send_seconds", Help: "Time one channel send took.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"channel"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banshi_outbox_dead_letters_total", Help: "Deliveries given up (permanent failure, or still failing at the deadline), by channel.",
		}, []string{"channel"}),
	}
	reg.MustRegister(m.outcomes, m.latency, m.dead)
	if depth != nil {
		reg.MustRegister(&depthCollector{count: depth, desc: prometheus.NewDesc("banshi_outbox_depth",
			"Outbox deliveries by state.", []string{"state"}, nil)})
	}
	return m
}

func (m *Metrics) observe(channel, code string, took time.Duration) {
	if m == nil {
		return
	}
	m.outcomes.WithLabelValues(channel, code).Inc()
	m.latency.WithLabelValues(channel).Observe(took.Seconds())
}

// deadLetter counts a delivery whose dead outcome was just recorded.
func (m *Metrics) deadLetter(channel string) {
	if m == nil {
		return
	}
	m.dead.WithLabelValues(channel).Inc()
}

// depthCollector counts the outbox by state when scraped, caching the answer
// for a few seconds so frequent scrapes cost one count per state.
type depthCollector struct {
	count func(ctx context.Context) (map[string]int64, error)
	desc  *prometheus.Desc

	mu   sync.Mutex
	at   time.Time
	last map[string]int64
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) > 5*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if d, err := c.count(ctx); err == nil {
			c.last, c.at = d, time.Now()
		}
		cancel()
	}
	last := c.last
	c.mu.Unlock()
	for state, n := range last {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
