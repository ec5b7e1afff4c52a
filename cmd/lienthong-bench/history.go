package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for -store postgres
	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/schemas"
)

// historyOpts configure the province-year benchmark.
type historyOpts struct {
	n, open  int           // dossiers in the history; how many stay open
	store    string        // sqlite | postgres
	pgDSN    string        // admin DSN of a PostgreSQL server (-store postgres)
	bin      string        // a lienthong binary; empty: go build one
	idle     time.Duration // how long to let the process rest before reading its memory
	gcWait   time.Duration // then up to how long to wait for its next GC and read it again
	timeout  time.Duration // bound on the catch-up and the restart
	lookups  int           // GET /v1/dossiers/{code} samples
	pages    int           // GET /v1/dossiers pages
	keepData bool          // keep the data dir (and database) for inspection
}

// The benchmark's credentials: plain tokens here, their hashes in the config.
const (
	historyAdminToken = "bench-history-admin-0123456789"
	historyTopicPfx   = "lienthong."
)

// ict is the calendar's zone (Asia/Ho_Chi_Minh has had no DST since 1975).
var ict = time.FixedZone("ICT", 7*3600)

// runHistory is the province-year benchmark: the real binary as a child
// process, a year of dossiers produced straight into its events topic, and
// what that history costs: catch-up, memory at rest, restart, and the
// tracking API's latency over it.
func runHistory(o historyOpts) (err error) {
	if o.n <= 0 || o.open < 0 || o.open > o.n {
		return fmt.Errorf("-history %d -open %d: want 0 <= open <= history, history > 0", o.n, o.open)
	}
	tmp, err := os.MkdirTemp("", "lienthong-bench-history")
	if err != nil {
		return err
	}
	defer func() {
		if o.keepData || err != nil {
			fmt.Fprintln(os.Stderr, "history: keeping", tmp, "(the processes' logs are lienthong-*.log)")
			return
		}
		os.RemoveAll(tmp)
	}()
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "lienthong")
		t0 := time.Now()
		cmd := exec.Command("go", "build", "-o", bin, "github.com/lienthong/lienthong/cmd/lienthong")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build lienthong: %w", err)
		}
		progress("built %s in %s", bin, time.Since(t0).Round(time.Millisecond))
	}
	dsn, dbName := "", ""
	switch o.store {
	case "", "sqlite":
		o.store = "sqlite"
	case "postgres":
		if o.pgDSN == "" {
			return errors.New("-store postgres needs -pg-dsn (the admin DSN of a server, no password in it)")
		}
		var drop func()
		dsn, dbName, drop, err = freshDatabase(o.pgDSN)
		if err != nil {
			return err
		}
		if !o.keepData {
			defer drop()
		}
	default:
		return fmt.Errorf("-store %q: want sqlite or postgres", o.store)
	}
	dataDir := filepath.Join(tmp, "data")
	cfgPath := filepath.Join(tmp, "lienthong.yaml")
	if err := os.WriteFile(cfgPath, []byte(historyConfig(dataDir, dsn)), 0o600); err != nil {
		return err
	}
	h, err := newHistory(o.n, o.open, time.Now())
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second}
	api := apiClient{hc: hc, token: historyAdminToken}
	fig := &historyFigures{opts: o, dbName: dbName}

	// 1. Start, load the year straight into the events topic, wait for the
	// router, the evictions and the projector to settle.
	t0 := time.Now()
	c, err := startChild(bin, cfgPath, filepath.Join(tmp, "lienthong-1.log"))
	if err != nil {
		return err
	}
	defer c.kill()
	api.base = c.base
	if err := c.waitReady(hc, time.Minute); err != nil {
		return err
	}
	fig.firstStart = time.Since(t0)
	progress("lienthong ready in %s (broker %s, http %s)", fig.firstStart.Round(time.Millisecond), c.broker, c.base)
	// The events topic keeps 7 days (the broker's default retention, which
	// the embedded broker enforces on record timestamps every minute): a
	// year stamped in the past would be trimmed before the router reads it,
	// and kafka-go's reader skips to the new start without a word. Keep it
	// all while the year loads, as an operator importing history would.
	if err := setEventsRetention(c.broker, historyKeep); err != nil {
		return err
	}
	loadStart, cpu0 := time.Now(), c.cpu()
	if err := h.load(c.broker); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	fig.load = time.Since(loadStart)
	progress("loaded %d events in %s (%.0f/s)", h.events(), fig.load.Round(time.Millisecond), float64(h.events())/fig.load.Seconds())
	settled, err := h.waitSettled(api, c, o.timeout)
	if err != nil {
		return err
	}
	fig.catchUp = settled.Sub(loadStart)
	fig.catchUpCPU = c.cpu() - cpu0
	fig.peakRSS = c.memory().hwm
	progress("settled %s after the load started", fig.catchUp.Round(time.Millisecond))
	vt := time.Now()
	if fig.withdrawnListed, err = api.countPages("/v1/dossiers?status=withdrawn&limit=500"); err != nil {
		return err
	}
	fig.verify = time.Since(vt)
	if fig.withdrawnListed != o.n-o.open {
		fmt.Fprintf(os.Stderr, "history: WARNING: GET /v1/dossiers?status=withdrawn lists %d dossiers, want %d\n", fig.withdrawnListed, o.n-o.open)
	}
	// Back to the default retention: the year's events leave the topic as
	// they would have day by day, and the restart finds the steady state.
	tt := time.Now()
	if err := setEventsRetention(c.broker, ""); err != nil {
		return err
	}
	if fig.trimmed, err = waitTrimmed(c.broker); err != nil {
		return err
	}
	fig.trim = time.Since(tt)
	progress("events older than 7 days trimmed (%d records left) in %s", fig.trimmed, fig.trim.Round(time.Second))
	fig.rest1 = c.rest(hc, o.idle, o.gcWait)

	// 2. SIGTERM and restart the same config: how long until it is ready
	// and the router holds the open dossiers again.
	if fig.stop, err = c.term(time.Minute); err != nil {
		return err
	}
	fig.warn, fig.errs = c.problems()
	progress("stopped in %s; restarting", fig.stop.Round(time.Millisecond))
	t0 = time.Now()
	c, err = startChild(bin, cfgPath, filepath.Join(tmp, "lienthong-2.log"))
	if err != nil {
		return err
	}
	defer c.kill()
	api.base = c.base
	if err := fig.waitRestarted(api, c, t0, o.open, o.timeout); err != nil {
		return err
	}
	progress("restarted: ready %s, router holds the open dossiers %s", fig.restartReady.Round(time.Millisecond), fig.restartRouter.Round(time.Millisecond))
	fig.rest2 = c.rest(hc, o.idle, o.gcWait)

	// 3. The tracking API over the history.
	if err := fig.measureAPI(api, h, o); err != nil {
		return err
	}
	if fig.stop2, err = c.term(time.Minute); err != nil {
		return err
	}
	fig.diskKafka, fig.diskDB = dirSize(filepath.Join(dataDir, "kafka")), dirSize(filepath.Join(dataDir, "lienthong.db"))
	if dbName != "" {
		fig.diskDB = databaseSize(o.pgDSN, dbName)
	}
	warn, errs := c.problems()
	fig.warn, fig.errs = append(fig.warn, warn...), append(fig.errs, errs...)
	fig.print()
	return nil
}

