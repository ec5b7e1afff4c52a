package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/lienthong/lienthong/event"
)

var reg = MustLoad()

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEveryContractTypeHasASchema(t *testing.T) {
	var want []string
	want = append(want, event.AgencyTypes...)
	want = append(want, event.RouterTypes...)
	sort.Strings(want)
	var got []string
	for _, in := range reg.List() {
		if latest, _ := reg.Latest(in.Type); in.Version != latest {
			continue // older versions stay accepted; each type counts once
		}
		if in.URN != event.SchemaURN(in.Type, in.Version) {
			t.Errorf("%s: URN %s, event.SchemaURN says %s", in.Type, in.URN, event.SchemaURN(in.Type, in.Version))
		}
		if _, ok := reg.Document(in.Type + "/v" + strconv.Itoa(in.Version)); !ok {
			t.Errorf("%s: no document", in.Type)
		}
		if _, err := os.Stat(filepath.Join("..", in.Path)); err != nil {
			t.Errorf("%s: Path %s: %v", in.Type, in.Path, err)
		}
		got = append(got, in.Type)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schemas for %v, want %v", got, want)
	}
}

func TestValidExamples(t *testing.T) {
	for _, dir := range []string{"valid", "router"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if len(files) == 0 {
			t.Fatalf("no examples in testdata/%s", dir)
		}
		for _, f := range files {
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				raw := readFile(t, f)
				if errs := reg.ValidateEvent(raw); len(errs) != 0 {
					t.Fatalf("errors: %v", errs)
				}
				ev := decode(t, raw)
				typ := ev["type"].(string)
				// <type>.json, or <type>.v<N>-<variant>.json
				name, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), ".v")
				if typ != name {
					t.Errorf("file %s holds a %s event", f, typ)
				}
				if dir == "valid" && event.IsRouterType(typ) || dir == "router" && !event.IsRouterType(typ) {
					t.Errorf("%s: %s event in the wrong directory", f, typ)
				}
				// The same event decoded without UseNumber validates too.
				var plain map[string]any
				if err := json.Unmarshal(raw, &plain); err != nil {
					t.Fatal(err)
				}
				if errs := reg.ValidateEnvelope(plain); errs != nil {
					t.Errorf("envelope (float64 numbers): %v", errs)
				}
				version := 1
				if ds, ok := plain["dataschema"].(string); ok {
					_, version, _ = reg.ParseDataSchema(ds)
				}
				if errs := reg.ValidateData(typ, version, plain["data"]); errs != nil {
					t.Errorf("data (float64 numbers): %v", errs)
				}
			})
		}
	}
	// One example per agency type.
	for _, typ := range event.AgencyTypes {
		if _, err := os.Stat(filepath.Join("testdata", "valid", typ+".json")); err != nil {
			t.Errorf("no valid example of %s: %v", typ, err)
		}
	}
}

func TestInvalidExamples(t *testing.T) {
	want := map[string]string{ // file -> a location it must report
		"bad-channel.json":      "/data/channel",
		"bad-citizen-id.json":   "/data/applicant/id_number",
		"bad-time.json":         "/time",
		"missing-reason.json":   "/data/reason",
		"not-json.json":         "",
		"subject-mismatch.json": "/subject",
		"unknown-type.json":     "/type",
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.json"))
	if len(files) != len(want) {
		t.Fatalf("%d invalid examples, the test knows %d", len(files), len(want))
	}
	for _, f := range files {
		loc, ok := want[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: no expectation", f)
			continue
		}
		errs := reg.ValidateEvent(readFile(t, f))
		if !hasLocation(errs, loc) {
			t.Errorf("%s: errors %v, want one at %q", f, errs, loc)
		}
	}
}

func hasLocation(errs []Error, loc string) bool {
	for _, e := range errs {
		if e.Location == loc {
			return true
		}
	}
	return false
}

// op changes a decoded event at a JSON Pointer: set a value, or delete the
// member when del is true.
type op struct {
	path string
	val  any
	del  bool
}

func set(path string, v any) op { return op{path: path, val: v} }
func del(path string) op        { return op{path: path, del: true} }

func apply(t *testing.T, ev map[string]any, ops ...op) {
	t.Helper()
	for _, o := range ops {
		tokens := strings.Split(strings.TrimPrefix(o.path, "/"), "/")
		var cur any = ev
		for _, tok := range tokens[:len(tokens)-1] {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[tok]
			case []any:
				var i int
				if err := json.Unmarshal([]byte(tok), &i); err != nil {
					t.Fatal(err)
				}
				cur = c[i]
			}
		}
		last := tokens[len(tokens)-1]
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("op %s: parent is not an object", o.path)
		}
		if o.del {
			delete(m, last)
		} else {
			m[last] = o.val
		}
	}
}

