package contract

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	engine "github.com/lienthong/lienthong/adapters/delivery"
	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/delivery"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/router"
	"github.com/lienthong/lienthong/schemas"
)

// AsyncAPIVersion is the version of the AsyncAPI specification generated.
const AsyncAPIVersion = "3.0.0"

// kafkaBinding is the version of the AsyncAPI Kafka bindings used.
const kafkaBinding = "0.5.0"

// AsyncAPI returns the AsyncAPI 3.0 document of the Kafka side of the bus
// that cfg configures: its brokers, every topic (events, state, rejected,
// and each agency's inbox and dead letters, with the prefix), and every
// message with its schemas. Schemas are reg's (the embedded ones and the
// config's form schemas); nil reg means cfg.Schemas(), else the embedded.
//
// The document describes lienthong as the application: it sends to the
// topics it writes and receives from those it consumes. An agency in kafka
// delivery mode consumes its inbox itself (x-lienthong-delivery says so).
func AsyncAPI(cfg *config.Config, reg *schemas.Registry) ([]byte, error) {
	if reg == nil {
		reg = cfg.Schemas()
	}
	if reg == nil {
		var err error
		if reg, err = schemas.Load(); err != nil {
			return nil, err
		}
	}
	doc, err := asyncAPIDoc(cfg, reg)
	if err != nil {
		return nil, err
	}
	return marshal(doc)
}