// history is the generated year: N dossier times (sorted) and which of
// them were withdrawn, with when.
type history struct {
	n, open   int
	at        []time.Time // submission time of dossier i, ascending
	withdrawn []time.Time // withdrawal time of dossier i; zero: open
	run       string      // makes event ids unique per run
	width     int         // digits of the sequence in a code
}

// newHistory spreads n submissions uniformly over the year before now, in
// time order. The open ones are the newest (a year's closed history, and
// the work in flight); the others are withdrawn 2 minutes to 4 hours after
// they were submitted: soon enough that the router's overdue timer, which
// runs on today's clock while the year replays, rarely sees them open.
func newHistory(n, open int, now time.Time) (*history, error) {
	h := &history{n: n, open: open, at: make([]time.Time, n), withdrawn: make([]time.Time, n),
		run: strconv.FormatInt(now.UnixNano(), 36), width: max(7, len(strconv.Itoa(n)))}
	if h.width > 10 {
		return nil, fmt.Errorf("-history %d: a dossier code holds at most 10 digits of sequence", n)
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	year := 365 * 24 * time.Hour
	start := now.Add(-year)
	for i := range n {
		// One dossier per slot of the year, at a random moment in it.
		slot := (float64(i) + rng.Float64()) / float64(n)
		h.at[i] = start.Add(time.Duration(slot * float64(year))).Truncate(time.Millisecond)
		if i < n-open {
			d := 2*time.Minute + time.Duration(rng.Int64N(int64(4*time.Hour-2*time.Minute)))
			h.withdrawn[i] = h.at[i].Add(d)
		}
	}
	// Validate one of each event against the schemas the gateway uses, so a
	// drift in the contract fails here rather than as refused records.
	reg, err := schemas.Load()
	if err != nil {
		return nil, err
	}
	for _, raw := range [][]byte{h.submitted(0), h.withdrawal(0)} {
		if errs := reg.ValidateEvent(raw); len(errs) > 0 {
			return nil, fmt.Errorf("generated event is invalid: %v\n%s", errs, raw)
		}
	}
	return h, nil
}

func (h *history) events() int { return 2*h.n - h.open }

func (h *history) code(i int) string {
	return fmt.Sprintf("HCC-%s-%0*d", h.at[i].In(ict).Format("20060102"), h.width, i)
}

// procedure of dossier i: two land registrations for one birth registration.
func (h *history) procedure(i int) string {
	if i%3 == 2 {
		return "1.001193"
	}
	return "1.004227"
}

var (
	benchNames    = []string{"Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Võ Thị Giang", "Đặng Minh Hải", "Bùi Thị Hoa"}
	benchChannels = []string{"direct", "online", "postal"}
)

const submittedFormat = `{"specversion":"1.0","id":"hist-%s-%d-s","source":"urn:lienthong:agency:HCC","type":"dossier.submitted",` +
	`"subject":"%s","time":"%s","datacontenttype":"application/json","data":{"code":"%s","procedure":"%s",` +
	`"applicant":{"kind":"citizen","full_name":"%s","id_number":"%012d","phone":"09%08d"},` +
	`"documents":[{"name":"don-de-nghi.pdf","url":"https://hcc.example.gov.vn/files/%s/1","sha256":"%x","size":%d}],` +
	`"received_at":"%s","channel":"%s"}}`

const withdrawnFormat = `{"specversion":"1.0","id":"hist-%s-%d-w","source":"urn:lienthong:agency:HCC","type":"dossier.withdrawn",` +
	`"subject":"%s","time":"%s","datacontenttype":"application/json","data":{"reason":"Công dân rút hồ sơ theo đề nghị"}}`

func (h *history) submitted(i int) []byte {
	code, at := h.code(i), h.at[i].In(ict).Format(time.RFC3339)
	sum := sha256.Sum256([]byte(code))
	return fmt.Appendf(nil, submittedFormat, h.run, i, code, at, code, h.procedure(i), benchNames[i%len(benchNames)],
		1e11+int64(i), i%1e8, code, sum, 20480+i%50000, at, benchChannels[i%len(benchChannels)])
}

func (h *history) withdrawal(i int) []byte {
	return fmt.Appendf(nil, withdrawnFormat, h.run, i, h.code(i), h.withdrawn[i].In(ict).Format(time.RFC3339))
}

// histEvent is one record to produce: dossier i's submission or withdrawal.
type histEvent struct {
	at       int64 // Unix nanoseconds
	i        int32
	withdraw bool
}

// load produces every event to the events topic as the gateway would
// (keyed by code, Murmur2, the accepted-at header, the record timestamp =
// acceptance), in time order within each partition: the gateway's
// duplicate window finds its start by timestamp. Each writer goroutine owns
// a share of the partitions and writes its records in order, 5,000 a call.
func (h *history) load(broker string) error {
	const partitions, writers, chunk = 12, 4, 5000
	topic := historyTopicPfx + kafkabus.TopicEvents
	var bal kafka.Murmur2Balancer
	parts := make([]int, partitions)
	for p := range parts {
		parts[p] = p
	}
	evs := make([][]histEvent, writers)
	for i := range h.n {
		p := bal.Balance(kafka.Message{Key: []byte(h.code(i))}, parts...)
		w := p % writers
		evs[w] = append(evs[w], histEvent{at: h.at[i].UnixNano(), i: int32(i)})
		if !h.withdrawn[i].IsZero() {
			evs[w] = append(evs[w], histEvent{at: h.withdrawn[i].UnixNano(), i: int32(i), withdraw: true})
		}
	}
	wr := &kafka.Writer{
		Addr:         kafka.TCP(broker),
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{}, // as the gateway: the router finds a dossier's state by partition
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    chunk,
		BatchBytes:   1<<20 - 1024, // under the broker's message.max.bytes
		MaxAttempts:  10,
		WriteTimeout: 30 * time.Second,
		ReadTimeout:  30 * time.Second,
	}
	defer wr.Close()
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func(list []histEvent) {
			defer wg.Done()
			sort.SliceStable(list, func(a, b int) bool { return list[a].at < list[b].at })
			msgs := make([]kafka.Message, 0, chunk)
			for len(list) > 0 {
				msgs = msgs[:0]
				for _, e := range list[:min(chunk, len(list))] {
					i := int(e.i)
					value, at := h.submitted(i), h.at[i]
					if e.withdraw {
						value, at = h.withdrawal(i), h.withdrawn[i]
					}
					m := kafkabus.Record("", h.code(i), value,
						kafka.Header{Key: kafkabus.HeaderAcceptedAt, Value: []byte(at.UTC().Format(time.RFC3339Nano))})
					m.Time = at
					msgs = append(msgs, m)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				err := wr.WriteMessages(ctx, msgs...)
				cancel()
				if err != nil {
					errc <- err
					return
				}
				list = list[len(msgs):]
			}
		}(evs[w])
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// waitSettled waits until the router has applied every record and holds
// only the open dossiers, the projector has stopped moving (for 3 s), and
// the store counts every dossier. It returns when that state began.
func (h *history) waitSettled(api apiClient, c *child, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	var lastProj float64 = -1
	var since time.Time // when the current still streak began
	for {
		m, err := api.metrics()
		if err == nil {
			applied, mem, proj := m["lienthong_router_applied_total"], m["lienthong_router_dossiers_in_memory"], m["lienthong_projector_records_total"]
			if time.Since(lastLog) >= 10*time.Second {
				progress("router applied %.0f of %d, in memory %.0f (want %d), evicted %.0f; projector %.0f records; RSS %d MB",
					applied, h.events(), mem, h.open, m["lienthong_router_evicted_total"], proj, c.memory().rss>>20)
				lastLog = time.Now()
			}
			switch {
			case applied < float64(h.events()) || mem != float64(h.open) || proj != lastProj:
				since = time.Time{}
			case since.IsZero():
				since = time.Now()
			case time.Since(since) >= 3*time.Second:
				received, err := api.statsReceived()
				if err == nil && received == h.n {
					return since, nil
				}
				if err != nil {
					progress("GET /v1/stats: %v", err)
				} else {
					progress("the store counts %d dossiers received, want %d", received, h.n)
				}
				since = time.Time{}
			}
			lastProj = proj
		}
		if c.exited() {
			return time.Time{}, fmt.Errorf("lienthong exited during the catch-up:\n%s", c.tail())
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not settled after %s: last metrics %v, err %v", timeout, settleView(m), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func settleView(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, "lienthong_router_") || strings.HasPrefix(k, "lienthong_projector_") {
			out[k] = v
		}
	}
	return out
}

// historyFigures are what the benchmark measured.
type historyFigures struct {
	opts                              historyOpts
	dbName                            string
	firstStart, load, catchUp, verify time.Duration
	catchUpCPU, trim                  time.Duration
	trimmed                           int64
	withdrawnListed                   int
	peakRSS                           int64
	rest1, rest2                      atRest
	diskKafka, diskDB                 int64
	stop, stop2                       time.Duration
	restartReady, restartRouter       time.Duration
	restartPeakRSS                    int64
	get, list, stats                  result
	listItems                         int
	warn, errs                        []string
}

// waitRestarted polls /readyz and the router's metrics from the moment the
// process was started (t0).
func (f *historyFigures) waitRestarted(api apiClient, c *child, t0 time.Time, open int, timeout time.Duration) error {
	deadline := t0.Add(timeout)
	for time.Now().Before(deadline) {
		if c.exited() {
			return fmt.Errorf("lienthong exited during the restart:\n%s", c.tail())
		}
		if f.restartReady == 0 && api.ready() {
			f.restartReady = time.Since(t0)
		}
		if f.restartRouter == 0 {
			if m, err := api.metrics(); err == nil && m["lienthong_router_partitions"] > 0 && m["lienthong_router_dossiers_in_memory"] == float64(open) {
				f.restartRouter = time.Since(t0)
			}
		}
		if f.restartReady > 0 && f.restartRouter > 0 {
			f.restartPeakRSS = c.memory().hwm
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("restart: not ready after %s (readyz after %s, router after %s):\n%s", timeout, f.restartReady, f.restartRouter, c.tail())
}

// measureAPI times the tracking API, sequentially, on one keep-alive
// connection, as the admin.
func (f *historyFigures) measureAPI(api apiClient, h *history, o historyOpts) error {
	rng := rand.New(rand.NewPCG(2, uint64(h.n)))
	f.get = result{name: "GET /v1/dossiers/{code}"}
	for range o.lookups {
		code := h.code(rng.IntN(h.n))
		d, _, err := api.get("/v1/dossiers/" + code)
		if err != nil {
			f.get.errs++
			continue
		}
		f.get.ok++
		f.get.lat = append(f.get.lat, d)
	}
	from := time.Now().In(ict).AddDate(0, -3, 0).Format(time.DateOnly)
	first := "/v1/dossiers?status=withdrawn&procedure=1.004227&received_from=" + from + "&limit=50"
	f.list = result{name: "GET /v1/dossiers?status=withdrawn&procedure=1.004227&received_from=" + from + "&limit=50, following next"}
	path := first
	for range o.pages {
		d, body, err := api.get(path)
		if err != nil {
			f.list.errs++
			path = first
			continue
		}
		f.list.ok++
		f.list.lat = append(f.list.lat, d)
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("list page: %w", err)
		}
		f.listItems += len(page.Items)
		path = first
		if page.Next != "" {
			path = first + "&cursor=" + url.QueryEscape(page.Next)
		}
	}
	f.stats = result{name: "GET /v1/stats"}
	for range 5 {
		d, _, err := api.get("/v1/stats")
		if err != nil {
			f.stats.errs++
			continue
		}
		f.stats.ok++
		f.stats.lat = append(f.stats.lat, d)
	}
	if f.get.errs+f.list.errs+f.stats.errs > 0 {
		fmt.Fprintf(os.Stderr, "history: API errors: get %d, list %d, stats %d\n", f.get.errs, f.list.errs, f.stats.errs)
	}
	return nil
}

func (f *historyFigures) print() {
	o := f.opts
	ms := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	sec := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	mb := func(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
	store := o.store
	if f.dbName != "" {
		store += " (database " + f.dbName + ")"
	}
	fmt.Printf("\nprovince-year history: lienthong serve as a child process, embedded broker (12 partitions), tracking store %s\n", store)
	fmt.Printf("machine: %s, %d CPUs (nproc), %s\n", cpuModel(), runtime.NumCPU(), runtime.Version())
	fmt.Printf("%d dossiers over the past 365 days, %d open (the newest), %d withdrawn 2 min-4 h after submission: %d records produced straight to the events topic\n\n",
		o.n, o.open, o.n-o.open, 2*o.n-o.open)
	fmt.Println("| figure | value |")
	fmt.Println("|---|---:|")
	row := func(k, v string) { fmt.Printf("| %s | %s |\n", k, v) }
	row("first start to /readyz 200 (empty)", sec(f.firstStart))
	row("load: produce every record (kafka-go, 4 writers, 5,000 a call)", fmt.Sprintf("%s (%.0f records/s)", sec(f.load), float64(2*o.n-o.open)/f.load.Seconds()))
	row("load + catch-up: router applied all, in memory = open, projector still, /v1/stats counts N", fmt.Sprintf("%s (%.0f records/s)", sec(f.catchUp), float64(2*o.n-o.open)/f.catchUp.Seconds()))
	row("CPU time of the process through load and catch-up", fmt.Sprintf("%s (%.2f cores on average)", sec(f.catchUpCPU), f.catchUpCPU.Seconds()/f.catchUp.Seconds()))
	row("peak RSS (VmHWM) through load and catch-up", mb(f.peakRSS))
	row("events topic back to its default retention (7 days): trimmed to", fmt.Sprintf("%d records in %s", f.trimmed, sec(f.trim)))
	restRows(row, "after catch-up", o.idle, f.rest1, mb)
	row("router dossiers in memory at rest", fmt.Sprintf("%.0f", f.rest1.inMemory))
	row("withdrawn dossiers listed (GET /v1/dossiers?status=withdrawn, limit 500)", fmt.Sprintf("%d in %s", f.withdrawnListed, sec(f.verify)))
	row("disk after stop: embedded broker (data_dir/kafka)", mb(f.diskKafka))
	row("disk after stop: tracking store", mb(f.diskDB))
	row("SIGTERM to exit", sec(f.stop))
	row("restart to /readyz 200", sec(f.restartReady))
	row("restart to ready (/readyz 200, router partitions > 0, dossiers in memory = open)", sec(max(f.restartReady, f.restartRouter)))
	row("peak RSS (VmHWM) through the restart", mb(f.restartPeakRSS))
	restRows(row, "after restart", o.idle, f.rest2, mb)
	row(fmt.Sprintf("GET /v1/dossiers/{code}, %d random codes, p50 / p99", len(f.get.lat)), ms(f.get.pct(.5))+" / "+ms(f.get.pct(.99)))
	row(fmt.Sprintf("GET /v1/dossiers?status=withdrawn&procedure=1.004227&received_from=-3 months&limit=50, %d pages following next, p50 / p99", len(f.list.lat)),
		fmt.Sprintf("%s / %s (%d items)", ms(f.list.pct(.5)), ms(f.list.pct(.99)), f.listItems))
	row(fmt.Sprintf("GET /v1/stats, %d runs, p50 / max", len(f.stats.lat)), ms(f.stats.pct(.5))+" / "+ms(f.stats.pct(1)))
	row("SIGTERM to exit (second run)", sec(f.stop2))
	fmt.Println("\nlatencies are client-side over loopback HTTP/1.1 keep-alive, one request at a time (the process exports no server-side histogram for them)")
	if len(f.warn)+len(f.errs) > 0 {
		fmt.Printf("the two processes logged %d warnings and %d errors (lienthong-*.log with -keep); first ones:\n", len(f.warn), len(f.errs))
		for _, l := range append(firstN(f.errs, 5), firstN(f.warn, 5)...) {
			fmt.Println("    " + l)
		}
	}
}

func restRows(row func(k, v string), when string, idle time.Duration, r atRest, mb func(int64) string) {
	row(fmt.Sprintf("RSS / heap in use at rest %s (%s idle)", when, idle), mb(r.rss)+" / "+mb(r.heap))
	switch {
	case r.gcAfter > 0:
		row(fmt.Sprintf("RSS / heap in use at rest %s, after the runtime's next GC (%s idle)", when, r.gcAfter.Round(time.Second)), mb(r.gcRSS)+" / "+mb(r.gcHeap))
	case r.gcWaitExceeded:
		row(fmt.Sprintf("RSS / heap in use at rest %s, after the next GC", when), "no GC within -gc-wait")
	}
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// historyConfig is the benchmark's config: the one-stop desk HCC and the
// step agencies of the example procedures, everyone pulling (no webhook
// servers), the embedded broker on a free port, 12 partitions.
func historyConfig(dataDir, dsn string) string {
	hash := func(tok string) string {
		s := sha256.Sum256([]byte(tok))
		return hex.EncodeToString(s[:])
	}
	var agencies strings.Builder
	for _, a := range []struct{ code, name string }{
		{"HCC", "Trung tâm Phục vụ hành chính công tỉnh"}, {"VPDK", "Văn phòng Đăng ký đất đai"}, {"THUE", "Chi cục Thuế"},
		{"TP", "Phòng Tư pháp"}, {"CA", "Công an cấp xã"}, {"BHXH", "Bảo hiểm xã hội"},
	} {
		recv := ""
		if a.code == "HCC" {
			recv = "receiver: true, "
		}
		fmt.Fprintf(&agencies, "  - { code: %s, name: %q, %stoken_sha256: %q, delivery: { mode: pull } }\n", a.code, a.name, recv, hash("bench-history-"+a.code))
	}
	return fmt.Sprintf(`listen: "127.0.0.1:0"
data_dir: %q
admin_token_sha256: %q
store:
  dsn: %q
kafka:
  brokers: []
  embedded_listen: "127.0.0.1:0"
  topic_prefix: %q
  partitions: 12
  replication_factor: 1
calendar:
  timezone: "Asia/Ho_Chi_Minh"
  workdays: [mon, tue, wed, thu, fri]
  office_hours: ["08:00-12:00", "13:30-17:00"]
  holidays: ["2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-04-27", "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02", "2027-01-01"]
agencies:
%sprocedures:
  - code: "1.004227"
    name: "Đăng ký biến động quyền sử dụng đất"
    deadline: 10d
    receivers: [HCC]
    steps:
      - { id: verify, name: "Thẩm định hồ sơ", agency: VPDK, deadline: 5d }
      - { id: tax, name: "Xác định nghĩa vụ tài chính", agency: THUE, deadline: 3d, after: [verify] }
      - { id: certificate, name: "Cấp giấy chứng nhận", agency: VPDK, deadline: 2d, after: [tax] }
  - code: "1.001193"
    name: "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ BHYT cho trẻ em dưới 6 tuổi"
    deadline: 5d
    receivers: [HCC]
    steps:
      - { id: birth, name: "Đăng ký khai sinh", agency: TP, deadline: 4h }
      - { id: residence, name: "Đăng ký thường trú", agency: CA, deadline: 3d, after: [birth] }
      - { id: insurance, name: "Cấp thẻ bảo hiểm y tế", agency: BHXH, deadline: 3d, after: [birth] }
`, dataDir, hash(historyAdminToken), dsn, historyTopicPfx, agencies.String())
}

// historyKeep is the events topic's retention while the year loads: 400 days.
const historyKeep = "34560000000"

// setEventsRetention sets the events topic's retention.ms, or removes the
// override when value is empty.
func setEventsRetention(broker, value string) error {
	op := kafka.ConfigOperationSet
	if value == "" {
		op = kafka.ConfigOperationDelete
	}
	cl := &kafka.Client{Addr: kafka.TCP(broker), Timeout: 30 * time.Second}
	resp, err := cl.IncrementalAlterConfigs(context.Background(), &kafka.IncrementalAlterConfigsRequest{
		Resources: []kafka.IncrementalAlterConfigsRequestResource{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: historyTopicPfx + kafkabus.TopicEvents,
			Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: "retention.ms", Value: value, ConfigOperation: op}},
		}},
	})
	if err == nil {
		for _, r := range resp.Resources {
			if r.Error != nil {
				err = r.Error
			}
		}
	}
	if err != nil {
		return fmt.Errorf("events topic retention.ms=%q: %w", value, err)
	}
	return nil
}

// waitTrimmed waits until retention has moved the start of every events
// partition, or for a cleaner pass (every minute) when it cannot (a batch
// goes only when its newest record is old: a small year makes batches that
// span it), and returns how many records the topic still holds.
func waitTrimmed(broker string) (int64, error) {
	cl := &kafka.Client{Addr: kafka.TCP(broker), Timeout: 30 * time.Second}
	topic := historyTopicPfx + kafkabus.TopicEvents
	var reqs []kafka.OffsetRequest
	for p := range 12 {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	for deadline := time.Now().Add(75 * time.Second); ; time.Sleep(time.Second) {
		resp, err := cl.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
		if err != nil {
			return 0, err
		}
		var left int64
		moved := 0
		for _, po := range resp.Topics[topic] {
			left += po.LastOffset - po.FirstOffset
			if po.FirstOffset > 0 {
				moved++
			}
		}
		if moved == 12 || time.Now().After(deadline) {
			return left, nil
		}
	}
}

// freshDatabase creates a database of its own on the server of adminDSN and
// returns its DSN, its name and a func that drops it.
func freshDatabase(adminDSN string) (string, string, func(), error) {
	u, err := url.Parse(adminDSN)
	if err != nil {
		return "", "", nil, fmt.Errorf("-pg-dsn: %w", err)
	}
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return "", "", nil, err
	}
	defer db.Close()
	name := fmt.Sprintf("lt_bench_%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() {
		db, err := sql.Open("pgx", adminDSN)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "history: drop database %s: %v\n", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), name, drop, nil
}

func databaseSize(adminDSN, name string) int64 {
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int64
	_ = db.QueryRow("SELECT pg_database_size($1)", name).Scan(&n)
	return n
}

func dirSize(path string) int64 {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s history: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// child is a `lienthong serve` process.
type child struct {
	cmd    *exec.Cmd
	base   string // http://host:port
	broker string // the embedded broker's address
	done   chan struct{}

	mu         sync.Mutex
	last       []string // the last log lines
	warn, errs []string
}

// startChild runs `bin serve --config cfgPath` and returns once it logs
// its HTTP address. Its log goes to logPath; warnings and errors are shown
// as they come (the first 20 of each).
func startChild(bin, cfgPath, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the bench
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			c.line(sc.Text(), serving)
		}
		logf.Close()
		_ = cmd.Wait()
		close(c.done)
	}()
	select {
	case <-serving:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("lienthong exited at start:\n%s", c.tail())
	case <-time.After(2 * time.Minute):
		c.kill()
		return nil, fmt.Errorf("lienthong did not log its address in 2 minutes:\n%s", c.tail())
	}
}

func (c *child) line(line string, serving chan struct{}) {
	var rec struct{ Msg, Level, Addr string }
	_ = json.Unmarshal([]byte(line), &rec)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.last) == 50 {
		c.last = c.last[1:]
	}
	c.last = append(c.last, line)
	switch rec.Level {
	case "WARN":
		c.warn = append(c.warn, line)
		if len(c.warn) <= 20 {
			progress("lienthong: %s", line)
		}
	case "ERROR":
		c.errs = append(c.errs, line)
		if len(c.errs) <= 20 {
			progress("lienthong: %s", line)
		}
	}
	switch rec.Msg {
	case "embedded Kafka broker started":
		c.broker = rec.Addr
	case "lienthong serving":
		c.base = "http://" + rec.Addr
		close(serving)
	}
}

func (c *child) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.last, "\n")
}

