package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// The applicant of the dossiers in the personal-data tests: every one of
// these strings is personal data and must never reach a log line or be
// echoed in an error body.
const (
	piiName    = "Nguyễn Thị Bí Mật"
	piiID      = "079123456789"
	piiPhone   = "0987654321"
	piiEmail   = "bimat.nguyen@example.vn"
	piiAddress = "12 ngõ Bí Mật, phường Bến Nghé"
	piiBadID   = "07912345678" // 11 digits: invalid; also a prefix of piiID
	piiBadMail = "bimat.nguyen.example.vn"
	piiBadTel  = "09-BIMAT-4321"
)

// piiNeedles are searched for in logs and bodies, raw and as JSON escapes.
var piiNeedles = []string{piiName, "Bí Mật", `B\u00ed M\u1eadt`, piiID, piiBadID, piiPhone, piiEmail, piiBadMail, piiBadTel, "BIMAT", "bimat"}

func piiSubmitted(id, code string) map[string]any {
	ev := submitted(id, code)
	ev["data"].(map[string]any)["applicant"] = map[string]any{
		"kind": "citizen", "full_name": piiName, "id_number": piiID,
		"phone": piiPhone, "email": piiEmail, "address": piiAddress,
	}
	return ev
}

// secDossierStatus reads a dossier's status as the admin sees it ("" if the
// tracking view does not know it yet).
func secDossierStatus(t testing.TB, c *http.Client, base, code string) (string, []byte) {
	t.Helper()
	st, _, raw := do(t, c, http.MethodGet, base+"/v1/dossiers/"+code, "admin", nil)
	if st == http.StatusNotFound {
		return "", raw
	}
	if st != http.StatusOK {
		t.Fatalf("GET dossier %s: %d %s", code, st, raw)
	}
	var d struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(raw, &d)
	return d.Status, raw
}

func secWaitStatus(t testing.TB, c *http.Client, base, code, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, raw := secDossierStatus(t, c, base, code)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dossier %s status %q, want %q: %s", code, got, want, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// piiFlow runs dossiers full of personal data through every path that
// might log or echo it: acceptance, supplement request and answer, step
// completion, rejections, an event the router refuses, and events that
// fail validation on the personal fields themselves.
func piiFlow(t *testing.T, c *http.Client, base string) {
	accept := func(who string, ev map[string]any) {
		t.Helper()
		st, _, raw := do(t, c, http.MethodPost, base+"/v1/events", who, mustJSON(ev))
		if st != http.StatusAccepted {
			t.Fatalf("%s %v: %d %s", who, ev["type"], st, raw)
		}
	}
	d1, d2 := "HCC-20260303-0501", "HCC-20260303-0502"
	accept("HCC", piiSubmitted("pii-1", d1))
	accept("HCC", piiSubmitted("pii-2", d2))
	secWaitStatus(t, c, base, d1, "processing")
	secWaitStatus(t, c, base, d2, "processing")

	accept("VPDK", stepEvent("VPDK", "dossier.supplement.requested", "pii-3", d1, map[string]any{
		"step": "verify", "reason": "thiếu bản sao CCCD", "missing": []any{"bản sao CCCD"}}))
	secWaitStatus(t, c, base, d1, "awaiting_supplement")
	accept("HCC", stepEvent("HCC", "dossier.supplemented", "pii-4", d1, map[string]any{
		"documents": []any{map[string]any{"name": "cccd.pdf", "url": "https://hcc.example.gov.vn/d/2", "sha256": sha}},
		// Free text may carry personal data too: it must not be logged either.
		"note": "bà " + piiName + " nộp bổ sung, số " + piiID}))
	secWaitStatus(t, c, base, d1, "processing")
	accept("VPDK", stepEvent("VPDK", "dossier.step.completed", "pii-5", d1, map[string]any{
		"step": "verify", "outputs": map[string]any{"so_thua": "12"}}))
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, raw := secDossierStatus(t, c, base, d1)
		if strings.Contains(string(raw), `"id":"tax","name":"Xác định nghĩa vụ tài chính","agency":"THUE","status":"in_progress"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tax step never started: %s", raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	accept("THUE", stepEvent("THUE", "dossier.rejected", "pii-6", d1, map[string]any{"step": "tax", "reason": "hồ sơ không hợp lệ"}))
	accept("VPDK", stepEvent("VPDK", "dossier.rejected", "pii-7", d2, map[string]any{"step": "verify", "reason": "sai thông tin thửa đất"}))
	secWaitStatus(t, c, base, d1, "rejected")
	secWaitStatus(t, c, base, d2, "rejected")

	// The router refuses a step completed on a closed dossier and tells the
	// sender with message.rejected.
	accept("VPDK", stepEvent("VPDK", "dossier.step.completed", "pii-late", d2, map[string]any{"step": "verify"}))
	deadline = time.Now().Add(30 * time.Second)
	for {
		st, _, raw := do(t, c, http.MethodGet, base+"/v1/agencies/VPDK/inbox?wait=1s&limit=1000", "VPDK", nil)
		if st != http.StatusOK {
			t.Fatalf("VPDK inbox: %d %s", st, raw)
		}
		if strings.Contains(string(raw), `"rejected_id":"pii-late"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message.rejected for pii-late: %s", raw)
		}
	}

	// Invalid personal fields: 422 located at the field, value not echoed.
	cases := []struct {
		name, field, value, loc string
	}{
		{"11-digit id_number", "id_number", piiBadID, "/data/applicant/id_number"},
		{"bad email", "email", piiBadMail, "/data/applicant/email"},
		{"bad phone", "phone", piiBadTel, "/data/applicant/phone"},
	}
	for i, cs := range cases {
		ev := piiSubmitted(fmt.Sprintf("pii-bad-%d", i), fmt.Sprintf("HCC-20260303-%04d", 510+i))
		ev["data"].(map[string]any)["applicant"].(map[string]any)[cs.field] = cs.value
		st, h, raw := do(t, c, http.MethodPost, base+"/v1/events", "HCC", mustJSON(ev))
		if st != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d %s", cs.name, st, raw)
		}
		if pt := problemType(t, h, raw); pt != "urn:lienthong:problem:invalid-data" {
			t.Errorf("%s: problem type %q", cs.name, pt)
		}
		if !strings.Contains(string(raw), `"location":"`+cs.loc+`"`) {
			t.Errorf("%s: no error located at %s: %s", cs.name, cs.loc, raw)
		}
		for _, n := range piiNeedles {
			if strings.Contains(string(raw), n) {
				t.Errorf("%s: error body echoes %q: %s", cs.name, n, raw)
			}
		}
	}
	// The same fields in a batch: the value is not echoed either.
	batch := mustJSON([]any{piiSubmitted("pii-b-1", "HCC-20260303-0520"), func() any {
		ev := piiSubmitted("pii-b-2", "HCC-20260303-0521")
		ev["data"].(map[string]any)["applicant"].(map[string]any)["id_number"] = piiBadID
		return ev
	}()})
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(batch))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	req.Header.Set("Authorization", "Bearer "+tokens["HCC"])
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body.String(), piiBadID) {
		t.Errorf("batch with a bad id_number: %d %s", resp.StatusCode, body.String())
	}

	// Tracking names the applicant only while the dossier is open (the
	// slip of Circular 01/2018), and never more: d1 is closed by now, so
	// nothing of its applicant shows, to anyone.
	for _, who := range []string{"HCC", "VPDK", "admin"} {
		st, _, raw := do(t, c, http.MethodGet, base+"/v1/dossiers/"+d1, who, nil)
		if st != http.StatusOK {
			t.Fatalf("GET %s as %s: %d", d1, who, st)
		}
		for _, n := range piiNeedles {
			if strings.Contains(string(raw), n) {
				t.Errorf("tracking as %s shows %q", who, n)
			}
		}
	}
}

