// Package demo runs `lienthong demo`: the bus on the embedded broker with
// the example procedures, simulated department systems behind real webhook
// servers (they verify Standard Webhooks signatures and answer their steps
// after a short random delay), a one-stop desk that reads its pull feed and
// hands in supplements, and a steady stream of sample dossiers. Everything
// talks to lienthong through its public HTTP API, as real systems would.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
)

// Options of a demo run.
type Options struct {
	Listen       string        // lienthong's HTTP address ("" = the example's)
	KafkaListen  string        // embedded broker address ("" = the example's)
	DataDir      string        // "" = the example's
	Rate         float64       // new dossiers per second
	Duration     time.Duration // 0 = until ctx ends
	MaxDelay     time.Duration // agencies answer within this delay
	SupplementP  float64       // probability that a verify step asks for a supplement
	ReportEvery  time.Duration
	Out          io.Writer
	Logger       *slog.Logger
	ReturnResult bool // the desk hands the result to the citizen (status returned)
	// AnyPorts puts lienthong, its broker and the simulated agencies on free
	// loopback ports instead of the example's fixed ones (tests).
	AnyPorts bool
}

// Stats are what a run did.
type Stats struct {
	Submitted   atomic.Int64
	Answered    atomic.Int64
	Supplements atomic.Int64
	Verified    atomic.Int64 // webhook deliveries whose signature verified
	BadSig      atomic.Int64
	mu          sync.Mutex
	codes       []string
}

// Codes returns the dossier codes submitted (202 or 200).
func (s *Stats) Codes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.codes...)
}

// Demo is a running demo.
type Demo struct {
	App    *app.App
	Base   string
	Stats  *Stats
	opts   Options
	cfg    *config.Config
	tokens map[string]string
	hc     *http.Client
	seq    atomic.Int64
	asked  sync.Map // dossier code -> step that asked for a supplement
	wg     sync.WaitGroup
	srvs   []*http.Server
}

// Start starts lienthong and the simulated systems; Run drives the load.
func Start(ctx context.Context, o Options) (*Demo, error) {
	if o.Rate <= 0 {
		o.Rate = 2
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 1500 * time.Millisecond
	}
	if o.ReportEvery <= 0 {
		o.ReportEvery = 5 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg, err := config.ExampleConfig()
	if err != nil {
		return nil, err
	}
	if o.Listen != "" {
		cfg.Listen = o.Listen
	}
	if o.KafkaListen != "" {
		cfg.Kafka.EmbeddedListen = o.KafkaListen
	}
	if o.DataDir != "" {
		cfg.DataDir = o.DataDir
	}
	if o.AnyPorts {
		cfg.Listen, cfg.Kafka.EmbeddedListen = "127.0.0.1:0", "127.0.0.1:0"
		for i := range cfg.Agencies {
			if u, err := url.Parse(cfg.Agencies[i].Delivery.URL); err == nil && u.Host != "" {
				u.Host = "127.0.0.1:0"
				cfg.Agencies[i].Delivery.URL = u.String()
			}
		}
	}
	d := &Demo{opts: o, cfg: cfg, tokens: config.ExampleDevTokens(), Stats: &Stats{},
		hc: &http.Client{Timeout: 40 * time.Second}}
	// Simulated department systems: one webhook server per webhook agency,
	// listening where the config points (port 0 in the config = any port).
	for i := range cfg.Agencies {
		ag := &cfg.Agencies[i]
		if ag.Delivery.Mode != "webhook" {
			continue
		}
		if err := d.startAgency(ag); err != nil {
			d.stopServers()
			return nil, err
		}
	}
	a, err := app.Start(ctx, cfg, app.Options{Logger: o.Logger})
	if err != nil {
		d.stopServers()
		return nil, err
	}
	d.App = a
	d.Base = "http://" + a.Addr()
	for !a.Ready() {
		select {
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return d, nil
}

func (d *Demo) startAgency(ag *config.Agency) error {
	u, err := url.Parse(ag.Delivery.URL)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return fmt.Errorf("simulated %s on %s: %w", ag.Code, u.Host, err)
	}
	// Point the config at the real port (the example may say :0 in tests).
	u.Host = ln.Addr().String()
	ag.Delivery.URL = u.String()
	wh, err := standardwebhooks.NewWebhook(ag.Delivery.Secret)
	if err != nil {
		ln.Close()
		return fmt.Errorf("simulated %s: %w", ag.Code, err)
	}
	code := ag.Code
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			d.Stats.BadSig.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		d.Stats.Verified.Add(1)
		var ev event.Event
		if json.Unmarshal(body, &ev) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		switch ev.Type {
		case event.Assigned:
			d.wg.Add(1)
			go func() { defer d.wg.Done(); d.answer(code, ev) }()
		case event.Supplemented:
			// The documents asked for arrived: finish the step that asked.
			if step, ok := d.asked.LoadAndDelete(ev.Subject); ok {
				d.wg.Add(1)
				go func() { defer d.wg.Done(); d.complete(code, ev, step.(string)) }()
			}
		}
	})}
	d.srvs = append(d.srvs, srv)
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// answer plays a department system doing its step, after a delay.
func (d *Demo) answer(agency string, ev event.Event) {
	var data struct {
		Step struct {
			ID string `json:"id"`
		} `json:"step"`
	}
	if json.Unmarshal(ev.Data, &data) != nil {
		return
	}
	time.Sleep(time.Duration(rand.Int64N(int64(d.opts.MaxDelay))))
	step := data.Step.ID
	if step == "verify" && rand.Float64() < d.opts.SupplementP {
		// Ask once per dossier; the desk answers with the documents and
		// the step is finished when they arrive.
		d.asked.Store(ev.Subject, step)
		if d.send(agency, event.SupplementRequested, ev.Subject, "supp-"+ev.ID, map[string]any{
			"step": step, "reason": "Thiếu bản sao giấy chứng nhận quyền sử dụng đất", "missing": []string{"giay-chung-nhan.pdf"},
		}) {
			d.Stats.Supplements.Add(1)
			return
		}
		d.asked.Delete(ev.Subject)
	}
	d.complete(agency, ev, step)
}

