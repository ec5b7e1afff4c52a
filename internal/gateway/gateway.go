// Package gateway is the ingress of lienthong: POST /v1/events. It checks
// each CloudEvent in the order of DESIGN.md section 6 (credentials, media
// type and size, JSON, envelope, authorization, data, reuse), answers with
// RFC 9457 problems that carry JSON Pointers, and acknowledges with 202 only
// after Kafka has acknowledged the write. Nothing refused reaches Kafka.
package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/telemetry"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
	"github.com/lienthong/lienthong/schemas"
)

// Writer is what the gateway needs of Kafka: a synchronous, acknowledged
// write. *kafka.Writer satisfies it.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Options wire a Gateway.
type Options struct {
	Config  *config.Config
	Schemas *schemas.Registry
	Writer  Writer
	Topic   string // full name of the events topic
	Index   *Index
	// PastCodes tells which dossier codes were submitted before the index's
	// window (the tracking store). nil: only the window is checked. When it
	// fails, the submission goes on: the router, the authority, refuses a
	// reused code with message.rejected.
	PastCodes func(ctx context.Context, codes []string) (map[string]bool, error)
	// DossierProcedure tells the procedure of a submitted dossier (the
	// tracking store), so that a step's outputs are checked against the
	// step's output schema here, with a 422. nil, not found or failing: the
	// router, which holds every open dossier, checks them and refuses a bad
	// one with message.rejected.
	DossierProcedure func(ctx context.Context, code string) (string, bool, error)
	// DueAt computes a submission's due time as the router will (the
	// engine's DueFrom over the config's routes), for the receipt. nil: no
	// due_at on receipts.
	DueAt func(procedure string, received time.Time) (time.Time, bool)
	// Window is the index's duplicate window: a code dated inside it cannot
	// have been submitted before it, so PastCodes is not asked about it.
	Window       time.Duration
	Ready        func() bool // false: 503, e.g. while the index catches up
	MaxBodyBytes int64
	MaxClockSkew time.Duration // how far in the future a time may lie; default schemas.DefaultClockSkew
	WriteTimeout time.Duration
	Metrics      *Metrics
	Logger       *slog.Logger
	Now          func() time.Time
	// Tracer makes the spans validate and write (the Kafka write, whose
	// trace context goes in each record's traceparent header). Their parent
	// is the request context's span: telemetry.Serve starts it from the
	// caller's traceparent. nil: telemetry.Off(), nothing recorded.
	Tracer trace.Tracer
}

// Gateway serves POST /v1/events.
type Gateway struct{ o Options }

// New returns a gateway; zero options get defaults.
func New(o Options) *Gateway {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = schemas.DefaultClockSkew
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Ready == nil {
		o.Ready = func() bool { return true }
	}
	if o.Tracer == nil {
		o.Tracer = telemetry.Off().Tracer()
	}
	o.Writer = telemetry.Writes(o.Tracer, o.Writer)
	return &Gateway{o: o}
}

// Receipt is the answer for one accepted event.
type Receipt struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	Subject    string `json:"subject"`
	AcceptedAt string `json:"accepted_at"`
	Duplicate  bool   `json:"duplicate"`
	// DueAt is a submission's due time (the appointment), in the calendar's
	// zone to the second, for the receipt-and-appointment slip; absent for
	// other events and for a dossier filed online (its clock starts at
	// reception).
	DueAt string `json:"due_at,omitempty"`
}

