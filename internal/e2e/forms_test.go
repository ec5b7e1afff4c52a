package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/demo"
)

// withForms gives the test config's land procedure its built-in form schema
// and the tax step its output schema (the tax notice).
func withForms(text string) string {
	text = strings.Replace(text, "    receivers: [HCC]\n", "    receivers: [HCC]\n    form_schemas: [\"urn:lienthong:form:1.004227:v1\"]\n", 1)
	return strings.Replace(text, "after: [verify] }", "after: [verify], output_schema: \"urn:lienthong:form:tax-notice:v1\" }", 1)
}

func landForm() map[string]any {
	return demo.SampleForm(rand.New(rand.NewPCG(7, 7)), demo.LandProcedure, time.Now())
}

// withForm is a submission carrying form (nil: none), its data edited by fn.
func withForm(id, code string, form any, fn func(d map[string]any)) []byte {
	ev := submitted(id, code)
	if form != nil {
		data(ev)["form"] = form
	}
	if fn != nil {
		fn(data(ev))
	}
	return mustJSON(ev)
}

// nested returns {"a":{"a":...}} n levels deep.
func nested(n int) any {
	var v any = "x"
	for i := 0; i < n; i++ {
		v = map[string]any{"a": v}
	}
	return v
}

// inboxEvent waits for the first event of type typ about code in agency's
// pull inbox that satisfies match, and returns its data.
func inboxEvent(t *testing.T, base, agency, typ, code string, match func(data map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	cursor := ""
	for time.Now().Before(deadline) {
		st, _, raw := do(t, http.DefaultClient, http.MethodGet, base+"/v1/agencies/"+agency+"/inbox?limit=1000&wait=1s&after="+cursor, agency, nil)
		var feed struct {
			Events []struct {
				Type, Subject string
				Data          map[string]any
			}
			Next string
		}
		if st != http.StatusOK || json.Unmarshal(raw, &feed) != nil {
			t.Fatalf("%s inbox: %d %s", agency, st, raw)
		}
		for _, ev := range feed.Events {
			if ev.Type == typ && ev.Subject == code && (match == nil || match(ev.Data)) {
				return ev.Data
			}
		}
		cursor = feed.Next
	}
	t.Fatalf("no %s about %s in %s's inbox within 30s", typ, code, agency)
	return nil
}

func assignedStep(step string) func(map[string]any) bool {
	return func(d map[string]any) bool {
		s, _ := d["step"].(map[string]any)
		return s["id"] == step
	}
}

// A procedure's form, checked at the gateway with errors located in it; the
// tax step's outputs checked against the tax notice's schema; the form and
// every document following the dossier to each later step. Through real
// HTTP, Kafka and the tracking store.
func TestFormsFollowTheDossier(t *testing.T) {
	e := startWith(t, "", withForms, nil, nil)
	today := time.Now().Format("20060102")
	code := func(n string) string { return "HCC-" + today + "-" + n }

	huge := landForm()
	huge["change"].(map[string]any)["details"] = strings.Repeat("x", 70<<10)
	cases := []struct {
		name    string
		body    []byte
		status  int
		problem string
		at      string
		says    string
	}{
		{"valid form", withForm("f-ok", code("0001"), landForm(), nil), 202, "", "", ""},
		{"no form", withForm("f-none", code("0002"), nil, nil), 422, "invalid-data", "/data/form", "needs its form"},
		{"a field of the wrong type", withForm("f-type", code("0003"), landForm(), func(d map[string]any) {
			d["form"].(map[string]any)["parcel"].(map[string]any)["area_m2"] = "một trăm"
		}), 422, "invalid-data", "/data/form/parcel/area_m2", ""},
		{"a required field missing", withForm("f-req", code("0004"), landForm(), func(d map[string]any) {
			delete(d["form"].(map[string]any)["parcel"].(map[string]any), "sheet_number")
		}), 422, "invalid-data", "/data/form/parcel/sheet_number", "missing"},
		{"another procedure's form", withForm("f-other", code("0005"), landForm(), func(d map[string]any) {
			d["form_schema"] = "urn:lienthong:form:1.001193:v1"
		}), 422, "invalid-data", "/data/form_schema", "not of procedure 1.004227"},
		{"an unknown form version", withForm("f-v7", code("0006"), landForm(), func(d map[string]any) {
			d["form_schema"] = "urn:lienthong:form:1.004227:v7"
		}), 422, "invalid-data", "/data/form_schema", "does not accept form v7"},
		{"a form too deep", withForm("f-deep", code("0007"), landForm(), func(d map[string]any) {
			d["form"].(map[string]any)["change"] = nested(40)
		}), 422, "invalid-data", "/data/form/change/a/a/a", "nests more than 16"},
		{"a form too large", withForm("f-big", code("0008"), huge, nil), 422, "invalid-data", "/data/form", "at most 65536"},
		{"v1 has no form", withForm("f-v1", code("0009"), nil, func(d map[string]any) {}), 422, "invalid-data", "/dataschema", "v1 carries no form"},
	}
	// The last case names dataschema v1, an envelope attribute.
	var v1 map[string]any
	_ = json.Unmarshal(cases[len(cases)-1].body, &v1)
	v1["dataschema"] = "urn:lienthong:schema:dossier.submitted:v1"
	cases[len(cases)-1].body = mustJSON(v1)

	for _, c := range cases {
		st, _, raw := do(t, http.DefaultClient, http.MethodPost, e.base+"/v1/events", "HCC", c.body)
		if st != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, st, c.status, raw)
			continue
		}
		if c.status == 202 {
			continue
		}
		var p struct {
			Type   string
			Errors []struct{ Location, Message string }
		}
		_ = json.Unmarshal(raw, &p)
		found := false
		for _, fe := range p.Errors {
			found = found || (strings.HasPrefix(fe.Location, c.at) && strings.Contains(fe.Message, c.says))
		}
		if p.Type != "urn:lienthong:problem:"+c.problem || !found {
			t.Errorf("%s: want %s at %s saying %q, got %s", c.name, c.problem, c.at, c.says, raw)
		}
	}

	// The route: VPDK gets the form; a supplement corrects it and adds a
	// document; THUE's notice is checked; the certificate step sees it all.
	d := code("0001")
	a := inboxEvent(t, e.base, "VPDK", "dossier.assigned", d, assignedStep("verify"))
	if a["form_schema"] != "urn:lienthong:form:1.004227:v1" || a["form"].(map[string]any)["parcel"] == nil || len(a["documents"].([]any)) != 1 {
		t.Fatalf("verify assignment lacks the form or the documents: %v", a)
	}
	accept := func(agency string, ev map[string]any) {
		t.Helper()
		if st, _, raw := do(t, http.DefaultClient, http.MethodPost, e.base+"/v1/events", agency, mustJSON(ev)); st != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", agency, ev["type"], st, raw)
		}
	}
	accept("VPDK", stepEvent("VPDK", "dossier.supplement.requested", "f-q1", d, map[string]any{"step": "verify", "reason": "Thiếu trích đo địa chính", "missing": []string{"Trích đo địa chính thửa đất"}}))
	secWaitStatus(t, http.DefaultClient, e.base, d, "awaiting_supplement")
	// A patch that breaks the form passes the gateway (it cannot see the
	// form) and the router refuses it.
	accept("HCC", stepEvent("HCC", "dossier.supplemented", "f-bad-patch", d, map[string]any{
		"form_patch": map[string]any{"parcel": map[string]any{"area_m2": -3}}}))
	waitRejected(t, e.base, "f-bad-patch", "urn:lienthong:problem:invalid-data")
	accept("HCC", stepEvent("HCC", "dossier.supplemented", "f-sup", d, map[string]any{
		"documents":  []any{map[string]any{"name": "trich-do.pdf", "url": "https://hcc.example.gov.vn/d/2", "sha256": sha}},
		"form_patch": map[string]any{"parcel": map[string]any{"area_m2": 99.5}},
	}))
	secWaitStatus(t, http.DefaultClient, e.base, d, "processing")
	accept("VPDK", stepEvent("VPDK", "dossier.step.completed", "f-c1", d, map[string]any{"step": "verify", "outputs": map[string]any{"verified": true}}))

	a = inboxEvent(t, e.base, "THUE", "dossier.assigned", d, assignedStep("tax"))
	if area := a["form"].(map[string]any)["parcel"].(map[string]any)["area_m2"]; area != 99.5 {
		t.Fatalf("tax assignment's area %v, want the patched 99.5", area)
	}
	docs := a["documents"].([]any)
	if len(docs) != 2 || docs[0].(map[string]any)["origin"] != "submitted" || docs[1].(map[string]any)["origin"] != "supplemented" ||
		docs[1].(map[string]any)["event_id"] != "f-sup" {
		t.Fatalf("tax assignment documents: %v", docs)
	}

	notice := demo.SampleTaxNotice(rand.New(rand.NewPCG(1, 1)), time.Now())
	notice["amount_vnd"] = "nhiều"
	st, _, raw := do(t, http.DefaultClient, http.MethodPost, e.base+"/v1/events", "THUE",
		mustJSON(stepEvent("THUE", "dossier.step.completed", "f-t-bad", d, map[string]any{"step": "tax", "outputs": notice})))
	if st != 422 || !strings.Contains(string(raw), `"/data/outputs/amount_vnd"`) {
		t.Fatalf("a bad tax notice: %d %s", st, raw)
	}
	notice["amount_vnd"] = 12_500_000
	accept("THUE", stepEvent("THUE", "dossier.step.completed", "f-t1", d, map[string]any{"step": "tax", "outputs": notice}))
	a = inboxEvent(t, e.base, "VPDK", "dossier.assigned", d, assignedStep("certificate"))
	tax, _ := a["outputs"].(map[string]any)["tax"].(map[string]any)
	if tax["amount_vnd"] != 12_500_000.0 || tax["notice_number"] != notice["notice_number"] {
		t.Fatalf("certificate assignment outputs: %v", a["outputs"])
	}
}

