package router

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/schemas"
)

var reg = schemas.MustLoad()

const (
	landForm  = "urn:lienthong:form:1.004227:v1"
	taxNotice = "urn:lienthong:form:tax-notice:v1"
)

// formRoutes is testRoutes with the land procedure's form and the tax
// step's output schema, checked with the built-in schemas.
func formRoutes() *Routes {
	r := testRoutes()
	r.Schemas = reg
	land := *r.Procedures[landProc]
	land.FormSchemas = []string{landForm}
	land.Steps = append([]Step(nil), land.Steps...)
	land.Steps[1].OutputSchema = taxNotice
	r.Procedures[landProc] = &land
	return r
}

func landFormData() map[string]any {
	return map[string]any{
		"parcel":      map[string]any{"sheet_number": 12, "parcel_number": 345, "area_m2": 120.5, "address": "Thôn 1, xã Đức Ninh", "purpose": "ONT"},
		"certificate": map[string]any{"serial_number": "CS 123456", "issued_on": "2019-05-20"},
		"change":      map[string]any{"kind": "transfer"},
	}
}

func submitForm(code, id string, form any) event.Event {
	return mkEvent("HCC", event.Submitted, code, id, map[string]any{
		"code": code, "procedure": landProc, "channel": "direct", "received_at": t0,
		"applicant": map[string]any{"kind": "citizen", "full_name": "Nguyen Van A", "id_number": "001234567890"},
		"documents": []map[string]any{{"name": "don.pdf", "url": "https://hcc.example/don.pdf", "sha256": strings.Repeat("a", 64)}},
		"form":      form,
	})
}