func asyncAPIDoc(cfg *config.Config, reg *schemas.Registry) (map[string]any, error) {
	prefix := func(comp string) string { return "#/components/schemas/" + comp + "/schema" }
	ref := func(p string) map[string]any { return map[string]any{"$ref": p} }
	multi := func(s any) map[string]any {
		return map[string]any{"schemaFormat": schemaFormat2020, "schema": s}
	}

	compSchemas, byURN, err := componentSchemas(reg, prefix)
	if err != nil {
		return nil, err
	}
	for comp, s := range compSchemas {
		compSchemas[comp] = multi(s)
	}

	// The forms a procedure accepts, for dossier.submitted's data.form.
	var formRules []any
	for _, p := range cfg.Procedures {
		if len(p.FormSchemas) == 0 {
			continue
		}
		var alts []any
		for _, urn := range p.FormSchemas {
			comp, ok := componentName(urn)
			if _, known := byURN[urn]; !ok || !known {
				return nil, fmt.Errorf("contract: procedure %s names form schema %s, which is not loaded", p.Code, urn)
			}
			alts = append(alts, ref(prefix(comp)))
		}
		formRules = append(formRules, map[string]any{
			"if":   map[string]any{"required": []any{"procedure", "form"}, "properties": map[string]any{"procedure": map[string]any{"const": p.Code}}},
			"then": map[string]any{"properties": map[string]any{"form": map[string]any{"anyOf": alts}}},
		})
	}

	types, versions := eventKinds(reg)
	messages := map[string]any{}
	allRefs := map[string]any{} // message name -> ref, for channels
	agencyRefs := map[string]any{}
	var anyEvent, agencyEvent []any
	for _, t := range types {
		for _, v := range versions[t] {
			var extra []any
			if t == event.Submitted && dataHasForm(reg, t, v) {
				extra = formRules
			}
			ec := eventComponent(t, v)
			compSchemas[ec] = multi(eventSchema(reg, t, v, prefix, extra))
			anyEvent = append(anyEvent, ref(prefix(ec)))
			name := t + ".v" + strconv.Itoa(v)
			who := "made only by lienthong"
			if isAgencyType(t) {
				who = "sent by agencies through POST /v1/events"
				agencyEvent = append(agencyEvent, ref(prefix(ec)))
				agencyRefs[name] = ref("#/components/messages/" + name)
			}
			allRefs[name] = ref("#/components/messages/" + name)
			messages[name] = map[string]any{
				"name":        t,
				"title":       fmt.Sprintf("%s (data v%d)", t, v),
				"summary":     fmt.Sprintf("A %s event, %s.", t, who),
				"contentType": event.ContentType,
				"headers":     ref("#/components/schemas/kafka-headers"),
				"payload":     ref("#/components/schemas/" + ec),
				"bindings":    map[string]any{"kafka": keyBinding()},
			}
		}
	}
	compSchemas[compAnyEvent] = multi(map[string]any{"title": "Any lienthong event", "anyOf": anyEvent})
	compSchemas[compAgencyEvent] = multi(map[string]any{"title": "Any event an agency may send", "anyOf": agencyEvent})

	// Record headers (AsyncAPI Schema Objects: header values are strings).
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	baseHeaders := map[string]any{
		kafkabus.HeaderContentType: map[string]any{"type": "string", "const": event.KafkaContentType, "description": "CloudEvents Kafka binding, structured mode."},
		kafkabus.HeaderTraceparent: str("W3C trace context of the POST that brought the event in, where known."),
	}
	headers := func(extra map[string]any) map[string]any {
		props := map[string]any{}
		for k, v := range baseHeaders {
			props[k] = v
		}
		for k, v := range extra {
			props[k] = v
		}
		return map[string]any{"type": "object", "properties": props}
	}
	compSchemas["kafka-headers"] = headers(map[string]any{
		kafkabus.HeaderAcceptedAt: str("On the events topic: when the gateway accepted the event (RFC 3339)."),
		engine.HeaderReplay:       str("On an inbox topic: the event is a replayed dead letter."),
	})
	dlqHeaders := headers(map[string]any{
		kafkabus.HeaderError:      str("<problem type URN> <message>: why delivery failed."),
		kafkabus.HeaderAttempts:   str("Delivery attempts made (decimal)."),
		kafkabus.HeaderLastStatus: str("HTTP status of the last attempt (decimal), 0 when none."),
		engine.HeaderFailedAt:     str("When delivery was given up (RFC 3339)."),
		engine.HeaderAgency:       str("The agency the event was for."),
	})
	messages["dead-letter"] = map[string]any{
		"name":        "dead-letter",
		"title":       "Dead letter",
		"summary":     "An event that could not be delivered to the agency, with why in the headers.",
		"contentType": event.ContentType,
		"headers":     dlqHeaders,
		"payload":     ref("#/components/schemas/" + compAnyEvent),
		"bindings":    map[string]any{"kafka": keyBinding()},
	}
	messages["dead-letter-replayed"] = map[string]any{
		"name":    "dead-letter-replayed",
		"title":   "Dead letter replayed",
		"summary": "A null-value record marking a dead letter replayed: its header names the event id.",
		"headers": map[string]any{"type": "object", "required": []any{delivery.HeaderReplayed},
			"properties": map[string]any{delivery.HeaderReplayed: str("The id of the replayed event.")}},
		"payload":  map[string]any{"type": "null"},
		"bindings": map[string]any{"kafka": keyBinding()},
	}
	messages["dossier-state"] = map[string]any{
		"name":        "dossier-state",
		"title":       "Dossier state",
		"summary":     "The router's latest state of one open dossier (compacted by key); it rebuilds its memory and the tracking store from it. Internal: its layout may change between releases.",
		"contentType": "application/json",
		"payload":     multi(goSchema(reflect.TypeFor[router.State](), nil)),
		"bindings":    map[string]any{"kafka": keyBinding()},
	}
	messages["dossier-state-tombstone"] = map[string]any{
		"name":     "dossier-state-tombstone",
		"title":    "Dossier state tombstone",
		"summary":  "A null value: the tracking store holds the closed dossier, compaction removes it from the topic.",
		"payload":  map[string]any{"type": "null"},
		"bindings": map[string]any{"kafka": keyBinding()},
	}
	messages["rejected-record"] = map[string]any{
		"name":  "rejected-record",
		"title": "Refused record",
		"summary": "A record of the events topic that the router refused (a routing rule, or not a CloudEvent at all), copied byte for byte for audit, " +
			"or an event the router made for an unknown recipient.",
		"headers": headers(map[string]any{kafkabus.HeaderError: str("<problem type URN>: <detail>.")}),
		"payload": map[string]any{"description": "The refused record's value, as it was (usually a CloudEvent)."},
	}

	k := cfg.Kafka
	topic := func(suffix string) string { return k.TopicPrefix + suffix }
	chanBinding := func(suffix string, compact bool) map[string]any {
		b := map[string]any{"topic": topic(suffix), "partitions": k.Partitions, "replicas": k.ReplicationFactor, "bindingVersion": kafkaBinding}
		tc := map[string]any{"cleanup.policy": []any{"delete"}}
		if compact {
			tc = map[string]any{"cleanup.policy": []any{"compact"}, "delete.retention.ms": 600000, "segment.ms": 3600000, "min.cleanable.dirty.ratio": 0.2}
		}
		b["topicConfiguration"] = tc
		return map[string]any{"kafka": b}
	}
	channels := map[string]any{
		kafkabus.TopicEvents: map[string]any{
			"address":     topic(kafkabus.TopicEvents),
			"title":       "Accepted agency events",
			"description": "Every event the gateway accepted from an agency (POST /v1/events), keyed by dossier code: the router's input. Must be retained at least gateway.duplicate_window.",
			"messages":    agencyRefs,
			"bindings":    chanBinding(kafkabus.TopicEvents, false),
		},
		kafkabus.TopicState: map[string]any{
			"address":     topic(kafkabus.TopicState),
			"title":       "Dossier states",
			"description": "Compacted: the latest state of each open dossier, keyed by dossier code; a tombstone once the tracking store holds a closed one.",
			"messages": map[string]any{
				"dossier-state":           ref("#/components/messages/dossier-state"),
				"dossier-state-tombstone": ref("#/components/messages/dossier-state-tombstone"),
			},
			"bindings": chanBinding(kafkabus.TopicState, true),
		},
		kafkabus.TopicRejected: map[string]any{
			"address":     topic(kafkabus.TopicRejected),
			"title":       "Refused records",
			"description": "Records the router refused, for audit; the sender also gets a message.rejected event in its inbox.",
			"messages":    map[string]any{"rejected-record": ref("#/components/messages/rejected-record")},
			"bindings":    chanBinding(kafkabus.TopicRejected, false),
		},
	}
	operations := map[string]any{
		"accept-events": map[string]any{
			"action": "send", "channel": ref("#/channels/" + kafkabus.TopicEvents),
			"title":   "Accept agency events",
			"summary": "The gateway writes each event it accepts, once Kafka acknowledges it the POST answers 202.",
		},
		"route-events": map[string]any{
			"action": "receive", "channel": ref("#/channels/" + kafkabus.TopicEvents),
			"title":    "Route agency events",
			"summary":  "The router applies each event to its dossier and writes what follows to the inboxes, state and rejected topics.",
			"bindings": groupBinding("lienthong-router", ""),
		},
		"record-state": map[string]any{
			"action": "send", "channel": ref("#/channels/" + kafkabus.TopicState),
			"title": "Record dossier states",
		},
		"project-state": map[string]any{
			"action": "receive", "channel": ref("#/channels/" + kafkabus.TopicState),
			"title":    "Project states into the tracking store",
			"bindings": groupBinding("", "^lienthong-projector-.+$"),
		},
		"record-rejected": map[string]any{
			"action": "send", "channel": ref("#/channels/" + kafkabus.TopicRejected),
			"title": "Keep refused records for audit",
		},
	}

	agencies := append([]config.Agency(nil), cfg.Agencies...)
	sort.Slice(agencies, func(i, j int) bool { return agencies[i].Code < agencies[j].Code })
	for _, a := range agencies {
		inbox, dlq := kafkabus.InboxTopic(a.Code), kafkabus.DLQTopic(a.Code)
		mode := a.Delivery.Mode
		how := map[string]string{
			config.ModeWebhook: "lienthong's delivery consumes it (group " + engine.GroupID(a.Code) + ") and POSTs each event to the agency's webhook, signed (Standard Webhooks).",
			config.ModePull:    "The agency reads it over HTTP: GET /v1/agencies/" + a.Code + "/inbox.",
			config.ModeKafka:   "The agency consumes it itself, with a consumer group of its own.",
		}[mode]
		name := a.Code
		if a.Name != "" {
			name = a.Code + " (" + a.Name + ")"
		}
		inboxMsgs := map[string]any{}
		for k, v := range allRefs {
			inboxMsgs[k] = v
		}
		channels[inbox] = map[string]any{
			"address":               topic(inbox),
			"title":                 "Inbox of " + a.Code,
			"description":           "Every event for " + name + ", in order per dossier (keyed by dossier code). " + how,
			"messages":              inboxMsgs,
			"bindings":              chanBinding(inbox, false),
			"x-lienthong-agency":    a.Code,
			"x-lienthong-delivery":  mode,
			"x-lienthong-consumers": consumerNote(a),
		}
		channels[dlq] = map[string]any{
			"address":     topic(dlq),
			"title":       "Dead letters of " + a.Code,
			"description": "Events that could not be delivered to " + name + " (permanent refusal or retries exhausted), and replay markers. GET /v1/dlq lists them, POST /v1/dlq/{id}/replay replays one.",
			"messages": map[string]any{
				"dead-letter":          ref("#/components/messages/dead-letter"),
				"dead-letter-replayed": ref("#/components/messages/dead-letter-replayed"),
			},
			"bindings":           chanBinding(dlq, false),
			"x-lienthong-agency": a.Code,
		}
		operations["deliver-to."+a.Code] = map[string]any{
			"action": "send", "channel": ref("#/channels/" + escapePtr(inbox)),
			"title":   "Route events to " + a.Code,
			"summary": "The router writes every event for " + a.Code + " to its inbox.",
		}
		if mode == config.ModeWebhook {
			operations["webhook-delivery."+a.Code] = map[string]any{
				"action": "receive", "channel": ref("#/channels/" + escapePtr(inbox)),
				"title":    "Deliver to the webhook of " + a.Code,
				"bindings": groupBinding(engine.GroupID(a.Code), ""),
			}
		}
		operations["dead-letter."+a.Code] = map[string]any{
			"action": "send", "channel": ref("#/channels/" + escapePtr(dlq)),
			"title": "Dead-letter what cannot reach " + a.Code,
		}
	}

	servers, schemes := asyncServers(k)
	components := map[string]any{"schemas": compSchemas, "messages": messages}
	if len(schemes) > 0 {
		components["securitySchemes"] = schemes
	}

	var procs []any
	for _, p := range cfg.Procedures {
		var steps []any
		for _, s := range p.Steps {
			st := map[string]any{"id": s.ID, "name": s.Name, "agency": s.Agency}
			if s.OutputSchema != "" {
				st["output_schema"] = s.OutputSchema
			}
			if len(s.After) > 0 {
				st["after"] = s.After
			}
			steps = append(steps, st)
		}
		pr := map[string]any{"code": p.Code, "name": p.Name, "steps": steps}
		if len(p.FormSchemas) > 0 {
			pr["form_schemas"] = p.FormSchemas
		}
		procs = append(procs, pr)
	}

	doc := map[string]any{
		"asyncapi": AsyncAPIVersion,
		"id":       "urn:lienthong:asyncapi",
		"info": map[string]any{
			"title":   "lienthong message bus: Kafka topics and messages",
			"version": Version,
			"description": "The Kafka side of lienthong, the inter-agency one-stop bus (docs/DESIGN.md sections 2, 3, 7 and 8). " +
				"Every record is keyed by dossier code and its value is a CloudEvent 1.0 in JSON structured mode " +
				"(content-type header, CloudEvents Kafka binding). Generated by `lienthong asyncapi` from the embedded JSON Schemas " +
				"and this deployment's config (topic prefix, partitions, agencies, procedures); do not edit it by hand.",
		},
		"defaultContentType":     event.ContentType,
		"channels":               channels,
		"operations":             operations,
		"components":             components,
		"x-lienthong-procedures": procs,
	}
	if len(servers) > 0 {
		doc["servers"] = servers
	}
	return doc, nil
}

