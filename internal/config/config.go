// Package config reads, checks and serves lienthong's YAML configuration
// (DESIGN.md section 5): listen address, Kafka, the working-time calendar,
// the agencies with their credentials and delivery, and the procedures with
// their step routes.
//
// Parse is strict: unknown keys, wrong types and every rule below are
// reported together, each at its path (procedures[0].steps[2].agency), in a
// *ValidationError, so one run of `lienthong config check` shows everything
// to fix. No plain secret lives in the file: tokens are SHA-256 hashes;
// webhook secrets and the SASL password are read from the environment named
// by secret_env and password_env.
//
// A parsed *Config is read-only and safe for concurrent use.
package config

import (
	"fmt"
	"os"
	"time"

	"github.com/lienthong/lienthong/internal/calendar"
	"github.com/lienthong/lienthong/schemas"
	"go.yaml.in/yaml/v3"
)

// MaxPollWait is the longest long-poll wait of the pull inbox; the HTTP write
// timeout must exceed it.
const MaxPollWait = 30 * time.Second

// Config is the whole configuration file.
type Config struct {
	Listen           string         `yaml:"listen"`
	DataDir          string         `yaml:"data_dir"`
	AdminTokenSHA256 string         `yaml:"admin_token_sha256"`
	HTTP             HTTP           `yaml:"http"`
	Kafka            Kafka          `yaml:"kafka"`
	Store            Store          `yaml:"store"`
	Gateway          GatewayConfig  `yaml:"gateway"`
	Tracing          Tracing        `yaml:"tracing"`
	Calendar         CalendarConfig `yaml:"calendar"`
	Agencies         []Agency       `yaml:"agencies"`
	Procedures       []Procedure    `yaml:"procedures"`
	// FormsDir holds a deployment's own form schemas (*.json, JSON Schema
	// 2020-12, $id urn:lienthong:form:<name>:v<N>), beside the built-in
	// ones; relative to the config file's directory. Empty: built-in only.
	FormsDir string `yaml:"forms_dir"`

	// Derived on Load.
	source     string
	cal        *calendar.Calendar
	schemas    *schemas.Registry
	agencyIdx  map[string]int
	procIdx    map[string]int
	tokenHash  [][32]byte // by agency index
	adminHash  [32]byte
	adminSet   bool
	receiverCt int
}

// HTTP tunes the HTTP server. Every field is optional.
type HTTP struct {
	MaxBodyBytes      int64    `yaml:"max_body_bytes"`      // default 1 MiB
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"` // default 5s
	ReadTimeout       Duration `yaml:"read_timeout"`        // default 30s
	WriteTimeout      Duration `yaml:"write_timeout"`       // default 60s; must exceed MaxPollWait
	IdleTimeout       Duration `yaml:"idle_timeout"`        // default 120s
	MaxHeaderBytes    int      `yaml:"max_header_bytes"`    // default 64 KiB
	RatePerSecond     float64  `yaml:"rate_per_second"`     // per agency; 0 = no limit
	Burst             int      `yaml:"burst"`               // default ceil(rate_per_second) when a rate is set
	TLS               HTTPTLS  `yaml:"tls"`
}

// HTTPTLS serves HTTPS when CertFile and KeyFile are set. With ClientCAFile,
// client certificates signed by that CA are verified; RequireClientCert
// refuses callers without one.
type HTTPTLS struct {
	CertFile          string `yaml:"cert_file"`
	KeyFile           string `yaml:"key_file"`
	ClientCAFile      string `yaml:"client_ca_file"`
	RequireClientCert bool   `yaml:"require_client_cert"`
}

// Enabled reports whether the server speaks HTTPS.
func (t HTTPTLS) Enabled() bool { return t.CertFile != "" }

