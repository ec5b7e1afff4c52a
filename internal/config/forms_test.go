package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A form schema file that does not compile is a config problem at
// forms_dir naming the file and the location in it; a good one is usable by
// the procedures.
func TestFormsDir(t *testing.T) {
	dir := t.TempDir()
	good := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:lienthong:form:1.004227:v2",
		"type": "object", "required": ["parcel"], "properties": {"parcel": {"type": "object"}}}`
	if err := os.WriteFile(filepath.Join(dir, "land-v2.json"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(base, "receivers: [HCC]\n", "receivers: [HCC]\n    form_schemas: [\"urn:lienthong:form:1.004227:v1\", \"urn:lienthong:form:1.004227:v2\"]\n", 1) +
		"forms_dir: " + dir + "\n"
	c, err := ParseWith([]byte(doc), "forms.yaml", envOf(baseEnv))
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := c.Schemas().Form("urn:lienthong:form:1.004227:v2"); !ok || f.BuiltIn {
		t.Fatalf("forms_dir's form: %+v %v", f, ok)
	}
	pr, _ := c.Procedure("1.004227")
	if len(pr.FormSchemas) != 2 {
		t.Fatalf("form_schemas %v", pr.FormSchemas)
	}

	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(bad, []byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:lienthong:form:x:v1",
		"properties": {"a": {"minLength": "three"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ParseWith([]byte(doc), "forms.yaml", envOf(baseEnv))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "forms_dir" ||
		!strings.Contains(ve.Problems[0].Message, bad) || !strings.Contains(ve.Problems[0].Message, "/properties/a/minLength") {
		t.Fatalf("a form schema that does not compile: %v", err)
	}
}
