package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/schemas"
)

// OpenAPIVersion is the version of the OpenAPI specification generated.
const OpenAPIVersion = "3.1.0"

// OpenAPIPath is where the HTTP API serves its OpenAPI document.
const OpenAPIPath = "/v1/openapi.json"

// OpenAPI returns the OpenAPI 3.1 document of the HTTP API: every route
// (routes.go), with its parameters, bodies, the problem types each status
// may carry (package problem's catalog), and the event schemas of reg.
func OpenAPI(reg *schemas.Registry) ([]byte, error) {
	doc, err := openAPIDoc(reg)
	if err != nil {
		return nil, err
	}
	return marshal(doc)
}

func openAPIDoc(reg *schemas.Registry) (map[string]any, error) {
	prefix := func(comp string) string { return "#/components/schemas/" + comp }
	comps, _, err := componentSchemas(reg, prefix)
	if err != nil {
		return nil, err
	}
	types, versions := eventKinds(reg)
	var anyEvent, agencyEvent []any
	for _, t := range types {
		for _, v := range versions[t] {
			ec := eventComponent(t, v)
			comps[ec] = eventSchema(reg, t, v, prefix, nil)
			anyEvent = append(anyEvent, schemaRef(ec))
			if isAgencyType(t) {
				agencyEvent = append(agencyEvent, schemaRef(ec))
			}
		}
	}
	comps[compAnyEvent] = map[string]any{"title": "Any lienthong event", "anyOf": anyEvent}
	comps[compAgencyEvent] = map[string]any{"title": "Any event an agency may send", "anyOf": agencyEvent}

	// The problem catalog: every type, its URN and title.
	catalog := problem.Catalog()
	names := make([]string, 0, len(catalog))
	for t := range catalog {
		names = append(names, string(t))
	}
	sort.Strings(names)
	urns := make([]any, len(names))
	titles := map[string]any{}
	for i, n := range names {
		t := problem.Type(n)
		urns[i] = t.URN()
		titles[t.URN()] = t.Title()
	}
	prob := goSchema(reflect.TypeFor[problem.Details](), nil).(map[string]any)
	prob["title"] = "RFC 9457 problem details"
	prob["description"] = "Every error of the API. type is a URN of lienthong's one problem catalog (docs/PROBLEMS.md), " +
		"the same codes message.rejected and dead letters use; errors locate each failure in the submitted document by JSON Pointer; " +
		"index is the failing event of a batch."
	props := prob["properties"].(map[string]any)
	props["type"] = map[string]any{"type": "string", "enum": urns, "x-lienthong-titles": titles}
	comps["Problem"] = prob
	for name, t := range goTypes {
		comps[name] = goRef(t)
	}

	paths := map[string]any{}
	tags := map[string]bool{}
	for _, r := range routes() {
		op, err := operation(r)
		if err != nil {
			return nil, err
		}
		tags[r.tag] = true
		item, _ := paths[r.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.path] = item
		}
		m := strings.ToLower(r.method)
		if _, dup := item[m]; dup {
			return nil, fmt.Errorf("contract: %s %s twice in the route table", r.method, r.path)
		}
		item[m] = op
	}
	var tagList []any
	for _, t := range sortedNames(tags) {
		tagList = append(tagList, map[string]any{"name": t, "description": tagDescriptions[t]})
	}

	return map[string]any{
		"openapi":           OpenAPIVersion,
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": map[string]any{
			"title":   "lienthong HTTP API",
			"version": Version,
			"summary": "The inter-agency one-stop message bus: send events, track dossiers, read inboxes.",
			"description": "The HTTP side of lienthong (docs/DESIGN.md section 6). Agencies authenticate with a bearer token " +
				"(and, where configured, a TLS client certificate naming the agency). Errors are RFC 9457 application/problem+json " +
				"with a type URN from one catalog (components.schemas.Problem). Generated from the route table, the problem catalog " +
				"and the embedded JSON Schemas; do not edit it by hand.",
		},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"tags":     tagList,
		"paths":    paths,
		"components": map[string]any{
			"schemas": comps,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "An agency's token (its SHA-256 is in the config), or the admin token."},
				"clientCertificate": map[string]any{"type": "mutualTLS",
					"description": "Where http.tls.client_ca_file is set, a client certificate naming the token's agency (CN, DNS SAN or URI SAN urn:lienthong:agency:<CODE>)."},
			},
		},
	}, nil
}

