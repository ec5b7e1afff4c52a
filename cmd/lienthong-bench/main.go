// Command lienthong-bench is the ingress load generator of `make bench`: it
// starts lienthong in-process on the embedded broker, drives POST /v1/events
// with many concurrent keep-alive HTTP clients, and measures in the same run
// a baseline: the same records produced straight to the same broker with
// kafka-go by as many goroutines, one synchronous record at a time (the same
// per-event guarantee, so the ratio is the price of HTTP, auth and
// validation). It prints a Markdown table.
//
// Other modes: -e2e-rate (end-to-end latency, e2e.go), -pipeline (every role
// with webhook delivery, pipeline.go) and -history (a year of dossiers in a
// real `lienthong serve` child process, history.go).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/demo"
	"github.com/lienthong/lienthong/internal/kafkabus"
)

func main() {
	clients := flag.Int("clients", 64, "concurrent clients (HTTP) and goroutines (baseline)")
	duration := flag.Duration("duration", 10*time.Second, "measured time of each phase")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up of each phase")
	roles := flag.String("roles", "gateway", "roles lienthong runs during the ingress phase")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run")
	e2eRate := flag.Float64("e2e-rate", 0, "instead of ingress: end-to-end latency at this many dossiers/s")
	pipeline := flag.Bool("pipeline", false, "instead of ingress: whole-pipeline throughput (every role, webhook delivery), next to gateway-only ingress")
	drain := flag.Duration("drain", time.Minute, "-pipeline: how long delivery may take to catch up after the load")
	var ho historyOpts
	flag.IntVar(&ho.n, "history", 0, "instead of ingress: the province-year benchmark with this many dossiers (the real binary, a child process)")
	flag.IntVar(&ho.open, "open", 5000, "-history: how many of the dossiers stay open")
	flag.StringVar(&ho.store, "store", "sqlite", "-history: tracking store, sqlite or postgres")
	flag.StringVar(&ho.pgDSN, "pg-dsn", "", "-history -store postgres: admin DSN of the server (a database is created and dropped)")
	flag.StringVar(&ho.bin, "bin", "", "-history: the lienthong binary (default: go build one)")
	flag.DurationVar(&ho.idle, "idle", 20*time.Second, "-history: idle time before reading memory at rest")
	flag.DurationVar(&ho.gcWait, "gc-wait", 150*time.Second, "-history: then wait up to this long for the process's next GC and read its memory again (0: do not)")
	flag.DurationVar(&ho.timeout, "history-timeout", time.Hour, "-history: bound on the catch-up and on the restart")
	flag.IntVar(&ho.lookups, "lookups", 2000, "-history: GET /v1/dossiers/{code} samples")
	flag.IntVar(&ho.pages, "pages", 500, "-history: GET /v1/dossiers pages")
	flag.BoolVar(&ho.keepData, "keep", false, "-history: keep the data dir and database")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	var err error
	switch {
	case ho.n > 0:
		err = runHistory(ho)
	case *pipeline:
		err = runPipeline(*clients, *duration, *warmup, *drain)
	case *e2eRate > 0:
		err = runE2E(*e2eRate, *duration)
	default:
		err = run(*clients, *duration, *warmup, *roles)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lienthong-bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type result struct {
	name     string
	ok, errs int64
	elapsed  time.Duration
	lat      []time.Duration
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }
func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[int(float64(len(r.lat)-1)*p)]
}

// startApp starts lienthong in-process, quiet, and waits until it is ready;
// it returns the app and its base URL.
func startApp(cfg *config.Config, roles []string) (*app.App, string, error) {
	a, err := app.Start(context.Background(), cfg, app.Options{Roles: roles, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, "", err
	}
	for !a.Ready() {
		time.Sleep(20 * time.Millisecond)
	}
	return a, "http://" + a.Addr(), nil
}

func run(clients int, duration, warmup time.Duration, roleList string) error {
	dir, err := os.MkdirTemp("", "lienthong-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.ExampleConfig()
	if err != nil {
		return err
	}
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Kafka.EmbeddedListen = "127.0.0.1:0"
	roles, err := app.ParseRoles(roleList)
	if err != nil {
		return err
	}
	a, base, err := startApp(cfg, roles)
	if err != nil {
		return err
	}
	defer a.Stop(context.Background())
	token := config.ExampleDevTokens()["HCC"]
	sample, _ := json.Marshal(event("x", "HCC-20260101-000000", demo.LandProcedure))

	// Baseline first on a topic of its own, then ingress, then the baseline
	// again: the machines are shared and noisy, so report both baselines.
	ctx := context.Background()
	if err := a.Bus.EnsureTopics(ctx, kafkabus.TopicSpec{Suffix: "bench.baseline"}); err != nil {
		return err
	}
	base1 := baseline(a.Bus, clients, warmup, duration, "baseline (kafka-go direct, before)")
	ing := ingress(base, token, clients, warmup, duration)
	base2 := baseline(a.Bus, clients, warmup, duration, "baseline (kafka-go direct, after)")

	fmt.Printf("machine: %s, %d CPUs, %s, GOMAXPROCS=%d\n", cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Printf("event size: %d bytes; %d concurrent clients; %s measured per phase after %s warm-up; roles during ingress: %s\n\n",
		len(sample), clients, duration, warmup, roleList)
	fmt.Println("| phase | events/s | p50 | p99 | errors |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, r := range []result{base1, ing, base2} {
		fmt.Printf("| %s | %.0f | %s | %s | %d |\n", r.name, r.rate(), r.pct(.5).Round(10*time.Microsecond), r.pct(.99).Round(10*time.Microsecond), r.errs)
	}
	mean := (base1.rate() + base2.rate()) / 2
	fmt.Printf("\ningress / mean baseline: %.2f\n", ing.rate()/mean)
	return nil
}

// event is a typical submission of procedure proc with its form: about
// 4 KB for the birth group, 3 KB for the land registration.
func event(id, code, proc string) map[string]any {
	docs := []any{}
	for i := 0; i < 6; i++ {
		docs = append(docs, map[string]any{
			"name":   fmt.Sprintf("giay-to-%d.pdf", i),
			"url":    fmt.Sprintf("https://hcc.example.gov.vn/files/%s/%d", code, i),
			"sha256": strings.Repeat("ab", 32),
			"size":   123456 + i,
		})
	}
	return map[string]any{
		"specversion": "1.0", "id": id, "source": "urn:lienthong:agency:HCC", "type": "dossier.submitted",
		"subject": code, "time": "2026-03-03T08:15:00+07:00", "datacontenttype": "application/json",
		"data": map[string]any{
			"code": code, "procedure": proc,
			"applicant": map[string]any{"kind": "citizen", "full_name": "Nguyễn Văn Bình", "id_number": "001090012345",
				"phone": "0912345678", "email": "binh@example.vn", "address": "Số 1 đường Lê Lợi, phường Đồng Hới, tỉnh Quảng Bình"},
			"documents": docs, "received_at": "2026-03-03T08:10:00+07:00", "channel": "direct",
			"form": demo.SampleForm(rand.New(rand.NewPCG(1, 2)), proc, time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)),
		},
	}
}

// template is the sample event marshalled once; render fills in the id and
// the dossier code, so that the load generator (on the same two cores) spends
// little CPU making bodies.
// today dates the codes as a desk does (its receipt day): a code dated
// inside the duplicate window costs the gateway no store query.
var today = time.Now().Format("20060102")

var (
	template, _      = json.Marshal(event("@@ID@@", "HCC-20260303-000000000", demo.LandProcedure))
	birthTemplate, _ = json.Marshal(event("@@ID@@", "HCC-20260303-000000000", demo.BirthProcedure))
)

func render(id, code string) []byte { return renderFrom(template, id, code) }

// renderFrom fills in a template's id and dossier code.
func renderFrom(template []byte, id, code string) []byte {
	b := bytes.ReplaceAll(template, []byte("HCC-20260303-000000000"), []byte(code))
	return bytes.Replace(b, []byte("@@ID@@"), []byte(id), 1)
}

func phase(clients int, warmup, duration time.Duration, name string, one func(worker, seq int) error) result {
	var measuring atomic.Bool
	stop := make(chan struct{})
	var mu sync.Mutex
	res := result{name: name}
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var lat []time.Duration
			var ok, bad int64
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					mu.Lock()
					res.lat = append(res.lat, lat...)
					res.ok += ok
					res.errs += bad
					mu.Unlock()
					return
				default:
				}
				t0 := time.Now()
				err := one(w, seq)
				if !measuring.Load() {
					continue
				}
				if err != nil {
					bad++
					continue
				}
				ok++
				lat = append(lat, time.Since(t0))
			}
		}(w)
	}
	time.Sleep(warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	res.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	return res
}

var run0 = time.Now().UnixNano()

func ingress(base, token string, clients int, warmup, duration time.Duration) result {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return phase(clients, warmup, duration, fmt.Sprintf("lienthong POST /v1/events (%d keep-alive clients)", clients), func(w, seq int) error {
		code := fmt.Sprintf("HCC-%s-%03d%06d", today, w, seq)
		body := render(fmt.Sprintf("%x-%d-%d", run0, w, seq), code)
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

func baseline(bus *kafkabus.Bus, clients int, warmup, duration time.Duration, name string) result {
	wr := bus.NewWriter()
	defer wr.Close()
	topic := bus.Topic("bench.baseline")
	return phase(clients, warmup, duration, name, func(w, seq int) error {
		code := fmt.Sprintf("HCC-%s-%03d%06d", today, w, seq)
		body := render(fmt.Sprintf("b-%d-%d", w, seq), code)
		return wr.WriteMessages(context.Background(), kafkabus.Record(topic, code, body))
	})
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.Index(line, ":"); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return runtime.GOARCH
}
