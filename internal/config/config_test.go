package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/calendar"
)

func hashHex(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// base is a valid config; the bad cases edit it.
var base = `listen: ":8080"
data_dir: "/tmp/lienthong-test"
admin_token_sha256: "` + hashHex("admin") + `"
kafka:
  brokers: []
  partitions: 3
calendar:
  timezone: "Asia/Ho_Chi_Minh"
  holidays: ["2026-04-30", "2026-05-01"]
agencies:
  - code: HCC
    name: "Trung tâm HCC"
    receiver: true
    token_sha256: "` + hashHex("t-hcc") + `"
    delivery: { mode: pull }
  - code: VPDK
    name: "Văn phòng Đăng ký đất đai"
    token_sha256: "` + hashHex("t-vpdk") + `"
    delivery:
      mode: webhook
      url: "http://127.0.0.1:9101/events"
      secret_env: VPDK_SECRET
  - code: THUE
    name: "Chi cục Thuế"
    token_sha256: "` + hashHex("t-thue") + `"
procedures:
  - code: "1.004227"
    name: "Đăng ký biến động"
    deadline: 10d
    receivers: [HCC]
    steps:
      - { id: verify, name: "Thẩm định", agency: VPDK, deadline: 5d }
      - { id: tax, agency: THUE, deadline: 3d, after: [verify] }
      - { id: certificate, agency: VPDK, deadline: 2d, after: [tax] }
`

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

var baseEnv = map[string]string{"VPDK_SECRET": DevWebhookSecret("VPDK"), "KAFKA_PW": "pw"}

func TestBaseIsValid(t *testing.T) {
	c, err := ParseWith([]byte(base), "base.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := c.Agency("VPDK")
	if v.Delivery.Secret != DevWebhookSecret("VPDK") {
		t.Errorf("secret not resolved")
	}
	th, _ := c.Agency("THUE")
	if th.Delivery.Mode != ModePull || th.Delivery.MaxAttempts != 10 || th.Delivery.Timeout.Duration != 10*time.Second ||
		th.Delivery.MinBackoff.Duration != 500*time.Millisecond || th.Delivery.MaxBackoff.Duration != 5*time.Minute || th.Delivery.Concurrency != 16 {
		t.Errorf("delivery defaults: %+v", th.Delivery)
	}
	if c.Kafka.Partitions != 3 || c.Kafka.ReplicationFactor != 1 || c.Kafka.TopicPrefix != "lienthong." || c.Kafka.EmbeddedListen != "127.0.0.1:9092" {
		t.Errorf("kafka: %+v", c.Kafka)
	}
	if h := c.HTTP; h.MaxBodyBytes != 1<<20 || h.WriteTimeout.Duration != 60*time.Second || h.ReadHeaderTimeout.Duration != 5*time.Second ||
		h.ReadTimeout.Duration != 30*time.Second || h.IdleTimeout.Duration != 120*time.Second || h.MaxHeaderBytes != 64<<10 {
		t.Errorf("http defaults: %+v", h)
	}
	if got := c.Calendar.Workdays; !reflect.DeepEqual(got, calendar.DefaultWorkdays) {
		t.Errorf("workdays default %v", got)
	}
	p, _ := c.Procedure("1.004227")
	if s, ok := p.Step("tax"); !ok || s.Name != "tax" || s.Deadline != (calendar.Span{Days: 3}) {
		t.Errorf("step tax = %+v (name defaults to id)", s)
	}
	// The calendar is compiled with the holidays.
	wed := time.Date(2026, 4, 29, 9, 0, 0, 0, c.Cal().Location())
	if due := c.Cal().Due(wed, calendar.Span{Days: 1}); due.Day() != 4 || due.Month() != time.May {
		t.Errorf("calendar ignores holidays: %s", due)
	}
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		name  string
		edits []string // old, new pairs applied to base
		env   map[string]string
		paths []string // exactly the problem paths expected
		msg   string   // in the first problem's message
	}{
		{name: "unknown top-level field", edits: []string{`listen: ":8080"`, "listen: \":8080\"\nlisten_addr: x"}, paths: []string{"listen_addr"}, msg: "unknown field"},
		{name: "unknown nested field", edits: []string{`{ mode: pull }`, `{ mode: pull, urll: x }`}, paths: []string{"agencies[0].delivery.urll"}, msg: "known fields here: mode, url"},
		{name: "unknown step field", edits: []string{`deadline: 5d }`, `deadline: 5d, agnecy: X }`}, paths: []string{"procedures[0].steps[0].agnecy"}},
		{name: "duplicate key", edits: []string{`  partitions: 3`, "  partitions: 3\n  partitions: 4"}, paths: []string{"kafka.partitions"}, msg: "duplicate key (first on line 6)"},
		{name: "wrong type, no follow-up", edits: []string{`partitions: 3`, `partitions: many`}, paths: []string{"kafka.partitions"}, msg: `want an integer, got "many"`},
		{name: "scalar for a list", edits: []string{`receivers: [HCC]`, `receivers: HCC`}, paths: []string{"procedures[0].receivers"}, msg: "want a list"},
		{name: "bad listen", edits: []string{`listen: ":8080"`, `listen: "8080"`}, paths: []string{"listen"}},
		{name: "missing agency name", edits: []string{`    name: "Chi cục Thuế"` + "\n", ``}, paths: []string{"agencies[2].name"}, msg: "required"},
		{name: "bad agency code", edits: []string{`code: THUE`, `code: thue`}, paths: []string{"agencies[2].code", "procedures[0].steps[1].agency"}},
		{name: "duplicate agency code", edits: []string{`code: THUE`, `code: VPDK`}, paths: []string{"agencies[2].code", "procedures[0].steps[1].agency"}, msg: "duplicate agency code \"VPDK\" (also agencies[1])"},
		{name: "bad procedure code", edits: []string{`"1.004227"`, `"1004227"`}, paths: []string{"procedures[0].code"}},
		{name: "duplicate procedure code", edits: []string{"", "  - { code: \"1.004227\", name: x, deadline: 1d, steps: [{ id: a, agency: HCC, deadline: 1d }] }\n"}, paths: []string{"procedures[1].code"}, msg: "duplicate procedure code"},
		{name: "missing procedure deadline", edits: []string{"    deadline: 10d\n", ""}, paths: []string{"procedures[0].deadline"}},
		{name: "bad deadline", edits: []string{`deadline: 10d`, `deadline: 10 days`}, paths: []string{"procedures[0].deadline"}, msg: `unknown unit`},
		{name: "zero deadline", edits: []string{`deadline: 3d`, `deadline: 0d`}, paths: []string{"procedures[0].steps[1].deadline"}, msg: "more than zero"},
		{name: "duplicate step id", edits: []string{`id: certificate`, `id: verify`}, paths: []string{"procedures[0].steps[2].id"}, msg: "duplicate step id"},
		{name: "unknown agency in step", edits: []string{`agency: THUE`, `agency: TAX`}, paths: []string{"procedures[0].steps[1].agency"}, msg: `unknown agency "TAX"`},
		{name: "unknown step in after", edits: []string{`after: [verify]`, `after: [verfy]`}, paths: []string{"procedures[0].steps[1].after[0]"}, msg: `unknown step "verfy"`},
		{name: "step after itself", edits: []string{`after: [verify]`, `after: [tax]`}, paths: []string{"procedures[0].steps[1].after[0]"}},
		{name: "unknown form version", edits: []string{"receivers: [HCC]\n", "receivers: [HCC]\n    form_schemas: [\"urn:lienthong:form:1.004227:v5\"]\n"},
			paths: []string{"procedures[0].form_schemas[0]"}, msg: "no form schema urn:lienthong:form:1.004227:v5: known versions: v1"},
		{name: "another procedure's form", edits: []string{"receivers: [HCC]\n", "receivers: [HCC]\n    form_schemas: [\"urn:lienthong:form:1.001193:v1\"]\n"},
			paths: []string{"procedures[0].form_schemas[0]"}, msg: "is a form of 1.001193, not of this procedure"},
		{name: "malformed form URN", edits: []string{"receivers: [HCC]\n", "receivers: [HCC]\n    form_schemas: [\"1.004227 v1\"]\n"},
			paths: []string{"procedures[0].form_schemas[0]"}, msg: "want urn:lienthong:form:"},
		{name: "unknown output schema", edits: []string{`after: [verify] }`, `after: [verify], output_schema: "urn:lienthong:form:tax-notice:v2" }`},
			paths: []string{"procedures[0].steps[1].output_schema"}, msg: "known versions: v1"},
		{name: "unknown payment agency", edits: []string{"receivers: [HCC]\n", "receivers: [HCC]\n    payment_confirmers: [KBNN]\n"},
			paths: []string{"procedures[0].payment_confirmers[0]"}, msg: `unknown agency "KBNN"`},
		{name: "bad supplement deadline", edits: []string{"receivers: [HCC]\n", "receivers: [HCC]\n    supplement_deadline: 7 days\n"},
			paths: []string{"procedures[0].supplement_deadline"}, msg: "unknown unit"},
		{name: "forms_dir missing", edits: []string{`listen: ":8080"`, "listen: \":8080\"\nforms_dir: /nonexistent/forms"}, paths: []string{"forms_dir"}, msg: "no such file"},
		{name: "cycle", edits: []string{`agency: VPDK, deadline: 5d }`, `agency: VPDK, deadline: 5d, after: [certificate] }`}, paths: []string{"procedures[0].steps[0].after"}, msg: "cycle in after: verify -> tax -> certificate -> verify"},
		{name: "receiver unknown", edits: []string{`receivers: [HCC]`, `receivers: [HCC, XX]`}, paths: []string{"procedures[0].receivers[1]"}},
		{name: "receiver not a receiver", edits: []string{`receivers: [HCC]`, `receivers: [HCC, VPDK]`}, paths: []string{"procedures[0].receivers[1]"}, msg: "not a receiver"},
		{name: "no receiver at all", edits: []string{`receiver: true`, `receiver: false`}, paths: []string{"agencies", "procedures[0].receivers[0]"}},
		{name: "bad token hash", edits: []string{hashHex("t-thue"), "abc"}, paths: []string{"agencies[2].token_sha256"}, msg: "64 hex digits"},
		{name: "token hash not hex", edits: []string{hashHex("t-thue"), strings.Repeat("z", 64)}, paths: []string{"agencies[2].token_sha256"}},
		{name: "bad admin hash", edits: []string{hashHex("admin"), "nothex"}, paths: []string{"admin_token_sha256"}},
		{name: "token shared by two agencies", edits: []string{hashHex("t-thue"), hashHex("t-vpdk")}, paths: []string{"agencies[2].token_sha256"}, msg: "same token as agencies[1]"},
		{name: "agency token is the admin's", edits: []string{hashHex("t-thue"), hashHex("admin")}, paths: []string{"agencies[2].token_sha256"}, msg: "admin_token_sha256"},
		{name: "bad delivery mode", edits: []string{`mode: pull`, `mode: push`}, paths: []string{"agencies[0].delivery.mode"}},
		{name: "webhook without url", edits: []string{"      url: \"http://127.0.0.1:9101/events\"\n", ""}, paths: []string{"agencies[1].delivery.url"}},
		{name: "webhook bad url", edits: []string{`http://127.0.0.1:9101/events`, `ftp://127.0.0.1/events`}, paths: []string{"agencies[1].delivery.url"}},
		{name: "webhook without secret_env", edits: []string{"      secret_env: VPDK_SECRET\n", ""}, paths: []string{"agencies[1].delivery.secret_env"}, msg: "required"},
		{name: "secret env not set", env: map[string]string{}, paths: []string{"agencies[1].delivery.secret_env"}, msg: "environment variable VPDK_SECRET is not set"},
		{name: "secret without whsec_", env: map[string]string{"VPDK_SECRET": "hunter2hunter2hunter2"}, paths: []string{"agencies[1].delivery.secret_env"}, msg: "whsec_"},
		{name: "secret not base64", env: map[string]string{"VPDK_SECRET": "whsec_!!!notbase64"}, paths: []string{"agencies[1].delivery.secret_env"}, msg: "base64"},
		{name: "secret too short", env: map[string]string{"VPDK_SECRET": "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))}, paths: []string{"agencies[1].delivery.secret_env"}, msg: "5 bytes"},
		{name: "bad duration", edits: []string{"secret_env: VPDK_SECRET", "secret_env: VPDK_SECRET\n      timeout: 10"}, paths: []string{"agencies[1].delivery.timeout"}, msg: "not a duration"},
		{name: "max_backoff below min", edits: []string{"secret_env: VPDK_SECRET", "secret_env: VPDK_SECRET\n      min_backoff: 1m\n      max_backoff: 1s"}, paths: []string{"agencies[1].delivery.max_backoff"}},
		{name: "zero max_attempts", edits: []string{"secret_env: VPDK_SECRET", "secret_env: VPDK_SECRET\n      max_attempts: 0"}, paths: []string{"agencies[1].delivery.max_attempts"}},
		{name: "partitions zero", edits: []string{`partitions: 3`, `partitions: 0`}, paths: []string{"kafka.partitions"}},
		{name: "replication zero", edits: []string{`partitions: 3`, "partitions: 3\n  replication_factor: 0"}, paths: []string{"kafka.replication_factor"}},
		{name: "replication on the embedded broker", edits: []string{`partitions: 3`, "partitions: 3\n  replication_factor: 3"}, paths: []string{"kafka.replication_factor"}, msg: "embedded"},
		{name: "bad broker address", edits: []string{`brokers: []`, `brokers: ["kafka1:9092", "kafka2"]`}, paths: []string{"kafka.brokers[1]"}},
		{name: "sasl mechanism", edits: []string{`partitions: 3`, "partitions: 3\n  sasl: { mechanism: GSSAPI, username: u, password_env: KAFKA_PW }"}, paths: []string{"kafka.sasl.mechanism"}},
		{name: "sasl without password_env", edits: []string{`partitions: 3`, "partitions: 3\n  sasl: { mechanism: PLAIN, username: u }"}, paths: []string{"kafka.sasl.password_env"}},
		{name: "sasl password not set", edits: []string{`partitions: 3`, "partitions: 3\n  sasl: { mechanism: SCRAM-SHA-512, username: u, password_env: NOPE }"}, paths: []string{"kafka.sasl.password_env"}, msg: "NOPE is not set"},
		{name: "kafka tls file missing", edits: []string{`partitions: 3`, "partitions: 3\n  tls: { enabled: true, ca_file: /nonexistent/ca.pem }"}, paths: []string{"kafka.tls.ca_file"}, msg: "does not exist"},
		{name: "http tls key missing", edits: []string{`partitions: 3`, "partitions: 3\nhttp:\n  tls: { cert_file: " + os.Args[0] + " }"}, paths: []string{"http.tls.key_file"}},
		{name: "write timeout below long poll", edits: []string{`partitions: 3`, "partitions: 3\nhttp: { write_timeout: 10s }"}, paths: []string{"http.write_timeout"}},
		{name: "bad timezone", edits: []string{`Asia/Ho_Chi_Minh`, `Asia/Saigon City`}, paths: []string{"calendar.timezone"}},
		{name: "bad workday", edits: []string{`  holidays:`, "  workdays: [mon, tues]\n  holidays:"}, paths: []string{"calendar.workdays[1]"}},
		{name: "overlapping office hours", edits: []string{`  holidays:`, "  office_hours: [\"08:00-12:00\", \"11:30-17:00\"]\n  holidays:"}, paths: []string{"calendar.office_hours[1]"}},
		{name: "bad holiday", edits: []string{`"2026-05-01"`, `"2026-05-32"`}, paths: []string{"calendar.holidays[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := base
			for i := 0; i < len(tt.edits); i += 2 {
				if tt.edits[i] == "" {
					doc += tt.edits[i+1]
					continue
				}
				if !strings.Contains(doc, tt.edits[i]) {
					t.Fatalf("edit %q does not apply", tt.edits[i])
				}
				doc = strings.Replace(doc, tt.edits[i], tt.edits[i+1], 1)
			}
			env := baseEnv
			if tt.env != nil {
				env = tt.env
			}
			_, err := ParseWith([]byte(doc), "bad.yaml", envOf(env))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
				if p.Line == 0 {
					t.Errorf("problem without a line: %v", p)
				}
			}
			if !reflect.DeepEqual(paths, tt.paths) {
				t.Fatalf("problems at %q, want %q\n%v", paths, tt.paths, err)
			}
			if !strings.Contains(ve.Problems[0].Message, tt.msg) {
				t.Errorf("message %q does not say %q", ve.Problems[0].Message, tt.msg)
			}
			if v := env["VPDK_SECRET"]; v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("error shows the secret value: %v", err)
			}
		})
	}
}

func TestAllProblemsInDocumentOrder(t *testing.T) {
	doc := `listen: nowhere
bogus: 1
kafka: { partitions: 0, colour: red }
agencies:
  - { code: hcc, name: "", receiver: true, token_sha256: "xyz", delivery: { mode: webhook } }
procedures:
  - code: "1.2"
    name: P
    deadline: 5x
    steps:
      - { id: a, agency: NOPE, deadline: 1d, after: [c] }
      - { id: b, agency: NOPE, deadline: 1d, after: [a] }
      - { id: c, agency: NOPE, deadline: 1d, after: [b] }
`
	_, err := ParseWith([]byte(doc), "many.yaml", envOf(nil))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	want := []struct {
		path string
		line int
	}{
		{"listen", 1},
		{"bogus", 2},
		{"kafka.partitions", 3},
		{"kafka.colour", 3},
		{"agencies[0].code", 5},
		{"agencies[0].name", 5},
		{"agencies[0].token_sha256", 5},
		{"agencies[0].delivery.url", 5},
		{"agencies[0].delivery.secret_env", 5},
		{"procedures[0].deadline", 9},
		{"procedures[0].steps[0].agency", 11},
		{"procedures[0].steps[0].after", 11},
		{"procedures[0].steps[1].agency", 12},
		{"procedures[0].steps[2].agency", 13},
	}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.Path)
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("got %d problems %q\n%v", len(got), got, err)
	}
	for i, w := range want {
		if p := ve.Problems[i]; p.Path != w.path || p.Line != w.line {
			t.Errorf("problem %d = %s (line %d), want %s (line %d)", i, p.Path, p.Line, w.path, w.line)
		}
	}
	// Error() lists every one, one per line, with source and line.
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want)+1 || !strings.Contains(lines[0], "many.yaml") || !strings.Contains(lines[1], "line 1: listen:") {
		t.Errorf("Error() =\n%s", err)
	}
	if !strings.Contains(err.Error(), "cycle in after: a -> b -> c -> a") {
		t.Errorf("cycle not named:\n%s", err)
	}
}