// checked is one event that passed every check but reuse.
type checked struct {
	body    []byte // compact JSON, what goes to Kafka
	hash    [sha256.Size]byte
	id      string
	source  string
	typ     string
	subject string
	code    string // dossier code when it is a submission
	dueAt   string // a submission's due time, for the receipt
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		g.fail(w, "", problem.New(http.StatusMethodNotAllowed, problem.MethodNotAllowed, "use POST"))
		return
	}
	p, ok := auth.FromContext(r.Context())
	if !ok {
		g.fail(w, "", problem.New(http.StatusUnauthorized, problem.Unauthorized, "a bearer token is required"))
		return
	}
	if !g.o.Ready() {
		w.Header().Set("Retry-After", "1")
		g.fail(w, "", problem.New(http.StatusServiceUnavailable, problem.Unavailable, "starting up: the idempotency index is catching up; nothing was accepted"))
		return
	}
	batch, perr := mediaType(r.Header.Get("Content-Type"))
	if perr != nil {
		g.fail(w, "", perr)
		return
	}
	body, perr := g.readBody(w, r)
	if perr != nil && perr.Status == http.StatusRequestEntityTooLarge {
		g.refuseTooLarge(w, r, perr)
		return
	}
	if perr != nil {
		g.fail(w, "", perr)
		return
	}
	raws, isArray, perr := split(body)
	if perr != nil {
		g.fail(w, "", perr)
		return
	}
	if batch && !isArray {
		g.fail(w, "", problem.New(http.StatusBadRequest, problem.NotObject, "application/cloudevents-batch+json needs a JSON array of CloudEvents"))
		return
	}
	if isArray && isSingleType(r.Header.Get("Content-Type")) {
		g.fail(w, "", problem.New(http.StatusBadRequest, problem.NotObject, "application/cloudevents+json needs one CloudEvent object; send arrays as application/cloudevents-batch+json"))
		return
	}
	vctx, validate := telemetry.StartValidate(r.Context(), g.o.Tracer, p.Agency, len(raws))
	evs := make([]checked, 0, len(raws))
	for i, raw := range raws {
		c, d := g.check(vctx, p, raw)
		if d != nil {
			telemetry.EndRefused(validate, d.Status, reasonOf(d))
			if isArray {
				d.Index = &i
				d.Errors = prefix(d.Errors, "/"+strconv.Itoa(i))
			}
			g.fail(w, c.typ, d)
			return
		}
		evs = append(evs, c)
	}
	validate.End()
	receipts, status, d := g.accept(r.Context(), evs)
	if d != nil {
		g.fail(w, "", d)
		return
	}
	for i, rc := range receipts {
		if rc.Duplicate {
			g.o.Metrics.duplicate.WithLabelValues(evs[i].typ).Inc()
		} else {
			g.o.Metrics.accepted.WithLabelValues(evs[i].typ).Inc()
		}
	}
	g.o.Metrics.latency.Observe(time.Since(start).Seconds())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if isArray {
		_ = enc.Encode(map[string]any{"receipts": receipts})
	} else {
		_ = enc.Encode(receipts[0])
	}
}

func (g *Gateway) fail(w http.ResponseWriter, typ string, d *problem.Details) {
	if d.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "2")
	}
	if !g.o.Schemas.Known(typ) {
		typ = "unknown" // label values come from a closed set only
	}
	g.o.Metrics.rejected.WithLabelValues(typ, reasonOf(d)).Inc()
	problem.Write(w, d)
}

func reasonOf(d *problem.Details) string {
	const p = "urn:lienthong:problem:"
	if len(d.Type) > len(p) {
		return d.Type[len(p):]
	}
	return d.Type
}

// mediaType tells single from batch and refuses other types (415).
func mediaType(ct string) (batch bool, d *problem.Details) {
	if ct == "" {
		return false, problem.New(http.StatusUnsupportedMediaType, problem.UnsupportedMedia,
			"Content-Type is required: application/cloudevents+json, application/json or application/cloudevents-batch+json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, problem.New(http.StatusUnsupportedMediaType, problem.UnsupportedMedia, fmt.Sprintf("cannot parse Content-Type %q", ct))
	}
	switch mt {
	case event.ContentType, "application/json":
		return false, nil
	case event.BatchContentType:
		return true, nil
	}
	return false, problem.New(http.StatusUnsupportedMediaType, problem.UnsupportedMedia,
		fmt.Sprintf("Content-Type %q is not accepted: use application/cloudevents+json, application/json or application/cloudevents-batch+json", mt))
}

func isSingleType(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == event.ContentType
}

// Bounds of the drain after a 413.
const (
	maxDrain  = 8 << 20
	drainTime = 5 * time.Second
)

// refuseTooLarge answers 413 so that the client reads it: the answer goes
// out at once with Connection: close, then a bounded part of the body is
// read and discarded. Closing a socket with unread data makes the kernel
// send a reset, and a client still writing its body would see that reset
// instead of the problem.
func (g *Gateway) refuseTooLarge(w http.ResponseWriter, r *http.Request, d *problem.Details) {
	w.Header().Set("Connection", "close")
	g.fail(w, "", d)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now().Add(drainTime))
	_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
}

