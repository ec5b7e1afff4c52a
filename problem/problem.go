// Package problem is lienthong's one catalog of error types and the RFC 9457
// application/problem+json writer. The same type URNs appear in HTTP errors,
// in message.rejected events and in dead-letter records, so department
// systems can act on one list of codes (docs/PROBLEMS.md). It is public so
// that integrators match on these constants instead of copying the URNs.
package problem

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Type is a stable problem name; its URN is urn:lienthong:problem:<name>.
type Type string

// The catalog. Never rename an entry: systems match on these strings.
const (
	Unauthorized         Type = "unauthorized"           // 401 no or bad credentials
	NotJSON              Type = "not-json"               // 400 body is not JSON
	NotObject            Type = "not-object"             // 400 body is not an object or array of objects
	BadRequest           Type = "bad-request"            // 400 bad query parameter
	BadCursor            Type = "bad-cursor"             // 400 pull cursor not ours or corrupt
	UnsupportedMedia     Type = "unsupported-media-type" // 415
	TooLarge             Type = "too-large"              // 413 over the body limit
	InvalidEnvelope      Type = "invalid-envelope"       // 422 CloudEvents attributes
	UnknownType          Type = "unknown-type"           // 422
	UnknownSchemaVersion Type = "unknown-schema-version" // 422
	InvalidData          Type = "invalid-data"           // 422 data fails its schema
	UnknownProcedure     Type = "unknown-procedure"      // 422
	SubjectMismatch      Type = "subject-mismatch"       // 422 subject != data.code
	ForbiddenSource      Type = "forbidden-source"       // 403 source is not the caller
	ForbiddenType        Type = "forbidden-type"         // 403 type not allowed for the caller
	ForbiddenProcedure   Type = "forbidden-procedure"    // 403 procedure not receivable by the caller
	RouterOnlyType       Type = "router-only-type"       // 403 a type only lienthong makes
	Forbidden            Type = "forbidden"              // 403 not entitled to this resource
	NotFound             Type = "not-found"              // 404
	MethodNotAllowed     Type = "method-not-allowed"     // 405
	IDConflict           Type = "id-conflict"            // 409 source+id reused with another body
	DossierExists        Type = "dossier-exists"         // 409 / router: dossier code already submitted
	RateLimited          Type = "rate-limited"           // 429
	KafkaUnavailable     Type = "kafka-unavailable"      // 503 nothing accepted
	Unavailable          Type = "unavailable"            // 503 not ready

	// Routing rules, enforced by the router (message.rejected reason).
	UnknownDossier   Type = "unknown-dossier"   // event for a dossier never submitted
	DossierClosed    Type = "dossier-closed"    // dossier rejected, withdrawn or returned
	UnknownStep      Type = "unknown-step"      // step id not in the procedure
	StepNotHeld      Type = "step-not-held"     // the sender does not hold that step
	StepNotOpen      Type = "step-not-open"     // step pending, completed or cancelled
	NotReceiver      Type = "not-receiver"      // only the dossier's receiver may send this
	NotAwaiting      Type = "not-awaiting"      // supplemented while no supplement was requested
	DossierPaused    Type = "dossier-paused"    // step event while awaiting a supplement
	ResultNotReady   Type = "result-not-ready"  // result.returned before result_ready
	UnknownRecipient Type = "unknown-recipient" // internal: no agency to deliver to
	// The workflow of the one-stop law (DESIGN.md section 4).
	NotRegistered      Type = "not-registered"      // accepted or refused at reception, but not filed online
	ReceptionOver      Type = "reception-over"      // accepted or refused at reception after routing started
	NoObligation       Type = "no-obligation"       // payment confirmed while no financial obligation is due
	NotPaymentAgency   Type = "not-payment-agency"  // payment confirmed by an agency not allowed to
	NotLate            Type = "not-late"            // an apology from an agency that holds no late step
	AppointmentEarlier Type = "appointment-earlier" // a new appointment not later than the current one
	SupplementLate     Type = "supplement-late"     // a supplement after its deadline

	// Delivery (dead-letter records).
	DeliveryRejected  Type = "delivery-rejected"  // the agency answered a permanent 4xx
	DeliveryExhausted Type = "delivery-exhausted" // retries used up
)

