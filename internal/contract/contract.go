// Package contract generates lienthong's machine-readable contract from the
// code: the AsyncAPI 3.0 document of the Kafka topics and messages
// (`lienthong asyncapi`) and the OpenAPI 3.1 document of the HTTP API
// (GET /v1/openapi.json, `lienthong openapi`).
//
// Nothing here is written by hand as JSON. The message and data schemas are
// the embedded JSON Schemas of package schemas (schemas.Registry), copied
// into components.schemas with their $refs rewritten to point inside the
// document; the topics come from package kafkabus and the config; the HTTP
// routes from the route table in routes.go, which a test holds equal to what
// internal/app mounts; the problem types from package problem's catalog; the
// response bodies from the Go types the handlers encode (gotype.go).
//
// Tests validate both documents against the official JSON Schemas of the
// two specifications (vendored under testdata/, with their licences).
package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/schemas"
)

// Version is the version of the contract documents' API (info.version).
const Version = "1.0.0"

// schemaFormat2020 is the AsyncAPI Multi Format Schema Object's name for
// JSON Schema 2020-12, the dialect of every lienthong schema.
const schemaFormat2020 = "application/schema+json;version=draft-2020-12"

// Component names of the schemas in components.schemas.
const (
	compDefs        = "lienthong.defs"
	compEnvelope    = "lienthong.envelope"
	compAnyEvent    = "lienthong.event"        // any event lienthong carries
	compAgencyEvent = "lienthong.agency-event" // any event an agency may send
)

// componentName names the component of an embedded schema URN.
func componentName(urn string) (string, bool) {
	switch urn {
	case schemas.DefsURN:
		return compDefs, true
	case schemas.EnvelopeURN:
		return compEnvelope, true
	}
	if rest, ok := strings.CutPrefix(urn, schemas.URNPrefix); ok {
		i := strings.LastIndex(rest, ":")
		if i < 0 {
			return "", false
		}
		return rest[:i] + "." + rest[i+1:], true // dossier.submitted.v1
	}
	if name, v, ok := schemas.ParseFormURN(urn); ok {
		return "form." + name + ".v" + strconv.Itoa(v), true
	}
	return "", false
}

// eventComponent names the component of a whole CloudEvent of one type and
// version (envelope and data).
func eventComponent(typ string, version int) string {
	return "event." + typ + ".v" + strconv.Itoa(version)
}

// schemaDoc is one embedded schema document to copy into a contract.
type schemaDoc struct {
	urn  string
	comp string
	name string // for Registry.Document
	raw  []byte
}