func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *problem.Details) {
	limit := g.o.MaxBodyBytes
	tooLarge := problem.New(http.StatusRequestEntityTooLarge, problem.TooLarge, fmt.Sprintf("the body limit is %d bytes", limit))
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, problem.New(http.StatusBadRequest, problem.NotJSON, "could not read the body: "+err.Error())
	}
	return body, nil
}

// split checks JSON syntax (a byte order mark and repeated keys included)
// and the top-level shape: an object, or an array of objects.
func split(body []byte) (raws []json.RawMessage, isArray bool, d *problem.Details) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if e := schemas.CheckJSON(body); e != nil {
		return nil, false, problem.New(http.StatusBadRequest, problem.NotJSON, e.Message, problem.FieldError{Location: e.Location, Message: e.Message})
	}
	if !json.Valid(body) {
		return nil, false, problem.New(http.StatusBadRequest, problem.NotJSON, syntaxDetail(body))
	}
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		return []json.RawMessage{body}, false, nil
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, true, problem.New(http.StatusBadRequest, problem.NotJSON, err.Error())
		}
		if len(raws) == 0 {
			return nil, true, problem.New(http.StatusBadRequest, problem.NotObject, "the batch is empty")
		}
		for i, raw := range raws {
			t := bytes.TrimLeft(raw, " \t\r\n")
			if len(t) == 0 || t[0] != '{' {
				d := problem.New(http.StatusBadRequest, problem.NotObject, "every batch element must be a CloudEvent object",
					problem.FieldError{Location: "/" + strconv.Itoa(i), Message: "not an object"})
				d.Index = &i
				return nil, true, d
			}
		}
		return raws, true, nil
	}
	return nil, false, problem.New(http.StatusBadRequest, problem.NotObject, "the body must be a CloudEvent object or an array of them",
		problem.FieldError{Location: "", Message: "not an object"})
}

func syntaxDetail(body []byte) string {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if err != nil {
		return "invalid JSON: " + err.Error()
	}
	return "invalid JSON"
}

func prefix(errs []problem.FieldError, p string) []problem.FieldError {
	for i := range errs {
		errs[i].Location = p + errs[i].Location
	}
	return errs
}

func fieldErrors(errs []schemas.Error) []problem.FieldError {
	out := make([]problem.FieldError, len(errs))
	for i, e := range errs {
		out[i] = problem.FieldError{Location: e.Location, Message: e.Message}
	}
	return out
}

