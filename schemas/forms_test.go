package schemas

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltInForms(t *testing.T) {
	want := map[string]bool{"urn:lienthong:form:1.001193:v1": true, "urn:lienthong:form:1.004227:v1": true, "urn:lienthong:form:tax-notice:v1": true}
	for _, f := range reg.Forms() {
		if !want[f.URN] || !f.BuiltIn || len(f.SHA256) != 64 || f.Title == "" {
			t.Errorf("form %+v", f)
		}
		delete(want, f.URN)
		disk := readFile(t, filepath.Join("..", f.Path))
		doc, ok := reg.Document("forms/" + f.Name + "/v1")
		if !ok || string(doc) != string(disk) {
			t.Errorf("%s: embedded document differs from %s", f.URN, f.Path)
		}
		// Every property carries the official form's Vietnamese wording.
		var walk func(at string, v any)
		walk = func(at string, v any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			if props, ok := m["properties"].(map[string]any); ok {
				for k, p := range props {
					pm := p.(map[string]any)
					if _, ok := pm["title"]; !ok && !strings.HasPrefix(at, "/$defs/parent/") && !strings.Contains(at, "/items") {
						t.Errorf("%s: %s/%s has no title", f.URN, at, k)
					}
					if strings.ToLower(k) != k || strings.ContainsAny(k, " -") {
						t.Errorf("%s: key %q is not ASCII snake_case", f.URN, k)
					}
					walk(at+"/properties/"+k, p)
				}
			}
			for _, kw := range []string{"items", "$defs"} {
				if sub, ok := m[kw].(map[string]any); ok {
					if kw == "$defs" {
						for k, d := range sub {
							walk(at+"/$defs/"+k+"/", d)
						}
					} else {
						walk(at+"/items", sub)
					}
				}
			}
		}
		walk("", decode(t, disk))
	}
	for urn := range want {
		t.Errorf("built-in form %s missing", urn)
	}
}

func sampleData(t testing.TB, file string) map[string]any {
	ev := decode(t, readFile(t, "testdata/valid/"+file))
	return ev["data"].(map[string]any)
}

func TestCheckForm(t *testing.T) {
	land := []string{"urn:lienthong:form:1.004227:v1"}
	cases := []struct {
		name     string
		file     string
		accepted []string
		edit     func(d map[string]any)
		at, says string // "" at: valid
	}{
		{"land", "dossier.submitted.v2-land.json", land, nil, "", ""},
		{"birth", "dossier.submitted.v2-birth.json", []string{"urn:lienthong:form:1.001193:v1"}, nil, "", ""},
		{"default version", "dossier.submitted.v2-land.json", land, func(d map[string]any) { delete(d, "form_schema") }, "", ""},
		{"no form", "dossier.submitted.v2-land.json", land, func(d map[string]any) { delete(d, "form") }, "/data/form", "needs its form"},
		{"form without a form schema", "dossier.submitted.v2-land.json", nil, nil, "/data/form", "has no form schema"},
		{"another procedure's", "dossier.submitted.v2-land.json", land, func(d map[string]any) { d["form_schema"] = "urn:lienthong:form:1.001193:v1" },
			"/data/form_schema", "is a form of 1.001193, not of procedure 1.004227"},
		{"unknown version", "dossier.submitted.v2-land.json", land, func(d map[string]any) { d["form_schema"] = "urn:lienthong:form:1.004227:v3" },
			"/data/form_schema", "does not accept form v3 (accepted: v1)"},
		{"wrong type", "dossier.submitted.v2-land.json", land, func(d map[string]any) {
			d["form"].(map[string]any)["parcel"].(map[string]any)["sheet_number"] = "12"
		}, "/data/form/parcel/sheet_number", "expected integer"},
		{"bad citizen id of the mother", "dossier.submitted.v2-birth.json", []string{"urn:lienthong:form:1.001193:v1"}, func(d map[string]any) {
			d["form"].(map[string]any)["mother"].(map[string]any)["citizen_id"] = "123"
		}, "/data/form/mother/citizen_id", "does not match pattern"},
		{"unknown field", "dossier.submitted.v2-land.json", land, func(d map[string]any) {
			d["form"].(map[string]any)["parcel"].(map[string]any)["so_to"] = 1
		}, "/data/form/parcel/so_to", "not allowed"},
		{"not an object", "dossier.submitted.v2-land.json", land, func(d map[string]any) { d["form"] = []any{1} }, "/data/form", "must be an object"},
		{"too deep", "dossier.submitted.v2-land.json", land, func(d map[string]any) {
			var v any = 1.0
			for i := 0; i < 30; i++ {
				v = []any{v}
			}
			d["form"].(map[string]any)["change"] = v
		}, "/data/form/change/0/0/0", "nests more than 16"},
		{"too large", "dossier.submitted.v2-land.json", land, func(d map[string]any) {
			d["form"].(map[string]any)["change"].(map[string]any)["details"] = strings.Repeat("đ", 40000)
		}, "/data/form", "a form may hold at most 65536"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := sampleData(t, c.file)
			if c.edit != nil {
				c.edit(d)
			}
			errs := reg.CheckForm(d, d["procedure"].(string), c.accepted)
			if c.at == "" {
				if errs != nil {
					t.Fatal(errs)
				}
				return
			}
			for _, e := range errs {
				if strings.HasPrefix(e.Location, c.at) && strings.Contains(e.Message, c.says) {
					return
				}
			}
			t.Fatalf("errors %v, want one at %s saying %q", errs, c.at, c.says)
		})
	}
}

