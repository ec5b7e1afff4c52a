package gateway

import "github.com/prometheus/client_golang/prometheus"

// Metrics count what the gateway accepted and refused.
type Metrics struct {
	accepted  *prometheus.CounterVec
	duplicate *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	latency   prometheus.Histogram
}

// NewMetrics registers the gateway's metrics on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_events_accepted_total", Help: "Events accepted (202) by type.",
		}, []string{"type"}),
		duplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_events_duplicate_total", Help: "Retried events answered with their first receipt, by type.",
		}, []string{"type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_events_rejected_total", Help: "Events refused, by type and problem reason.",
		}, []string{"type", "reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lienthong_ingress_seconds", Help: "Time to accept a POST /v1/events, Kafka acknowledgement included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.accepted, m.duplicate, m.rejected, m.latency)
	}
	return m
}
