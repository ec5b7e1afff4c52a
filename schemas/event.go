package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lienthong/lienthong/event"
)

// Stage names where in the contract's order of checks (DESIGN.md section 6)
// a failure belongs; the gateway answers each with its own status and
// problem type, authorization coming between CheckEnvelope and CheckData.
type Stage int

// The stages, in the contract's order.
const (
	StageEnvelope      Stage = iota + 1 // 422 invalid-envelope: CloudEvents attributes, source form, time too far ahead
	StageType                           // 422 unknown-type
	StageSchemaVersion                  // 422 unknown-schema-version
	StageData                           // 422 invalid-data: the data against its schema
	StageSubject                        // 422 subject-mismatch: subject is not data.code
	StageRules                          // 422 invalid-data: a submission's code and receipt time
)

// Failure is the errors of one stage.
type Failure struct {
	Stage  Stage
	Errors []Error
}

// Envelope is an event whose envelope was checked: what authorization and
// CheckData need.
type Envelope struct {
	Obj                       map[string]any
	ID, Source, Type, Subject string
	Version                   int            // the schema version that applies (dataschema, else the newest)
	Data                      map[string]any // nil when data is absent or not an object
}

// CheckEnvelope runs the stages before authorization on a decoded event: the
// envelope schema, the source form, a time at most skew ahead of now, a known
// type and schema version. Failures come in stage order; the event is usable
// by CheckData only when there are none.
func (r *Registry) CheckEnvelope(obj map[string]any, now time.Time, skew time.Duration) (Envelope, []Failure) {
	var fails []Failure
	add := func(st Stage, errs ...Error) {
		if len(errs) > 0 {
			fails = append(fails, Failure{st, errs})
		}
	}
	env := Envelope{Obj: obj}
	env.ID, _ = obj["id"].(string)
	env.Source, _ = obj["source"].(string)
	env.Subject, _ = obj["subject"].(string)
	env.Data, _ = obj["data"].(map[string]any)
	errs := r.ValidateEnvelope(obj)
	bad := make(map[string]bool, len(errs))
	for _, e := range errs {
		bad[e.Location] = true
	}
	if !bad["/source"] && env.Source != "" && !event.ValidSource(env.Source) {
		errs = append(errs, Error{"/source", fmt.Sprintf("must be %s<AGENCY CODE> or %s", "urn:lienthong:agency:", event.RouterSource)})
	}
	if !bad["/time"] {
		errs = append(errs, checkTime(obj, now, skew)...)
	}
	add(StageEnvelope, errs...)

	typ, ok := obj["type"].(string)
	if !ok || bad["/type"] {
		return env, fails
	}
	env.Type = typ
	if !r.Known(typ) {
		add(StageType, Error{"/type", fmt.Sprintf("unknown event type %q", typ)})
		return env, fails
	}
	env.Version, _ = r.Latest(typ)
	ds, present := obj["dataschema"]
	if !present {
		return env, fails
	}
	str, isString := ds.(string)
	if !isString || bad["/dataschema"] {
		return env, fails // reported with the envelope
	}
	t, n, err := r.ParseDataSchema(str)
	switch {
	case errors.Is(err, ErrBadDataSchema):
		add(StageSchemaVersion, Error{"/dataschema", err.Error()})
	case t != typ:
		add(StageSchemaVersion, Error{"/dataschema", fmt.Sprintf("names type %q but the event's type is %q", t, typ)})
	case err != nil:
		add(StageSchemaVersion, Error{"/dataschema", fmt.Sprintf("unknown schema version v%d of %s (%s)", n, typ, r.versionList(typ))})
	default:
		env.Version = n
	}
	return env, fails
}

