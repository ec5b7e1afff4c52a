package delivery

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	engine "github.com/lienthong/lienthong/adapters/delivery"
)

// Prometheus counts deliveries for /metrics; it implements engine.Metrics.
type Prometheus struct {
	delivered *prometheus.CounterVec
	attempts  *prometheus.HistogramVec
	latency   *prometheus.HistogramVec
	retried   *prometheus.CounterVec
	dead      *prometheus.CounterVec
}

var _ engine.Metrics = (*Prometheus)(nil)

// NewPrometheus registers the delivery metrics on reg.
func NewPrometheus(reg prometheus.Registerer) (*Prometheus, error) {
	p := &Prometheus{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lienthong_delivery_delivered_total", Help: "Events delivered to agencies."}, []string{"agency"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lienthong_delivery_attempts", Help: "Attempts an event took to be delivered.",
			Buckets: []float64{1, 2, 3, 5, 10, 20}}, []string{"agency"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lienthong_delivery_seconds", Help: "From fetch to delivery, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"agency"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lienthong_delivery_retries_total", Help: "Failed attempts that will be retried, by answer status (0: no answer)."}, []string{"agency", "status"}),
		dead:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lienthong_delivery_dead_letters_total", Help: "Events dead-lettered, by problem type."}, []string{"agency", "reason"}),
	}
	for _, c := range []prometheus.Collector{p.delivered, p.attempts, p.latency, p.retried, p.dead} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Prometheus) Delivered(agency string, attempts int, latency time.Duration) {
	p.delivered.WithLabelValues(agency).Inc()
	p.attempts.WithLabelValues(agency).Observe(float64(attempts))
	p.latency.WithLabelValues(agency).Observe(latency.Seconds())
}

func (p *Prometheus) Retried(agency string, status int) {
	p.retried.WithLabelValues(agency, strconv.Itoa(status)).Inc()
}

func (p *Prometheus) DeadLettered(agency, reason string) {
	p.dead.WithLabelValues(agency, reason).Inc()
}
