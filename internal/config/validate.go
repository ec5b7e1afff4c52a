package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/calendar"
)

// Patterns of the contract (DESIGN.md section 1 and schemas/defs.json).
var (
	procedureCodeRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)+$`)
	stepIDRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	topicPrefixRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{0,200}$`)
	envNameRE       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

const maxProcedureCode = 32 // schemas/defs.json procedure_code maxLength

// minSecretBytes is the shortest webhook key accepted, as in
// adapters/webhook.DecodeSecret.
const minSecretBytes = 16

// Defaults (DESIGN.md section 5 and the HTTP extension).
const (
	DefaultListen            = ":8080"
	DefaultDataDir           = "./lienthong-data"
	DefaultMaxBodyBytes      = 1 << 20
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultEmbeddedListen    = "127.0.0.1:9092"
	DefaultTopicPrefix       = "lienthong."
	DefaultPartitions        = 12
	DefaultReplication       = 1
	DefaultDeliveryTimeout   = 10 * time.Second
	DefaultMaxAttempts       = 10
	DefaultMinBackoff        = 500 * time.Millisecond
	DefaultMaxBackoff        = 5 * time.Minute
	DefaultConcurrency       = 16
	DefaultDuplicateWindow   = 7 * 24 * time.Hour
	MinDuplicateWindow       = time.Hour
	DefaultMaxClockSkew      = 5 * time.Minute
)

