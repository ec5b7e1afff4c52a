package main

// The department system against the real lienthong: the binary built from
// the module this one requires, run as a child process (`lienthong serve`
// with a config written here, the embedded broker, SQLite), reached only
// through the public client and the documented webhook format.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/examples/department-system/dept"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

var lienthongBin string

// TestMain builds lienthong as `go install github.com/lienthong/lienthong/cmd/lienthong@<version>`
// would: in the lienthong module with its own go.mod and go.sum (here the
// directory the replace points at). LIENTHONG_BIN names a binary to use
// instead.
func TestMain(m *testing.M) {
	lienthongBin = os.Getenv("LIENTHONG_BIN")
	var tmp string
	if lienthongBin == "" {
		var err error
		if tmp, err = os.MkdirTemp("", "department-system-test"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		lienthongBin = filepath.Join(tmp, "lienthong")
		if err := buildLienthong(lienthongBin); err != nil {
			fmt.Fprintln(os.Stderr, "build lienthong:", err)
			os.RemoveAll(tmp)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

func buildLienthong(out string) error {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/lienthong/lienthong").Output()
	if err != nil {
		return fmt.Errorf("go list -m github.com/lienthong/lienthong: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/lienthong")
	cmd.Dir = strings.TrimSpace(string(dir))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func tokenHash(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// The agencies' tokens and VPDK's webhook secret, fresh for each run.
type secrets struct {
	hcc, vpdk, thue string
	webhook         string // whsec_<base64>
}

func newSecrets() secrets {
	return secrets{
		hcc: "hcc-" + hex.EncodeToString(random(16)), vpdk: "vpdk-" + hex.EncodeToString(random(16)),
		thue: "thue-" + hex.EncodeToString(random(16)), webhook: "whsec_" + base64.StdEncoding.EncodeToString(random(32)),
	}
}

// configYAML is lienthong's config: HCC receives the land procedure (pull),
// VPDK verifies (webhook to webhookURL), THUE sets the tax (pull).
func configYAML(dataDir, webhookURL string, s secrets) string {
	return fmt.Sprintf(`listen: "127.0.0.1:0"
data_dir: %q
kafka:
  brokers: []
  embedded_listen: "127.0.0.1:0"
  partitions: 2
calendar:
  timezone: "Asia/Ho_Chi_Minh"
  workdays: [mon, tue, wed, thu, fri]
  office_hours: ["08:00-12:00", "13:30-17:00"]
  holidays: ["2026-09-01", "2026-09-02", "2027-01-01", "2027-04-30", "2027-05-03", "2027-09-02", "2027-09-03"]
agencies:
  - code: HCC
    name: "Trung tâm Phục vụ hành chính công tỉnh"
    receiver: true
    token_sha256: %q
    delivery: { mode: pull }
  - code: VPDK
    name: "Văn phòng Đăng ký đất đai"
    token_sha256: %q
    delivery:
      mode: webhook
      url: %q
      secret_env: VPDK_WEBHOOK_SECRET
      timeout: 5s
      max_attempts: 20
      min_backoff: 200ms
      max_backoff: 2s
  - code: THUE
    name: "Chi cục Thuế"
    token_sha256: %q
    delivery: { mode: pull }
procedures:
  - code: "1.004227"
    name: "Đăng ký biến động quyền sử dụng đất"
    deadline: 10d
    receivers: [HCC]
    form_schemas: ["urn:lienthong:form:1.004227:v1"]
    steps:
      - { id: verify, name: "Thẩm định hồ sơ", agency: VPDK, deadline: 5d }
      - { id: tax, name: "Xác định nghĩa vụ tài chính", agency: THUE, deadline: 3d, after: [verify] }
`, dataDir, tokenHash(s.hcc), tokenHash(s.vpdk), webhookURL, tokenHash(s.thue))
}

// lockedBuffer collects a process's output for the failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLienthong runs `lienthong serve --config cfg` with env added, reads
// its address from the JSON log line "lienthong serving", waits for
// /readyz, and kills it (SIGKILL) when the test ends.
func startLienthong(t *testing.T, cfg string, env ...string) (base string, logs *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(lienthongBin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	logs = &lockedBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "lienthong serving" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("lienthong's log:\n%s", tail(logs.String(), 60))
		}
	})
	select {
	case a := <-addr:
		base = "http://" + a
	case <-exited:
		t.Fatalf("lienthong exited:\n%s", logs)
	case <-time.After(90 * time.Second):
		t.Fatalf("lienthong did not start:\n%s", logs)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, logs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("lienthong not ready after 90s:\n%s", logs)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sign makes the Standard Webhooks headers of a delivery as docs/ADAPTERS.md
// states them: v1,base64(HMAC-SHA256(key, id.timestamp.body)), key the
// base64-decoded part of the secret after whsec_.
func sign(t *testing.T, secret, id string, at time.Time, body []byte) http.Header {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", event.ContentType)
	h.Set(client.HeaderWebhookID, id)
	h.Set(client.HeaderWebhookTimestamp, ts)
	h.Set(client.HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

func deliver(t *testing.T, url string, h http.Header, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// completions returns the registry's "step completed" log lines for code:
// the completion's event id and whether lienthong saw it before.
func completions(logs string, code string) (ids []string, duplicates []bool) {
	for _, line := range strings.Split(logs, "\n") {
		var rec struct {
			Msg, Dossier, Event string
			Duplicate           bool
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "step completed" && rec.Dossier == code {
			ids = append(ids, rec.Event)
			duplicates = append(duplicates, rec.Duplicate)
		}
	}
	return ids, duplicates
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestDepartmentSystem: the desk (HCC) submits a land dossier through the
// client; lienthong assigns the verify step to the land registration office
// (VPDK), whose program gets it by signed webhook and completes the step;
// the desk tracks the dossier until the tax step (THUE) is in progress. A
// webhook that does not verify gets 401 and changes nothing, a redelivered
// assignment resends the same completion (the first receipt), a bad form is
// a typed problem locating the field, and the commands submit and inbox
// work end to end.
func TestDepartmentSystem(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s := newSecrets()

	// VPDK's webhook listener first: lienthong's config names its URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webhookURL := "http://" + ln.Addr().String() + "/events"
	cfg := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(cfg, []byte(configYAML(filepath.Join(dir, "data"), webhookURL, s)), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := startLienthong(t, cfg, "VPDK_WEBHOOK_SECRET="+s.webhook)

	// The registry, as `department-system registry` runs it.
	vpdkState := filepath.Join(dir, "vpdk")
	regLog := &lockedBuffer{}
	regCtx, stopReg := context.WithCancel(ctx)
	regDone := make(chan int, 1)
	go func() {
		regDone <- run(regCtx, []string{"registry", "-url", base, "-state", vpdkState}, environ{
			Getenv: mapEnv(map[string]string{"LIENTHONG_TOKEN": s.vpdk, "LIENTHONG_WEBHOOK_SECRET": s.webhook}),
			Stdout: regLog, Stderr: regLog,
			Listen: func(string, string) (net.Listener, error) { return ln, nil },
		})
	}()
	t.Cleanup(func() {
		stopReg()
		if rc := <-regDone; rc != 0 {
			t.Errorf("registry exited with %d", rc)
		}
		if t.Failed() {
			t.Logf("the registry's log:\n%s", tail(regLog.String(), 60))
		}
	})

	// The desk submits a land dossier through the client.
	hccState := filepath.Join(dir, "hcc")
	hccClient, err := client.New(client.Config{BaseURL: base, Token: s.hcc, RetryWaitMin: 50 * time.Millisecond, RetryWaitMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	journal, err := dept.OpenJournal(hccState)
	if err != nil {
		t.Fatal(err)
	}
	desk := &dept.Desk{Client: hccClient, Journal: journal, Agency: "HCC"}
	var app dept.Application
	if err := json.Unmarshal(sampleApplication, &app); err != nil {
		t.Fatal(err)
	}
	code, err := desk.NewCode()
	if err != nil {
		t.Fatal(err)
	}
	ev, receipt, err := desk.Submit(ctx, code, app)
	if err != nil {
		t.Fatalf("submit %s: %v", code, err)
	}
	if receipt.ID != ev.ID || receipt.Duplicate || receipt.DueAt == "" || ev.DataSchema != "urn:lienthong:schema:dossier.submitted:v2" {
		t.Fatalf("receipt %+v of %+v", receipt, ev)
	}
	// Submitting the same code again resends the kept event: same id, the
	// first receipt.
	again, receipt2, err := desk.Submit(ctx, code, app)
	if err != nil || again.ID != ev.ID || !receipt2.Duplicate || receipt2.AcceptedAt != receipt.AcceptedAt {
		t.Fatalf("resubmit: %+v %+v %v", again, receipt2, err)
	}

	// VPDK completes verify on its own; the desk tracks until THUE's tax
	// step is in progress.
	var changes []string
	v, err := desk.Track(ctx, code, 100*time.Millisecond, func(v router.DossierView) { changes = append(changes, dept.Summary(v)) }, dept.StepInProgress("tax"))
	if err != nil {
		t.Fatalf("track %s: %v (changes seen: %q)", code, err, changes)
	}
	if v.Status != router.StatusProcessing || len(v.Steps) != 2 || v.Steps[0].ID != "verify" || v.Steps[0].Status != router.StepCompleted ||
		v.Steps[0].Agency != "VPDK" || v.Steps[1].Agency != "THUE" {
		t.Fatalf("slip: %s", dept.Summary(v))
	}
	t.Logf("tracked: %q", changes)
	// The registry logs its receipt once the post returns, which may be a
	// moment after the tracking store shows the step completed.
	waitFor(t, "the registry's completion", 30*time.Second, func() bool { ids, _ := completions(regLog.String(), code); return len(ids) > 0 })
	ids, dups := completions(regLog.String(), code)
	if len(ids) != 1 || dups[0] {
		t.Fatalf("completions logged by the registry: %v %v", ids, dups)
	}
	completedAt := func(v router.DossierView) (n int) {
		for _, e := range v.Timeline {
			if e.Type == event.StepCompleted && e.Source == event.AgencySource("VPDK") {
				n++
			}
		}
		return n
	}
	var assignment string
	for _, e := range v.Timeline {
		if e.Type == event.Assigned && e.Step == "verify" {
			assignment = e.ID
		}
	}
	if completedAt(v) != 1 || assignment == "" {
		t.Fatalf("timeline: %+v", v.Timeline)
	}

	// lienthong delivers at least once: the same assignment again (as the
	// registry stored it, signed anew) makes the registry resend the same
	// completion, which lienthong answers with its first receipt.
	kept, ok, err := mustJournal(t, vpdkState).Load("in." + assignment)
	if err != nil || !ok {
		t.Fatalf("the registry did not keep assignment %s: %v", assignment, err)
	}
	body, _ := json.Marshal(kept)
	if rc := deliver(t, webhookURL, sign(t, s.webhook, kept.ID, time.Now(), body), body); rc != http.StatusNoContent {
		t.Fatalf("redelivered assignment: %d", rc)
	}
	waitFor(t, "the resent completion", 30*time.Second, func() bool { ids, _ := completions(regLog.String(), code); return len(ids) == 2 })
	if ids2, dups2 := completions(regLog.String(), code); ids2[1] != ids[0] || !dups2[1] {
		t.Fatalf("the resent completion: ids %v, duplicate %v", ids2, dups2)
	}

	// Deliveries that do not verify get 401 and are not handled.
	other := "whsec_" + base64.StdEncoding.EncodeToString(random(32))
	forged := sign(t, other, kept.ID, time.Now(), body)
	stale := sign(t, s.webhook, kept.ID, time.Now().Add(-10*time.Minute), body)
	noV1 := sign(t, s.webhook, kept.ID, time.Now(), body)
	noV1.Set(client.HeaderWebhookSignature, "v2,"+base64.StdEncoding.EncodeToString(random(32)))
	tampered := bytes.Replace(body, []byte(code), []byte(code[:len(code)-1]+"9"), 1)
	for name, tc := range map[string]struct {
		h    http.Header
		body []byte
	}{
		"another secret":  {forged, body},
		"old timestamp":   {stale, body},
		"changed body":    {sign(t, s.webhook, kept.ID, time.Now(), body), tampered},
		"no signature":    {http.Header{"Content-Type": {event.ContentType}}, body},
		"no v1 signature": {noV1, body},
	} {
		if rc := deliver(t, webhookURL, tc.h, tc.body); rc != http.StatusUnauthorized {
			t.Errorf("a delivery with %s: %d, want 401", name, rc)
		}
	}
	if ids3, _ := completions(regLog.String(), code); len(ids3) != 2 {
		t.Fatalf("a delivery that does not verify was handled: %v", ids3)
	}

	// A bad form is a typed problem with the field's JSON Pointer; the desk
	// drops the refused event, and the corrected form goes under the same
	// code with a new id.
	bad := app
	bad.Form.Parcel.Purpose = "residential"
	code2, _ := desk.NewCode()
	_, _, err = desk.Submit(ctx, code2, bad)
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity || p.Type != problem.InvalidData.URN() {
		t.Fatalf("a bad form: %v", err)
	}
	found := false
	for _, fe := range p.Errors {
		found = found || fe.Location == "/data/form/parcel/purpose"
	}
	if !found {
		t.Fatalf("a bad form: no error at /data/form/parcel/purpose: %+v", p.Errors)
	}
	fixed, r3, err := desk.Submit(ctx, code2, app)
	if err != nil || r3.Duplicate || fixed.ID == "" {
		t.Fatalf("the corrected form: %+v %v", r3, err)
	}

	// The commands: submit (follows the dossier until it leaves
	// "received"), then inbox from its saved cursor.
	deskEnv := func(out io.Writer) environ {
		return environ{Getenv: mapEnv(map[string]string{"LIENTHONG_URL": base, "LIENTHONG_TOKEN": s.hcc, "DEPT_STATE_DIR": hccState}),
			Stdout: out, Stderr: out, Listen: net.Listen}
	}
	var out bytes.Buffer
	if rc := run(ctx, []string{"submit", "-wait", "60s"}, deskEnv(&out)); rc != 0 || !strings.Contains(out.String(), "processing") {
		t.Fatalf("department-system submit: %d\n%s", rc, out.String())
	}
	t.Logf("department-system submit:\n%s", out.String())
	code3 := strings.Fields(out.String())[1]
	out.Reset()
	if rc := run(ctx, []string{"inbox", "-idle", "2s"}, deskEnv(&out)); rc != 0 {
		t.Fatalf("department-system inbox: %d\n%s", rc, out.String())
	}
	for _, want := range []string{
		"dossier.status.changed " + code + ": received -> processing",
		"dossier.status.changed " + code3 + ": received -> processing",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inbox: no %q in\n%s", want, out.String())
		}
	}
	out.Reset()
	if rc := run(ctx, []string{"inbox", "-idle", "1s"}, deskEnv(&out)); rc != 0 || out.Len() != 0 {
		t.Fatalf("inbox again, from the saved cursor: %d\n%s", rc, out.String())
	}
}

func mustJournal(t *testing.T, dir string) *dept.Journal {
	t.Helper()
	j, err := dept.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
