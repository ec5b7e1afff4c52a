package console

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The counters whose last-minute rates the health page shows.
var rateCounters = []string{
	"lienthong_events_accepted_total",
	"lienthong_events_duplicate_total",
	"lienthong_events_rejected_total",
	"lienthong_router_applied_total",
	"lienthong_router_refused_total",
	"lienthong_projector_written_total",
	"lienthong_delivery_delivered_total",
	"lienthong_delivery_retries_total",
	"lienthong_delivery_dead_letters_total",
}

type snapshot struct {
	at time.Time
	v  map[string]float64
}

// sampler keeps the counters' values of the last minute or so.
type sampler struct {
	g   prometheus.Gatherer
	now func() time.Time
	mu  sync.Mutex
	s   []snapshot
}

func newSampler(g prometheus.Gatherer, now func() time.Time) *sampler {
	return &sampler{g: g, now: now}
}

func (s *sampler) sample() {
	if s.g == nil {
		return
	}
	mfs, err := s.g.Gather()
	if err != nil {
		return
	}
	want := map[string]bool{}
	for _, n := range rateCounters {
		want[n] = true
	}
	v := map[string]float64{}
	for _, mf := range mfs {
		if !want[mf.GetName()] {
			continue
		}
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				v[mf.GetName()] += c.GetValue()
			}
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep one snapshot older than a minute, to measure over a full minute.
	for len(s.s) > 1 && now.Sub(s.s[1].at) >= time.Minute {
		s.s = s.s[1:]
	}
	if n := len(s.s); n > 0 && now.Sub(s.s[n-1].at) < time.Second {
		s.s[n-1] = snapshot{now, v}
		return
	}
	s.s = append(s.s, snapshot{now, v})
}

type rate struct {
	Name    string
	PerSec  float64
	PerMin  float64
	Total   float64
	Missing bool
}

// rates returns each counter's rate between the oldest and newest
// snapshots, and the window they span.
func (s *sampler) rates() ([]rate, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]rate, 0, len(rateCounters))
	if len(s.s) == 0 {
		return out, ""
	}
	first, last := s.s[0], s.s[len(s.s)-1]
	span := last.at.Sub(first.at)
	for _, n := range rateCounters {
		v, ok := last.v[n]
		r := rate{Name: n, Total: v, Missing: !ok}
		if span > 0 {
			r.PerSec = (v - first.v[n]) / span.Seconds()
			r.PerMin = r.PerSec * 60
		}
		out = append(out, r)
	}
	return out, span.Round(time.Second).String()
}