func TestSyntaxAndEmpty(t *testing.T) {
	_, err := Parse([]byte("listen: [\n"), "broken.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != syntaxPath || ve.Problems[0].Line == 0 {
		t.Fatalf("syntax error: %v", err)
	}
	_, err = Parse(nil, "empty.yaml")
	if !errors.As(err, &ve) {
		t.Fatalf("empty: %v", err)
	}
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	if !reflect.DeepEqual(paths, []string{"agencies", "procedures"}) {
		t.Errorf("empty config problems %q", paths)
	}
	_, err = Parse([]byte("- a\n- b\n"), "list.yaml")
	if !errors.As(err, &ve) || !strings.Contains(ve.Problems[0].Message, "want a mapping") {
		t.Errorf("list document: %v", err)
	}
}

func TestExample(t *testing.T) {
	for _, k := range []string{"VPDK_WEBHOOK_SECRET", "THUE_WEBHOOK_SECRET", "TP_WEBHOOK_SECRET", "CA_WEBHOOK_SECRET", "BHXH_WEBHOOK_SECRET"} {
		t.Setenv(k, "") // an empty variable falls back to the dev secret
	}
	c, err := ExampleConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8080" || c.DataDir != "./lienthong-data" || !c.Kafka.Embedded() || c.Kafka.Partitions != 12 {
		t.Errorf("example basics: %q %q %v %d", c.Listen, c.DataDir, c.Kafka.Brokers, c.Kafka.Partitions)
	}
	// Every dev token authenticates as its agency, the admin one as admin.
	toks := ExampleDevTokens()
	if len(toks) != len(c.Agencies)+1 {
		t.Errorf("%d dev tokens for %d agencies", len(toks), len(c.Agencies))
	}
	for code, tok := range toks {
		sum := sha256.Sum256([]byte(tok))
		if code == "admin" {
			if !c.IsAdminTokenHash(sum) {
				t.Errorf("admin dev token is not the admin's")
			}
			if _, ok := c.AgencyByTokenHash(sum); ok {
				t.Errorf("admin token is also an agency's")
			}
			continue
		}
		a, ok := c.AgencyByTokenHash(sum)
		if !ok || a.Code != code {
			t.Errorf("token of %s -> %v, %v", code, a, ok)
		}
		if c.IsAdminTokenHash(sum) {
			t.Errorf("%s token is admin", code)
		}
	}
	for _, a := range c.Agencies {
		if a.Delivery.Mode == ModeWebhook && a.Delivery.Secret != DevWebhookSecret(a.Code) {
			t.Errorf("%s secret %q", a.Code, a.Delivery.Secret)
		}
	}
	land, ok := c.Procedure("1.004227")
	if !ok || land.Deadline != (calendar.Span{Days: 10}) || !reflect.DeepEqual(land.Order(), []string{"verify", "tax", "certificate"}) {
		t.Errorf("land procedure %+v", land)
	}
	birth, ok := c.Procedure("1.001193")
	if !ok {
		t.Fatal("birth procedure missing")
	}
	if got := birth.Roots(); !reflect.DeepEqual(got, []string{"birth"}) {
		t.Errorf("roots %v", got)
	}
	if got := birth.Next("birth"); !reflect.DeepEqual(got, []string{"residence", "insurance"}) {
		t.Errorf("after birth: %v", got)
	}
	if s, _ := birth.Step("birth"); s.Deadline != (calendar.Span{Work: 4 * time.Hour}) || s.Agency != "TP" {
		t.Errorf("birth step %+v", s)
	}
	if !birth.ReceivableBy("HCC") || birth.ReceivableBy("TP") {
		t.Error("ReceivableBy")
	}
	// Holidays of the example: 5d from the Wednesday before 30 April.
	wed := time.Date(2026, 4, 29, 10, 0, 0, 0, c.Cal().Location())
	if due := c.Cal().Due(wed, calendar.Span{Days: 5}); !due.Equal(time.Date(2026, 5, 8, 10, 0, 0, 0, c.Cal().Location())) {
		t.Errorf("example calendar: 5d from %s = %s", wed, due)
	}
	// The copy is a copy.
	ex := Example()
	ex[0] = '!'
	if Example()[0] == '!' {
		t.Error("Example returns the embedded bytes")
	}
}

