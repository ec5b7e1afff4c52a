package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// The failure tests run real `lienthong serve` processes, simulated
// department systems behind real webhook servers on loopback, and clients
// that retry as real ones would; they kill processes with SIGKILL and
// check that nothing accepted is lost and that duplicates carry one id.

// Webhook secrets of the simulated agencies (whsec_ + base64 of 24 bytes).
var simSecrets = map[string]string{
	"VPDK": "whsec_" + base64.StdEncoding.EncodeToString([]byte("vpdk-failure-test-secret")),
	"THUE": "whsec_" + base64.StdEncoding.EncodeToString([]byte("thue-failure-test-secret")),
}

// failCfg describes a config for the failure tests: VPDK and THUE in
// webhook mode at the simulated agencies, HCC and UBND pulling.
type failCfg struct {
	dataDir     string
	brokers     []string // empty: the embedded broker
	prefix      string
	urls        map[string]string // agency -> webhook URL
	maxAttempts int               // default 50
	minBackoff  string            // default 200ms
	maxBackoff  string            // default 2s
	timeout     string            // default 5s
}

// webhookConfigYAML is testConfig with VPDK and THUE delivered by webhook.
func webhookConfigYAML(t testing.TB, c failCfg) string {
	if c.maxAttempts == 0 {
		c.maxAttempts = 50
	}
	if c.minBackoff == "" {
		c.minBackoff = "200ms"
	}
	if c.maxBackoff == "" {
		c.maxBackoff = "2s"
	}
	if c.timeout == "" {
		c.timeout = "5s"
	}
	hook := func(code string) string {
		return fmt.Sprintf("{ mode: webhook, url: %q, secret_env: %s_SECRET, timeout: %s, max_attempts: %d, min_backoff: %s, max_backoff: %s, concurrency: 16 }",
			c.urls[code], code, c.timeout, c.maxAttempts, c.minBackoff, c.maxBackoff)
	}
	return configYAML(t, c.dataDir, c.brokers, c.prefix, hook("VPDK"), hook("THUE"))
}

// writeFailConfig writes the config into dir/name and sets the webhook
// secrets in the environment the child processes inherit.
func writeFailConfig(t testing.TB, dir, name string, c failCfg) string {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		for code, s := range simSecrets {
			tt.Setenv(code+"_SECRET", s)
		}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(webhookConfigYAML(t, c)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// brokersOf returns the brokers a second process must use: the external
// cluster, or the first process's embedded broker.
func brokersOf(p *proc) []string {
	if b := kafkatest.Brokers(); len(b) > 0 {
		return b
	}
	return []string{p.broker}
}

// targets is the set of lienthong base URLs clients post to, changed as
// processes die and come back. Clients rotate through it on each attempt.
type targets struct {
	mu    sync.Mutex
	bases []string
	n     atomic.Uint64
}

func newTargets(bases ...string) *targets { return &targets{bases: bases} }

func (tg *targets) set(bases ...string) {
	tg.mu.Lock()
	tg.bases = append([]string(nil), bases...)
	tg.mu.Unlock()
}

func (tg *targets) pick() string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if len(tg.bases) == 0 {
		return "http://127.0.0.1:1" // not started yet: a refused connection, retried
	}
	return tg.bases[int(tg.n.Add(1)%uint64(len(tg.bases)))]
}

// failClient is an HTTP client with a pool big enough for the load, so
// thousands of posts reuse connections instead of exhausting ports.
var failClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     30 * time.Second,
	},
}

// errRefused is a 4xx answer other than 429: retrying cannot help.
type errRefused struct {
	status int
	body   string
}

func (e *errRefused) Error() string { return fmt.Sprintf("refused: %d %s", e.status, e.body) }