func (c *child) problems() (warn, errs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.warn...), append([]string(nil), c.errs...)
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) waitReady(hc *http.Client, timeout time.Duration) error {
	api := apiClient{hc: hc, base: c.base}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if api.ready() {
			return nil
		}
		if c.exited() {
			return fmt.Errorf("lienthong exited:\n%s", c.tail())
		}
	}
	return fmt.Errorf("lienthong not ready after %s:\n%s", timeout, c.tail())
}

// term sends SIGTERM and returns how long the process took to exit.
func (c *child) term(limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return time.Since(t0), nil
	case <-time.After(limit):
		c.kill()
		return time.Since(t0), fmt.Errorf("lienthong did not exit within %s of SIGTERM:\n%s", limit, c.tail())
	}
}

func (c *child) kill() {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// cpu returns the user and system CPU time the process has used.
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): state is 3,
	// utime 14 and stime 15, in clock ticks of 1/100 s.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

type memInfo struct{ rss, hwm int64 }

// memory reads VmRSS and VmHWM of the process from /proc.
func (c *child) memory() memInfo {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return memInfo{}
	}
	var m memInfo
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.hwm = kb << 10
		}
	}
	return m
}

// atRest is the process's memory once idle: after the idle time, and
// again after the Go runtime's next collection (an idle process collects
// only on the runtime's 2-minute timer, so heap figures read before it
// count the catch-up's garbage too).
type atRest struct {
	rss, heap      int64
	inMemory       float64
	gcRSS, gcHeap  int64
	gcAfter        time.Duration // idle time until that collection; 0: not waited for
	gcWaitExceeded bool
}