// Store is the tracking store: dossiers, steps and timelines, kept for
// years. DSN empty: an embedded SQLite file, <data_dir>/lienthong.db;
// postgres://... (or postgresql://...): PostgreSQL. A password does not
// belong in the file: use PGPASSWORD or a .pgpass file (pgx reads both).
type Store struct {
	DSN             string   `yaml:"dsn"`
	MaxOpenConns    int      `yaml:"max_open_conns"`    // 0: SQLite 1 writer, PostgreSQL 10
	MaxIdleConns    int      `yaml:"max_idle_conns"`    // 0: as many as max_open_conns
	ConnMaxLifetime Duration `yaml:"conn_max_lifetime"` // 0: PostgreSQL 30m, SQLite forever
}

// GatewayConfig tunes POST /v1/events.
type GatewayConfig struct {
	// DuplicateWindow is how long an event id is remembered: a retry within
	// it gets the first receipt (default 168h, 7 days). Dossier codes are
	// unique forever, through the store.
	DuplicateWindow Duration `yaml:"duplicate_window"`
	// MaxClockSkew is how far in the future an event's time or a receipt
	// time may lie (default 5m): senders' clocks drift, a year does not.
	MaxClockSkew Duration `yaml:"max_clock_skew"`
}

// Tracing exports OpenTelemetry traces (spans validate and write in the
// gateway, apply in the router, deliver in delivery) over OTLP/HTTP. The
// zero value is off: no exporter runs, and the W3C traceparent is still
// carried from the POST to the webhook. The standard
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// turns it on too; OTEL_SDK_DISABLED=true keeps it off.
type Tracing struct {
	// OTLPEndpoint is the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT:
	// "http://otel-collector:4318" sends to /v1/traces there. Empty: the
	// environment decides.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// ServiceName is the service.name resource attribute; default
	// "lienthong" (OTEL_SERVICE_NAME overrides it).
	ServiceName string `yaml:"service_name"`
}

// Kafka is the broker connection. Without Brokers, lienthong starts its
// embedded broker on EmbeddedListen.
type Kafka struct {
	Brokers           []string `yaml:"brokers"`
	EmbeddedListen    string   `yaml:"embedded_listen"`    // default 127.0.0.1:9092
	TopicPrefix       string   `yaml:"topic_prefix"`       // default "lienthong."
	Partitions        int      `yaml:"partitions"`         // default 12
	ReplicationFactor int      `yaml:"replication_factor"` // default 1
	TLS               KafkaTLS `yaml:"tls"`
	SASL              SASL     `yaml:"sasl"`
}

// Embedded reports whether lienthong runs its own broker.
func (k Kafka) Embedded() bool { return len(k.Brokers) == 0 }