// defaults fills what the document left out. Values the document set, even
// to zero, are kept, so that validation can refuse "partitions: 0".
func (p *parser) defaults(c *Config) {
	setStr := func(path string, v *string, def string) {
		if !p.present(path) {
			*v = def
		}
	}
	setDur := func(path string, v *Duration, def time.Duration) {
		if !p.present(path) {
			v.Duration = def
		}
	}
	setInt := func(path string, v *int, def int) {
		if !p.present(path) {
			*v = def
		}
	}
	setStr("listen", &c.Listen, DefaultListen)
	setStr("data_dir", &c.DataDir, DefaultDataDir)

	h := &c.HTTP
	if !p.present("http.max_body_bytes") {
		h.MaxBodyBytes = DefaultMaxBodyBytes
	}
	setDur("http.read_header_timeout", &h.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur("http.read_timeout", &h.ReadTimeout, DefaultReadTimeout)
	setDur("http.write_timeout", &h.WriteTimeout, DefaultWriteTimeout)
	setDur("http.idle_timeout", &h.IdleTimeout, DefaultIdleTimeout)
	setInt("http.max_header_bytes", &h.MaxHeaderBytes, DefaultMaxHeaderBytes)
	if !p.present("http.burst") && h.RatePerSecond > 0 {
		h.Burst = int(math.Ceil(h.RatePerSecond))
	}

	k := &c.Kafka
	setStr("kafka.embedded_listen", &k.EmbeddedListen, DefaultEmbeddedListen)
	setStr("kafka.topic_prefix", &k.TopicPrefix, DefaultTopicPrefix)
	setInt("kafka.partitions", &k.Partitions, DefaultPartitions)
	setInt("kafka.replication_factor", &k.ReplicationFactor, DefaultReplication)

	setDur("gateway.duplicate_window", &c.Gateway.DuplicateWindow, DefaultDuplicateWindow)
	setDur("gateway.max_clock_skew", &c.Gateway.MaxClockSkew, DefaultMaxClockSkew)

	cal := &c.Calendar
	setStr("calendar.timezone", &cal.Timezone, calendar.DefaultTimezone)
	if !p.present("calendar.workdays") {
		cal.Workdays = append([]string(nil), calendar.DefaultWorkdays...)
	}
	if !p.present("calendar.office_hours") {
		cal.OfficeHours = append([]string(nil), calendar.DefaultOfficeHours...)
	}

	for i := range c.Agencies {
		d := &c.Agencies[i].Delivery
		dp := index("agencies", i) + ".delivery"
		setStr(dp+".mode", &d.Mode, ModePull)
		setDur(dp+".timeout", &d.Timeout, DefaultDeliveryTimeout)
		setInt(dp+".max_attempts", &d.MaxAttempts, DefaultMaxAttempts)
		setDur(dp+".min_backoff", &d.MinBackoff, DefaultMinBackoff)
		setDur(dp+".max_backoff", &d.MaxBackoff, DefaultMaxBackoff)
		setInt(dp+".concurrency", &d.Concurrency, DefaultConcurrency)
	}
	for i := range c.Procedures {
		for j := range c.Procedures[i].Steps {
			s := &c.Procedures[i].Steps[j]
			if s.Name == "" {
				s.Name = s.ID
			}
		}
	}
}

// validate checks every rule and fills the derived lookups.
func (p *parser) validate(c *Config) {
	p.checkAddr("listen", c.Listen)
	if c.DataDir == "" {
		p.addf("data_dir", "required: a directory for the embedded broker and local state")
	}
	if c.AdminTokenSHA256 != "" {
		if h, err := parseHash(c.AdminTokenSHA256); err != nil {
			p.addf("admin_token_sha256", "%v", err)
		} else {
			c.adminHash, c.adminSet = h, true
		}
	}
	p.validateHTTP(&c.HTTP)
	p.validateKafka(&c.Kafka)
	p.validateStore(&c.Store)
	if c.Gateway.DuplicateWindow.Duration < MinDuplicateWindow {
		p.addf("gateway.duplicate_window", "must be at least %v: a sender's retries must find their first receipt", MinDuplicateWindow)
	}
	if d := c.Gateway.MaxClockSkew.Duration; d < time.Second || d > 24*time.Hour {
		p.addf("gateway.max_clock_skew", "must be from 1s to 24h")
	}
	p.validateTracing(&c.Tracing)
	p.validateCalendar(c)
	p.validateCutOffs(c)
	p.validateAgencies(c)
	p.validateProcedures(c)
	p.validateForms(c)
	p.validateWorkflow(c)
}

func (p *parser) checkAddr(path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.addf(path, "%q is not a host:port address (e.g. :8080 or 127.0.0.1:9092)", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.addf(path, "%q: port must be a number from 0 to 65535", addr)
	}
	if strings.ContainsAny(host, " /") {
		p.addf(path, "%q: bad host", addr)
	}
}

func (p *parser) checkPositive(path string, d Duration) {
	if d.Duration <= 0 {
		p.addf(path, "must be more than zero")
	}
}

func (p *parser) checkFile(path, file string) {
	if file == "" {
		return
	}
	st, err := os.Stat(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		p.addf(path, "file %q does not exist", file)
	case err != nil:
		p.addf(path, "file %q: %v", file, err)
	case st.IsDir():
		p.addf(path, "%q is a directory, want a file", file)
	}
}

func (p *parser) validateHTTP(h *HTTP) {
	if h.MaxBodyBytes < 1 {
		p.addf("http.max_body_bytes", "must be at least 1")
	}
	p.checkPositive("http.read_header_timeout", h.ReadHeaderTimeout)
	p.checkPositive("http.read_timeout", h.ReadTimeout)
	if h.WriteTimeout.Duration <= MaxPollWait {
		p.addf("http.write_timeout", "must exceed %v, the longest inbox long-poll wait", MaxPollWait)
	}
	p.checkPositive("http.idle_timeout", h.IdleTimeout)
	if h.MaxHeaderBytes < 1 {
		p.addf("http.max_header_bytes", "must be at least 1")
	}
	if h.RatePerSecond < 0 || math.IsNaN(h.RatePerSecond) || math.IsInf(h.RatePerSecond, 0) {
		p.addf("http.rate_per_second", "must be zero (no limit) or more")
	}
	if h.Burst < 0 {
		p.addf("http.burst", "must not be negative")
	} else if h.RatePerSecond > 0 && h.Burst < 1 {
		p.addf("http.burst", "must be at least 1 when rate_per_second is set")
	}
	t := h.TLS
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		p.addf("http.tls.key_file", "required with cert_file")
	case t.CertFile == "" && t.KeyFile != "":
		p.addf("http.tls.cert_file", "required with key_file")
	}
	p.checkFile("http.tls.cert_file", t.CertFile)
	p.checkFile("http.tls.key_file", t.KeyFile)
	p.checkFile("http.tls.client_ca_file", t.ClientCAFile)
	if t.ClientCAFile != "" && t.CertFile == "" {
		p.addf("http.tls.client_ca_file", "client certificates need HTTPS: set cert_file and key_file")
	}
	if t.RequireClientCert && t.ClientCAFile == "" {
		p.addf("http.tls.require_client_cert", "needs client_ca_file to verify client certificates")
	}
}

