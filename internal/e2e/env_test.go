// Package e2e holds lienthong's end-to-end tests: the whole process (in
// process, or the real binary as a child process) against a real broker
// over TCP and real HTTP on loopback.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
	"github.com/lienthong/lienthong/internal/testpg"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lienthong-e2e-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "lienthong")
	cmd := exec.Command("go", "build", "-o", binPath, "github.com/lienthong/lienthong/cmd/lienthong")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build lienthong:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func tokenHash(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// Tokens of the test config.
var tokens = map[string]string{
	"HCC":   "tok-hcc-0123456789",
	"UBND":  "tok-ubnd-0123456789",
	"VPDK":  "tok-vpdk-0123456789",
	"THUE":  "tok-thue-0123456789",
	"admin": "tok-admin-0123456789",
}

// testConfig is a config with two receivers (HCC receives the land
// procedure, UBND does not), pull delivery everywhere, the embedded broker
// (or the external one from the environment) and a fresh data dir.
func testConfig(t testing.TB, dataDir string, brokers []string, prefix string) string {
	t.Helper()
	return configYAML(t, dataDir, brokers, prefix, "{ mode: pull }", "{ mode: pull }")
}

// configYAML is the tests' config: the land procedure (VPDK verify -> THUE
// tax -> VPDK certificate) with the given delivery of VPDK and THUE; HCC
// and UBND pull.
func configYAML(t testing.TB, dataDir string, brokers []string, prefix, vpdkDelivery, thueDelivery string) string {
	bl := "[]"
	if len(brokers) > 0 {
		bl = `["` + strings.Join(brokers, `","`) + `"]`
	}
	return fmt.Sprintf(`
listen: "127.0.0.1:0"
data_dir: %q
admin_token_sha256: %q
kafka:
  brokers: %s
  embedded_listen: "127.0.0.1:0"
  topic_prefix: %q
  partitions: 4
  replication_factor: 1
store:
  dsn: %q
calendar:
  timezone: "Asia/Ho_Chi_Minh"
  workdays: [mon, tue, wed, thu, fri]
  office_hours: ["08:00-12:00", "13:30-17:00"]
  holidays: ["2026-04-30", "2026-05-01", "2026-09-02"]
agencies:
  - { code: HCC, name: "Trung tâm HCC", receiver: true, token_sha256: %q, delivery: { mode: pull } }
  - { code: UBND, name: "UBND xã", receiver: true, token_sha256: %q, delivery: { mode: pull } }
  - { code: VPDK, name: "Văn phòng Đăng ký đất đai", token_sha256: %q, delivery: %s }
  - { code: THUE, name: "Chi cục Thuế", token_sha256: %q, delivery: %s }
procedures:
  - code: "1.004227"
    name: "Đăng ký biến động quyền sử dụng đất"
    deadline: 10d
    receivers: [HCC]
    steps:
      - { id: verify, name: "Thẩm định hồ sơ", agency: VPDK, deadline: 5d }
      - { id: tax, name: "Xác định nghĩa vụ tài chính", agency: THUE, deadline: 3d, after: [verify] }
      - { id: certificate, name: "Cấp giấy chứng nhận", agency: VPDK, deadline: 2d, after: [tax] }
`, dataDir, tokenHash(tokens["admin"]), bl, prefix, storeDSN(t, prefix), tokenHash(tokens["HCC"]), tokenHash(tokens["UBND"]),
		tokenHash(tokens["VPDK"]), vpdkDelivery, tokenHash(tokens["THUE"]), thueDelivery)
}

// storeDSN is the tracking store of the deployment with this topic prefix:
// a PostgreSQL database shared by its replicas under make
// test-integration, else "" (each process's SQLite file under data_dir).
func storeDSN(t testing.TB, prefix string) string {
	if !testpg.Enabled() {
		return ""
	}
	return testpg.DSN(t, strings.TrimSuffix(prefix, "."))
}

type env struct {
	base string
	app  *app.App
	bus  *kafkabus.Bus
}

// startApp runs lienthong in-process with the given roles on a fresh broker.
func startApp(t testing.TB, roles ...string) *env {
	t.Helper()
	s := startWith(t, "", nil, nil, nil, roles...)
	return &env{base: s.base, app: s.app, bus: s.app.Bus}
}

// post sends body to /v1/events as agency (token key) with content type ct.
func post(t testing.TB, base, tokenKey, ct string, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if tokenKey != "" {
		tok, ok := tokens[tokenKey]
		if !ok {
			tok = tokenKey
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, resp.Header, out
}

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// submitted returns a valid dossier.submitted event as a JSON object.
func submitted(id, code string) map[string]any {
	return map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          "urn:lienthong:agency:HCC",
		"type":            "dossier.submitted",
		"subject":         code,
		"time":            "2026-03-03T08:15:00+07:00",
		"datacontenttype": "application/json",
		"data": map[string]any{
			"code":        code,
			"procedure":   "1.004227",
			"applicant":   map[string]any{"kind": "citizen", "full_name": "Nguyễn Thị Lan", "id_number": "001190012345", "phone": "0912345678"},
			"documents":   []any{map[string]any{"name": "don-dang-ky.pdf", "url": "https://hcc.example.gov.vn/d/1", "sha256": sha, "size": 20480}},
			"received_at": "2026-03-03T08:10:00+07:00",
			"channel":     "direct",
		},
	}
}

// stepEvent returns an agency event about a step.
func stepEvent(agency, typ, id, code string, data map[string]any) map[string]any {
	return map[string]any{
		"specversion": "1.0",
		"id":          id,
		"source":      "urn:lienthong:agency:" + agency,
		"type":        typ,
		"subject":     code,
		"time":        "2026-03-03T09:00:00+07:00",
		"data":        data,
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// countRecords returns how many records the full topic holds.
func countRecords(t testing.TB, bus *kafkabus.Bus, suffix string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bs, err := bus.Offsets(ctx, bus.Topic(suffix))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range bs {
		n += b.End
	}
	return n
}

func kafkatestBrokers() []string { return kafkatest.Brokers() }

func kafkatestPrefix() string { return kafkatest.Prefix() }