// complete sends the step's result.
func (d *Demo) complete(agency string, ev event.Event, step string) {
	outputs := map[string]any{"result": "ok", "officer_unit": agency}
	switch step {
	case "tax":
		outputs = SampleTaxNotice(rng(), time.Now())
	case "birth":
		outputs = map[string]any{"birth_certificate_no": fmt.Sprintf("KS-%06d", rand.IntN(1e6))}
	case "insurance":
		outputs = map[string]any{"health_insurance_card": fmt.Sprintf("TE1%012d", rand.Int64N(1e12))}
	}
	data := map[string]any{"step": step, "outputs": outputs, "documents": []any{}}
	if step == "tax" {
		// The tax office's notice is a financial obligation: the dossier
		// awaits payment, the desk confirms it.
		data["obligation"] = map[string]any{"notice_number": outputs["notice_number"], "amount_vnd": outputs["amount_vnd"],
			"tax_kinds": outputs["tax_kinds"], "due_date": outputs["due_date"]}
	}
	if d.send(agency, event.StepCompleted, ev.Subject, "done-"+ev.ID, data) {
		d.Stats.Answered.Add(1)
	}
}

// send posts one event as agency; retried on 5xx and network errors.
func (d *Demo) send(agency, typ, subject, id string, data any) bool {
	raw, _ := json.Marshal(data)
	ev := event.Event{SpecVersion: event.SpecVersion, ID: id, Source: event.AgencySource(agency), Type: typ,
		Subject: subject, Time: time.Now().Format(time.RFC3339), DataContentType: "application/json", Data: raw}
	body, _ := json.Marshal(ev)
	for attempt := 0; attempt < 20; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, d.Base+"/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", event.ContentType)
		req.Header.Set("Authorization", "Bearer "+d.tokens[agency])
		resp, err := d.hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return true
			}
			if resp.StatusCode < 500 && resp.StatusCode != 429 {
				d.opts.Logger.Warn("demo event refused", "agency", agency, "type", typ, "status", resp.StatusCode)
				return false
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

var (
	familyNames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi"}
	givenNames  = []string{"Văn An", "Thị Bình", "Minh Châu", "Thu Hà", "Quốc Huy", "Ngọc Lan", "Đức Minh", "Thanh Tâm"}
)

// rng is a source for the sample content: unseeded, like the rest of the demo.
func rng() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }

