package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
)

// runPipeline measures the whole pipeline in one process: every role on the
// embedded broker, the step agencies in webhook mode at a local server
// answering 204, and clients POSTing new dossiers as fast as they are
// answered. Next to it, in the same run, the gateway alone (the ingress
// phase), so the price of routing and delivery shows as a ratio.
func runPipeline(clients int, duration, warmup, drain time.Duration) error {
	token := config.ExampleDevTokens()["HCC"]

	// The gateway alone, as the ingress phase runs it.
	var ing result
	err := withExampleApp([]string{app.RoleGateway}, nil, func(base string) error {
		ing = ingress(base, token, clients, warmup, duration)
		ing.name = "ingress: gateway only"
		return nil
	})
	if err != nil {
		return err
	}

	// Every role, delivery by webhook to a local server.
	hooks := &hookServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: hooks}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	var pipe result
	var loadEnd time.Time
	var accepted atomic.Int64
	err = withExampleApp(app.AllRoles, func(cfg *config.Config) {
		for i := range cfg.Agencies {
			if cfg.Agencies[i].Delivery.Mode == config.ModeWebhook {
				cfg.Agencies[i].Delivery.URL = "http://" + ln.Addr().String() + "/" + cfg.Agencies[i].Code
			}
		}
	}, func(base string) error {
		stopSampling := hooks.sample(100 * time.Millisecond)
		defer stopSampling()
		pipe = submitLoad(base, token, clients, warmup, duration, hooks, &accepted)
		loadEnd = time.Now()
		// Delivery catches up: every accepted dossier's first step reaches
		// its agency's webhook.
		for deadline := loadEnd.Add(drain); hooks.assigned.Load() < accepted.Load() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	})
	if err != nil {
		return err
	}
	pipe.name = "pipeline: every role, webhook delivery"

	measured := hooks.countBetween(loadEnd.Add(-pipe.elapsed), loadEnd)
	delivered, want := hooks.assigned.Load(), accepted.Load()
	last := hooks.lastAssigned()
	fmt.Printf("\nwhole pipeline: POST /v1/events (dossier.submitted, two procedures) -> router -> delivery -> dossier.assigned at the step agency's webhook (204)\n")
	fmt.Printf("machine: %s, %d CPUs, %s, GOMAXPROCS=%d; everything in one process (load generator and webhook server included), embedded broker\n",
		cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Printf("%d concurrent keep-alive clients; %s measured per phase after %s warm-up\n\n", clients, duration, warmup)
	fmt.Println("| phase | dossiers/s accepted | POST p50 | POST p99 | errors | webhook requests/s during the load |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	fmt.Printf("| %s | %.0f | %s | %s | %d | - |\n", ing.name, ing.rate(), ing.pct(.5).Round(10*time.Microsecond), ing.pct(.99).Round(10*time.Microsecond), ing.errs)
	fmt.Printf("| %s | %.0f | %s | %s | %d | %.0f |\n", pipe.name, pipe.rate(), pipe.pct(.5).Round(10*time.Microsecond), pipe.pct(.99).Round(10*time.Microsecond), pipe.errs,
		float64(measured)/pipe.elapsed.Seconds())
	fmt.Printf("\npipeline / ingress: %.2f\n", pipe.rate()/ing.rate())
	lat := result{lat: hooks.latencies()}
	if delivered >= want {
		fmt.Printf("delivery kept up: all %d first-step assignments (warm-up included) delivered, the last %s after the load ended\n",
			want, max(0, last.Sub(loadEnd)).Round(time.Millisecond))
	} else {
		fmt.Printf("delivery did NOT keep up: %d of %d first-step assignments delivered %s after the load ended\n", delivered, want, drain)
	}
	fmt.Printf("POST start -> dossier.assigned at the webhook: p50 %s, p99 %s, max %s (%d webhook requests in all)\n",
		lat.pct(.5).Round(100*time.Microsecond), lat.pct(.99).Round(100*time.Microsecond), lat.pct(1).Round(100*time.Microsecond), hooks.requests.Load())
	return nil
}

// withExampleApp runs fn against lienthong in-process with the example
// config (changed by edit), on a fresh data dir, then stops it.
func withExampleApp(roles []string, edit func(*config.Config), fn func(base string) error) error {
	dir, err := os.MkdirTemp("", "lienthong-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.ExampleConfig()
	if err != nil {
		return err
	}
	cfg.DataDir, cfg.Listen, cfg.Kafka.EmbeddedListen = dir, "127.0.0.1:0", "127.0.0.1:0"
	if edit != nil {
		edit(cfg)
	}
	a, base, err := startApp(cfg, roles)
	if err != nil {
		return err
	}
	defer a.Stop(context.Background())
	return fn(base)
}

// submitLoad is the ingress phase's load with half of the dossiers on the
// birth-registration procedure (its first step goes to another agency),
// noting when each accepted dossier was sent.
func submitLoad(base, token string, clients int, warmup, duration time.Duration, hooks *hookServer, accepted *atomic.Int64) result {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return phase(clients, warmup, duration, "", func(w, seq int) error {
		code := fmt.Sprintf("HCC-%s-%03d%06d", today, w, seq)
		body := render(fmt.Sprintf("p-%x-%d-%d", run0, w, seq), code)
		if seq%2 == 1 {
			body = renderFrom(birthTemplate, fmt.Sprintf("p-%x-%d-%d", run0, w, seq), code)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		req.Header.Set("Authorization", "Bearer "+token)
		hooks.sent.Store(code, time.Now())
		resp, err := hc.Do(req)
		if err != nil {
			hooks.sent.Delete(code)
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			hooks.sent.Delete(code)
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		accepted.Add(1)
		return nil
	})
}

// hookServer is every step agency's webhook: it answers 204 and notes the
// first dossier.assigned of each dossier sent.
type hookServer struct {
	sent     sync.Map // dossier code -> time.Time the POST started
	requests atomic.Int64
	assigned atomic.Int64

	mu      sync.Mutex
	lat     []time.Duration
	last    time.Time
	samples []hookSample
}

type hookSample struct {
	at time.Time
	n  int64
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.WriteHeader(http.StatusNoContent)
	h.requests.Add(1)
	var ev struct{ Type, Subject string }
	if json.Unmarshal(body, &ev) != nil || ev.Type != "dossier.assigned" {
		return
	}
	t0, ok := h.sent.LoadAndDelete(ev.Subject)
	if !ok {
		return
	}
	now := time.Now()
	h.mu.Lock()
	h.lat = append(h.lat, now.Sub(t0.(time.Time)))
	h.last = now
	h.mu.Unlock()
	h.assigned.Add(1)
}

// sample records the request count every period until stopped.
func (h *hookServer) sample(period time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			h.mu.Lock()
			h.samples = append(h.samples, hookSample{time.Now(), h.requests.Load()})
			h.mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// countBetween is the number of requests received between two times, from
// the samples nearest them.
func (h *hookServer) countBetween(from, to time.Time) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := func(t time.Time) int64 {
		var n int64
		for _, s := range h.samples {
			if s.at.After(t) {
				break
			}
			n = s.n
		}
		return n
	}
	return at(to) - at(from)
}

func (h *hookServer) latencies() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.lat...)
}

func (h *hookServer) lastAssigned() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}
