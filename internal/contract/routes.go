package contract

import (
	"net/http"
	"reflect"

	"github.com/lienthong/lienthong/adapters/pull"
	"github.com/lienthong/lienthong/internal/delivery"
	"github.com/lienthong/lienthong/internal/gateway"
	"github.com/lienthong/lienthong/internal/pullfeed"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/internal/tracking"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// route is one operation of the HTTP API. The table below is the source of
// the OpenAPI document; TestRoutesMatchTheMux holds it equal to the routes
// internal/app and the handlers it mounts register.
type route struct {
	method, path string // OpenAPI path template
	mux          string // the ServeMux pattern that serves it
	id           string // operationId
	tag          string
	summary      string
	description  string
	public       bool // no credentials (DESIGN.md section 6: "anyone")
	params       []param
	request      *body
	ok           []reply
	problems     map[int][]problem.Type
}

type param struct {
	name, in, description string
	required              bool
	schema                map[string]any
}

type body struct {
	description string
	content     map[string]any // media type -> schema
}

type reply struct {
	status      int
	description string
	content     map[string]any // media type -> schema; nil: no body
	headers     map[string]string
}

// Shared pieces of the table.
var (
	str       = map[string]any{"type": "string"}
	agencyPat = map[string]any{"type": "string", "pattern": "^[A-Z0-9][A-Z0-9._]{0,31}$"}
	timeParam = map[string]any{"type": "string", "description": "An RFC 3339 time (2026-03-03T08:00:00+07:00) or a date (2026-03-03: its midnight in the calendar's time zone)."}
	etagHdrs  = map[string]string{"ETag": "SHA-256 of the body; send it back in If-None-Match.", "Cache-Control": "public, max-age=3600"}
	retry     = map[string]string{"Retry-After": "Seconds to wait before retrying."}
)

func jsonBody(s any) map[string]any { return map[string]any{"application/json": s} }

func schemaRef(comp string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + comp}
}

func goRef(t reflect.Type) any { return goSchema(t, eventFields) }

// goTypes are the response bodies documented as named components, derived
// from the Go types the handlers encode.
var goTypes = map[string]reflect.Type{
	"Receipt":        reflect.TypeFor[gateway.Receipt](),
	"DossierView":    reflect.TypeFor[router.DossierView](),
	"DossierSummary": reflect.TypeFor[router.Summary](),
	"StatRow":        reflect.TypeFor[router.StatRow](),
	"HandlingReport": reflect.TypeFor[tracking.HandlingReport](),
	"DeadLetter":     reflect.TypeFor[delivery.Item](),
	"InboxPage":      reflect.TypeFor[pull.Page](),
}

// eventFields documents the json.RawMessage fields that hold a CloudEvent.
func eventFields(owner reflect.Type, f reflect.StructField) (any, bool) {
	switch {
	case owner == reflect.TypeFor[delivery.Item]() && f.Name == "Event":
		return schemaRef(compAnyEvent), true
	case owner == reflect.TypeFor[pull.Page]() && f.Name == "Events":
		return map[string]any{"type": "array", "items": schemaRef(compAnyEvent)}, true
	}
	return nil, false
}

func object(props map[string]any, required ...string) map[string]any {
	req := make([]any, len(required))
	for i, r := range required {
		req[i] = r
	}
	return map[string]any{"type": "object", "required": req, "properties": props}
}

