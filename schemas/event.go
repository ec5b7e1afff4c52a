package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/lienthong/lienthong/event"
)

// agencySource mirrors $defs/agency_urn in defs.json.
var agencySource = regexp.MustCompile(`^urn:lienthong:agency:[A-Z0-9][A-Z0-9._]{0,31}$`)

// ValidateEvent fully checks one CloudEvent in JSON, offline, as
// `lienthong validate` does: JSON syntax, the envelope, the source form, a
// known type and schema version, the data against its schema, and for
// dossier.submitted that subject equals data.code, and CheckJSON and
// CheckRules (now, DefaultClockSkew). It reports every error it
// can find rather than stopping at the first. Authorization (which agency may
// send what) needs the config and is not checked.
func (r *Registry) ValidateEvent(raw []byte) []Error {
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
	errs := r.ValidateEnvelope(obj)
	bad := make(map[string]bool, len(errs))
	for _, e := range errs {
		bad[e.Location] = true
	}

	if src, ok := obj["source"].(string); ok && !bad["/source"] && src != event.RouterSource && !agencySource.MatchString(src) {
		errs = append(errs, Error{"/source", fmt.Sprintf("must be %s<AGENCY CODE> or %s", "urn:lienthong:agency:", event.RouterSource)})
	}

	typ, typOK := obj["type"].(string)
	typOK = typOK && !bad["/type"]
	if typOK && !r.Known(typ) {
		errs = append(errs, Error{"/type", fmt.Sprintf("unknown event type %q", typ)})
		typOK = false
	}
	version := 0
	if typOK {
		version, _ = r.Latest(typ)
		if ds, present := obj["dataschema"]; present {
			s, isString := ds.(string)
			switch {
			case !isString || bad["/dataschema"]:
				typOK = false // already reported by the envelope
			default:
				t, n, err := r.ParseDataSchema(s)
				switch {
				case errors.Is(err, ErrBadDataSchema):
					errs = append(errs, Error{"/dataschema", err.Error()})
					typOK = false
				case t != typ:
					errs = append(errs, Error{"/dataschema", fmt.Sprintf("names type %q but the event's type is %q", t, typ)})
					typOK = false
				case err != nil:
					errs = append(errs, Error{"/dataschema", fmt.Sprintf("unknown schema version v%d of %s (%s)", n, typ, r.versionList(typ))})
					typOK = false
				default:
					version = n
				}
			}
		}
	}

	data, dataOK := obj["data"].(map[string]any)
	if typOK && dataOK {
		errs = append(errs, r.ValidateData(typ, version, data)...)
	}
	if typ == event.Submitted && dataOK {
		subject, ok1 := obj["subject"].(string)
		code, ok2 := data["code"].(string)
		if ok1 && ok2 && subject != code {
			errs = append(errs, Error{"/subject", fmt.Sprintf("subject %q must equal data.code %q", subject, code)})
		}
	}
	errs = append(errs, CheckRules(obj, time.Now(), DefaultClockSkew)...)
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