// A form schema version is immutable: a restart whose forms_dir holds other
// content under a version already used is refused, naming the file and
// both digests; the original content starts again. Real processes.
func TestFormVersionsAreImmutable(t *testing.T) {
	dir := t.TempDir()
	forms := filepath.Join(dir, "forms")
	if err := os.MkdirAll(forms, 0o755); err != nil {
		t.Fatal(err)
	}
	schema := func(desc string) []byte {
		return []byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:lienthong:form:1.004227:v9",
  "description": "` + desc + `", "type": "object", "required": ["parcel"], "properties": {"parcel": {"type": "object"}}}`)
	}
	file := filepath.Join(forms, "land-v9.json")
	if err := os.WriteFile(file, schema("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, dir, kafkatestBrokers(), kafkatestPrefix())
	text, _ := os.ReadFile(cfgPath)
	cfg := strings.Replace(string(text), "    receivers: [HCC]\n", "    receivers: [HCC]\n    form_schemas: [\"urn:lienthong:form:1.004227:v9\"]\n", 1) +
		fmt.Sprintf("forms_dir: %q\n", forms)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, cfgPath)
	if _, ok := p.term(20 * time.Second); !ok {
		t.Fatal("serve did not stop")
	}

	if err := os.WriteFile(file, schema("edited in place"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, "serve", "--config", cfgPath).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || ctx.Err() != nil {
		t.Fatalf("serve with a changed form version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "form schema versions are immutable") || !strings.Contains(string(out), "urn:lienthong:form:1.004227:v9 ("+file+") has changed") {
		t.Fatalf("serve's refusal does not say which version changed:\n%s", out)
	}

	if err := os.WriteFile(file, schema("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = startProc(t, cfgPath)
	p.kill()
}