// check runs every check of one event but reuse, in the contract's order:
// schemas.CheckEnvelope, then authorization (source, type, procedure), then
// schemas.CheckData with the known procedure between its data and subject
// stages. The rules live in package schemas, so `lienthong validate` and
// the gateway agree; this adds only what needs the caller and the config.
func (g *Gateway) check(ctx context.Context, p auth.Principal, raw json.RawMessage) (checked, *problem.Details) {
	var c checked
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return c, problem.New(http.StatusBadRequest, problem.NotJSON, err.Error())
	}
	obj, _ := doc.(map[string]any)
	c.typ, _ = obj["type"].(string)
	now := g.o.Now()
	env, fails := g.o.Schemas.CheckEnvelope(obj, now, g.o.MaxClockSkew)
	if len(fails) > 0 {
		return c, stageProblem(fails[0], env)
	}
	c.id, c.source, c.subject = env.ID, env.Source, env.Subject
	// Authorization of source, type and procedure.
	agencyCode, _ := event.AgencyOf(c.source)
	if p.Agency == "" || agencyCode != p.Agency {
		return c, problem.New(http.StatusForbidden, problem.ForbiddenSource,
			"source must be urn:lienthong:agency:<your agency code>",
			problem.FieldError{Location: "/source", Message: "not the authenticated agency"})
	}
	if event.IsRouterType(c.typ) {
		return c, problem.New(http.StatusForbidden, problem.RouterOnlyType, fmt.Sprintf("%s events are made only by lienthong", c.typ),
			problem.FieldError{Location: "/type", Message: "made only by lienthong"})
	}
	ag, ok := g.o.Config.Agency(p.Agency)
	if !ok {
		return c, problem.New(http.StatusForbidden, problem.ForbiddenSource, "unknown agency")
	}
	switch c.typ {
	case event.Submitted, event.Supplemented, event.Withdrawn, event.ResultReturned, event.Accepted, event.Refused:
		if !ag.Receiver {
			return c, problem.New(http.StatusForbidden, problem.ForbiddenType, fmt.Sprintf("only receiving agencies may send %s", c.typ),
				problem.FieldError{Location: "/type", Message: "not allowed for this agency"})
		}
	}
	var proc *config.Procedure
	procCode, _ := env.Data["procedure"].(string)
	if c.typ == event.Submitted {
		if pr, ok := g.o.Config.Procedure(procCode); ok {
			proc = pr
			if !pr.ReceivableBy(p.Agency) {
				return c, problem.New(http.StatusForbidden, problem.ForbiddenProcedure, fmt.Sprintf("procedure %s is not receivable by %s", procCode, p.Agency),
					problem.FieldError{Location: "/data/procedure", Message: "not receivable by this agency"})
			}
		}
	}
	fails = g.o.Schemas.CheckData(env, now, g.o.MaxClockSkew)
	if len(fails) > 0 && fails[0].Stage == schemas.StageData {
		return c, stageProblem(fails[0], env)
	}
	if c.typ == event.Submitted && proc == nil {
		return c, problem.New(http.StatusUnprocessableEntity, problem.UnknownProcedure, fmt.Sprintf("unknown procedure %q", procCode),
			problem.FieldError{Location: "/data/procedure", Message: "unknown procedure"})
	}
	if len(fails) > 0 {
		return c, stageProblem(fails[0], env)
	}
	if d := g.checkForms(ctx, c.typ, env, proc); d != nil {
		return c, d
	}
	if c.typ == event.Submitted {
		c.code = c.subject
		c.dueAt = g.dueAt(env.Data, proc)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return c, problem.New(http.StatusBadRequest, problem.NotJSON, err.Error())
	}
	c.body = buf.Bytes()
	c.hash = sha256.Sum256(c.body)
	return c, nil
}

// dueAt is the receipt's due time of a submission received at once (not
// filed online), in the calendar's zone, to the second.
func (g *Gateway) dueAt(data map[string]any, proc *config.Procedure) string {
	if g.o.DueAt == nil || proc == nil {
		return ""
	}
	if ch, _ := data["channel"].(string); ch == router.ChannelOnline {
		return ""
	}
	s, _ := data["received_at"].(string)
	received, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return ""
	}
	due, ok := g.o.DueAt(proc.Code, received)
	if !ok {
		return ""
	}
	return due.In(g.o.Config.Cal().Location()).Truncate(time.Second).Format(time.RFC3339)
}