func TestExampleLookupEnvPrefersRealEnv(t *testing.T) {
	for _, k := range []string{"THUE_WEBHOOK_SECRET", "TP_WEBHOOK_SECRET", "CA_WEBHOOK_SECRET", "BHXH_WEBHOOK_SECRET"} {
		t.Setenv(k, "")
	}
	real := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a real secret of 24 bytes"))
	t.Setenv("VPDK_WEBHOOK_SECRET", real)
	c, err := ExampleConfig()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Agency("VPDK")
	if a.Delivery.Secret != real {
		t.Errorf("secret %q, want the real env's", a.Delivery.Secret)
	}
	if v, ok := ExampleLookupEnv("NOT_AN_EXAMPLE_VAR_XYZ"); ok {
		t.Errorf("unknown var -> %q", v)
	}
	// Parse (real env only) of the example fails on the other secrets.
	_, err = Parse(Example(), "example.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse(example) without secrets: %v", err)
	}
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	want := []string{"agencies[2].delivery.secret_env", "agencies[3].delivery.secret_env", "agencies[4].delivery.secret_env", "agencies[5].delivery.secret_env"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("Parse(example) problems %q, want %q", paths, want)
	}
}

func TestLookups(t *testing.T) {
	c, err := ParseWith([]byte(base), "base.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token string
		want  string // agency code, "" for none
		admin bool
	}{
		{"t-hcc", "HCC", false},
		{"t-vpdk", "VPDK", false},
		{"t-thue", "THUE", false},
		{"admin", "", true},
		{"wrong", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		sum := sha256.Sum256([]byte(tt.token))
		a, ok := c.AgencyByTokenHash(sum)
		if got := ""; ok {
			got = a.Code
			if got != tt.want {
				t.Errorf("token %q -> %s, want %q", tt.token, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("token %q not found, want %s", tt.token, tt.want)
		}
		if c.IsAdminTokenHash(sum) != tt.admin {
			t.Errorf("IsAdminTokenHash(%q) = %v", tt.token, !tt.admin)
		}
	}
	if _, ok := c.Agency("NOPE"); ok {
		t.Error("unknown agency found")
	}
	if _, ok := c.Procedure("9.9"); ok {
		t.Error("unknown procedure found")
	}
	p, _ := c.Procedure("1.004227")
	if _, ok := p.Step("nope"); ok {
		t.Error("unknown step found")
	}

	// Without admin_token_sha256 no hash is the admin's, not even all zeros.
	noAdmin := strings.Replace(base, `admin_token_sha256: "`+hashHex("admin")+`"`, "", 1)
	c2, err := ParseWith([]byte(noAdmin), "base.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	if c2.IsAdminTokenHash([32]byte{}) || c2.IsAdminTokenHash(sha256.Sum256([]byte("admin"))) {
		t.Error("admin without admin_token_sha256")
	}
	// Receivers empty: every receiver agency.
	open := strings.Replace(base, "    receivers: [HCC]\n", "", 1)
	open = strings.Replace(open, "    delivery: { mode: pull }", "    delivery: { mode: pull }\n  - { code: UBND, name: U, receiver: true, token_sha256: \""+hashHex("t-ubnd")+"\" }", 1)
	c3, err := ParseWith([]byte(open), "base.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	p3, _ := c3.Procedure("1.004227")
	for code, want := range map[string]bool{"HCC": true, "UBND": true, "VPDK": false, "NOPE": false} {
		if p3.ReceivableBy(code) != want {
			t.Errorf("ReceivableBy(%s) = %v", code, !want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	doc := strings.Replace(base, "    delivery:\n      mode: webhook\n      url: \"http://127.0.0.1:9101/events\"\n      secret_env: VPDK_SECRET\n", "    delivery: { mode: kafka }\n", 1)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source() != path {
		t.Errorf("source %q", c.Source())
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestHTTPSection(t *testing.T) {
	doc := base + `http:
  max_body_bytes: 2097152
  write_timeout: 45s
  rate_per_second: 2.5
`
	c, err := ParseWith([]byte(doc), "base.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.MaxBodyBytes != 2<<20 || c.HTTP.WriteTimeout.Duration != 45*time.Second || c.HTTP.Burst != 3 || c.HTTP.ReadTimeout.Duration != 30*time.Second {
		t.Errorf("http %+v", c.HTTP)
	}
}