// Offline validation checks the form against the schema it names, or the
// newest of its procedure's.
func TestValidateEventChecksTheForm(t *testing.T) {
	for _, f := range []string{"dossier.submitted.v2-land.json", "dossier.submitted.v2-birth.json"} {
		if errs := reg.ValidateEvent(readFile(t, "testdata/valid/"+f)); errs != nil {
			t.Errorf("%s: %v", f, errs)
		}
	}
	ev := decode(t, readFile(t, "testdata/valid/dossier.submitted.v2-birth.json"))
	delete(ev["data"].(map[string]any)["form"].(map[string]any)["child"].(map[string]any), "sex")
	raw, _ := json.Marshal(ev)
	errs := reg.ValidateEvent(raw)
	if len(errs) != 1 || errs[0].Location != "/data/form/child/sex" {
		t.Fatalf("errors %v", errs)
	}
}

func writeForm(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const draft = `"$schema": "https://json-schema.org/draft/2020-12/schema"`

func TestLoadWithForms(t *testing.T) {
	dir := t.TempDir()
	writeForm(t, dir, "ho-tich.json", `{`+draft+`, "$id": "urn:lienthong:form:2.000123:v1", "title": "Tờ khai",
		"type": "object", "required": ["citizen_id"], "properties": {"citizen_id": {"$ref": "urn:lienthong:schema:defs#/$defs/citizen_id"}}}`)
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeForm(t, filepath.Join(dir, "sub"), "v2.json", `{`+draft+`, "$id": "urn:lienthong:form:2.000123:v2", "type": "object"}`)
	writeForm(t, dir, "README.txt", "not a schema")
	r, err := LoadWithForms(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := r.Form("urn:lienthong:form:2.000123:v1"); !ok || f.BuiltIn || f.Path != filepath.Join(dir, "ho-tich.json") {
		t.Fatalf("form %+v %v", f, ok)
	}
	if _, ok := r.Form("urn:lienthong:form:2.000123:v2"); !ok {
		t.Fatal("a form in a subdirectory was not loaded")
	}
	if _, ok := r.Form("urn:lienthong:form:1.004227:v1"); !ok {
		t.Fatal("built-in forms are missing")
	}
	errs := r.ValidateForm("urn:lienthong:form:2.000123:v1", map[string]any{"citizen_id": "12"}, "/data/form")
	if len(errs) != 1 || errs[0].Location != "/data/form/citizen_id" {
		t.Fatalf("a $ref to the shared definitions: %v", errs)
	}
}

func TestLoadWithFormsRefusesBadSchemas(t *testing.T) {
	builtIn := readFile(t, "forms/1.004227.v1.json")
	cases := []struct {
		name, body, at, says string
	}{
		{"not JSON", `{"$id": `, "", "not JSON"},
		{"an older draft", `{"$schema": "http://json-schema.org/draft-07/schema#", "$id": "urn:lienthong:form:x:v1"}`, "/$schema", "2020-12"},
		{"no form URN", `{` + draft + `, "$id": "urn:lienthong:schema:x:v1"}`, "/$id", "urn:lienthong:form:"},
		{"a keyword of the wrong type", `{` + draft + `, "$id": "urn:lienthong:form:x:v1", "properties": {"a": {"type": 5}}}`,
			"/properties/a/type", "not a valid JSON Schema"},
		{"a $ref to nothing", `{` + draft + `, "$id": "urn:lienthong:form:x:v1", "properties": {"a": {"$ref": "#/$defs/missing"}}}`,
			"", "missing"},
		{"a $ref outside", `{` + draft + `, "$id": "urn:lienthong:form:x:v1", "properties": {"a": {"$ref": "https://example.com/s.json"}}}`,
			"", "refusing to load it"},
		{"a published version changed", strings.Replace(string(builtIn), `"Thửa đất"`, `"Thửa"`, 1), "/$id", "already defined by schemas/forms/1.004227.v1.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeForm(t, dir, "f.json", c.body)
			_, err := LoadWithForms(dir)
			var fe *FormError
			if !errors.As(err, &fe) || fe.Path != path || !strings.HasPrefix(fe.Location, c.at) || !strings.Contains(fe.Message, c.says) {
				t.Fatalf("err = %v, want a FormError for %s at %s saying %q", err, path, c.at, c.says)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("%v does not name the file", err)
			}
		})
	}
	// The same content as a built-in form is only a copy.
	dir := t.TempDir()
	writeForm(t, dir, "copy.json", string(builtIn))
	if _, err := LoadWithForms(dir); err != nil {
		t.Fatalf("a copy of a built-in form: %v", err)
	}
}

// The gateway's path for a submission with its form: the event decoded
// once, then the envelope, the data and the form. birth: the 4 KB birth
// group dossier; land: the 2 KB land dossier.
func BenchmarkValidateForm(b *testing.B) {
	for _, c := range []struct{ name, file string }{{"birth-4KB", "dossier.submitted.v2-birth.json"}, {"land-2KB", "dossier.submitted.v2-land.json"}} {
		raw := readFile(b, "testdata/valid/"+c.file)
		var compact map[string]any
		_ = json.Unmarshal(raw, &compact)
		body, _ := json.Marshal(compact)
		b.Run(c.name, func(b *testing.B) {
			ev := decode(b, body)
			data := ev["data"].(map[string]any)
			urn := data["form_schema"].(string)
			accepted := []string{urn}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuPerOp(b, func() {
				if errs := reg.ValidateEnvelope(ev); errs != nil {
					b.Fatal(errs)
				}
				if errs := reg.ValidateData("dossier.submitted", 2, data); errs != nil {
					b.Fatal(errs)
				}
				if errs := reg.CheckForm(data, data["procedure"].(string), accepted); errs != nil {
					b.Fatal(errs)
				}
			})
		})
		b.Run(c.name+"/with-decode", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuPerOp(b, func() {
				ev := decode(b, body)
				data := ev["data"].(map[string]any)
				if reg.ValidateEnvelope(ev) != nil || reg.ValidateData("dossier.submitted", 2, data) != nil ||
					reg.CheckForm(data, data["procedure"].(string), []string{data["form_schema"].(string)}) != nil {
					b.Fatal("invalid")
				}
			})
		})
	}
}