// rest lets the process idle and reads its memory.
func (c *child) rest(hc *http.Client, idle, gcWait time.Duration) atRest {
	api := apiClient{hc: hc, base: c.base}
	t0 := time.Now()
	time.Sleep(idle)
	r := atRest{rss: c.memory().rss}
	if m, err := api.metrics(); err == nil {
		r.heap, r.inMemory = int64(m["go_memstats_heap_inuse_bytes"]), m["lienthong_router_dossiers_in_memory"]
	}
	if gcWait <= 0 {
		return r
	}
	for deadline := t0.Add(gcWait); ; time.Sleep(time.Second) {
		m, err := api.metrics()
		if err == nil && m["go_memstats_last_gc_time_seconds"] >= float64(t0.UnixNano())/1e9 {
			// Give the background scavenger a moment to return pages.
			time.Sleep(5 * time.Second)
			r.gcAfter = time.Since(t0)
			r.gcRSS = c.memory().rss
			if m, err := api.metrics(); err == nil {
				r.gcHeap = int64(m["go_memstats_heap_inuse_bytes"])
			}
			return r
		}
		if time.Now().After(deadline) {
			r.gcWaitExceeded = true
			return r
		}
	}
}

// apiClient calls one lienthong process's HTTP API.
type apiClient struct {
	hc    *http.Client
	base  string
	token string
}