// CheckData runs the stages after authorization on an event CheckEnvelope
// passed: the data against its schema; for dossier.submitted, subject equal
// to data.code, then the rules on the code and the receipt time.
func (r *Registry) CheckData(env Envelope, now time.Time, skew time.Duration) []Failure {
	var fails []Failure
	add := func(st Stage, errs ...Error) {
		if len(errs) > 0 {
			fails = append(fails, Failure{st, errs})
		}
	}
	if env.Data != nil {
		add(StageData, r.ValidateData(env.Type, env.Version, env.Data)...)
	}
	if env.Type == event.Submitted && env.Data != nil {
		if code, ok := env.Data["code"].(string); ok && env.Subject != code {
			add(StageSubject, Error{"/subject", fmt.Sprintf("subject %q must equal data.code %q", env.Subject, code)})
		}
		add(StageRules, checkSubmission(env.Obj, now, skew)...)
	}
	return fails
}

// ValidateEvent fully checks one CloudEvent in JSON, offline, as
// `lienthong validate` does, with the gateway's checks but authorization
// (which needs the config): CheckJSON, CheckEnvelope and CheckData at the
// current time with DefaultClockSkew. It reports every error it can find
// rather than stopping at the first stage.
func (r *Registry) ValidateEvent(raw []byte) []Error { return r.ValidateEventWith(raw, nil) }

// FormPolicy tells which form schemas a procedure accepts, newest last, as
// a bus's config says (procedures[].form_schemas); ok is false for a
// procedure the config does not have.
type FormPolicy func(procedure string) (accepted []string, ok bool)

// ValidateEventWith is ValidateEvent with a bus's form policy: a
// submission's form is checked as that bus's gateway checks it, and an
// unknown procedure is reported at /data/procedure. nil: offline defaults
// (the form schema the event names, else the newest of its procedure's
// name).
func (r *Registry) ValidateEventWith(raw []byte, forms FormPolicy) []Error {
	if jerr := CheckJSON(raw); jerr != nil {
		return []Error{*jerr}
	}
	v, jerr := decodeEvent(raw)
	if jerr != nil {
		return []Error{*jerr}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []Error{{Location: "", Message: "a CloudEvent must be a JSON object, got " + jsonKind(v)}}
	}
	now := time.Now()
	env, fails := r.CheckEnvelope(obj, now, DefaultClockSkew)
	usable := true
	for _, f := range fails {
		usable = usable && f.Stage == StageEnvelope
	}
	if usable && env.Type != "" {
		fails = append(fails, r.CheckData(env, now, DefaultClockSkew)...)
		// Offline there is no config: a form is checked against the form
		// schema it names, else the newest one of its procedure's name.
		if len(fails) == 0 && env.Type == event.Submitted && env.Version >= 2 {
			proc, _ := env.Data["procedure"].(string)
			accepted, known := r.formsNamed(proc), true
			if forms != nil {
				accepted, known = forms(proc)
			}
			if !known {
				fails = append(fails, Failure{StageData, []Error{{"/data/procedure", fmt.Sprintf("unknown procedure %q in this config", proc)}}})
			} else if errs := r.CheckForm(env.Data, proc, accepted); len(errs) > 0 {
				fails = append(fails, Failure{StageData, errs})
			}
		}
	}
	var errs []Error
	for _, f := range fails {
		errs = append(errs, f.Errors...)
	}
	return tidy(errs)
}

// decodeEvent decodes exactly one JSON value, numbers kept as json.Number.
func decodeEvent(raw []byte) (any, *Error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(err, len(raw))
	}
	// Anything after the value, even another valid value, means the input
	// is not one event.
	off := int(dec.InputOffset())
	for off < len(raw) && (raw[off] == ' ' || raw[off] == '\t' || raw[off] == '\n' || raw[off] == '\r') {
		off++
	}
	if off < len(raw) {
		return nil, &Error{"", fmt.Sprintf("invalid JSON at byte %d: unexpected data after the event", off)}
	}
	return v, nil
}

func jsonError(err error, size int) *Error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &Error{"", fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)}
	case errors.Is(err, io.EOF):
		return &Error{"", "invalid JSON: empty input"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{"", fmt.Sprintf("invalid JSON at byte %d: unexpected end of input", size)}
	}
	return &Error{"", "invalid JSON: " + err.Error()}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}