func (p *parser) validateStore(s *Store) {
	if dsn := s.DSN; dsn != "" {
		if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
			u, err := url.Parse(dsn)
			if err != nil {
				p.addf("store.dsn", "not a PostgreSQL URL: %v", errors.Unwrap(err))
			} else if _, set := u.User.Password(); set || u.Query().Has("password") {
				p.addf("store.dsn", "holds a password: give it in PGPASSWORD or a .pgpass file instead")
			}
		} else if strings.Contains(dsn, "://") {
			p.addf("store.dsn", "unknown database: want empty (SQLite under data_dir), a SQLite file path, or postgres://...")
		}
	}
	if s.MaxOpenConns < 0 {
		p.addf("store.max_open_conns", "must not be negative")
	}
	if s.MaxIdleConns < 0 {
		p.addf("store.max_idle_conns", "must not be negative")
	}
	if s.ConnMaxLifetime.Duration < 0 {
		p.addf("store.conn_max_lifetime", "must not be negative")
	}
}

func (p *parser) validateTracing(t *Tracing) {
	if e := t.OTLPEndpoint; e != "" {
		u, err := url.Parse(e)
		switch {
		case err == nil && u.User != nil:
			p.addf("tracing.otlp_endpoint", "holds credentials: give them in OTEL_EXPORTER_OTLP_HEADERS instead")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
			p.addf("tracing.otlp_endpoint", "%q is not an http:// or https:// base URL of an OTLP/HTTP collector (e.g. http://otel-collector:4318)", e)
		}
	}
	if p.present("tracing.service_name") && strings.TrimSpace(t.ServiceName) == "" {
		p.addf("tracing.service_name", "must not be empty (leave it out for \"lienthong\")")
	}
}

func (p *parser) validateKafka(k *Kafka) {
	for i, b := range k.Brokers {
		p.checkAddr(index("kafka.brokers", i), b)
	}
	if k.Embedded() {
		p.checkAddr("kafka.embedded_listen", k.EmbeddedListen)
	}
	if !topicPrefixRE.MatchString(k.TopicPrefix) {
		p.addf("kafka.topic_prefix", "%q: topic names allow only letters, digits, '.', '_' and '-' (at most 200)", k.TopicPrefix)
	}
	if k.Partitions < 1 {
		p.addf("kafka.partitions", "must be at least 1")
	}
	if k.ReplicationFactor < 1 {
		p.addf("kafka.replication_factor", "must be at least 1")
	} else if k.Embedded() && k.ReplicationFactor > 1 {
		p.addf("kafka.replication_factor", "the embedded broker is one node: must be 1 (or list brokers)")
	}
	if k.TLS.Enabled {
		switch {
		case k.TLS.CertFile != "" && k.TLS.KeyFile == "":
			p.addf("kafka.tls.key_file", "required with cert_file")
		case k.TLS.CertFile == "" && k.TLS.KeyFile != "":
			p.addf("kafka.tls.cert_file", "required with key_file")
		}
		p.checkFile("kafka.tls.ca_file", k.TLS.CAFile)
		p.checkFile("kafka.tls.cert_file", k.TLS.CertFile)
		p.checkFile("kafka.tls.key_file", k.TLS.KeyFile)
	}
	s := &k.SASL
	switch s.Mechanism {
	case "":
		return
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
	default:
		p.addf("kafka.sasl.mechanism", "%q: want %s, %s or %s (or empty for none)", s.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512)
	}
	if s.Username == "" {
		p.addf("kafka.sasl.username", "required with a SASL mechanism")
	}
	if s.PasswordEnv == "" {
		p.addf("kafka.sasl.password_env", "required with a SASL mechanism: the environment variable holding the password")
	} else if v, ok := p.lookupEnv("kafka.sasl.password_env", s.PasswordEnv); ok {
		s.Password = v
	}
}