// get GETs path with the token and returns the time to the whole body.
func (a apiClient) get(path string) (time.Duration, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, a.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	t0 := time.Now()
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return d, body, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return d, body, nil
}

func (a apiClient) ready() bool {
	_, _, err := a.get("/readyz")
	return err == nil
}

// metrics scrapes /metrics and sums each metric name's samples.
func (a apiClient) metrics() (map[string]float64, error) {
	_, body, err := a.get("/metrics")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
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
	return out, nil
}

// statsReceived sums the receivers' received counts of GET /v1/stats.
func (a apiClient) statsReceived() (int, error) {
	_, body, err := a.get("/v1/stats")
	if err != nil {
		return 0, err
	}
	var st struct {
		Rows []struct {
			Role     string `json:"role"`
			Received int    `json:"received"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range st.Rows {
		if r.Role == "receiver" {
			n += r.Received
		}
	}
	return n, nil
}

// countPages follows a list's next cursors to the end and counts its items.
func (a apiClient) countPages(first string) (int, error) {
	n, path := 0, first
	for {
		_, body, err := a.get(path)
		if err != nil {
			return n, err
		}
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return n, err
		}
		n += len(page.Items)
		if page.Next == "" {
			return n, nil
		}
		path = first + "&cursor=" + url.QueryEscape(page.Next)
	}
}
