// Package browsertest drives the operator console in a real browser:
// Debian's chromium, headless, through chromedp, against lienthong started
// in process (what `lienthong serve` runs) on the embedded broker, with
// dossiers posted through the public API as department systems would.
//
// The tests skip when chromium is absent, unless LIENTHONG_TEST_REQUIRE_BROWSER
// is set (CI sets it: a missing browser then fails). scripts/chromium.sh
// installs it. With LIENTHONG_CONSOLE_SCREENSHOTS=1 they also write the
// screenshots of docs/console/.
package browsertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
)

var tokens = map[string]string{
	"HCC":   "tok-console-hcc-0123456789",
	"UBND":  "tok-console-ubnd-0123456789",
	"VPDK":  "tok-console-vpdk-0123456789",
	"THUE":  "tok-console-thue-0123456789",
	"admin": "tok-console-admin-0123456789",
}

func hash(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// The XSS procedure's names come from the config and are copied into each
// dossier's steps: the console must show them as text.
const (
	xssProcName = `<img src=x onerror=alert(1)>Thủ tục thử`
	xssStepName = `Thẩm định <script>alert("xss")</script>`
)

// configYAML: the land procedure (VPDK verify -> THUE tax -> VPDK
// certificate) received at HCC; UBND is a receiver off that route; VPDK is
// delivered by webhook to the test's simulated system (so that a dead letter
// can be made and replayed), the others pull.
func configYAML(dataDir, vpdkURL string) string {
	return fmt.Sprintf(`
listen: "127.0.0.1:0"
data_dir: %q
admin_token_sha256: %q
kafka:
  brokers: []
  embedded_listen: "127.0.0.1:0"
  partitions: 4
calendar:
  timezone: "Asia/Ho_Chi_Minh"
  workdays: [mon, tue, wed, thu, fri]
  office_hours: ["08:00-12:00", "13:30-17:00"]
  holidays: ["2026-04-30", "2026-05-01", "2026-09-02"]
agencies:
  - { code: HCC, name: "Trung tâm Phục vụ hành chính công tỉnh", receiver: true, token_sha256: %q, delivery: { mode: pull } }
  - { code: UBND, name: "UBND xã", receiver: true, token_sha256: %q, delivery: { mode: pull } }
  - code: VPDK
    name: "Văn phòng Đăng ký đất đai"
    token_sha256: %q
    delivery: { mode: webhook, url: %q, secret_env: CONSOLE_TEST_VPDK_SECRET, timeout: 2s, max_attempts: 2, min_backoff: 10ms, max_backoff: 50ms }
  - { code: THUE, name: "Chi cục Thuế", token_sha256: %q, delivery: { mode: pull } }
procedures:
  - code: "1.004227"
    name: "Đăng ký biến động quyền sử dụng đất"
    deadline: 10d
    receivers: [HCC]
    steps:
      - { id: verify, name: "Thẩm định hồ sơ", agency: VPDK, deadline: 5d }
      - { id: tax, name: "Xác định nghĩa vụ tài chính", agency: THUE, deadline: 3d, after: [verify] }
      - { id: certificate, name: "Cấp giấy chứng nhận", agency: VPDK, deadline: 2d, after: [tax] }
  - code: "9.000001"
    name: %q
    deadline: 2d
    receivers: [HCC]
    steps:
      - { id: check, name: %q, agency: VPDK, deadline: 1d }
`, dataDir, hash(tokens["admin"]), hash(tokens["HCC"]), hash(tokens["UBND"]), hash(tokens["VPDK"]), vpdkURL,
		hash(tokens["THUE"]), xssProcName, xssStepName)
}

// agencySim is VPDK's system: it records what it is delivered and answers
// 400 (a permanent failure: dead letter) for the dossiers in fail.
type agencySim struct {
	mu   sync.Mutex
	fail map[string]bool
	got  map[string][]string // dossier -> event types delivered
}

func (s *agencySim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct{ Subject, Type string }
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail[ev.Subject] {
		http.Error(w, "no such land parcel", http.StatusBadRequest)
		return
	}
	s.got[ev.Subject] = append(s.got[ev.Subject], ev.Type)
}

func (s *agencySim) setFail(code string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[code] = on
}

func (s *agencySim) delivered(code, typ string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.got[code] {
		if t == typ {
			return true
		}
	}
	return false
}

type server struct {
	base string
	app  *app.App
	sim  *agencySim
	loc  *time.Location
	hc   *http.Client
}

// startServer runs lienthong in process on the embedded broker and waits
// until it is ready.
func startServer(t testing.TB) *server {
	t.Helper()
	sim := &agencySim{fail: map[string]bool{}, got: map[string][]string{}}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	simSrv := &http.Server{Handler: sim}
	go func() { _ = simSrv.Serve(simLn) }()
	t.Cleanup(func() { simSrv.Close() })
	secret := sha256.Sum256([]byte("console-test"))
	t.Setenv("CONSOLE_TEST_VPDK_SECRET", "whsec_"+base64.StdEncoding.EncodeToString(secret[:]))
	cfg, err := config.Parse([]byte(configYAML(t.TempDir(), "http://"+simLn.Addr().String()+"/events")), "console-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, app.Options{Listener: ln, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 20*time.Second)
		defer c()
		a.Stop(sctx)
	})
	s := &server{base: "http://" + a.Addr(), app: a, sim: sim, loc: cfg.Cal().Location(), hc: &http.Client{Timeout: 20 * time.Second}}
	deadline := time.Now().Add(30 * time.Second)
	for !a.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("lienthong not ready after 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// code returns a dossier code of HCC received today (day "" ) or on day
// (YYYYMMDD).
func (s *server) code(day string, n int) string {
	if day == "" {
		day = time.Now().In(s.loc).Format("20060102")
	}
	return fmt.Sprintf("HCC-%s-%04d", day, n)
}

func event(agency, typ, id, code string, data map[string]any) map[string]any {
	return map[string]any{"specversion": "1.0", "id": id, "source": "urn:lienthong:agency:" + agency, "type": typ,
		"subject": code, "time": time.Now().Add(-time.Second).Format(time.RFC3339), "datacontenttype": "application/json", "data": data}
}

func submitted(code, procedure string, receivedAt time.Time) map[string]any {
	return event("HCC", "dossier.submitted", "sub-"+code, code, map[string]any{
		"code": code, "procedure": procedure,
		"applicant":   map[string]any{"kind": "citizen", "full_name": "Nguyễn Thị Lan", "id_number": "001190012345"},
		"documents":   []any{map[string]any{"name": "don-dang-ky.pdf", "url": "https://hcc.example.gov.vn/d/" + code, "sha256": strings.Repeat("ab", 32)}},
		"received_at": receivedAt.Format(time.RFC3339), "channel": "direct",
	})
}

func completed(agency, code, step string) map[string]any {
	return event(agency, "dossier.step.completed", "done-"+step+"-"+code, code, map[string]any{"step": step, "outputs": map[string]any{"result": "ok"}, "documents": []any{}})
}

// post sends events (one, or a batch) as agency and wants 2xx.
func (s *server) post(t testing.TB, agency string, evs ...map[string]any) {
	t.Helper()
	var body []byte
	ct := "application/cloudevents+json"
	if len(evs) == 1 {
		body, _ = json.Marshal(evs[0])
	} else {
		body, _ = json.Marshal(evs)
		ct = "application/cloudevents-batch+json"
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+tokens[agency])
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("POST as %s: %d %s", agency, resp.StatusCode, raw)
	}
}

// dossier reads one dossier through the API as admin.
func (s *server) dossier(code string) (map[string]any, int) {
	req, _ := http.NewRequest(http.MethodGet, s.base+"/v1/dossiers/"+code, nil)
	req.Header.Set("Authorization", "Bearer "+tokens["admin"])
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, 0
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m, resp.StatusCode
}

func stepStatus(d map[string]any, id string) string {
	steps, _ := d["steps"].([]any)
	for _, s := range steps {
		m, _ := s.(map[string]any)
		if m["id"] == id {
			st, _ := m["status"].(string)
			return st
		}
	}
	return ""
}

// waitFor polls the API until cond holds for the dossier.
func (s *server) waitFor(t testing.TB, code, what string, cond func(d map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, status := s.dossier(code)
		if status == 200 && cond(d) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not reached in 30 s (last %d %v)", code, what, status, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) waitStatus(t testing.TB, code, status string) {
	t.Helper()
	s.waitFor(t, code, "status "+status, func(d map[string]any) bool { return d["status"] == status })
}

func (s *server) waitStep(t testing.TB, code, step, status string) {
	t.Helper()
	s.waitFor(t, code, step+" "+status, func(d map[string]any) bool { return stepStatus(d, step) == status })
}

// dlqIDs lists the ids of the dead letters (admin API).
func (s *server) dlqSubjects(t testing.TB) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+"/v1/dlq", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["admin"])
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Items []struct {
			Event struct {
				Subject string `json:"subject"`
			} `json:"event"`
		} `json:"items"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	var out []string
	for _, it := range body.Items {
		out = append(out, it.Event.Subject)
	}
	return out
}

// ---- the browser ----

// chromiumPath finds Debian's chromium, or skips (fails under
// LIENTHONG_TEST_REQUIRE_BROWSER).
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("LIENTHONG_TEST_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not found and LIENTHONG_TEST_REQUIRE_BROWSER is set: run scripts/chromium.sh")
	}
	t.Skip("chromium not found: run scripts/chromium.sh to install it (set LIENTHONG_TEST_REQUIRE_BROWSER=1 to fail instead of skipping)")
	return ""
}

// browser starts a headless chromium with its own empty profile (its own
// cookies: one per user) and returns a chromedp context on its first tab.
func browser(t testing.TB, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		cancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancel()
		acancel()
	})
	return ctx
}

// run runs an action with a timeout.
func run[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what, chromedp.Steps(steps...))
}

// open navigates and returns the page's HTTP status and the text of its
// main element.
func open(t testing.TB, ctx context.Context, u string) (int, string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(c, chromedp.Navigate(u))
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return int(resp.Status), mainText(t, ctx)
}

func mainText(t testing.TB, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, "main text", chromedp.Evaluate[string](`document.querySelector("main") ? document.querySelector("main").innerText : document.body.innerText`))
}

func js[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	return run(t, ctx, expr, chromedp.Evaluate[T](expr))
}

// signIn signs in through the form and waits for the signed-in header.
func signIn(t testing.TB, ctx context.Context, base, who string) {
	t.Helper()
	do(t, ctx, "sign in as "+who,
		chromedp.Navigate(base+"/console/login"),
		chromedp.SendKeys(chromedp.ID("token"), tokens[who]),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("who")),
	)
}

var shotDir = filepath.Join("..", "..", "..", "docs", "console")

// screenshot saves the page as docs/console/<name>.png when
// LIENTHONG_CONSOLE_SCREENSHOTS=1.
func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("LIENTHONG_CONSOLE_SCREENSHOTS") != "1" {
		return
	}
	png := run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(shotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", filepath.Join(shotDir, name+".png"), len(png))
}

// ---- HTTP without a browser ----

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// httpSignIn signs in with a plain HTTP client (cookie jar) and returns it
// with the session's CSRF token.
func httpSignIn(t testing.TB, base, who string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field on the sign-in page:\n%s", body)
	}
	resp, err = c.PostForm(base+"/console/login", url.Values{"csrf": {string(m[1])}, "token": {tokens[who]}, "next": {"/console/dossiers"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`id="who"`)) {
		t.Fatalf("sign in as %s: %d\n%s", who, resp.StatusCode, body)
	}
	m = csrfRE.FindSubmatch(body)
	if m == nil {
		t.Fatal("no session csrf token on the page")
	}
	return c, string(m[1])
}