// KafkaTLS is TLS to the brokers. CAFile empty: the system roots.
type KafkaTLS struct {
	Enabled  bool   `yaml:"enabled"`
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SASL is broker authentication; Mechanism empty: none.
type SASL struct {
	Mechanism   string `yaml:"mechanism"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	Password    string `yaml:"-"` // resolved from PasswordEnv
}

// CalendarConfig is the working-time calendar; see package calendar.
type CalendarConfig struct {
	Timezone    string   `yaml:"timezone"`     // default Asia/Ho_Chi_Minh
	Workdays    []string `yaml:"workdays"`     // default mon..fri
	OfficeHours []string `yaml:"office_hours"` // default 08:00-12:00, 13:30-17:00
	Holidays    []string `yaml:"holidays"`
	// SwappedWorkdays are dates worked although their weekday is not a
	// workday (ngày làm bù): a Saturday worked in exchange for a bridge day
	// off, which is listed in Holidays. They keep the normal office hours.
	SwappedWorkdays []string `yaml:"swapped_workdays"`
}

// Agency is a department system.
type Agency struct {
	Code        string   `yaml:"code"`
	Name        string   `yaml:"name"`
	Receiver    bool     `yaml:"receiver"`
	TokenSHA256 string   `yaml:"token_sha256"`
	Delivery    Delivery `yaml:"delivery"`
}

// Delivery modes.
const (
	ModeWebhook = "webhook"
	ModePull    = "pull"
	ModeKafka   = "kafka"
)

// Delivery says how events reach an agency.
type Delivery struct {
	Mode        string   `yaml:"mode"` // webhook | pull | kafka; default pull
	URL         string   `yaml:"url"`
	SecretEnv   string   `yaml:"secret_env"`
	Secret      string   `yaml:"-"`            // resolved "whsec_..." value
	Timeout     Duration `yaml:"timeout"`      // default 10s
	MaxAttempts int      `yaml:"max_attempts"` // default 10
	MinBackoff  Duration `yaml:"min_backoff"`  // default 500ms
	MaxBackoff  Duration `yaml:"max_backoff"`  // default 5m
	Concurrency int      `yaml:"concurrency"`  // default 16
}

// Procedure is an administrative procedure and its route.
type Procedure struct {
	Code      string        `yaml:"code"`
	Name      string        `yaml:"name"`
	Deadline  calendar.Span `yaml:"deadline"`
	Receivers []string      `yaml:"receivers"` // empty: every receiver agency
	// FormSchemas are the URNs of the form schemas a submission may follow,
	// newest last: the newest applies when data.form_schema is absent, the
	// older ones stay accepted during a transition. Empty: no form.
	FormSchemas []string `yaml:"form_schemas"`
	// CutOffClock is the procedure's cut-off time of day, "15:00": a dossier
	// received at or after it on a working day counts from the next working
	// day (calendar.CountFrom). Empty: none. CutOff returns it parsed.
	CutOffClock string `yaml:"cut_off"`
	// SupplementDeadline is how long a requested supplement may take (working
	// time, e.g. 7d per Decree 63/2024); past it the dossier is closed as
	// rejected. Zero: no deadline.
	SupplementDeadline calendar.Span `yaml:"supplement_deadline"`
	// PaymentConfirmers are agencies (a treasury, a payment system) that may
	// confirm a financial obligation's payment besides the receiver.
	PaymentConfirmers []string `yaml:"payment_confirmers"`
	Steps             []Step   `yaml:"steps"`

	receivers []string // Receivers, or every receiver agency when empty
	cutOff    time.Duration
	stepIdx   map[string]int
	roots     []string
	order     []string
	next      map[string][]string
}

// Step is one agency's part of a procedure.
type Step struct {
	ID       string        `yaml:"id"`
	Name     string        `yaml:"name"` // default: the id
	Agency   string        `yaml:"agency"`
	Deadline calendar.Span `yaml:"deadline"`
	After    []string      `yaml:"after"`
	// OutputSchema is the URN of the form schema the step's outputs must
	// match (e.g. urn:lienthong:form:tax-notice:v1). Empty: any object.
	OutputSchema string `yaml:"output_schema"`
}

// Duration is a time.Duration written as "10s", "500ms", "5m" in YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration like 10s, 500ms or 5m")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10s, 500ms or 5m", n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Load reads and parses the config file at path, with secrets from the
// process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses and checks a config, with secrets from the process
// environment. source names the document in problems (a file name). A
// config that breaks any rule yields a *ValidationError listing them all.
func Parse(data []byte, source string) (*Config, error) {
	return ParseWith(data, source, os.LookupEnv)
}

// ParseWith is Parse with env as the environment (os.LookupEnv, or a test's
// or the example's lookup).
func ParseWith(data []byte, source string, env func(string) (string, bool)) (*Config, error) {
	p := &parser{source: source, env: env, pos: map[string]pos{}}
	c := &Config{source: source}
	if !p.decode(data, c) {
		return nil, p.err()
	}
	p.defaults(c)
	p.validate(c)
	if len(p.probs) > 0 {
		return nil, p.err()
	}
	return c, nil
}

// Source names the document the config was parsed from.
func (c *Config) Source() string { return c.source }

// Schemas returns the compiled schemas: the embedded event schemas, the
// built-in form schemas and those of forms_dir.
func (c *Config) Schemas() *schemas.Registry { return c.schemas }

// Cal returns the compiled working-time calendar.
func (c *Config) Cal() *calendar.Calendar { return c.cal }
