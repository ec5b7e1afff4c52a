package e2e

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads GET /metrics and sums each metric name's samples.
func scrape(t testing.TB, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] += v
		}
	}
	return out
}

// One dossier through the real broker shows in the gateway's, router's and
// delivery's metrics: what an operator watches (docs/OPERATIONS.md).
func TestMetricsFollowADossier(t *testing.T) {
	e := startApp(t)
	before := scrape(t, e.base)
	for _, name := range []string{"lienthong_router_partitions", "lienthong_router_write_refusals_total", "lienthong_router_write_failures_total"} {
		if _, ok := before[name]; !ok {
			t.Errorf("metric %s is not exported", name)
		}
	}
	if st, _, body := post(t, e.base, "HCC", "application/cloudevents+json", mustJSON(submitted("metrics-1", "HCC-20260303-0901"))); st != http.StatusAccepted {
		t.Fatalf("submit: %d %v", st, body)
	}
	var m map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		m = scrape(t, e.base)
		if m["lienthong_router_applied_total"] >= 1 && m["lienthong_router_outputs_total"] >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the router's metrics did not move in 30s: applied %v outputs %v", m["lienthong_router_applied_total"], m["lienthong_router_outputs_total"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m["lienthong_events_accepted_total"] != before["lienthong_events_accepted_total"]+1 {
		t.Errorf("events accepted: %v -> %v, want +1", before["lienthong_events_accepted_total"], m["lienthong_events_accepted_total"])
	}
	if m["lienthong_router_partitions"] < 1 {
		t.Errorf("router owns %v partitions of the events topic", m["lienthong_router_partitions"])
	}
	if m["lienthong_router_write_refusals_total"] != 0 {
		t.Errorf("write refusals: %v", m["lienthong_router_write_refusals_total"])
	}
}