// lookupEnv reads the secret named at path; problems never show the value.
func (p *parser) lookupEnv(path, name string) (string, bool) {
	if !envNameRE.MatchString(name) {
		p.addf(path, "%q is not an environment variable name", name)
		return "", false
	}
	v, ok := p.env(name)
	if !ok || v == "" {
		p.addf(path, "environment variable %s is not set", name)
		return "", false
	}
	return v, true
}

func (p *parser) validateCalendar(c *Config) {
	cc := c.Calendar
	cal, err := calendar.New(cc.Timezone, cc.Workdays, cc.OfficeHours, cc.Holidays, calendar.SwappedWorkdays(cc.SwappedWorkdays))
	var ce *calendar.Error
	switch {
	case errors.As(err, &ce):
		for _, pr := range ce.Problems {
			path := "calendar." + pr.Field
			if pr.Index >= 0 {
				path = index(path, pr.Index)
			}
			p.addf(path, "%s", pr.Message)
		}
	case err != nil:
		p.addf("calendar", "%v", err)
	default:
		c.cal = cal
	}
}

// parseHash reads a hex SHA-256 (64 hex digits, either case).
func parseHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("want 64 hex digits (a SHA-256), got %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("want 64 hex digits (a SHA-256): %v", err)
	}
	return h, nil
}

func (p *parser) validateAgencies(c *Config) {
	if len(c.Agencies) == 0 {
		p.addf("agencies", "at least one agency is required")
	}
	c.agencyIdx = make(map[string]int, len(c.Agencies))
	c.tokenHash = make([][32]byte, len(c.Agencies))
	tokenOwner := map[[32]byte]string{}
	if c.adminSet {
		tokenOwner[c.adminHash] = "admin_token_sha256"
	}
	for i := range c.Agencies {
		a := &c.Agencies[i]
		ap := index("agencies", i)
		switch {
		case a.Code == "":
			p.addf(ap+".code", "required")
		case !event.ValidAgencyCode(a.Code):
			p.addf(ap+".code", "%q: want upper-case letters, digits, '.' and '_', at most 32, e.g. VPDK or 000.00.01.H22", a.Code)
		default:
			if j, dup := c.agencyIdx[a.Code]; dup {
				p.addf(ap+".code", "duplicate agency code %q (also agencies[%d])", a.Code, j)
			} else {
				c.agencyIdx[a.Code] = i
			}
		}
		if strings.TrimSpace(a.Name) == "" {
			p.addf(ap+".name", "required")
		}
		if a.TokenSHA256 == "" {
			p.addf(ap+".token_sha256", "required: the hex SHA-256 of the agency's bearer token")
		} else if h, err := parseHash(a.TokenSHA256); err != nil {
			p.addf(ap+".token_sha256", "%v", err)
		} else if other, dup := tokenOwner[h]; dup {
			p.addf(ap+".token_sha256", "same token as %s: every caller needs its own token", other)
		} else {
			tokenOwner[h] = ap
			c.tokenHash[i] = h
		}
		if a.Receiver {
			c.receiverCt++
		}
		p.validateDelivery(ap+".delivery", &a.Delivery)
	}
	if len(c.Agencies) > 0 && c.receiverCt == 0 {
		p.addf("agencies", "no agency has receiver: true; at least one one-stop desk must receive dossiers")
	}
}

func (p *parser) validateDelivery(dp string, d *Delivery) {
	switch d.Mode {
	case ModePull, ModeKafka:
	case ModeWebhook:
		if d.URL == "" {
			p.addf(dp+".url", "required with mode webhook")
		} else if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf(dp+".url", "%q is not an http:// or https:// URL", d.URL)
		}
		if d.SecretEnv == "" {
			p.addf(dp+".secret_env", "required with mode webhook: the environment variable holding the whsec_ secret")
		} else if v, ok := p.lookupEnv(dp+".secret_env", d.SecretEnv); ok {
			if msg := checkSecret(v); msg != "" {
				p.addf(dp+".secret_env", "the value of %s %s", d.SecretEnv, msg)
			} else {
				d.Secret = v
			}
		}
	default:
		p.addf(dp+".mode", "%q: want webhook, pull or kafka", d.Mode)
	}
	p.checkPositive(dp+".timeout", d.Timeout)
	if d.MaxAttempts < 1 {
		p.addf(dp+".max_attempts", "must be at least 1")
	}
	p.checkPositive(dp+".min_backoff", d.MinBackoff)
	if d.MaxBackoff.Duration < d.MinBackoff.Duration {
		p.addf(dp+".max_backoff", "must be at least min_backoff (%v)", d.MinBackoff.Duration)
	}
	if d.Concurrency < 1 {
		p.addf(dp+".concurrency", "must be at least 1")
	}
}

