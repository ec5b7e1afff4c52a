package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/internal/config"
)

// runE2E measures end-to-end latency: from the start of POST /v1/events
// (a land-registration dossier, submitted by the desk) to the arrival of the
// dossier.assigned event at the land office's webhook, with every role
// running in one process on the embedded broker, at an open-loop rate.
func runE2E(rate float64, duration time.Duration) error {
	var sent sync.Map // dossier code -> time.Time
	var mu sync.Mutex
	var lat []time.Duration
	var got atomic.Int64
	recv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
		var ev struct{ Type, Subject string }
		if json.Unmarshal(body, &ev) != nil || ev.Type != "dossier.assigned" {
			return
		}
		if t0, ok := sent.LoadAndDelete(ev.Subject); ok {
			d := time.Since(t0.(time.Time))
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
			got.Add(1)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = recv.Serve(ln) }()
	defer recv.Close()
	hook := func(cfg *config.Config) {
		for i := range cfg.Agencies {
			if cfg.Agencies[i].Delivery.Mode == config.ModeWebhook {
				cfg.Agencies[i].Delivery.URL = "http://" + ln.Addr().String() + "/" + cfg.Agencies[i].Code
			}
		}
	}
	return withExampleApp(nil, hook, func(base string) error {
		token := config.ExampleDevTokens()["HCC"]
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}, Timeout: 30 * time.Second}

		var posted, failed atomic.Int64
		sem := make(chan struct{}, 256)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		end := time.Now().Add(duration)
		for seq := 0; time.Now().Before(end); seq++ {
			<-tick.C
			sem <- struct{}{}
			wg.Add(1)
			go func(seq int) {
				defer func() { <-sem; wg.Done() }()
				code := fmt.Sprintf("HCC-%s-%09d", today, seq)
				body := render(fmt.Sprintf("e2e-%x-%d", run0, seq), code)
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/cloudevents+json")
				req.Header.Set("Authorization", "Bearer "+token)
				sent.Store(code, time.Now())
				resp, err := hc.Do(req)
				if err != nil {
					failed.Add(1)
					sent.Delete(code)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
					sent.Delete(code)
					return
				}
				posted.Add(1)
			}(seq)
		}
		tick.Stop()
		wg.Wait()
		deadline := time.Now().Add(30 * time.Second)
		for got.Load() < posted.Load() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[int(float64(len(lat)-1)*p)].Round(100 * time.Microsecond)
		}
		fmt.Printf("\nend to end, POST /v1/events -> dossier.assigned at the agency's webhook (all roles, one process, embedded broker)\n")
		fmt.Printf("offered %.0f dossiers/s for %s: accepted %d, refused %d, delivered %d (%.0f/s), not delivered within 30 s: %d\n",
			rate, duration, posted.Load(), failed.Load(), got.Load(), float64(got.Load())/duration.Seconds(), posted.Load()-got.Load())
		fmt.Println("| p50 | p90 | p99 | max |")
		fmt.Println("|---:|---:|---:|---:|")
		fmt.Printf("| %s | %s | %s | %s |\n", pct(.5), pct(.9), pct(.99), pct(1))
		return nil
	})
}
