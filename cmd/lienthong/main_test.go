package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateExitCodes(t *testing.T) {
	valid, _ := filepath.Glob("../../schemas/testdata/valid/*.json")
	if len(valid) == 0 {
		t.Fatal("no examples")
	}
	if code, out, errs := runCLI(append([]string{"validate"}, valid...)...); code != 0 {
		t.Fatalf("valid files: exit %d\n%s%s", code, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	b, _ := os.ReadFile("../../schemas/testdata/valid/dossier.submitted.json")
	b = bytes.Replace(b, []byte(`"received_at"`), []byte(`"received_on"`), 1)
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI("validate", valid[0], bad)
	if code != 1 || !strings.Contains(out, bad+": /data/received_at: ") || !strings.Contains(out, bad+": /data/received_on: ") {
		t.Fatalf("invalid file: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI("validate"); code != 2 {
		t.Fatalf("no file: exit %d", code)
	}
	if code, _, _ := runCLI("validate", filepath.Join(t.TempDir(), "missing.json")); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`
agencies:
  - { code: HCC, receiver: true, token_sha256: "00", delivery: { mode: pigeon } }
procedures:
  - code: "1.1"
    deadline: 5x
    steps:
      - { id: a, agency: NOPE, deadline: 1d, after: [b] }
      - { id: b, agency: HCC, deadline: 1d, after: [a] }
`), 0o600)
	code, out, _ := runCLI("config", "check", bad)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, path := range []string{"agencies[0].token_sha256", "agencies[0].delivery.mode", "procedures[0].deadline", "procedures[0].steps[0].agency", "procedures[0].steps"} {
		if !strings.Contains(out, bad+": "+path) {
			t.Errorf("no problem at %s:\n%s", path, out)
		}
	}
	good := filepath.Join(dir, "good.yaml")
	// The example needs its development secrets from the environment.
	os.WriteFile(good, exampleWithoutSecrets(t), 0o600)
	if code, out, errs := runCLI("config", "check", good); code != 0 {
		t.Fatalf("good config: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := runCLI("config", "nope"); code != 2 {
		t.Fatalf("usage: exit %d", code)
	}
}

func exampleWithoutSecrets(t *testing.T) []byte {
	t.Helper()
	for _, a := range []string{"VPDK", "THUE", "TP", "CA", "BHXH"} {
		t.Setenv(a+"_WEBHOOK_SECRET", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3")
	}
	b, err := os.ReadFile("../../internal/config/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSchemasCommands(t *testing.T) {
	code, out, _ := runCLI("schemas", "list")
	if code != 0 || !strings.Contains(out, "dossier.submitted") || !strings.Contains(out, "urn:lienthong:schema:message.rejected:v1") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if !strings.Contains(out, "urn:lienthong:form:1.004227:v1") {
		t.Fatalf("list lacks the built-in forms:\n%s", out)
	}
	code, out, _ = runCLI("schemas", "show", "dossier.submitted")
	if code != 0 || !strings.Contains(out, `"$schema"`) {
		t.Fatalf("show: %d\n%s", code, out)
	}
	code, out, _ = runCLI("schemas", "show", "forms/1.001193/v1")
	if code != 0 || !strings.Contains(out, `"urn:lienthong:form:1.001193:v1"`) {
		t.Fatalf("show a form: %d\n%s", code, out)
	}
	if code, _, _ := runCLI("schemas", "show", "nope"); code != 1 {
		t.Fatalf("show unknown: %d", code)
	}
	if code, _, _ := runCLI("bogus"); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}

// validate --config checks a submission's form as that config's bus does:
// its forms_dir and the procedure's accepted versions.
func TestValidateWithConfig(t *testing.T) {
	dir := t.TempDir()
	forms := filepath.Join(dir, "forms")
	if err := os.MkdirAll(forms, 0o755); err != nil {
		t.Fatal(err)
	}
	v2 := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:lienthong:form:1.004227:v2",
  "type": "object", "required": ["parcel", "land_fund_code"], "properties": {"parcel": {"type": "object"}, "land_fund_code": {"type": "string"}}}`
	if err := os.WriteFile(filepath.Join(forms, "v2.json"), []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "lienthong.yaml")
	yaml := `data_dir: ` + dir + `
forms_dir: ` + forms + `
agencies:
  - { code: HCC, name: "HCC", receiver: true, token_sha256: "` + strings.Repeat("ab", 32) + `", delivery: { mode: pull } }
procedures:
  - code: "1.004227"
    name: "Đăng ký biến động"
    deadline: 10d
    form_schemas: ["urn:lienthong:form:1.004227:v1", "urn:lienthong:form:1.004227:v2"]
    steps: [{ id: verify, agency: HCC, deadline: 5d }]
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	raw, _ := os.ReadFile("../../schemas/testdata/valid/dossier.submitted.v2-land.json")
	_ = json.Unmarshal(raw, &ev)
	data := ev["data"].(map[string]any)
	write := func(name string) string {
		b, _ := json.Marshal(ev)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data["form_schema"] = "urn:lienthong:form:1.004227:v2"
	data["form"].(map[string]any)["land_fund_code"] = "QĐ-12"
	good := write("v2.json")
	delete(data["form"].(map[string]any), "land_fund_code")
	bad := write("v2-bad.json")
	data["procedure"] = "9.999999"
	unknown := write("unknown.json")

	if code, out, errs := runCLI("validate", "--config", cfg, good); code != 0 {
		t.Fatalf("a v2 form under its config: %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runCLI("validate", good); code != 1 || !strings.Contains(out, "/data/form_schema") {
		t.Fatalf("without the config, v2 is not known: %d\n%s", code, out)
	}
	if code, out, _ := runCLI("validate", "--config", cfg, bad); code != 1 || !strings.Contains(out, bad+": /data/form/land_fund_code: ") {
		t.Fatalf("a v2 form missing a field: %d\n%s", code, out)
	}
	if code, out, _ := runCLI("validate", "--config", cfg, unknown); code != 1 || !strings.Contains(out, "/data/procedure") {
		t.Fatalf("a procedure the config lacks: %d\n%s", code, out)
	}
	if code, _, _ := runCLI("validate", "--config", filepath.Join(dir, "nope.yaml"), good); code != 2 {
		t.Fatalf("a missing config: %d", code)
	}
}
