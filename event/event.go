// Package event defines the CloudEvents 1.0 envelope that every lienthong
// message uses, the event type names of the contract (DESIGN.md section 3),
// and the helpers that every side needs: agency source URNs and the
// deterministic ids of events that lienthong itself makes.
//
// It is a public package because integrators' adapters receive these events.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SpecVersion is the only CloudEvents version lienthong speaks.
const SpecVersion = "1.0"

// ContentType is the structured-mode CloudEvents media type, used on webhooks
// and as the Kafka content-type header value.
const (
	ContentType      = "application/cloudevents+json"
	BatchContentType = "application/cloudevents-batch+json"
	KafkaContentType = "application/cloudevents+json; charset=UTF-8"
)

// Event types sent by agencies.
const (
	Submitted           = "dossier.submitted"
	StepCompleted       = "dossier.step.completed"
	SupplementRequested = "dossier.supplement.requested"
	Supplemented        = "dossier.supplemented"
	Rejected            = "dossier.rejected"
	Withdrawn           = "dossier.withdrawn"
	ResultReturned      = "dossier.result.returned"
	Accepted            = "dossier.accepted"          // reception of a dossier filed online
	Refused             = "dossier.refused"           // refused at reception
	PaymentConfirmed    = "dossier.payment.confirmed" // the financial obligation is paid
	Apology             = "dossier.apology"           // a late agency's apology and new appointment
)

// Event types made only by lienthong.
const (
	Assigned        = "dossier.assigned"
	StatusChanged   = "dossier.status.changed"
	Completed       = "dossier.completed"
	Overdue         = "dossier.overdue"
	MessageRejected = "message.rejected"
	// SupplementReminder tells the receiver a supplement's deadline is near.
	SupplementReminder = "dossier.supplement.reminder"
)

// AgencyTypes are the types an agency may send; RouterTypes only lienthong makes.
var (
	AgencyTypes = []string{Submitted, StepCompleted, SupplementRequested, Supplemented, Rejected, Withdrawn, ResultReturned,
		Accepted, Refused, PaymentConfirmed, Apology}
	RouterTypes = []string{Assigned, StatusChanged, Completed, Overdue, MessageRejected, SupplementReminder}
)

// IsRouterType reports whether only lienthong may make events of type t.
func IsRouterType(t string) bool {
	for _, r := range RouterTypes {
		if r == t {
			return true
		}
	}
	return false
}

// RouterSource is the source of every event lienthong makes.
const RouterSource = "urn:lienthong:router"

const agencySourcePrefix = "urn:lienthong:agency:"

// AgencyCodePattern is the form of an agency code (DESIGN.md section 1): a
// short code (HCC) or a national electronic agency ID (000.00.01.H22). It
// is the one definition in Go; schemas/defs.json states the same in JSON
// Schema, and a test keeps the two equal.
const AgencyCodePattern = `[A-Z0-9][A-Z0-9._]{0,31}`

var agencyCodeRE = regexp.MustCompile(`^` + AgencyCodePattern + `$`)

// ValidAgencyCode reports whether code has the form of an agency code.
func ValidAgencyCode(code string) bool { return agencyCodeRE.MatchString(code) }

// AgencySource returns the source URN of an agency code.
func AgencySource(code string) string { return agencySourcePrefix + code }

// AgencyOf returns the agency code named by a source URN, and false when the
// source is not an agency URN.
func AgencyOf(source string) (string, bool) {
	if !strings.HasPrefix(source, agencySourcePrefix) {
		return "", false
	}
	code := source[len(agencySourcePrefix):]
	return code, code != ""
}

// ValidSource reports whether source is an agency URN with a valid code or
// the router's.
func ValidSource(source string) bool {
	if source == RouterSource {
		return true
	}
	code, ok := AgencyOf(source)
	return ok && ValidAgencyCode(code)
}

// SchemaURN returns the dataschema URN of a type and version.
func SchemaURN(typ string, version int) string {
	return "urn:lienthong:schema:" + typ + ":v" + strconv.Itoa(version)
}

// Event is a CloudEvent in JSON structured mode. Data stays raw so that an
// event passes through lienthong byte for byte.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            string          `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	DataSchema      string          `json:"dataschema,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
}

// New makes an event from lienthong itself: id derived from its cause (see
// DeriveID), the router source, JSON data.
func New(id, typ, subject string, at time.Time, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{
		SpecVersion:     SpecVersion,
		ID:              id,
		Source:          RouterSource,
		Type:            typ,
		Subject:         subject,
		Time:            at.UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json",
		Data:            raw,
	}, nil
}

// DeriveID returns a stable id for an event lienthong makes, from the id of
// the event that caused it and the parts that tell its outputs apart (type,
// recipient, step...). Processing the same input twice yields the same id, so
// receivers can dedupe on it. The form is a UUID-shaped hex string.
func DeriveID(cause string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(cause))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	s := hex.EncodeToString(h.Sum(nil)[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