// dataHasForm reports whether the data schema of typ v has a form member.
func dataHasForm(reg *schemas.Registry, typ string, v int) bool {
	raw, ok := reg.Document(typ + "/v" + strconv.Itoa(v))
	return ok && strings.Contains(string(raw), `"form"`)
}

func keyBinding() map[string]any {
	return map[string]any{
		"key": map[string]any{"type": "string", "description": "The dossier code (the event's subject).",
			"pattern": "^[A-Z0-9][A-Z0-9.]{0,31}-[0-9]{8}-[0-9]{4,10}$"},
		"bindingVersion": kafkaBinding,
	}
}

func groupBinding(group, pattern string) map[string]any {
	g := map[string]any{"type": "string"}
	if group != "" {
		g["const"] = group
	}
	if pattern != "" {
		g["pattern"] = pattern
	}
	return map[string]any{"kafka": map[string]any{"groupId": g, "bindingVersion": kafkaBinding}}
}

func consumerNote(a config.Agency) string {
	switch a.Delivery.Mode {
	case config.ModeWebhook:
		return engine.GroupID(a.Code)
	case config.ModePull:
		return "none: read by the pull feed without a consumer group"
	}
	return "the agency's own consumer group"
}

// escapePtr escapes a channel key for a JSON Pointer.
func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// asyncServers describes the brokers: the configured ones, else the
// embedded broker's listen address.
func asyncServers(k config.Kafka) (map[string]any, map[string]any) {
	protocol := "kafka"
	if k.TLS.Enabled {
		protocol = "kafka-secure"
	}
	var security []any
	schemes := map[string]any{}
	switch k.SASL.Mechanism {
	case "PLAIN":
		schemes["sasl"] = map[string]any{"type": "plain", "description": "SASL/PLAIN; the password comes from " + k.SASL.PasswordEnv + "."}
	case "SCRAM-SHA-256":
		schemes["sasl"] = map[string]any{"type": "scramSha256", "description": "SASL/SCRAM-SHA-256."}
	case "SCRAM-SHA-512":
		schemes["sasl"] = map[string]any{"type": "scramSha512", "description": "SASL/SCRAM-SHA-512."}
	}
	if _, ok := schemes["sasl"]; ok {
		security = append(security, map[string]any{"$ref": "#/components/securitySchemes/sasl"})
	}
	if k.TLS.CertFile != "" {
		schemes["tls-client-certificate"] = map[string]any{"type": "X509", "description": "TLS client certificate (kafka.tls.cert_file)."}
		security = append(security, map[string]any{"$ref": "#/components/securitySchemes/tls-client-certificate"})
	}
	servers := map[string]any{}
	if k.Embedded() {
		servers["embedded"] = map[string]any{
			"host":        k.EmbeddedListen,
			"protocol":    "kafka",
			"title":       "Embedded broker",
			"description": "The broker `lienthong serve` starts when no brokers are configured (single node).",
		}
		return servers, schemes
	}
	for i, b := range k.Brokers {
		s := map[string]any{"host": b, "protocol": protocol, "title": "Broker " + strconv.Itoa(i+1)}
		if len(security) > 0 {
			s["security"] = security
		}
		servers["broker-"+strconv.Itoa(i+1)] = s
	}
	return servers, schemes
}