// submit files one sample dossier at the desk (HCC).
func (d *Demo) submit() {
	n := d.seq.Add(1)
	today := time.Now().In(d.cfg.Cal().Location()).Format("20060102")
	code := fmt.Sprintf("HCC-%s-%06d", today, n)
	procs := d.cfg.Procedures
	p := procs[rand.IntN(len(procs))]
	data := map[string]any{
		"code": code, "procedure": p.Code,
		"applicant": map[string]any{"kind": "citizen",
			"full_name": familyNames[rand.IntN(len(familyNames))] + " " + givenNames[rand.IntN(len(givenNames))],
			"id_number": fmt.Sprintf("0%02d%09d", rand.IntN(96)+1, rand.IntN(1e9))},
		"documents": []any{map[string]any{"name": "to-khai.pdf", "url": "https://hcc.example.gov.vn/files/" + code,
			"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
		"received_at": time.Now().Format(time.RFC3339), "channel": []string{"direct", "online", "postal"}[rand.IntN(3)],
	}
	if len(p.FormSchemas) > 0 {
		data["form"] = SampleForm(rng(), p.Code, time.Now().AddDate(0, 0, -rand.IntN(60)))
	}
	if d.send("HCC", event.Submitted, code, "sub-"+code, data) {
		d.Stats.Submitted.Add(1)
		d.Stats.mu.Lock()
		d.Stats.codes = append(d.Stats.codes, code)
		d.Stats.mu.Unlock()
	}
}

// desk reads HCC's pull feed: it hands in supplements when asked and, when
// asked to, returns results to the citizen.
func (d *Demo) desk(ctx context.Context) {
	cursor := ""
	for ctx.Err() == nil {
		q := url.Values{"limit": {"200"}, "wait": {"5s"}}
		if cursor != "" {
			q.Set("after", cursor)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.Base+"/v1/agencies/HCC/inbox?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+d.tokens["HCC"])
		resp, err := d.hc.Do(req)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var page struct {
			Events []event.Event `json:"events"`
			Next   string        `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			time.Sleep(500 * time.Millisecond)
			continue
		}
		for _, ev := range page.Events {
			switch ev.Type {
			case event.SupplementRequested:
				ev := ev
				d.wg.Add(1)
				go func() {
					defer d.wg.Done()
					time.Sleep(time.Duration(rand.Int64N(int64(d.opts.MaxDelay))))
					d.send("HCC", event.Supplemented, ev.Subject, "suppl-"+ev.ID, map[string]any{
						"documents": []any{map[string]any{"name": "giay-chung-nhan.pdf", "url": "https://hcc.example.gov.vn/files/" + ev.Subject + "/supp",
							"sha256": "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}},
						"note": "Công dân đã bổ sung"})
				}()
			case event.StatusChanged:
				d.deskStatus(ev)
			case event.Completed:
				if d.opts.ReturnResult {
					d.send("HCC", event.ResultReturned, ev.Subject, "ret-"+ev.ID, map[string]any{
						"returned_at": time.Now().Format(time.RFC3339), "channel": "direct"})
				}
			}
		}
		if page.Next != "" {
			cursor = page.Next
		}
	}
}

// deskStatus plays the desk's part in a status change: it accepts at
// reception what was filed online (a few it refuses), and confirms the
// payment of a financial obligation once the citizen has paid.
func (d *Demo) deskStatus(ev event.Event) {
	var st struct {
		Status     string `json:"status"`
		Obligation *struct {
			NoticeNumber string `json:"notice_number"`
			AmountVND    int64  `json:"amount_vnd"`
		} `json:"obligation"`
	}
	if json.Unmarshal(ev.Data, &st) != nil {
		return
	}
	switch {
	case st.Status == "registered":
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			time.Sleep(time.Duration(rand.Int64N(int64(d.opts.MaxDelay))))
			if rand.IntN(20) == 0 {
				d.send("HCC", event.Refused, ev.Subject, "refuse-"+ev.ID, map[string]any{
					"reason": "Hồ sơ nộp trực tuyến không đúng thành phần", "reasons": []string{"Thiếu tờ khai có chữ ký số"}})
				return
			}
			d.send("HCC", event.Accepted, ev.Subject, "accept-"+ev.ID, map[string]any{"note": "Tiếp nhận hồ sơ trực tuyến"})
		}()
	case st.Status == "awaiting_payment" && st.Obligation != nil:
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			time.Sleep(time.Duration(rand.Int64N(int64(d.opts.MaxDelay))))
			d.send("HCC", event.PaymentConfirmed, ev.Subject, "paid-"+ev.ID, map[string]any{
				"notice_number": st.Obligation.NoticeNumber, "paid_at": time.Now().Format(time.RFC3339),
				"amount_vnd": st.Obligation.AmountVND, "reference": fmt.Sprintf("KBNN-%06d", rand.IntN(1e6))})
		}()
	}
}

// Run submits dossiers at the configured rate and reports until ctx ends or
// the duration passes.
func (d *Demo) Run(ctx context.Context) {
	if d.opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.opts.Duration)
		defer cancel()
	}
	deskCtx, stopDesk := context.WithCancel(context.Background())
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.desk(deskCtx) }()
	defer stopDesk()
	d.printWelcome()
	tick := time.NewTicker(time.Duration(float64(time.Second) / d.opts.Rate))
	defer tick.Stop()
	report := time.NewTicker(d.opts.ReportEvery)
	defer report.Stop()
	for {
		select {
		case <-ctx.Done():
			d.report()
			return
		case <-tick.C:
			d.wg.Add(1)
			go func() { defer d.wg.Done(); d.submit() }()
		case <-report.C:
			d.report()
		}
	}
}

// Drain keeps the desk and agencies working (without new dossiers) until
// every submitted dossier has reached one of the statuses, or ctx ends.
func (d *Demo) Drain(ctx context.Context, final ...string) map[string]string {
	deskCtx, stopDesk := context.WithCancel(ctx)
	defer stopDesk()
	go d.desk(deskCtx)
	want := map[string]bool{}
	for _, s := range final {
		want[s] = true
	}
	for {
		if ctx.Err() != nil {
			// The final answer, read without the expired context.
			return d.Statuses(context.Background())
		}
		statuses := d.Statuses(ctx)
		done := true
		for _, c := range d.Stats.Codes() {
			if !want[statuses[c]] {
				done = false
				break
			}
		}
		if done {
			return statuses
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Statuses returns the status of every submitted dossier, through the
// tracking API as the admin.
func (d *Demo) Statuses(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, code := range d.Stats.Codes() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.Base+"/v1/dossiers/"+url.PathEscape(code), nil)
		req.Header.Set("Authorization", "Bearer "+d.tokens["admin"])
		resp, err := d.hc.Do(req)
		if err != nil {
			continue
		}
		var v struct {
			Status string `json:"status"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		out[code] = v.Status
	}
	return out
}

func (d *Demo) report() {
	counts := map[string]int{}
	for _, s := range d.Statuses(context.Background()) {
		if s == "" {
			s = "(not yet tracked)"
		}
		counts[s]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] dossiers %d:", time.Now().Format("15:04:05"), d.Stats.Submitted.Load())
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	fmt.Fprintf(&b, " | steps answered %d, supplements %d, webhooks verified %d", d.Stats.Answered.Load(), d.Stats.Supplements.Load(), d.Stats.Verified.Load())
	fmt.Fprintln(d.opts.Out, b.String())
}

func (d *Demo) printWelcome() {
	w := d.opts.Out
	fmt.Fprintf(w, "lienthong demo on %s (embedded Kafka broker at %s)\n", d.Base, d.App.Bus.Brokers()[0])
	fmt.Fprintf(w, "simulated agencies answer their webhooks; the one-stop desk HCC reads its pull feed; %.1f new dossiers/s\n", d.opts.Rate)
	fmt.Fprintln(w, "development tokens (the example config's; never in production):")
	names := make([]string, 0, len(d.tokens))
	for n := range d.tokens {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-6s %s\n", n, d.tokens[n])
	}
	fmt.Fprintln(w, "where to look:")
	fmt.Fprintf(w, "  %s/console/  (the operator console: sign in with a token above)\n", d.Base)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/dossiers?limit=5\n", d.tokens["admin"], d.Base)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/dossiers/HCC-%s-000001\n", d.tokens["admin"], d.Base, time.Now().Format("20060102"))
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/stats\n", d.tokens["admin"], d.Base)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/reports/handling?from=%s&to=%s'\n", d.tokens["admin"], d.Base,
		time.Now().Format("2006-01-02"), time.Now().Format("2006-01-02"))
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/agencies/HCC/inbox?limit=3'\n", d.tokens["HCC"], d.Base)
	fmt.Fprintf(w, "  curl -s %s/metrics | grep lienthong_\n", d.Base)
}

func (d *Demo) stopServers() {
	for _, s := range d.srvs {
		_ = s.Close()
	}
}

// Stop stops the load, the simulated systems and lienthong.
func (d *Demo) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if d.App != nil {
		d.App.Stop(ctx)
	}
	d.stopServers()
}