// postRetry posts body as agency until lienthong answers 202 or 200,
// retrying network errors, 429 and 5xx (a process may be down or starting)
// for up to `within`. It returns the final status code.
func postRetry(ctx context.Context, tg *targets, agency string, body []byte, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	var last error
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return 0, fmt.Errorf("gave up after %d attempts: %v", attempt, last)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tg.pick()+"/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", event.ContentType)
		req.Header.Set("Authorization", "Bearer "+tokens[agency])
		resp, err := failClient.Do(req)
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK:
				return resp.StatusCode, nil
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				last = fmt.Errorf("%d %s", resp.StatusCode, strings.TrimSpace(string(raw)))
			default:
				return resp.StatusCode, &errRefused{resp.StatusCode, strings.TrimSpace(string(raw))}
			}
		} else {
			last = err
		}
		time.Sleep(time.Duration(50+25*min(attempt, 8)) * time.Millisecond)
	}
}

// failCode is the dossier code of the i-th dossier of a test run.
func failCode(day string, i int) string { return fmt.Sprintf("HCC-%s-%06d", day, i) }

// loadStats counts what the submitting clients saw.
type loadStats struct {
	accepted202 atomic.Int64
	dup200      atomic.Int64
	failed      atomic.Int64
	mu          sync.Mutex
	ok          map[string]bool // codes that got 202 or 200
	errs        []string
}

func (s *loadStats) codes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.ok))
	for c := range s.ok {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// submitLoad submits n dossiers (ids "sub-<code>") from `workers`
// concurrent clients, each retrying until 202/200; onAccepted runs after
// each acceptance (tests use it to kill a process mid-load).
func submitLoad(ctx context.Context, tg *targets, day string, n, workers int, onAccepted func(done int64)) *loadStats {
	s := &loadStats{ok: map[string]bool{}}
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				code := failCode(day, i)
				st, err := postRetry(ctx, tg, "HCC", mustJSON(submitted("sub-"+code, code)), 90*time.Second)
				if err != nil {
					s.failed.Add(1)
					s.mu.Lock()
					if len(s.errs) < 5 {
						s.errs = append(s.errs, code+": "+err.Error())
					}
					s.mu.Unlock()
					continue
				}
				if st == http.StatusAccepted {
					s.accepted202.Add(1)
				} else {
					s.dup200.Add(1)
				}
				s.mu.Lock()
				s.ok[code] = true
				done := int64(len(s.ok))
				s.mu.Unlock()
				if onAccepted != nil {
					onAccepted(done)
				}
			}
		}()
	}
	wg.Wait()
	return s
}

// received is one delivery an agency accepted, in arrival order.
type received struct {
	id, typ, step string
}

// simAgency is a department system behind a webhook: it verifies the
// Standard Webhooks signature, records every event id (and the body hash,
// so one id with two bodies shows), answers 204 and does each assigned step
// by posting dossier.step.completed with an id derived from the assignment.
type simAgency struct {
	t    testing.TB
	code string
	tg   *targets
	wh   *standardwebhooks.Webhook
	srv  *http.Server
	ln   net.Listener
	addr string

	down      atomic.Bool  // answer 503 (an outage)
	attempts  atomic.Int64 // every request, including refused ones
	refused   atomic.Int64 // requests answered 503 while down
	badSig    atomic.Int64
	answerErr atomic.Int64 // answers lienthong refused or that gave up
	answered  atomic.Int64

	mu        sync.Mutex
	bodies    map[string][32]byte   // event id -> body hash
	dups      int                   // deliveries of an id already seen
	conflicts []string              // ids delivered with two different bodies
	order     map[string][]received // dossier -> first deliveries, in order
	stepIDs   map[string][]string   // dossier/step -> distinct ids assigning it
	ansErrs   []string

	answers sync.WaitGroup
	sem     chan struct{}
	stop    context.Context
	cancel  context.CancelFunc
}

// newSimAgency starts a simulated agency on a free loopback port.
func newSimAgency(t testing.TB, code string, tg *targets) *simAgency {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(simSecrets[code])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &simAgency{t: t, code: code, tg: tg, wh: wh, bodies: map[string][32]byte{},
		order: map[string][]received{}, stepIDs: map[string][]string{}, sem: make(chan struct{}, 32),
		stop: ctx, cancel: cancel}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = ln.Addr().String()
	a.serve(ln)
	t.Cleanup(func() {
		a.cancel()
		a.close()
		a.answers.Wait()
	})
	return a
}