// checkForms checks a submission's form against the procedure's form
// schema, and a step's outputs against the step's output schema when the
// tracking store knows the dossier's procedure.
func (g *Gateway) checkForms(ctx context.Context, typ string, env schemas.Envelope, proc *config.Procedure) *problem.Details {
	switch {
	case typ == event.Submitted && proc != nil && env.Version >= 2:
		if errs := g.o.Schemas.CheckForm(env.Data, proc.Code, proc.FormSchemas); len(errs) > 0 {
			return problem.New(http.StatusUnprocessableEntity, problem.InvalidData,
				fmt.Sprintf("the form does not fit procedure %s", proc.Code), fieldErrors(errs)...)
		}
	case typ == event.Submitted && proc != nil && len(proc.FormSchemas) > 0:
		// dossier.submitted v1 has no form: the procedure's needs it.
		return problem.New(http.StatusUnprocessableEntity, problem.InvalidData,
			fmt.Sprintf("procedure %s needs its form: send dossier.submitted v2 with data.form", proc.Code),
			problem.FieldError{Location: "/dataschema", Message: "v1 carries no form; use " + event.SchemaURN(event.Submitted, 2)})
	case typ == event.StepCompleted && g.o.DossierProcedure != nil:
		stepID, _ := env.Data["step"].(string)
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		code, found, err := g.o.DossierProcedure(lctx, env.Subject)
		cancel()
		if err != nil || !found {
			return nil // the router checks
		}
		pr, ok := g.o.Config.Procedure(code)
		if !ok {
			return nil
		}
		st, ok := pr.Step(stepID)
		if !ok || st.OutputSchema == "" {
			return nil
		}
		outputs, present := env.Data["outputs"]
		if !present {
			return problem.New(http.StatusUnprocessableEntity, problem.InvalidData,
				fmt.Sprintf("step %s must hand on its outputs (%s)", stepID, st.OutputSchema),
				problem.FieldError{Location: "/data/outputs", Message: "missing property \"outputs\""})
		}
		if errs := g.o.Schemas.ValidateForm(st.OutputSchema, outputs, "/data/outputs"); len(errs) > 0 {
			return problem.New(http.StatusUnprocessableEntity, problem.InvalidData,
				fmt.Sprintf("the outputs of step %s do not match %s", stepID, st.OutputSchema), fieldErrors(errs)...)
		}
	}
	return nil
}

// stageProblem answers a failed stage of package schemas with the
// contract's status and problem type.
func stageProblem(f schemas.Failure, env schemas.Envelope) *problem.Details {
	errs := fieldErrors(f.Errors)
	switch f.Stage {
	case schemas.StageType:
		return problem.New(http.StatusUnprocessableEntity, problem.UnknownType, fmt.Sprintf("unknown event type %q", env.Type), errs...)
	case schemas.StageSchemaVersion:
		return problem.New(http.StatusUnprocessableEntity, problem.UnknownSchemaVersion, f.Errors[0].Message, errs...)
	case schemas.StageData:
		return problem.New(http.StatusUnprocessableEntity, problem.InvalidData, fmt.Sprintf("data does not match %s", event.SchemaURN(env.Type, env.Version)), errs...)
	case schemas.StageSubject:
		return problem.New(http.StatusUnprocessableEntity, problem.SubjectMismatch, "subject must equal data.code", errs...)
	case schemas.StageRules:
		return problem.New(http.StatusUnprocessableEntity, problem.InvalidData, "the dossier's code or receipt time is out of range", errs...)
	}
	return problem.New(http.StatusUnprocessableEntity, problem.InvalidEnvelope, "the CloudEvent envelope is invalid", errs...)
}