// routes is the HTTP API. Problem types per status are the ones the handler
// answers; every authenticated route may also answer 401 unauthorized and
// 429 rate-limited (added by the generator).
func routes() []route {
	receipt := schemaRef("Receipt")
	eventsBody := map[string]any{
		"application/cloudevents+json": schemaRef(compAgencyEvent),
		"application/json":             schemaRef(compAgencyEvent),
		"application/cloudevents-batch+json": map[string]any{"type": "array", "minItems": 1, "items": schemaRef(compAgencyEvent),
			"description": "A batch: every event is validated before any is accepted."},
	}
	receipts := map[string]any{"oneOf": []any{receipt, object(map[string]any{"receipts": map[string]any{"type": "array", "items": receipt}}, "receipts")}}
	items := func(comp, name string) map[string]any {
		return object(map[string]any{name: map[string]any{"type": "array", "items": schemaRef(comp)}}, name)
	}
	dlqItems := items("DeadLetter", "items")
	replayed := items("DeadLetter", "replayed")
	agencyQ := param{name: "agency", in: "query", description: "An agency code.", schema: agencyPat}
	schemaDocBody := map[string]any{"application/schema+json": map[string]any{"type": "object", "description": "A JSON Schema 2020-12 document."}}
	schemaProblems := map[int][]problem.Type{404: {problem.NotFound}, 405: {problem.MethodNotAllowed}}

	return []route{
		{
			method: http.MethodPost, path: "/v1/events", mux: "/v1/events", id: "postEvents", tag: "events",
			summary:     "Send one CloudEvent, or a batch of them",
			description: "202 with a receipt only once Kafka has acknowledged the event(s); the same source+id again answers the first receipt with duplicate: true (200 when every event is a duplicate). Checks run in this order, the first failing one answers: credentials (401); content type and size (415, 413); JSON syntax (400); the envelope (422); authorization of source, type and procedure (403); the data against its schema (422); id and dossier code reuse (409). Nothing refused reaches Kafka.",
			params:      []param{{name: "traceparent", in: "header", description: "W3C trace context; the events travel under it (or under a new trace).", schema: str}},
			request:     &body{description: "One CloudEvent 1.0 (JSON structured mode), or an array of them with application/cloudevents-batch+json.", content: eventsBody},
			ok: []reply{
				{status: 202, description: "Accepted: a receipt, or {receipts} for a batch.", content: jsonBody(receipts), headers: map[string]string{"traceparent": "The trace context the events travel under."}},
				{status: 200, description: "Every event was a duplicate: the first receipts.", content: jsonBody(receipts)},
			},
			problems: map[int][]problem.Type{
				400: {problem.NotJSON, problem.NotObject},
				403: {problem.ForbiddenSource, problem.ForbiddenType, problem.ForbiddenProcedure, problem.RouterOnlyType},
				405: {problem.MethodNotAllowed},
				409: {problem.IDConflict, problem.DossierExists},
				413: {problem.TooLarge},
				415: {problem.UnsupportedMedia},
				422: {problem.InvalidEnvelope, problem.UnknownType, problem.UnknownSchemaVersion, problem.InvalidData, problem.UnknownProcedure, problem.SubjectMismatch},
				503: {problem.KafkaUnavailable, problem.Unavailable},
			},
		},
		{
			method: http.MethodGet, path: "/v1/dossiers/{code}", mux: "GET /v1/dossiers/{code}", id: "getDossier", tag: "tracking",
			summary:     "A dossier: status, steps and timeline",
			description: "For the receiver, the agencies on its route and the admin; a dossier the caller may not see answers 404 like an unknown one.",
			params:      []param{{name: "code", in: "path", required: true, description: "The dossier code.", schema: map[string]any{"type": "string", "pattern": "^[A-Z0-9][A-Z0-9.]{0,31}-[0-9]{8}-[0-9]{4,10}$"}}},
			ok:          []reply{{status: 200, description: "The process-control slip of the dossier.", content: jsonBody(schemaRef("DossierView"))}},
			problems:    map[int][]problem.Type{404: {problem.NotFound}, 500: {problem.Unavailable}, 503: {problem.Unavailable}},
		},
		{
			method: http.MethodGet, path: "/v1/dossiers", mux: "GET /v1/dossiers", id: "listDossiers", tag: "tracking",
			summary:     "A page of the dossiers the caller may see",
			description: "Ordered by received_at, then code. *_from bounds are inclusive, *_to exclusive.",
			params: []param{
				{name: "status", in: "query", description: "Dossier status.", schema: map[string]any{"type": "string", "enum": []any{"received", "processing", "awaiting_supplement", "rejected", "withdrawn", "result_ready", "returned"}}},
				{name: "agency", in: "query", description: "Dossiers on this agency's route.", schema: agencyPat},
				{name: "procedure", in: "query", description: "Procedure code.", schema: str},
				{name: "overdue", in: "query", description: "Only overdue (true) or only on-time (false) dossiers.", schema: map[string]any{"type": "boolean"}},
				{name: "received_from", in: "query", schema: timeParam},
				{name: "received_to", in: "query", schema: timeParam},
				{name: "due_from", in: "query", schema: timeParam},
				{name: "due_to", in: "query", schema: timeParam},
				{name: "limit", in: "query", description: "Page size.", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": store.MaxLimit, "default": store.DefaultLimit}},
				{name: "cursor", in: "query", description: "The next of the previous page (opaque).", schema: str},
			},
			ok: []reply{{status: 200, description: "A page; next is empty on the last one.", content: jsonBody(object(map[string]any{
				"items": map[string]any{"type": "array", "items": schemaRef("DossierSummary")},
				"next":  str,
			}, "items", "next"))}},
			problems: map[int][]problem.Type{400: {problem.BadRequest, problem.BadCursor}, 500: {problem.Unavailable}, 503: {problem.Unavailable}},
		},
		{
			method: http.MethodGet, path: "/v1/stats", mux: "GET /v1/stats", id: "getStats", tag: "tracking",
			summary:     "Counts per procedure and agency",
			description: "Received, completed, on time, late and overdue now, of the dossiers received in the period when given. The admin sees every row, an agency its own.",
			params:      []param{{name: "received_from", in: "query", schema: timeParam}, {name: "received_to", in: "query", schema: timeParam}},
			ok:          []reply{{status: 200, description: "The rows.", content: jsonBody(items("StatRow", "rows"))}},
			problems:    map[int][]problem.Type{400: {problem.BadRequest}, 500: {problem.Unavailable}, 503: {problem.Unavailable}},
		},
		{
			method: http.MethodGet, path: "/v1/reports/handling", mux: "GET /v1/reports/handling", id: "getHandlingReport", tag: "tracking",
			summary: "The handling report of a period",
			description: "Per procedure and agency (role receiver: the dossiers it received; role step: the steps it was assigned): received, new and carried over; " +
				"done early, on time or late; in progress at the end, on time or late; supplements requested; refused; withdrawn; cancelled. " +
				"The admin sees every row, an agency its own (another agency's filter: no rows). JSON, or CSV (a header row, UTF-8) with format=csv or Accept: text/csv.",
			params: []param{
				{name: "from", in: "query", required: true, description: "The first day (YYYY-MM-DD) in the calendar's time zone.", schema: map[string]any{"type": "string", "format": "date"}},
				{name: "to", in: "query", required: true, description: "The last day, included; the period is 366 days at most.", schema: map[string]any{"type": "string", "format": "date"}},
				{name: "agency", in: "query", description: "Only this agency's rows.", schema: agencyPat},
				{name: "procedure", in: "query", description: "Only this procedure's rows.", schema: map[string]any{"type": "string", "maxLength": 64}},
				{name: "format", in: "query", description: "json (the default) or csv; without it, the Accept header chooses.", schema: map[string]any{"type": "string", "enum": []any{"json", "csv"}}},
			},
			ok: []reply{{status: 200, description: "The report.", content: map[string]any{
				"application/json": schemaRef("HandlingReport"),
				"text/csv":         map[string]any{"type": "string", "description": "A header row (the JSON rows' field names), then one row per procedure, agency and role."},
			}}},
			problems: map[int][]problem.Type{400: {problem.BadRequest}, 500: {problem.Unavailable}, 503: {problem.Unavailable}},
		},
		{
			method: http.MethodGet, path: "/v1/agencies/{code}/inbox", mux: pullfeed.Pattern, id: "readInbox", tag: "delivery",
			summary:     "Read an agency's inbox (pull delivery)",
			description: "Only the agency itself, in pull mode. Events of one dossier come in order. With nothing new the call holds until an event arrives or wait passes, then answers no events and the same cursor.",
			params: []param{
				{name: "code", in: "path", required: true, description: "The caller's agency code.", schema: agencyPat},
				{name: "after", in: "query", description: "The next of the previous answer (opaque); none: from the oldest event kept.", schema: str},
				{name: "limit", in: "query", description: "At most this many events.", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": pull.MaxLimit, "default": pull.DefaultLimit}},
				{name: "wait", in: "query", description: "Long-poll up to this long: a Go duration (10s) or seconds, at most 30s.", schema: str},
			},
			ok:       []reply{{status: 200, description: "Events and the cursor to send next.", content: jsonBody(schemaRef("InboxPage"))}},
			problems: map[int][]problem.Type{400: {problem.BadRequest, problem.BadCursor}, 403: {problem.Forbidden}, 404: {problem.NotFound}, 503: {problem.KafkaUnavailable}},
		},
		{
			method: http.MethodGet, path: "/v1/dlq", mux: "GET /v1/dlq", id: "listDeadLetters", tag: "delivery",
			summary: "List dead letters (admin)", params: []param{agencyQ},
			ok:       []reply{{status: 200, description: "Dead letters, oldest first.", content: jsonBody(dlqItems)}},
			problems: map[int][]problem.Type{403: {problem.Forbidden}, 404: {problem.NotFound}, 503: {problem.KafkaUnavailable}},
		},
		{
			method: http.MethodPost, path: "/v1/dlq/{id}/replay", mux: "POST /v1/dlq/{id}/replay", id: "replayDeadLetter", tag: "delivery",
			summary:     "Replay one dead letter (admin)",
			description: "Re-publishes the event at the end of the agency's inbox and marks the dead letter replayed.",
			params:      []param{{name: "id", in: "path", required: true, description: "The event id.", schema: str}, agencyQ},
			ok:          []reply{{status: 200, description: "The replayed dead letter.", content: jsonBody(replayed)}},
			problems:    map[int][]problem.Type{403: {problem.Forbidden}, 404: {problem.NotFound}, 503: {problem.KafkaUnavailable}},
		},
		{
			method: http.MethodPost, path: "/v1/dlq/replay", mux: "POST /v1/dlq/replay", id: "replayDeadLetters", tag: "delivery",
			summary:  "Replay every dead letter of an agency (admin)",
			params:   []param{{name: "agency", in: "query", required: true, description: "An agency code.", schema: agencyPat}},
			ok:       []reply{{status: 200, description: "The replayed dead letters.", content: jsonBody(replayed)}},
			problems: map[int][]problem.Type{400: {problem.BadRequest}, 403: {problem.Forbidden}, 404: {problem.NotFound}, 503: {problem.KafkaUnavailable}},
		},
		{
			method: http.MethodGet, path: "/v1/schemas", mux: "/v1/schemas", id: "listSchemas", tag: "schemas", public: true,
			summary: "The index of the JSON Schemas",
			ok: []reply{{status: 200, description: "Every event data schema, the form schemas, the envelope and the shared definitions, with their URNs and where to GET them.", headers: etagHdrs,
				content: jsonBody(schemaIndex())}, {status: 304, description: "Not modified (If-None-Match)."}},
			problems: map[int][]problem.Type{405: {problem.MethodNotAllowed}},
		},
		{
			method: http.MethodGet, path: "/v1/schemas/{type}/v{version}", mux: "/v1/schemas/", id: "getEventSchema", tag: "schemas", public: true,
			summary: "One event data schema",
			params: []param{
				{name: "type", in: "path", required: true, description: "Event type, e.g. dossier.submitted.", schema: map[string]any{"type": "string", "pattern": "^[a-z]+(\\.[a-z]+)+$"}},
				{name: "version", in: "path", required: true, description: "Schema version N.", schema: map[string]any{"type": "integer", "minimum": 1}},
			},
			ok:       []reply{{status: 200, description: "The schema.", headers: etagHdrs, content: schemaDocBody}, {status: 304, description: "Not modified (If-None-Match)."}},
			problems: schemaProblems,
		},
		{
			method: http.MethodGet, path: "/v1/schemas/forms/{name}/v{version}", mux: "/v1/schemas/", id: "getFormSchema", tag: "schemas", public: true,
			summary: "One form schema (a procedure's form, a step's outputs)",
			params: []param{
				{name: "name", in: "path", required: true, description: "A procedure code (1.004227) or a step output's name (tax-notice).", schema: str},
				{name: "version", in: "path", required: true, description: "Schema version N.", schema: map[string]any{"type": "integer", "minimum": 1}},
			},
			ok:       []reply{{status: 200, description: "The schema.", headers: etagHdrs, content: schemaDocBody}, {status: 304, description: "Not modified (If-None-Match)."}},
			problems: schemaProblems,
		},
		{
			method: http.MethodGet, path: "/v1/schemas/envelope", mux: "/v1/schemas/", id: "getEnvelopeSchema", tag: "schemas", public: true,
			summary:  "The CloudEvent envelope schema",
			ok:       []reply{{status: 200, description: "The schema.", headers: etagHdrs, content: schemaDocBody}, {status: 304, description: "Not modified (If-None-Match)."}},
			problems: schemaProblems,
		},
		{
			method: http.MethodGet, path: "/v1/schemas/defs", mux: "/v1/schemas/", id: "getSharedDefinitions", tag: "schemas", public: true,
			summary:  "The shared definitions the other schemas refer to",
			ok:       []reply{{status: 200, description: "The schema.", headers: etagHdrs, content: schemaDocBody}, {status: 304, description: "Not modified (If-None-Match)."}},
			problems: schemaProblems,
		},
		{
			method: http.MethodGet, path: OpenAPIPath, mux: OpenAPIPath, id: "getOpenAPI", tag: "schemas", public: true,
			summary:     "This document",
			description: "The OpenAPI 3.1 document of the HTTP API, generated from the route table, the problem catalog and the schemas. Public, like the schemas.",
			ok:          []reply{{status: 200, description: "The document.", headers: etagHdrs, content: jsonBody(map[string]any{"type": "object"})}, {status: 304, description: "Not modified (If-None-Match)."}},
			problems:    map[int][]problem.Type{405: {problem.MethodNotAllowed}},
		},
		{
			method: http.MethodGet, path: "/healthz", mux: "/healthz", id: "healthz", tag: "operations", public: true,
			summary: "Liveness",
			ok:      []reply{{status: 200, description: "The process is up.", content: jsonBody(object(map[string]any{"status": map[string]any{"const": "ok"}}, "status"))}},
		},
		{
			method: http.MethodGet, path: "/readyz", mux: "/readyz", id: "readyz", tag: "operations", public: true,
			summary: "Readiness: Kafka reachable, consumers running",
			ok: []reply{
				{status: 200, description: "Ready.", content: jsonBody(object(map[string]any{"status": map[string]any{"const": "ready"}}, "status"))},
				{status: 503, description: "Not ready yet, and why.", content: jsonBody(object(map[string]any{"status": map[string]any{"enum": []any{"starting", "kafka unreachable"}}, "reason": str}, "status"))},
			},
		},
		{
			method: http.MethodGet, path: "/metrics", mux: "/metrics", id: "metrics", tag: "operations", public: true,
			summary: "Prometheus metrics",
			ok:      []reply{{status: 200, description: "Prometheus text exposition format.", content: map[string]any{"text/plain": str}}},
		},
	}
}

// schemaIndex is the body of GET /v1/schemas (schemas/handler.go).
func schemaIndex() map[string]any {
	link := object(map[string]any{"urn": str, "href": str}, "urn", "href")
	return object(map[string]any{
		"schemas": map[string]any{"type": "array", "items": object(map[string]any{
			"type": str, "version": map[string]any{"type": "integer"}, "urn": str, "href": str}, "type", "version", "urn", "href")},
		"forms": map[string]any{"type": "array", "items": object(map[string]any{
			"name": str, "version": map[string]any{"type": "integer"}, "urn": str, "title": str, "href": str}, "name", "version", "urn", "href")},
		"envelope": link,
		"defs":     link,
	}, "schemas", "envelope", "defs")
}
