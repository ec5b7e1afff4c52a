package router

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/lienthong/lienthong/event"
)

// Hand-written JSON encoders for the two records the runner writes most:
// router events and dossier states. encoding/json re-scans every raw message
// and every time.Time it writes, which made encoding half of the router's
// CPU time. The output is plain JSON that encoding/json decodes into the
// same values (tested), deterministic byte for byte.

// EncodeEvent returns the JSON of a CloudEvent, fields in the order of
// event.Event. Data is copied as is: it must be valid JSON (event.New makes it so).
func EncodeEvent(ev event.Event) []byte {
	b := make([]byte, 0, 192+len(ev.Data))
	b = append(b, `{"specversion":`...)
	b = appendString(b, ev.SpecVersion)
	b = append(b, `,"id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"source":`...)
	b = appendString(b, ev.Source)
	b = append(b, `,"type":`...)
	b = appendString(b, ev.Type)
	b = appendOptString(b, "subject", ev.Subject)
	b = appendOptString(b, "time", ev.Time)
	b = appendOptString(b, "datacontenttype", ev.DataContentType)
	b = appendOptString(b, "dataschema", ev.DataSchema)
	if len(ev.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, ev.Data...)
	}
	return append(b, '}')
}

// EncodeState returns the JSON of a dossier state (the state topic's value),
// decodable with encoding/json into an equal State.
func EncodeState(s *State) []byte {
	b := make([]byte, 0, 512+len(s.Dossier)+160*len(s.Timeline)+256*len(s.Steps))
	b = append(b, `{"code":`...)
	b = appendString(b, s.Code)
	b = append(b, `,"procedure":`...)
	b = appendString(b, s.Procedure)
	b = append(b, `,"receiver":`...)
	b = appendString(b, s.Receiver)
	b = append(b, `,"status":`...)
	b = appendString(b, s.Status)
	b = append(b, `,"received_at":`...)
	b = appendTime(b, s.ReceivedAt)
	b = append(b, `,"accepted_at":`...)
	b = appendTime(b, s.AcceptedAt)
	b = append(b, `,"due_at":`...)
	b = appendTime(b, s.DueAt)
	b = appendOptTime(b, "result_at", s.ResultAt)
	b = appendOptTime(b, "closed_at", s.ClosedAt)
	b = appendOptTime(b, "paused_at", s.PausedAt)
	b = appendOptString(b, "supplement_step", s.SupplementStep)
	b = appendOptString(b, "supplement_by", s.SupplementBy)
	if s.OverdueSent {
		b = append(b, `,"overdue_sent":true`...)
	}
	b = appendWorkflow(b, s)
	b = append(b, `,"steps":`...)
	if s.Steps == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Steps {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendStep(b, &s.Steps[i])
		}
		b = append(b, ']')
	}
	if len(s.Dossier) > 0 {
		b = append(b, `,"dossier":`...)
		b = append(b, s.Dossier...)
	}
	b = appendOptString(b, "form_schema", s.FormSchema)
	if len(s.Form) > 0 {
		b = append(b, `,"form":`...)
		b = append(b, s.Form...)
	}
	if len(s.Supplied) > 0 {
		b = append(b, `,"supplied":[`...)
		for i, sp := range s.Supplied {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendString(b, sp.ID)
			b = append(b, `,"documents":`...)
			if len(sp.Documents) == 0 {
				b = append(b, "null"...)
			} else {
				b = append(b, sp.Documents...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"timeline":`...)
	if s.Timeline == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Timeline {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEntry(b, &s.Timeline[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, s.Offset, 10)
	return append(b, '}')
}

func appendStep(b []byte, s *StepState) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, s.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, s.Name)
	b = append(b, `,"agency":`...)
	b = appendString(b, s.Agency)
	b = append(b, `,"deadline":{`...)
	sep := ""
	if s.Deadline.Days != 0 {
		b = append(b, `"days":`...)
		b = strconv.AppendInt(b, int64(s.Deadline.Days), 10)
		sep = ","
	}
	if s.Deadline.Work != 0 {
		b = append(b, sep...)
		b = append(b, `"work":`...)
		b = strconv.AppendInt(b, int64(s.Deadline.Work), 10)
	}
	b = append(b, '}')
	if len(s.After) > 0 {
		b = append(b, `,"after":[`...)
		for i, a := range s.After {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"status":`...)
	b = appendString(b, s.Status)
	b = appendOptTime(b, "assigned_at", s.AssignedAt)
	b = appendOptTime(b, "due_at", s.DueAt)
	b = appendOptTime(b, "completed_at", s.CompletedAt)
	if s.OnTime {
		b = append(b, `,"on_time":true`...)
	}
	if s.OverdueSent {
		b = append(b, `,"overdue_sent":true`...)
	}
	if len(s.Outputs) > 0 {
		b = append(b, `,"outputs":`...)
		b = append(b, s.Outputs...)
	}
	if len(s.Documents) > 0 {
		b = append(b, `,"documents":`...)
		b = append(b, s.Documents...)
	}
	b = appendOptString(b, "output_schema", s.OutputSchema)
	b = appendOptTime(b, "original_due_at", s.OriginalDueAt)
	return append(b, '}')
}

func appendEntry(b []byte, e *Entry) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"time":`...)
	b = appendTime(b, e.Time)
	b = appendOptString(b, "step", e.Step)
	b = appendOptString(b, "status", e.Status)
	b = appendOptString(b, "to", e.To)
	b = appendOptString(b, "note", e.Note)
	return append(b, '}')
}

// appendOptSpan writes a Span member unless it is zero (omitzero).
func appendOptSpan(b []byte, name string, s Span) []byte {
	if s.Days == 0 && s.Work == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":{`...)
	sep := ""
	if s.Days != 0 {
		b = append(b, `"days":`...)
		b = strconv.AppendInt(b, int64(s.Days), 10)
		sep = ","
	}
	if s.Work != 0 {
		b = append(b, sep...)
		b = append(b, `"work":`...)
		b = strconv.AppendInt(b, int64(s.Work), 10)
	}
	return append(b, '}')
}

// appendOptJSON writes a rarely set member with encoding/json.
func appendOptJSON(b []byte, name string, v any, set bool) []byte {
	if !set {
		return b
	}
	raw, err := json.Marshal(v)
	if err != nil {
		panic("router: encode " + name + ": " + err.Error()) // plain values built here
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return append(b, raw...)
}

// appendWorkflow writes the workflow members of a state (DESIGN.md
// section 4), each only when set.
func appendWorkflow(b []byte, s *State) []byte {
	b = appendOptString(b, "channel", s.Channel)
	b = appendOptString(b, "applicant_name", s.ApplicantName)
	b = appendOptSpan(b, "deadline", s.Deadline)
	if s.CutOff != 0 {
		b = append(b, `,"cut_off":`...)
		b = strconv.AppendInt(b, int64(s.CutOff), 10)
	}
	b = appendOptSpan(b, "supplement_deadline", s.SupplementDeadline)
	b = appendOptTime(b, "supplement_due_at", s.SupplementDueAt)
	b = appendOptTime(b, "supplement_remind_at", s.SupplementRemindAt)
	if s.SupplementWarned {
		b = append(b, `,"supplement_warned":true`...)
	}
	b = appendOptJSON(b, "payers", s.Payers, len(s.Payers) > 0)
	b = appendOptJSON(b, "obligation", s.Obligation, s.Obligation != nil)
	b = appendOptTime(b, "original_due_at", s.OriginalDueAt)
	return appendOptJSON(b, "apologies", s.Apologies, len(s.Apologies) > 0)
}

func appendOptString(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, s)
}

func appendOptTime(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendTime(b, t)
}

// appendTime writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds), years outside 0-9999 aside: they cannot occur here.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			// Rare here (ids, codes, names in Vietnamese): let encoding/json
			// do the escaping and the invalid UTF-8 handling.
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