// checkSecret says what is wrong with a Standard Webhooks secret, or "".
func checkSecret(v string) string {
	b64, ok := strings.CutPrefix(v, "whsec_")
	if !ok {
		return "must start with whsec_ (a Standard Webhooks secret)"
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "is not base64 after whsec_"
	}
	if len(key) < minSecretBytes {
		return fmt.Sprintf("decodes to %d bytes; use at least %d (24 to 64 recommended)", len(key), minSecretBytes)
	}
	return ""
}

func (p *parser) validateProcedures(c *Config) {
	if len(c.Procedures) == 0 {
		p.addf("procedures", "at least one procedure is required")
	}
	c.procIdx = make(map[string]int, len(c.Procedures))
	for i := range c.Procedures {
		pr := &c.Procedures[i]
		pp := index("procedures", i)
		switch {
		case pr.Code == "":
			p.addf(pp+".code", "required")
		case len(pr.Code) > maxProcedureCode || !procedureCodeRE.MatchString(pr.Code):
			p.addf(pp+".code", "%q: want a national procedure code like \"1.004227\" (digits and dots, quoted)", pr.Code)
		default:
			if j, dup := c.procIdx[pr.Code]; dup {
				p.addf(pp+".code", "duplicate procedure code %q (also procedures[%d])", pr.Code, j)
			} else {
				c.procIdx[pr.Code] = i
			}
		}
		if strings.TrimSpace(pr.Name) == "" {
			p.addf(pp+".name", "required")
		}
		if pr.Deadline.IsZero() {
			p.addf(pp+".deadline", "required: working time such as 10d or 4h")
		}
		pr.receivers = pr.Receivers
		if len(pr.Receivers) == 0 {
			pr.receivers = c.Receivers()
		}
		seenRecv := map[string]bool{}
		for j, r := range pr.Receivers {
			rp := index(pp+".receivers", j)
			ai, ok := c.agencyIdx[r]
			switch {
			case !ok:
				p.addf(rp, "unknown agency %q", r)
			case !c.Agencies[ai].Receiver:
				p.addf(rp, "agency %s is not a receiver (receiver: true)", r)
			case seenRecv[r]:
				p.addf(rp, "%s listed twice", r)
			}
			seenRecv[r] = true
		}
		p.validateSteps(c, pp, pr)
	}
}

func (p *parser) validateSteps(c *Config, pp string, pr *Procedure) {
	if len(pr.Steps) == 0 {
		p.addf(pp+".steps", "at least one step is required")
	}
	pr.stepIdx = make(map[string]int, len(pr.Steps))
	for j := range pr.Steps {
		s := &pr.Steps[j]
		sp := index(pp+".steps", j)
		switch {
		case s.ID == "":
			p.addf(sp+".id", "required")
		case !stepIDRE.MatchString(s.ID):
			p.addf(sp+".id", "%q: want letters, digits, '_', '.' or '-', at most 64", s.ID)
		default:
			if k, dup := pr.stepIdx[s.ID]; dup {
				p.addf(sp+".id", "duplicate step id %q (also steps[%d])", s.ID, k)
			} else {
				pr.stepIdx[s.ID] = j
			}
		}
		if s.Agency == "" {
			p.addf(sp+".agency", "required")
		} else if _, ok := c.agencyIdx[s.Agency]; !ok {
			p.addf(sp+".agency", "unknown agency %q", s.Agency)
		}
		if s.Deadline.IsZero() {
			p.addf(sp+".deadline", "required: working time such as 5d or 4h")
		}
	}
	ok := true
	for j := range pr.Steps {
		s := &pr.Steps[j]
		seen := map[string]bool{}
		for k, a := range s.After {
			ap := index(index(pp+".steps", j)+".after", k)
			switch {
			case a == s.ID:
				p.addf(ap, "step %q cannot come after itself", a)
				ok = false
			case seen[a]:
				p.addf(ap, "%q listed twice", a)
			default:
				if _, known := pr.stepIdx[a]; !known {
					p.addf(ap, "unknown step %q", a)
					ok = false
				}
			}
			seen[a] = true
		}
	}
	if !ok || len(pr.stepIdx) != len(pr.Steps) {
		return // the graph is not well formed; cycles would be noise
	}
	p.route(pp, pr)
}