// accept reserves each event's id (and dossier code), writes the new ones to
// Kafka in one acknowledged write, and returns the receipts. The write
// (traced, see Options.Tracer) adds the traceparent header to each record.
func (g *Gateway) accept(ctx context.Context, evs []checked) ([]Receipt, int, *problem.Details) {
	now := g.o.Now().UTC()
	batch := len(evs) > 1
	cs := make([]claim, len(evs))
	for i, c := range evs {
		cs[i] = claim{key: indexKey(c.source, c.id), hash: c.hash, code: c.code}
	}
	if d := g.pastCodes(ctx, evs); d != nil {
		return nil, 0, d
	}
	vs, bad, err := g.o.Index.reserveAll(ctx, cs)
	if err != nil {
		return nil, 0, problem.New(http.StatusServiceUnavailable, problem.Unavailable, "the request ended while an earlier request with the same id or dossier code was being written; nothing was accepted")
	}
	if bad >= 0 {
		c := evs[bad]
		if vs[bad].out == idConflict {
			return nil, 0, withIndex(problem.New(http.StatusConflict, problem.IDConflict,
				fmt.Sprintf("id %q from %s was accepted before with a different body", c.id, c.source),
				problem.FieldError{Location: "/id", Message: "reused with another body"}), bad, batch)
		}
		return nil, 0, dossierExists(c.code, bad, batch)
	}
	receipts := make([]Receipt, len(evs))
	release := func(written bool) {
		for i, v := range vs {
			if v.out == fresh {
				g.o.Index.settle(cs[i], v.r, written, entry{hash: evs[i].hash, subject: evs[i].subject, acceptedAt: now})
			}
		}
	}
	var msgs []kafka.Message
	for i, c := range evs {
		switch vs[i].out {
		case duplicate:
			e := vs[i].entry
			receipts[i] = Receipt{ID: c.id, Source: c.source, Subject: e.subject, AcceptedAt: e.acceptedAt.UTC().Format(time.RFC3339Nano), Duplicate: true, DueAt: c.dueAt}
		case sameRequest:
			receipts[i] = receipts[vs[i].first] // the first receipt, written once
		default:
			receipts[i] = Receipt{ID: c.id, Source: c.source, Subject: c.subject, AcceptedAt: now.Format(time.RFC3339Nano), DueAt: c.dueAt}
			msgs = append(msgs, kafkabus.Record(g.o.Topic, c.subject, c.body,
				kafka.Header{Key: kafkabus.HeaderAcceptedAt, Value: []byte(now.Format(time.RFC3339Nano))}))
		}
	}
	if len(msgs) == 0 {
		return receipts, http.StatusOK, nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.o.WriteTimeout)
	err = g.o.Writer.WriteMessages(wctx, msgs...)
	cancel()
	if err != nil {
		release(false)
		g.o.Logger.Error("kafka write failed", "events", len(msgs), "err", err)
		return nil, 0, problem.New(http.StatusServiceUnavailable, problem.KafkaUnavailable, "Kafka did not acknowledge the write; nothing was accepted, retry later")
	}
	release(true)
	return receipts, http.StatusAccepted, nil
}

// pastCodes refuses a submission whose code the tracking store holds from
// before the index's window (409, as for a code in the window).
func (g *Gateway) pastCodes(ctx context.Context, evs []checked) *problem.Details {
	if g.o.PastCodes == nil {
		return nil
	}
	var codes []string
	// A code is dated with its receipt day and submitted on or after it: if
	// that day is inside the window (a day's margin for time zones), any
	// earlier submission of it is in the index. Fresh codes, nearly all of
	// them, then cost no store query.
	recent := g.o.Now().Add(-g.o.Window + 48*time.Hour)
	for _, c := range evs {
		if c.code == "" || g.o.Index.knownCode(c.code) {
			continue
		}
		if d, ok := schemas.CodeDate(c.code); ok && g.o.Window > 0 && d.After(recent) {
			continue
		}
		codes = append(codes, c.code)
	}
	if len(codes) == 0 {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	past, err := g.o.PastCodes(lctx, codes)
	cancel()
	if err != nil {
		g.o.Logger.Warn("gateway: the tracking store did not answer whether dossier codes are new; the router will check", "err", err)
		return nil
	}
	for i, c := range evs {
		if c.code != "" && past[c.code] {
			return dossierExists(c.code, i, len(evs) > 1)
		}
	}
	return nil
}

func dossierExists(code string, i int, batch bool) *problem.Details {
	return withIndex(problem.New(http.StatusConflict, problem.DossierExists,
		fmt.Sprintf("dossier %s was already submitted", code),
		problem.FieldError{Location: "/subject", Message: "dossier code already submitted"}), i, batch)
}

func withIndex(d *problem.Details, i int, batch bool) *problem.Details {
	if batch {
		d.Index = &i
		d.Errors = prefix(d.Errors, "/"+strconv.Itoa(i))
	}
	return d
}