func (a *simAgency) url() string { return "http://" + a.addr + "/events" }

func (a *simAgency) serve(ln net.Listener) {
	a.mu.Lock()
	a.ln = ln
	a.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(a.handle)}
	srv := a.srv
	a.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// close stops the server: lienthong's deliveries get connection refused.
func (a *simAgency) close() {
	a.mu.Lock()
	srv := a.srv
	a.srv = nil
	a.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// reopen listens again on the same port after close.
func (a *simAgency) reopen() error {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", a.addr); err == nil {
			a.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (a *simAgency) handle(w http.ResponseWriter, r *http.Request) {
	a.attempts.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if a.down.Load() {
		a.refused.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := a.wh.Verify(body, r.Header); err != nil {
		a.badSig.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev event.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var d struct {
		Step json.RawMessage `json:"step"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	step := stepIDOf(d.Step)
	sum := sha256.Sum256(body)

	a.mu.Lock()
	prev, seen := a.bodies[ev.ID]
	if seen {
		a.dups++
		if prev != sum {
			a.conflicts = append(a.conflicts, ev.ID)
		}
	} else {
		a.bodies[ev.ID] = sum
		a.order[ev.Subject] = append(a.order[ev.Subject], received{id: ev.ID, typ: ev.Type, step: step})
		if ev.Type == event.Assigned {
			k := ev.Subject + "/" + step
			a.stepIDs[k] = append(a.stepIDs[k], ev.ID)
		}
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)

	if ev.Type == event.Assigned && !seen {
		a.answers.Add(1)
		go func() {
			defer a.answers.Done()
			a.sem <- struct{}{}
			defer func() { <-a.sem }()
			a.complete(ev, step)
		}()
	}
}

// stepIDOf reads `step` as {id: ...} (assigned) or a plain string.
func stepIDOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.ID
}

// complete posts the step's result; the id and body are derived from the
// assignment, so a retry is a duplicate (200), never a new event.
func (a *simAgency) complete(assigned event.Event, step string) {
	ev := stepEvent(a.code, event.StepCompleted, "done-"+assigned.ID, assigned.Subject, map[string]any{
		"step": step, "outputs": map[string]any{"result": "ok", "by": a.code}, "documents": []any{},
	})
	_, err := postRetry(a.stop, a.tg, a.code, mustJSON(ev), 60*time.Second)
	if err != nil {
		a.answerErr.Add(1)
		a.mu.Lock()
		if len(a.ansErrs) < 5 {
			a.ansErrs = append(a.ansErrs, assigned.Subject+"/"+step+": "+err.Error())
		}
		a.mu.Unlock()
		return
	}
	a.answered.Add(1)
}

// unique is the number of distinct event ids delivered.
func (a *simAgency) unique() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.bodies)
}

// assignedFor counts distinct assignments of step delivered.
func (a *simAgency) assignedFor(step string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k := range a.stepIDs {
		if strings.HasSuffix(k, "/"+step) {
			n++
		}
	}
	return n
}

// deliveryReport checks what the agencies received for the dossiers in
// codes against the route (VPDK: verify and certificate; THUE: tax) and
// returns counts; it reports every loss, conflict and double assignment.
type deliveryReport struct {
	expected, delivered, lost, dups, conflicts, doubled int
	other                                               int // events of types the route does not send them
	examples                                            []string
}

func checkDeliveries(codes []string, vpdk, thue *simAgency, skipStep func(code, step string) bool) deliveryReport {
	var r deliveryReport
	check := func(a *simAgency, steps ...string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		r.dups += a.dups
		r.conflicts += len(a.conflicts)
		for c, evs := range a.order {
			for _, e := range evs {
				if e.typ != event.Assigned {
					r.other++
					if len(r.examples) < 8 {
						r.examples = append(r.examples, fmt.Sprintf("unexpected %s %s at %s (id %s)", e.typ, c, a.code, e.id))
					}
				}
			}
		}
		for _, id := range a.conflicts {
			if len(r.examples) < 8 {
				r.examples = append(r.examples, "conflict "+a.code+" "+id)
			}
		}
		for _, c := range codes {
			for _, s := range steps {
				if skipStep != nil && skipStep(c, s) {
					continue
				}
				r.expected++
				ids := a.stepIDs[c+"/"+s]
				switch {
				case len(ids) == 0:
					r.lost++
					if len(r.examples) < 8 {
						r.examples = append(r.examples, "lost "+a.code+" "+c+"/"+s)
					}
				case len(ids) > 1:
					r.doubled++
					if len(r.examples) < 8 {
						r.examples = append(r.examples, fmt.Sprintf("%s %s/%s assigned under %d ids %v", a.code, c, s, len(ids), ids))
					}
				}
				if len(ids) > 0 {
					r.delivered++
				}
			}
		}
	}
	check(vpdk, "verify", "certificate")
	check(thue, "tax")
	return r
}

func (r deliveryReport) failed() bool {
	return r.lost > 0 || r.conflicts > 0 || r.doubled > 0 || r.other > 0
}

// statusesOf lists every dossier's status as the admin sees it, through
// whichever target answers.
func statusesOf(ctx context.Context, tg *targets) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tg.pick()+"/v1/dossiers?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tokens["admin"])
		resp, err := failClient.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items []struct {
				Code   string `json:"code"`
				Status string `json:"status"`
			} `json:"items"`
			Next string `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("list dossiers: %d %v", resp.StatusCode, err)
		}
		for _, it := range page.Items {
			out[it.Code] = it.Status
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

// dossierStatus reads one dossier with GET /v1/dossiers/{code}.
func dossierStatus(ctx context.Context, tg *targets, code string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tg.pick()+"/v1/dossiers/"+code, nil)
	req.Header.Set("Authorization", "Bearer "+tokens["admin"])
	resp, err := failClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var d struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("http-%d", resp.StatusCode), nil
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return "", err
	}
	return d.Status, nil
}

// waitStatuses polls the tracking list until every code has its wanted
// status (want(code)) or the deadline passes, then confirms each dossier
// with GET /v1/dossiers/{code}. It returns the final statuses and a count
// per status.
func waitStatuses(t testing.TB, tg *targets, codes []string, want func(code string) string, within time.Duration) (map[string]string, map[string]int, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var st map[string]string
	for {
		s, err := statusesOf(ctx, tg)
		if err == nil {
			st = s
			done := true
			for _, c := range codes {
				if st[c] != want(c) {
					done = false
					break
				}
			}
			if done {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The final word per dossier, from the dossier endpoint itself.
	final := make(map[string]string, len(codes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan string)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				s, err := dossierStatus(context.Background(), tg, c)
				if err != nil {
					s = "error: " + err.Error()
				}
				mu.Lock()
				final[c] = s
				mu.Unlock()
			}
		}()
	}
	for _, c := range codes {
		ch <- c
	}
	close(ch)
	wg.Wait()
	counts := map[string]int{}
	ok := true
	for _, c := range codes {
		s := final[c]
		if s == "" {
			s = "unknown"
		}
		counts[s]++
		if s != want(c) {
			ok = false
		}
	}
	return final, counts, ok
}

// mismatches returns up to n codes whose status is not the wanted one.
func mismatches(final map[string]string, codes []string, want func(string) string, n int) []string {
	var out []string
	for _, c := range codes {
		if final[c] != want(c) {
			out = append(out, c+"="+final[c])
			if len(out) == n {
				break
			}
		}
	}
	return out
}

func allResultReady(string) string { return "result_ready" }

// summary is the one-line account every failure test prints.
func summary(name string, ls *loadStats, r deliveryReport, counts map[string]int, extra string) string {
	return fmt.Sprintf("%s: accepted=%d (202=%d, 200 dup=%d, client gave up=%d) delivered=%d/%d lost=%d duplicated=%d conflicts=%d double-assigned=%d unexpected=%d final=%v %s",
		name, len(ls.codes()), ls.accepted202.Load(), ls.dup200.Load(), ls.failed.Load(), r.delivered, r.expected, r.lost, r.dups, r.conflicts, r.doubled, r.other, counts, extra)
}

// verdict fails the test on any loss, conflict, double assignment, wrong
// final status, failed submission or an answer lienthong did not take.
func verdict(t *testing.T, ls *loadStats, r deliveryReport, final map[string]string, codes []string, want func(string) string, statusOK bool, sims ...*simAgency) {
	t.Helper()
	if ls.failed.Load() > 0 {
		t.Errorf("%d submissions never got 202/200: %v", ls.failed.Load(), ls.errs)
	}
	if r.failed() {
		t.Errorf("deliveries: lost=%d conflicts=%d double-assigned=%d unexpected=%d; examples: %v", r.lost, r.conflicts, r.doubled, r.other, r.examples)
	}
	if !statusOK {
		t.Errorf("dossiers not final; examples: %v", mismatches(final, codes, want, 10))
	}
	for _, a := range sims {
		if n := a.badSig.Load(); n > 0 {
			t.Errorf("%s: %d deliveries with a bad signature", a.code, n)
		}
		if n := a.answerErr.Load(); n > 0 {
			a.mu.Lock()
			t.Errorf("%s: %d step answers not taken: %v", a.code, n, a.ansErrs)
			a.mu.Unlock()
		}
	}
}

// waitFor polls cond until it holds or within passes.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func fmtExtra(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// notable returns the warning and error lines of a process's log (at most
// 40), for a failure's diagnosis.
func notable(p *proc) string {
	var out []string
	for _, l := range p.Lines() {
		if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
			out = append(out, l)
		}
	}
	if len(out) > 40 {
		out = append(out[:20], append([]string{"..."}, out[len(out)-20:]...)...)
	}
	return strings.Join(out, "\n")
}

// dossierDetail returns the tracking body of one dossier (for a failure's
// diagnosis), without its timeline's data.
func dossierDetail(tg *targets, code string) string {
	req, _ := http.NewRequest(http.MethodGet, tg.pick()+"/v1/dossiers/"+code, nil)
	req.Header.Set("Authorization", "Bearer "+tokens["admin"])
	resp, err := failClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var d struct {
		Status string            `json:"status"`
		Steps  []json.RawMessage `json:"steps"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(raw, &d) != nil {
		return string(raw)
	}
	parts := []string{"status=" + d.Status}
	for _, s := range d.Steps {
		parts = append(parts, string(s))
	}
	return strings.Join(parts, " ")
}

// diagnose logs what a failed run needs: one stuck dossier's steps and the
// processes' warnings.
func diagnose(t *testing.T, tg *targets, final map[string]string, codes []string, want func(string) string, procs map[string]*proc) {
	t.Helper()
	if m := mismatches(final, codes, want, 1); len(m) > 0 {
		code := strings.SplitN(m[0], "=", 2)[0]
		t.Logf("stuck dossier %s: %s", code, dossierDetail(tg, code))
	}
	for name, p := range procs {
		t.Logf("%s log (warnings and errors):\n%s", name, notable(p))
		// The whole log, when asked for (LIENTHONG_FAILURE_LOGDIR=dir).
		if dir := os.Getenv("LIENTHONG_FAILURE_LOGDIR"); dir != "" {
			path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()+"-"+name)+".log")
			if err := os.WriteFile(path, []byte(strings.Join(p.Lines(), "\n")+"\n"), 0o644); err == nil {
				t.Logf("%s log written to %s", name, path)
			}
		}
	}
}