// route computes the step graph: successors, roots, a topological order, and
// reports every cycle of `after` with the steps in it.
func (p *parser) route(pp string, pr *Procedure) {
	pr.next = make(map[string][]string, len(pr.Steps))
	indeg := make([]int, len(pr.Steps))
	for j, s := range pr.Steps {
		seen := map[string]bool{}
		for _, a := range s.After {
			if seen[a] {
				continue
			}
			seen[a] = true
			pr.next[a] = append(pr.next[a], s.ID)
			indeg[j]++
		}
	}
	// Kahn's algorithm; ties in declaration order, so Order is stable.
	var queue []int
	for j := range pr.Steps {
		if indeg[j] == 0 {
			queue = append(queue, j)
			pr.roots = append(pr.roots, pr.Steps[j].ID)
		}
	}
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		pr.order = append(pr.order, pr.Steps[j].ID)
		for _, n := range pr.next[pr.Steps[j].ID] {
			k := pr.stepIdx[n]
			if indeg[k]--; indeg[k] == 0 {
				queue = append(queue, k)
			}
		}
	}
	if len(pr.order) == len(pr.Steps) {
		return
	}
	// Some steps are on or behind a cycle: find each cycle by walking
	// `after` edges among the unordered steps, and name it.
	done := map[string]bool{}
	for _, id := range pr.order {
		done[id] = true
	}
	reported := map[string]bool{}
	for j, s := range pr.Steps {
		if done[s.ID] || reported[s.ID] {
			continue
		}
		cyc := findCycle(pr, s.ID, done)
		if cyc == nil {
			continue
		}
		dup := false
		for _, id := range cyc {
			dup = dup || reported[id]
		}
		for _, id := range cyc {
			reported[id] = true
		}
		if dup {
			continue
		}
		// Report at the first step of the cycle in declaration order.
		first := j
		for _, id := range cyc {
			if k := pr.stepIdx[id]; k < first {
				first = k
			}
		}
		p.addf(index(pp+".steps", first)+".after", "cycle in after: %s", cycleString(cyc, pr.Steps[first].ID))
	}
	pr.roots, pr.order, pr.next = nil, nil, nil
}

// findCycle follows `after` edges from start through steps not in done until
// a step repeats, and returns that cycle (each step after the one it waits
// for), or nil.
func findCycle(pr *Procedure, start string, done map[string]bool) []string {
	pos := map[string]int{}
	var path []string
	cur := start
	for {
		if i, seen := pos[cur]; seen {
			return path[i:]
		}
		pos[cur] = len(path)
		path = append(path, cur)
		next := ""
		for _, a := range pr.Steps[pr.stepIdx[cur]].After {
			if !done[a] {
				next = a
				break
			}
		}
		if next == "" {
			return nil
		}
		cur = next
	}
}

// cycleString prints a cycle in the direction of the route (a -> b when b
// comes after a), starting and ending at from.
func cycleString(cyc []string, from string) string {
	// cyc follows `after` backwards: each element waits for the next.
	n := len(cyc)
	start := 0
	for i, id := range cyc {
		if id == from {
			start = i
		}
	}
	out := make([]string, 0, n+1)
	for i := 0; i <= n; i++ {
		out = append(out, cyc[((start-i)%n+n)%n])
	}
	return strings.Join(out, " -> ")
}