// URN returns the problem's type URN.
func (t Type) URN() string { return "urn:lienthong:problem:" + string(t) }

var titles = map[Type]string{
	Unauthorized:         "Missing or invalid credentials",
	NotJSON:              "Body is not valid JSON",
	NotObject:            "Body is not a CloudEvent object or an array of them",
	BadRequest:           "Bad request parameter",
	BadCursor:            "Invalid cursor",
	UnsupportedMedia:     "Unsupported content type",
	TooLarge:             "Body too large",
	InvalidEnvelope:      "CloudEvent envelope is invalid",
	UnknownType:          "Unknown event type",
	UnknownSchemaVersion: "Unknown schema version",
	InvalidData:          "Event data does not match its schema",
	UnknownProcedure:     "Unknown procedure",
	SubjectMismatch:      "Subject does not match the dossier code",
	ForbiddenSource:      "Source is not the authenticated agency",
	ForbiddenType:        "Event type not allowed for this agency",
	ForbiddenProcedure:   "Procedure not receivable by this agency",
	RouterOnlyType:       "Event type is made only by lienthong",
	Forbidden:            "Not allowed",
	NotFound:             "Not found",
	MethodNotAllowed:     "Method not allowed",
	IDConflict:           "Event id reused with a different body",
	DossierExists:        "Dossier code already submitted",
	RateLimited:          "Too many requests",
	KafkaUnavailable:     "Message bus unavailable; nothing was accepted",
	Unavailable:          "Service not ready",
	UnknownDossier:       "Unknown dossier",
	DossierClosed:        "Dossier is closed",
	UnknownStep:          "Unknown step",
	StepNotHeld:          "Step is not held by the sender",
	StepNotOpen:          "Step is not open",
	NotReceiver:          "Only the dossier's receiver may send this",
	NotAwaiting:          "No supplement was requested",
	DossierPaused:        "Dossier is awaiting a supplement",
	ResultNotReady:       "Result is not ready",
	UnknownRecipient:     "No recipient",
	NotRegistered:        "Dossier was not filed online: there is no reception to decide",
	ReceptionOver:        "Reception is over: routing has started",
	NoObligation:         "No financial obligation is due",
	NotPaymentAgency:     "Agency may not confirm payments for this procedure",
	NotLate:              "Nothing is late: no apology is due",
	AppointmentEarlier:   "New appointment is not later than the current one",
	SupplementLate:       "Supplement deadline has passed",
	DeliveryRejected:     "Agency refused the delivery",
	DeliveryExhausted:    "Delivery retries exhausted",
}

// Title returns the catalog title of t.
func (t Type) Title() string {
	if s, ok := titles[t]; ok {
		return s
	}
	return string(t)
}

// Catalog returns every problem type with its title, for docs and tests.
func Catalog() map[Type]string {
	out := make(map[Type]string, len(titles))
	for k, v := range titles {
		out[k] = v
	}
	return out
}

// ErrBadCursor is the error of a paging cursor that is corrupt or was not
// made for the list it is used on (a pull inbox, the dossier list): the
// pull feed and the tracking store return it, and the HTTP API answers it
// with 400 BadCursor.
var ErrBadCursor = errors.New("bad cursor")

// FieldError locates one problem inside the submitted document.
type FieldError struct {
	Location string `json:"location"` // JSON Pointer into the submitted event
	Message  string `json:"message"`
}

// Details is the RFC 9457 body.
type Details struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
	// Index is the position of the failing event in a batch.
	Index *int `json:"index,omitempty"`
}

// New builds the details of a problem.
func New(status int, t Type, detail string, errs ...FieldError) *Details {
	return &Details{Type: t.URN(), Title: t.Title(), Status: status, Detail: detail, Errors: errs}
}

// Error makes *Details usable as an error inside the gateway.
func (d *Details) Error() string { return d.Type + ": " + d.Detail }

// Write sends d as application/problem+json.
func Write(w http.ResponseWriter, d *Details) {
	body, _ := json.Marshal(d)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(d.Status)
	_, _ = w.Write(body)
}

// Send is shorthand for Write(w, New(...)).
func Send(w http.ResponseWriter, status int, t Type, detail string, errs ...FieldError) {
	Write(w, New(status, t, detail, errs...))
}