func assignedTo(t *testing.T, outs []Output, agency string) AssignedData {
	t.Helper()
	for _, o := range outs {
		if o.To == agency && o.Event.Type == event.Assigned {
			// What the router makes must match its own published schema.
			var v any
			_ = json.Unmarshal(o.Event.Data, &v)
			if errs := reg.ValidateData(event.Assigned, 2, v); errs != nil {
				t.Fatalf("dossier.assigned does not match its v2 schema: %v\n%s", errs, o.Event.Data)
			}
			var d AssignedData
			if err := json.Unmarshal(o.Event.Data, &d); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatalf("no dossier.assigned for %s in %d outputs", agency, len(outs))
	return AssignedData{}
}

func TestContentFollowsTheDossier(t *testing.T) {
	e := NewEngine(formRoutes())
	code := "HCC-20260303-0101"
	st, outs := mustApply(t, e, nil, submitForm(code, "s1", landFormData()), t0)
	if st.FormSchema != landForm {
		t.Fatalf("FormSchema %q", st.FormSchema)
	}
	a := assignedTo(t, outs, "VPDK")
	if a.FormSchema != landForm || !strings.Contains(string(a.Form), `"parcel_number":345`) || len(a.Documents) != 1 ||
		!strings.HasPrefix(string(a.Documents[0]), `{"origin":"submitted","name":"don.pdf"`) {
		t.Fatalf("first assignment: %+v", a)
	}

	// A supplement brings a document and corrects the area.
	st, _ = mustApply(t, e, st, stepEv("VPDK", event.SupplementRequested, code, "verify", "q1"), t0)
	sup := mkEvent("HCC", event.Supplemented, code, "sup-1", map[string]any{
		"documents":  []map[string]any{{"name": "trich-do.pdf", "url": "https://hcc.example/trich-do.pdf", "sha256": strings.Repeat("b", 64)}},
		"form_patch": map[string]any{"parcel": map[string]any{"area_m2": 118.2}, "change": map[string]any{"details": "Chuyển nhượng toàn bộ thửa"}},
	})
	// A patch that breaks the form is refused and changes nothing.
	bad := mkEvent("HCC", event.Supplemented, code, "sup-bad", map[string]any{
		"form_patch": map[string]any{"parcel": map[string]any{"area_m2": "lots", "purpose": nil}},
	})
	n, outsBad, rej := e.Apply(st, bad, t0)
	if rej == nil || rej.Reason != problem.InvalidData || n != st ||
		!strings.Contains(rej.Detail, "/data/form_patch/parcel/area_m2") || !strings.Contains(rej.Detail, "/data/form_patch/parcel/purpose") {
		t.Fatalf("bad patch: rej %v, state changed %v", rej, n != st)
	}
	if len(outsBad) != 1 || outsBad[0].Event.Type != event.MessageRejected || outsBad[0].To != "HCC" {
		t.Fatalf("bad patch outputs %+v", outsBad)
	}
	st, _ = mustApply(t, e, st, sup, t0)

	// The tax step's outputs must be a tax notice.
	st, outs = mustApply(t, e, st, mkEvent("VPDK", event.StepCompleted, code, "c1", map[string]any{
		"step": "verify", "outputs": map[string]any{"ok": true},
		"documents": []map[string]any{{"name": "verify.pdf", "url": "https://vpdk.example/verify.pdf", "sha256": strings.Repeat("c", 64)}},
	}), t0)
	a = assignedTo(t, outs, "THUE")
	if !strings.Contains(string(a.Form), `"area_m2":118.2`) || !strings.Contains(string(a.Form), `"details":"Chuyển nhượng toàn bộ thửa"`) ||
		!strings.Contains(string(a.Form), `"sheet_number":12`) {
		t.Fatalf("tax assignment form is not the merged one: %s", a.Form)
	}
	if len(a.Documents) != 3 ||
		!strings.HasPrefix(string(a.Documents[1]), `{"origin":"supplemented","event_id":"sup-1","name":"trich-do.pdf"`) ||
		!strings.HasPrefix(string(a.Documents[2]), `{"origin":"step","step":"verify","name":"verify.pdf"`) {
		t.Fatalf("tax assignment documents: %s", a.Documents)
	}
	notice := map[string]any{"notice_number": "TB-2026-001", "amount_vnd": -5, "tax_kinds": []string{"registration_fee"}}
	badTax := mkEvent("THUE", event.StepCompleted, code, "t-bad", map[string]any{"step": "tax", "outputs": notice})
	if _, _, rej := e.Apply(st, badTax, t0); rej == nil || rej.Reason != problem.InvalidData ||
		!strings.Contains(rej.Detail, "/data/outputs/amount_vnd") || !strings.Contains(rej.Detail, "/data/outputs/due_date") {
		t.Fatalf("bad tax notice: %v", rej)
	}
	noOutputs := mkEvent("THUE", event.StepCompleted, code, "t-none", map[string]any{"step": "tax"})
	if _, _, rej := e.Apply(st, noOutputs, t0); rej == nil || !strings.Contains(rej.Detail, "/data/outputs") {
		t.Fatalf("tax step without outputs: %v", rej)
	}
	notice["amount_vnd"], notice["due_date"] = 12500000, "2026-03-20"
	st, outs = mustApply(t, e, st, mkEvent("THUE", event.StepCompleted, code, "t1", map[string]any{"step": "tax", "outputs": notice}), t0)
	a = assignedTo(t, outs, "VPDK")
	if !strings.Contains(string(a.Outputs["tax"]), `"amount_vnd":12500000`) || len(a.Documents) != 3 {
		t.Fatalf("certificate assignment: outputs %s, %d documents", a.Outputs["tax"], len(a.Documents))
	}

	// Closing drops the personal data: the form and the supplements too.
	st, _ = mustApply(t, e, st, receiverEv("HCC", event.Withdrawn, code, "w1"), t0)
	if st.Dossier != nil || st.Form != nil || st.Supplied != nil || st.ApplicantName != "" || st.Applicant() != "" {
		t.Fatalf("closed dossier keeps dossier %s, form %s, supplied %v", st.Dossier, st.Form, st.Supplied)
	}
}

func TestPatchWithoutForm(t *testing.T) {
	e := NewEngine(formRoutes())
	code := "HCC-20260303-0102"
	st, _ := mustApply(t, e, nil, submitEv("HCC", code, birthProc, "s1"), t0)
	st, _ = mustApply(t, e, st, stepEv("TUPHAP", event.SupplementRequested, code, "birth", "q1"), t0)
	ev := mkEvent("HCC", event.Supplemented, code, "p1", map[string]any{"form_patch": map[string]any{"x": 1}})
	if _, _, rej := e.Apply(st, ev, t0); rej == nil || rej.Reason != problem.InvalidData || !strings.Contains(rej.Detail, "no form") {
		t.Fatalf("patch of a dossier without a form: %v", rej)
	}
}