var tagDescriptions = map[string]string{
	"events":     "Sending events (agencies).",
	"tracking":   "Where each dossier is, and the statistics.",
	"delivery":   "Pull inboxes and dead letters.",
	"schemas":    "The contract: JSON Schemas and this document.",
	"operations": "Health and metrics.",
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// operation renders one route as an OpenAPI Operation Object.
func operation(r route) (map[string]any, error) {
	op := map[string]any{
		"operationId": r.id,
		"summary":     r.summary,
		"tags":        []any{r.tag},
	}
	if r.description != "" {
		op["description"] = r.description
	}
	if r.public {
		op["security"] = []any{}
	}
	var params []any
	for _, p := range r.params {
		pm := map[string]any{"name": p.name, "in": p.in, "schema": p.schema}
		if p.description != "" {
			pm["description"] = p.description
		}
		if p.required || p.in == "path" {
			pm["required"] = true
		}
		params = append(params, pm)
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if r.request != nil {
		content := map[string]any{}
		for mt, s := range r.request.content {
			content[mt] = map[string]any{"schema": s}
		}
		op["requestBody"] = map[string]any{"required": true, "description": r.request.description, "content": content}
	}
	responses := map[string]any{}
	for _, ok := range r.ok {
		resp := map[string]any{"description": ok.description}
		if ok.content != nil {
			content := map[string]any{}
			for mt, s := range ok.content {
				content[mt] = map[string]any{"schema": s}
			}
			resp["content"] = content
		}
		if len(ok.headers) > 0 {
			resp["headers"] = headerObjects(ok.headers)
		}
		responses[strconv.Itoa(ok.status)] = resp
	}
	probs := map[int][]problem.Type{}
	for st, ts := range r.problems {
		probs[st] = append([]problem.Type(nil), ts...)
	}
	if !r.public {
		probs[http.StatusUnauthorized] = append(probs[http.StatusUnauthorized], problem.Unauthorized)
		probs[http.StatusTooManyRequests] = append(probs[http.StatusTooManyRequests], problem.RateLimited)
	}
	statuses := make([]int, 0, len(probs))
	for st := range probs {
		statuses = append(statuses, st)
	}
	sort.Ints(statuses)
	for _, st := range statuses {
		key := strconv.Itoa(st)
		if _, dup := responses[key]; dup {
			return nil, fmt.Errorf("contract: %s %s: status %d is both a success and a problem", r.method, r.path, st)
		}
		var urns []any
		var lines []string
		seen := map[problem.Type]bool{}
		for _, t := range probs[st] {
			if seen[t] {
				continue
			}
			seen[t] = true
			if _, ok := problem.Catalog()[t]; !ok {
				return nil, fmt.Errorf("contract: %s %s: problem %q is not in the catalog", r.method, r.path, t)
			}
			urns = append(urns, t.URN())
			lines = append(lines, t.URN()+": "+t.Title())
		}
		resp := map[string]any{
			"description": http.StatusText(st) + ". Problem types: " + strings.Join(lines, "; ") + ".",
			"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{
				"allOf":      []any{schemaRef("Problem")},
				"properties": map[string]any{"type": map[string]any{"enum": urns}, "status": map[string]any{"const": st}},
			}}},
		}
		if st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable {
			resp["headers"] = headerObjects(retry)
		}
		if st == http.StatusUnauthorized {
			resp["headers"] = headerObjects(map[string]string{"WWW-Authenticate": `Bearer realm="lienthong"`})
		}
		if st == http.StatusMethodNotAllowed {
			resp["headers"] = headerObjects(map[string]string{"Allow": "The methods the path takes."})
		}
		responses[key] = resp
	}
	op["responses"] = responses
	return op, nil
}

func headerObjects(h map[string]string) map[string]any {
	out := map[string]any{}
	for name, desc := range h {
		out[name] = map[string]any{"description": desc, "schema": map[string]any{"type": "string"}}
	}
	return out
}

// Handler serves a generated document (GET and HEAD; ETag, If-None-Match).
func Handler(doc []byte, contentType string) http.Handler {
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem.Send(w, http.StatusMethodNotAllowed, problem.MethodNotAllowed, "the document is read-only: use GET")
			return
		}
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		for _, t := range strings.Split(r.Header.Get("If-None-Match"), ",") {
			if t = strings.TrimSpace(t); t == "*" || strings.TrimPrefix(t, "W/") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", strconv.Itoa(len(doc)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(doc)
		}
	})
}

// OpenAPIHandler generates the document of reg and serves it at
// OpenAPIPath. A generation failure is a defect of the build; it is served
// as a 500 problem rather than stopping the bus.
func OpenAPIHandler(reg *schemas.Registry) (http.Handler, error) {
	doc, err := OpenAPI(reg)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			problem.Send(w, http.StatusInternalServerError, problem.Unavailable, "the OpenAPI document could not be generated")
		}), err
	}
	return Handler(doc, "application/json"), nil
}