// checkLines fails for every log line holding personal data.
func checkLines(t *testing.T, lines []string) {
	t.Helper()
	if len(lines) == 0 {
		t.Fatal("no log lines captured: the check would prove nothing")
	}
	bad := 0
	for _, l := range lines {
		for _, n := range piiNeedles {
			if strings.Contains(l, n) {
				bad++
				if bad <= 10 {
					t.Errorf("log line holds %q: %s", n, l)
				}
			}
		}
	}
	t.Logf("%d log lines checked, %d with personal data", len(lines), bad)
}

// The real binary, every role: no log line carries the applicant's name,
// id_number, phone or email, through acceptance, routing, supplements,
// rejections, a refused event, invalid events and shutdown.
func TestSecurityNoPersonalDataInProcessLogs(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, writeConfig(t, dir, kafkatest.Brokers(), kafkatest.Prefix()))
	piiFlow(t, &http.Client{Timeout: 20 * time.Second}, p.base)
	if _, ok := p.term(20 * time.Second); !ok {
		t.Error("lienthong did not stop within 20s")
	}
	checkLines(t, p.Lines())
}

// lockedBuffer is a log sink safe for the app's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

// The same flow in-process at debug level (the binary logs at info), with
// THUE taking webhooks from a system that answers 503 twice, then 400 with
// the event echoed back: the debug lines (delivery retries, router commits)
// and the dead-letter warning carry no personal data either.
func TestSecurityNoPersonalDataInDebugLogs(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		attempts[r.Header.Get("webhook-id")]++
		n := attempts[r.Header.Get("webhook-id")]
		mu.Unlock()
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body) // a careless system echoes what it got
	}))
	defer hook.Close()
	t.Setenv("THUE_SECRET", "whsec_"+base64.StdEncoding.EncodeToString([]byte("thue-security-test-secret")))
	edit := func(s string) string {
		i := strings.Index(s, "  - { code: THUE,")
		j := i + strings.Index(s[i:], "\n")
		return s[:i] + fmt.Sprintf(`  - { code: THUE, name: "Chi cục Thuế", token_sha256: %q, delivery: { mode: webhook, url: %q, secret_env: THUE_SECRET, timeout: 5s, max_attempts: 5, min_backoff: 20ms, max_backoff: 100ms, concurrency: 4 } }`,
			tokenHash(tokens["THUE"]), hook.URL) + s[j:]
	}
	var sink lockedBuffer
	log := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := startWith(t, "", edit, nil, log)
	piiFlow(t, e.client, e.base)
	// THUE's assignment (which carries the applicant) ends in its
	// dead-letter queue; only the admin may list it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, _, raw := do(t, e.client, http.MethodGet, e.base+"/v1/dlq?agency=THUE", "admin", nil)
		if st != http.StatusOK {
			t.Fatalf("dlq: %d %s", st, raw)
		}
		if strings.Contains(string(raw), `"dossier.assigned"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("THUE's assignment was not dead-lettered: %s", raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, _, _ := do(t, e.client, http.MethodGet, e.base+"/v1/dlq?agency=THUE", "THUE", nil); st != http.StatusForbidden {
		t.Errorf("THUE listing dead letters: %d, want 403", st)
	}
	lines := sink.lines()
	var retried, deadLettered bool
	for _, l := range lines {
		retried = retried || strings.Contains(l, `"delivery: retry"`)
		deadLettered = deadLettered || strings.Contains(l, `"delivery: dead-lettered"`)
	}
	if !retried || !deadLettered {
		t.Errorf("the delivery log paths were not exercised (retry %v, dead-lettered %v)", retried, deadLettered)
	}
	checkLines(t, lines)
}
