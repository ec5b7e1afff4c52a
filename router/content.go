package router

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/schemas"
)

// The dossier's content follows it (DESIGN.md section 3): every
// dossier.assigned carries the current form (the submitted one with each
// supplement's form patch merged) and every document so far, each marked
// with its origin.

// suppliedData holds the fields of dossier.supplemented the router reads.
type suppliedData struct {
	Documents json.RawMessage `json:"documents"`
	FormPatch json.RawMessage `json:"form_patch"`
}

// supply applies a supplement's content: the form patch (RFC 7396 JSON
// Merge Patch), checked again against the dossier's form schema, and its
// documents. Nothing changes when it is refused.
func (c *change) supply(ev event.Event) *Rejection {
	var d suppliedData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return fail(problem.InvalidData, "%s data: %v", ev.Type, err)
	}
	n := c.n
	if present(d.FormPatch) {
		if n.FormSchema == "" {
			return fail(problem.InvalidData, "/data/form_patch: dossier %s has no form to patch", n.Code)
		}
		merged, err := jsonpatch.MergePatch(n.currentForm(), d.FormPatch)
		if err != nil {
			return fail(problem.InvalidData, "/data/form_patch: cannot merge: %v", err)
		}
		if c.e.routes.Schemas != nil {
			v, err := decodeValue(merged)
			if err != nil {
				return fail(problem.InvalidData, "/data/form_patch: %v", err)
			}
			if errs := c.e.routes.Schemas.ValidateForm(n.FormSchema, v, "/data/form_patch"); len(errs) > 0 {
				return fail(problem.InvalidData, "the form after the patch does not match %s: %s", n.FormSchema, wordErrors(errs))
			}
		}
		n.Form = merged
	}
	if present(d.Documents) && string(d.Documents) != "[]" {
		n.Supplied = append(n.Supplied, Supplied{ID: ev.ID, Documents: d.Documents})
	}
	return nil
}

// checkOutputs checks a completing step's outputs against its output schema.
func (e *Engine) checkOutputs(s *StepState, outputs json.RawMessage) *Rejection {
	if s.OutputSchema == "" || e.routes.Schemas == nil {
		return nil
	}
	if !present(outputs) {
		return fail(problem.InvalidData, "/data/outputs: step %s must hand on its outputs (%s)", s.ID, s.OutputSchema)
	}
	v, err := decodeValue(outputs)
	if err != nil {
		return fail(problem.InvalidData, "/data/outputs: %v", err)
	}
	if errs := e.routes.Schemas.ValidateForm(s.OutputSchema, v, "/data/outputs"); len(errs) > 0 {
		return fail(problem.InvalidData, "the outputs of step %s do not match %s: %s", s.ID, s.OutputSchema, wordErrors(errs))
	}
	return nil
}

// currentForm returns the dossier's form as it stands: patched, or as
// submitted; nil when it has none.
func (s *State) currentForm() json.RawMessage {
	if len(s.Form) > 0 {
		return s.Form
	}
	if s.FormSchema == "" || len(s.Dossier) == 0 {
		return nil
	}
	var d struct {
		Form json.RawMessage `json:"form"`
	}
	if json.Unmarshal(s.Dossier, &d) != nil || !present(d.Form) {
		return nil
	}
	return d.Form
}

// documents returns every document so far, each marked with its origin:
// submitted, then supplemented (with the supplement's event id), then step
// (with the step's id, for completed steps in route order).
func (s *State) documents() []json.RawMessage {
	out := []json.RawMessage{}
	if len(s.Dossier) > 0 {
		var d struct {
			Documents json.RawMessage `json:"documents"`
		}
		if json.Unmarshal(s.Dossier, &d) == nil {
			out = appendOrigin(out, d.Documents, `"origin":"submitted"`)
		}
	}
	for _, sp := range s.Supplied {
		out = appendOrigin(out, sp.Documents, `"origin":"supplemented","event_id":`+quote(sp.ID))
	}
	for i := range s.Steps {
		if s.Steps[i].Status == StepCompleted {
			out = appendOrigin(out, s.Steps[i].Documents, `"origin":"step","step":`+quote(s.Steps[i].ID))
		}
	}
	return out
}

// appendOrigin appends each object of the JSON array docs with the members
// mark (`"origin":"..."`) written first. The documents' own members were
// fixed by their schema (additionalProperties: false): none is called
// origin, step or event_id.
func appendOrigin(out []json.RawMessage, docs json.RawMessage, mark string) []json.RawMessage {
	if !present(docs) {
		return out
	}
	var list []json.RawMessage
	if json.Unmarshal(docs, &list) != nil {
		return out
	}
	for _, d := range list {
		d = bytes.TrimSpace(d)
		if len(d) < 2 || d[0] != '{' {
			continue
		}
		b := make([]byte, 0, len(d)+len(mark)+2)
		b = append(b, '{')
		b = append(b, mark...)
		if rest := bytes.TrimSpace(d[1:]); len(rest) > 0 && rest[0] != '}' {
			b = append(b, ',')
		}
		b = append(b, d[1:]...)
		out = append(out, b)
	}
	return out
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func present(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) > 0 && string(r) != "null"
}

func decodeValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// wordErrors words validation errors for message.rejected's detail: the
// first few, each with its pointer.
func wordErrors(errs []schemas.Error) string {
	const max = 5
	parts := make([]string, 0, max+1)
	for i, e := range errs {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(errs)-max))
			break
		}
		parts = append(parts, e.String())
	}
	return strings.Join(parts, "; ")
}