func TestInvalidEvents(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	cases := []struct {
		name    string
		file    string // under testdata/valid; default dossier.submitted
		raw     string // used instead of file when set
		ops     []op
		loc     string
		message string
	}{
		{name: "citizen id too short", ops: []op{set("/data/applicant/id_number", "12345")}, loc: "/data/applicant/id_number", message: `does not match pattern "^[0-9]{12}$"`},
		{name: "citizen id not a string", ops: []op{set("/data/applicant/id_number", 1234567890.0)}, loc: "/data/applicant/id_number", message: "expected string, but got number"},
		{name: "citizen without id number", ops: []op{del("/data/applicant/id_number")}, loc: "/data/applicant/id_number", message: `missing property "id_number"`},
		{name: "business without tax code", ops: []op{set("/data/applicant/kind", "business")}, loc: "/data/applicant/tax_code", message: `missing property "tax_code"`},
		{name: "business tax code 11 digits", ops: []op{set("/data/applicant/kind", "business"), set("/data/applicant/tax_code", "01234567890")}, loc: "/data/applicant/tax_code", message: "does not match pattern"},
		{name: "bad applicant kind", ops: []op{set("/data/applicant/kind", "robot")}, loc: "/data/applicant/kind", message: `value must be one of "citizen", "business"`},
		{name: "bad phone", ops: []op{set("/data/applicant/phone", "call me")}, loc: "/data/applicant/phone", message: "does not match pattern"},
		{name: "bad email", ops: []op{set("/data/applicant/email", "not-an-email")}, loc: "/data/applicant/email", message: "not a valid email"},
		{name: "empty full name", ops: []op{set("/data/applicant/full_name", "")}, loc: "/data/applicant/full_name", message: "length must be >= 1"},
		{name: "unknown applicant field", ops: []op{set("/data/applicant/nickname", "x")}, loc: "/data/applicant/nickname", message: `property "nickname" is not allowed`},
		{name: "time not a date-time", ops: []op{set("/time", "yesterday")}, loc: "/time", message: "not a valid RFC 3339 date-time"},
		{name: "time without offset", ops: []op{set("/time", "2026-03-03T08:15:00")}, loc: "/time", message: "date-time"},
		{name: "received_at bad", ops: []op{set("/data/received_at", "2026-13-03T08:15:00Z")}, loc: "/data/received_at", message: "date-time"},
		{name: "missing time", ops: []op{del("/time")}, loc: "/time", message: `missing property "time"`},
		{name: "missing subject", ops: []op{del("/subject")}, loc: "/subject", message: `missing property "subject"`},
		{name: "missing procedure", ops: []op{del("/data/procedure")}, loc: "/data/procedure", message: `missing property "procedure"`},
		{name: "missing data", ops: []op{del("/data")}, loc: "/data", message: `missing property "data"`},
		{name: "data not an object", ops: []op{set("/data", "hello")}, loc: "/data", message: "expected object, but got string"},
		{name: "extra data field", ops: []op{set("/data/foo", 1.0)}, loc: "/data/foo", message: `property "foo" is not allowed`},
		{name: "extra field with pointer escapes", ops: []op{set("/data/a~b", 1.0)}, loc: "/data/a~0b", message: `property "a~b" is not allowed`},
		{name: "bad dossier code", ops: []op{set("/data/code", "hcc-2026-1"), set("/subject", "hcc-2026-1")}, loc: "/data/code", message: "does not match pattern"},
		{name: "bad subject", ops: []op{set("/subject", "HCC_1")}, loc: "/subject", message: "does not match pattern"},
		{name: "subject differs from code", ops: []op{set("/subject", "HCC-20260303-0002")}, loc: "/subject", message: `must equal data.code "HCC-20260303-0001"`},
		{name: "bad procedure code", ops: []op{set("/data/procedure", "1004227")}, loc: "/data/procedure", message: "does not match pattern"},
		{name: "bad channel", ops: []op{set("/data/channel", "fax")}, loc: "/data/channel", message: `value must be one of "direct", "online", "postal"`},
		{name: "document bad sha256", ops: []op{set("/data/documents/1/sha256", strings.ToUpper(sha))}, loc: "/data/documents/1/sha256", message: `does not match pattern "^[a-f0-9]{64}$"`},
		{name: "document ftp url", ops: []op{set("/data/documents/0/url", "ftp://files.example/a.pdf")}, loc: "/data/documents/0/url", message: "does not match pattern"},
		{name: "document relative url", ops: []op{set("/data/documents/0/url", "/files/a.pdf")}, loc: "/data/documents/0/url", message: "absolute URI"},
		{name: "document negative size", ops: []op{set("/data/documents/0/size", -1.0)}, loc: "/data/documents/0/size", message: "must be >= 0"},
		{name: "document fractional size", ops: []op{set("/data/documents/0/size", json.Number("1.5"))}, loc: "/data/documents/0/size", message: "expected integer"},
		{name: "documents not an array", ops: []op{set("/data/documents", map[string]any{})}, loc: "/data/documents", message: "expected array"},
		{name: "wrong specversion", ops: []op{set("/specversion", "0.3")}, loc: "/specversion", message: `value must be "1.0"`},
		{name: "bad id characters", ops: []op{set("/id", "a b")}, loc: "/id", message: "does not match pattern"},
		{name: "empty id", ops: []op{set("/id", "")}, loc: "/id", message: "length must be >= 1"},
		{name: "bad datacontenttype", ops: []op{set("/datacontenttype", "text/xml")}, loc: "/datacontenttype", message: `value must be "application/json"`},
		{name: "source not an agency", ops: []op{set("/source", "https://example.com/x")}, loc: "/source", message: "urn:lienthong:agency:"},
		{name: "bad type form", ops: []op{set("/type", "Dossier-Submitted")}, loc: "/type", message: "does not match pattern"},
		{name: "unknown type", ops: []op{set("/type", "dossier.teleported"), del("/dataschema")}, loc: "/type", message: `unknown event type "dossier.teleported"`},
		{name: "unknown version", ops: []op{set("/dataschema", "urn:lienthong:schema:dossier.submitted:v9")}, loc: "/dataschema", message: "unknown schema version v9 of dossier.submitted (known: v1, v2)"},
		{name: "dataschema of another type", ops: []op{set("/dataschema", "urn:lienthong:schema:dossier.rejected:v1")}, loc: "/dataschema", message: `names type "dossier.rejected"`},
		{name: "malformed dataschema", ops: []op{set("/dataschema", "https://example.com/schema.json")}, loc: "/dataschema", message: "does not match pattern"},
		{name: "extension attribute with bad name", ops: []op{set("/traceParent", "00-abc")}, loc: "/traceParent", message: "not a CloudEvents attribute"},
		{name: "data_base64 is not accepted", ops: []op{set("/data_base64", "AAAA")}, loc: "/data_base64", message: "not a CloudEvents attribute"},
		{name: "extension attribute not a scalar", ops: []op{set("/traceparent", map[string]any{})}, loc: "/traceparent", message: "expected string or integer or boolean"},
		{name: "step.completed bad step id", file: "dossier.step.completed", ops: []op{set("/data/step", "Verify!")}, loc: "/data/step", message: "does not match pattern"},
		{name: "supplement request empty missing", file: "dossier.supplement.requested", ops: []op{set("/data/missing", []any{})}, loc: "/data/missing", message: "minimum 1 items"},
		{name: "rejected without reason", file: "dossier.rejected", ops: []op{del("/data/reason")}, loc: "/data/reason", message: `missing property "reason"`},
		{name: "withdrawn empty reason", file: "dossier.withdrawn", ops: []op{set("/data/reason", "")}, loc: "/data/reason", message: "length must be >= 1"},
		{name: "result returned bad returned_at", file: "dossier.result.returned", ops: []op{set("/data/returned_at", "13/03/2026")}, loc: "/data/returned_at", message: "date-time"},
		{name: "supplemented without documents", file: "dossier.supplemented", ops: []op{del("/data/documents")}, loc: "/data/documents", message: `missing property "documents"`},
		{name: "not JSON", raw: `{"specversion": "1.0",,}`, loc: "", message: "invalid JSON at byte 23"},
		{name: "truncated JSON", raw: `{"specversion": "1.0"`, loc: "", message: "unexpected end of input"},
		{name: "two values", raw: `{} {}`, loc: "", message: "invalid JSON at byte 3: unexpected data after the event"},
		{name: "array, not object", raw: `[{}]`, loc: "", message: "must be a JSON object, got an array"},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte(c.raw)
			if c.raw == "" {
				file := c.file
				if file == "" {
					file = event.Submitted
				}
				ev := decode(t, readFile(t, filepath.Join("testdata", "valid", file+".json")))
				apply(t, ev, c.ops...)
				var err error
				if raw, err = json.Marshal(ev); err != nil {
					t.Fatal(err)
				}
			}
			errs := reg.ValidateEvent(raw)
			for _, e := range errs {
				if e.Location == c.loc && strings.Contains(e.Message, c.message) {
					return
				}
			}
			t.Fatalf("errors %v\nwant one at %q containing %q", errs, c.loc, c.message)
		})
	}
}