// registryDocs lists every schema document of reg: the shared definitions,
// the envelope, each event data schema and each form schema.
func registryDocs(reg *schemas.Registry) ([]schemaDoc, error) {
	var out []schemaDoc
	add := func(urn, name string) error {
		raw, ok := reg.Document(name)
		if !ok {
			return fmt.Errorf("contract: no schema document %q", name)
		}
		comp, ok := componentName(urn)
		if !ok {
			return fmt.Errorf("contract: no component name for %s", urn)
		}
		out = append(out, schemaDoc{urn: urn, comp: comp, name: name, raw: raw})
		return nil
	}
	if err := add(schemas.DefsURN, "defs"); err != nil {
		return nil, err
	}
	if err := add(schemas.EnvelopeURN, "envelope"); err != nil {
		return nil, err
	}
	for _, in := range reg.List() {
		if err := add(in.URN, in.Type+"/v"+strconv.Itoa(in.Version)); err != nil {
			return nil, err
		}
	}
	for _, f := range reg.Forms() {
		if err := add(f.URN, "forms/"+f.Name+"/v"+strconv.Itoa(f.Version)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// refPrefix is where the JSON Schema of component comp sits in a document:
// "#/components/schemas/<comp>", plus "/schema" when the component is an
// AsyncAPI Multi Format Schema Object.
type refPrefix func(comp string) string

// copySchema decodes an embedded schema for a contract document: its $id
// and $schema go (the document's own location and schemaFormat say them;
// x-lienthong-urn keeps the URN), and every $ref is rewritten to point
// inside the document, so that tools resolve it with no network and no
// knowledge of lienthong's URNs.
func copySchema(d schemaDoc, byURN map[string]string, prefix refPrefix) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(d.raw))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("contract: schema %s: %w", d.urn, err)
	}
	var walk func(v any, base string) error
	walk = func(v any, base string) error {
		switch x := v.(type) {
		case map[string]any:
			if id, ok := x["$id"].(string); ok {
				abs, err := resolve(base, id)
				if err != nil {
					return err
				}
				base, _, _ = strings.Cut(abs, "#")
			}
			for k, c := range x {
				switch k {
				case "$ref":
					s, _ := c.(string)
					abs, err := resolve(base, s)
					if err != nil {
						return fmt.Errorf("contract: schema %s: $ref %q: %w", d.urn, s, err)
					}
					uri, frag, _ := strings.Cut(abs, "#")
					comp, ok := byURN[uri]
					if !ok {
						return fmt.Errorf("contract: schema %s: $ref %q leads outside the embedded schemas", d.urn, s)
					}
					if frag != "" && !strings.HasPrefix(frag, "/") {
						return fmt.Errorf("contract: schema %s: $ref %q: anchors are not supported", d.urn, s)
					}
					x[k] = prefix(comp) + frag
				case "enum", "const", "default", "examples":
				default:
					if err := walk(c, base); err != nil {
						return err
					}
				}
			}
		case []any:
			for _, c := range x {
				if err := walk(c, base); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, d.urn); err != nil {
		return nil, err
	}
	delete(root, "$id")
	delete(root, "$schema")
	root["x-lienthong-urn"] = d.urn
	return root, nil
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	return b.ResolveReference(r).String(), nil
}

// eventKinds lists, for each event type with a schema, its versions.
func eventKinds(reg *schemas.Registry) (types []string, versions map[string][]int) {
	versions = map[string][]int{}
	for _, in := range reg.List() {
		if _, ok := versions[in.Type]; !ok {
			types = append(types, in.Type)
		}
		versions[in.Type] = append(versions[in.Type], in.Version)
	}
	sort.Strings(types)
	return types, versions
}

// isAgencyType reports whether agencies send events of type t.
func isAgencyType(t string) bool {
	for _, a := range event.AgencyTypes {
		if a == t {
			return true
		}
	}
	return false
}

// eventSchema is the JSON Schema of a whole CloudEvent of type typ, version
// v: the envelope, the type, the dataschema and the data. An older version
// is only chosen by naming it in dataschema; the newest applies without.
func eventSchema(reg *schemas.Registry, typ string, v int, prefix refPrefix, dataExtra []any) map[string]any {
	urn := schemas.URNPrefix + typ + ":v" + strconv.Itoa(v)
	dataComp, _ := componentName(urn)
	latest, _ := reg.Latest(typ)
	data := map[string]any{"$ref": prefix(dataComp)}
	if len(dataExtra) > 0 {
		data = map[string]any{"allOf": append([]any{map[string]any{"$ref": prefix(dataComp)}}, dataExtra...)}
	}
	s := map[string]any{
		"title":       fmt.Sprintf("%s event, data version %d", typ, v),
		"description": fmt.Sprintf("A CloudEvent 1.0 (JSON structured mode) of type %s whose data follows %s.", typ, urn),
		"allOf":       []any{map[string]any{"$ref": prefix(compEnvelope)}},
		"properties": map[string]any{
			"type":       map[string]any{"const": typ},
			"dataschema": map[string]any{"const": urn},
			"data":       data,
		},
	}
	if v != latest {
		s["required"] = []any{"dataschema"}
		s["description"] = s["description"].(string) + fmt.Sprintf(" Version %d is not the newest: the event names it in dataschema.", v)
	} else {
		s["description"] = s["description"].(string) + " The newest version: dataschema may be left out."
	}
	return s
}

// marshal renders a document: indented, keys sorted, HTML left unescaped.
func marshal(doc any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// componentSchemas copies every schema of reg into a document's components,
// each $ref rewritten by prefix, and returns them by component name with
// the component of each URN.
func componentSchemas(reg *schemas.Registry, prefix func(comp string) string) (comps map[string]any, byURN map[string]string, err error) {
	docs, err := registryDocs(reg)
	if err != nil {
		return nil, nil, err
	}
	byURN = map[string]string{}
	for _, d := range docs {
		byURN[d.urn] = d.comp
	}
	comps = map[string]any{}
	for _, d := range docs {
		s, err := copySchema(d, byURN, prefix)
		if err != nil {
			return nil, nil, err
		}
		comps[d.comp] = s
	}
	return comps, byURN, nil
}