func TestErrorsAreLeavesDedupedAndSorted(t *testing.T) {
	ev := decode(t, readFile(t, "testdata/valid/dossier.submitted.json"))
	apply(t, ev,
		set("/time", "yesterday"),
		set("/data/applicant/id_number", "1"),
		set("/data/zeta", 1.0), set("/data/alpha", 1.0),
		del("/data/procedure"), del("/data/channel"),
	)
	raw, _ := json.Marshal(ev)
	got := reg.ValidateEvent(raw)
	want := []Error{
		{"/data/alpha", `property "alpha" is not allowed`},
		{"/data/applicant/id_number", `does not match pattern "^[0-9]{12}$"`},
		{"/data/channel", `missing property "channel"`},
		{"/data/procedure", `missing property "procedure"`},
		{"/data/zeta", `property "zeta" is not allowed`},
		{"/time", formatMessage("date-time")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
	for _, e := range got {
		if strings.Contains(e.Message, "doesn't validate") || strings.Contains(e.Message, "failed") {
			t.Errorf("wrapper message reported: %v", e)
		}
	}
}

func TestMessagesDoNotEchoPersonalData(t *testing.T) {
	ev := decode(t, readFile(t, "testdata/valid/dossier.submitted.json"))
	apply(t, ev, set("/data/applicant/id_number", "SECRET-ID-999"), set("/data/applicant/email", "SECRET@@mail"))
	raw, _ := json.Marshal(ev)
	errs := reg.ValidateEvent(raw)
	if len(errs) != 2 {
		t.Fatalf("errors %v, want 2", errs)
	}
	for _, e := range errs {
		if strings.Contains(e.Message, "SECRET") {
			t.Errorf("message echoes the submitted value: %v", e)
		}
	}
}

func TestBusinessApplicant(t *testing.T) {
	ev := decode(t, readFile(t, "testdata/valid/dossier.submitted.json"))
	apply(t, ev, set("/data/applicant", map[string]any{"kind": "business", "full_name": "Công ty TNHH Ví Dụ", "tax_code": "0123456789001"}))
	raw, _ := json.Marshal(ev)
	if errs := reg.ValidateEvent(raw); errs != nil {
		t.Fatalf("13-digit business: %v", errs)
	}
	apply(t, ev, del("/data/applicant/kind"))
	raw, _ = json.Marshal(ev)
	errs := reg.ValidateEvent(raw)
	if !reflect.DeepEqual(errs, []Error{{"/data/applicant/id_number", `missing property "id_number"`}}) {
		t.Fatalf("kind defaults to citizen: got %v", errs)
	}
}

func TestValidateDataDirect(t *testing.T) {
	if errs := reg.ValidateData("dossier.teleported", 1, map[string]any{}); !reflect.DeepEqual(errs, []Error{{"/type", `unknown event type "dossier.teleported"`}}) {
		t.Errorf("unknown type: %v", errs)
	}
	if errs := reg.ValidateData(event.Withdrawn, 2, map[string]any{}); len(errs) != 1 || errs[0].Location != "/dataschema" {
		t.Errorf("unknown version: %v", errs)
	}
	if errs := reg.ValidateData(event.Withdrawn, 1, []any{}); !reflect.DeepEqual(errs, []Error{{"/data", "expected object, but got array"}}) {
		t.Errorf("not an object: %v", errs)
	}
	// A Go value encoding/json never makes is reported, not panicked on.
	if errs := reg.ValidateData(event.Withdrawn, 1, map[string]any{"reason": 5}); len(errs) != 1 || errs[0].Location != "/data/reason" {
		t.Errorf("int value: %v", errs)
	}
	if errs := reg.ValidateData(event.Withdrawn, 1, map[string]any{"reason": struct{}{}}); len(errs) != 1 || errs[0].Location != "/data" {
		t.Errorf("struct value: %v", errs)
	}
}

func TestRouterSchemas(t *testing.T) {
	cases := []struct {
		typ  string
		data string
		loc  string // "" = valid
		msg  string
	}{
		{event.StatusChanged, `{"status":"received"}`, "", ""},
		{event.StatusChanged, `{"status":"lost"}`, "/data/status", "value must be one of"},
		{event.StatusChanged, `{"status":"processing","previous":"nope"}`, "/data/previous", "value must be one of"},
		{event.StatusChanged, `{"status":"processing","portal_status":4.5}`, "/data/portal_status", "expected integer"},
		{event.Overdue, `{"due_at":"2026-03-10T08:15:00+07:00"}`, "", ""},
		{event.Overdue, `{"due_at":"2026-03-10T08:15:00+07:00","agency":"vpdk"}`, "/data/agency", "does not match pattern"},
		{event.Completed, `{"outputs":{"verify":{}},"documents":{"verify":[]}}`, "", ""},
		{event.Completed, `{"outputs":{"Bad Step":{}},"documents":{}}`, "/data/outputs/Bad Step", `"Bad Step" is not allowed as a name here`},
		{event.Completed, `{"outputs":{"verify":3},"documents":{}}`, "/data/outputs/verify", "expected object"},
		{event.Completed, `{"outputs":{},"documents":{"verify":[{"name":"a","url":"https://x.example/a","sha256":"00"}]}}`, "/data/documents/verify/0/sha256", "does not match pattern"},
		{event.MessageRejected, `{"rejected_id":"abc","reason":"step-not-open"}`, "/data/reason", `does not match pattern "^urn:lienthong:problem:[a-z0-9-]+$"`},
		{event.Assigned, `{"step":{"id":"verify","name":"x","due_at":"2026-03-10T08:15:00+07:00"},"dossier":{"code":"HCC-20260303-0001"},"outputs":{}}`, "/data/dossier/procedure", `missing property "procedure"`},
		{event.Assigned, `{"step":{"id":"verify","name":"x"},"dossier":{},"outputs":{}}`, "/data/step/due_at", `missing property "due_at"`},
	}
	for _, c := range cases {
		t.Run(c.typ+" "+c.data, func(t *testing.T) {
			errs := reg.ValidateData(c.typ, 1, decode(t, []byte(c.data)))
			if c.loc == "" {
				if errs != nil {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Location == c.loc && strings.Contains(e.Message, c.msg) {
					return
				}
			}
			t.Fatalf("errors %v, want one at %q containing %q", errs, c.loc, c.msg)
		})
	}
}

func TestParseDataSchema(t *testing.T) {
	cases := []struct {
		urn     string
		typ     string
		version int
		err     error
	}{
		{"urn:lienthong:schema:dossier.submitted:v1", "dossier.submitted", 1, nil},
		{"urn:lienthong:schema:dossier.submitted:v7", "dossier.submitted", 7, ErrUnknownVersion},
		{"urn:lienthong:schema:dossier.teleported:v1", "dossier.teleported", 1, ErrUnknownType},
		{"urn:lienthong:schema:dossier.submitted:v01", "", 0, ErrBadDataSchema},
		{"urn:lienthong:schema:dossier.submitted:v0", "", 0, ErrBadDataSchema},
		{"urn:lienthong:schema:dossier.submitted", "", 0, ErrBadDataSchema},
		{"urn:lienthong:schema:envelope", "", 0, ErrBadDataSchema},
		{"urn:other:dossier.submitted:v1", "", 0, ErrBadDataSchema},
		{"urn:lienthong:schema:Dossier.submitted:v1", "", 0, ErrBadDataSchema},
		{"", "", 0, ErrBadDataSchema},
	}
	for _, c := range cases {
		typ, v, err := reg.ParseDataSchema(c.urn)
		if typ != c.typ || v != c.version || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("ParseDataSchema(%q) = %q, %d, %v; want %q, %d, %v", c.urn, typ, v, err, c.typ, c.version, c.err)
		}
	}
}

func TestLookups(t *testing.T) {
	if !reg.Known(event.Submitted) || reg.Known("dossier.teleported") || reg.Known("") {
		t.Error("Known")
	}
	if v, ok := reg.Latest(event.Submitted); v != 2 || !ok {
		t.Errorf("Latest = %d, %v", v, ok)
	}
	if _, ok := reg.Latest("nope"); ok {
		t.Error("Latest of unknown type")
	}
	if !reg.HasVersion(event.Overdue, 1) || reg.HasVersion(event.Overdue, 2) {
		t.Error("HasVersion")
	}
	for _, name := range []string{"envelope", "defs", "dossier.submitted/v1"} {
		b, ok := reg.Document(name)
		if !ok || !json.Valid(b) {
			t.Errorf("Document(%q) = %d bytes, %v", name, len(b), ok)
		}
		b[0] = 'X' // a copy: the registry's document is unchanged
		if again, _ := reg.Document(name); again[0] != '{' {
			t.Errorf("Document(%q) returned the registry's own bytes", name)
		}
	}
	if _, ok := reg.Document("dossier.submitted/v9"); ok {
		t.Error("Document of unknown version")
	}
	l := reg.List()
	l[0].Type = "changed"
	if reg.List()[0].Type == "changed" {
		t.Error("List returned the registry's own slice")
	}
}

// A schema that refers to anything not embedded must fail at Load, without
// any attempt to fetch it.
func TestLoadRefusesExternalRefs(t *testing.T) {
	base := fstest.MapFS{}
	for _, name := range []string{"defs.json", "envelope.json", "dossier.withdrawn/v1.json"} {
		base[name] = &fstest.MapFile{Data: readFile(t, name)}
	}
	if _, err := load(base, nil); err != nil {
		t.Fatalf("minimal set: %v", err)
	}
	for _, ref := range []string{"http://127.0.0.1:1/evil.json", "file:///etc/passwd", "urn:lienthong:schema:missing"} {
		fsys := fstest.MapFS{}
		for k, v := range base {
			fsys[k] = v
		}
		fsys["dossier.withdrawn/v1.json"] = &fstest.MapFile{Data: []byte(`{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"$id": "urn:lienthong:schema:dossier.withdrawn:v1",
			"type": "object", "properties": {"reason": {"$ref": "` + ref + `"}}}`)}
		_, err := load(fsys, nil)
		if err == nil || !strings.Contains(err.Error(), "not embedded") {
			t.Errorf("$ref %s: err = %v, want a refusal", ref, err)
		}
	}
}

func TestLoadChecksIDs(t *testing.T) {
	fsys := fstest.MapFS{
		"defs.json":                 {Data: readFile(t, "defs.json")},
		"envelope.json":             {Data: readFile(t, "envelope.json")},
		"dossier.withdrawn/v2.json": {Data: readFile(t, "dossier.withdrawn/v1.json")},
	}
	if _, err := load(fsys, nil); err == nil || !strings.Contains(err.Error(), "$id") {
		t.Fatalf("v2 file with a v1 $id: err = %v", err)
	}
}

func TestEmbeddedFilesMatchDisk(t *testing.T) {
	for _, in := range reg.List() {
		disk := readFile(t, filepath.Join("..", in.Path))
		doc, _ := reg.Document(in.Type + "/v" + strconv.Itoa(in.Version))
		if !bytes.Equal(disk, doc) {
			t.Errorf("%s differs from the embedded document", in.Path)
		}
		m := decode(t, disk)
		if m["additionalProperties"] != false {
			t.Errorf("%s: data schemas fix their fields (additionalProperties: false)", in.Path)
		}
	}
}
