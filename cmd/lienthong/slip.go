package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/router"
)

// The process-control slip (phiếu kiểm soát quá trình giải quyết hồ sơ,
// Circular 01/2018/TT-VPCP form 5) of `lienthong track`, built from GET
// /v1/dossiers/{code}: the dossier, then one row per handover.

// slipRow is one handover: the dossier's reception at the desk, then each
// step of the route.
type slipRow struct {
	Agency, Step, Name              string
	HandedOver, Received, Due, Done time.Time
	Result                          string // early, on time, late, refused, cancelled, withdrawn; "" while open
	Notes                           []string
}

// set reports whether t is a time the view gave (null and the zero time
// are none).
func set(t *time.Time) bool { return t != nil && !t.IsZero() }

func tv(t *time.Time) time.Time {
	if !set(t) {
		return time.Time{}
	}
	return *t
}

// openStatus: the dossier is still being handled (the applicant's name is
// shown only then).
func openStatus(s string) bool {
	switch s {
	case "registered", "received", "processing", "awaiting_supplement", "awaiting_payment":
		return true
	}
	return false
}

// result classifies a piece of work done at done, due at due, in loc:
// early before the due day, on time on it up to the due time, late after
// it (or when the router says it was not on time: an apology moved it).
func result(done, due time.Time, onTime *bool, loc *time.Location) string {
	switch {
	case done.IsZero():
		return ""
	case due.IsZero() || done.After(due) || (onTime != nil && !*onTime):
		return "late"
	}
	y, m, d := due.In(loc).Date()
	if done.Before(time.Date(y, m, d, 0, 0, 0, 0, loc)) {
		return "early"
	}
	return "on time"
}

// slip turns the view into its header fields and rows.
func slip(v *router.DossierView, loc *time.Location) []slipRow {
	f := func(t time.Time) string { return fmtTime(t, loc) }
	notes := map[string][]string{} // by step; "" the dossier's
	received := map[string]time.Time{}
	for _, e := range v.Timeline {
		agency := strings.TrimPrefix(e.Source, "urn:lienthong:agency:")
		with := func(s string) string {
			if e.Note != "" {
				return s + ": " + e.Note
			}
			return s
		}
		switch e.Type {
		case "dossier.assigned":
			if _, ok := received[e.Step]; !ok && e.Step != "" {
				received[e.Step] = e.Time
			}
		case "dossier.supplement.requested":
			notes[e.Step] = append(notes[e.Step], with("supplement requested by "+agency+" "+f(e.Time)))
		case "dossier.supplemented":
			notes[e.Step] = append(notes[e.Step], with("supplemented "+f(e.Time)))
		case "dossier.rejected":
			notes[e.Step] = append(notes[e.Step], with("refused by "+agency+" "+f(e.Time)))
		case "dossier.refused":
			notes[""] = append(notes[""], with("refused at reception "+f(e.Time)))
		case "dossier.withdrawn":
			notes[""] = append(notes[""], with("withdrawn "+f(e.Time)))
		case "dossier.apology":
			notes[e.Step] = append(notes[e.Step], with("apology from "+agency+" "+f(e.Time)))
		case "dossier.payment.confirmed":
			notes[""] = append(notes[""], with("payment confirmed "+f(e.Time)))
		case "dossier.result.returned":
			notes[""] = append(notes[""], with("result returned "+f(e.Time)))
		case "dossier.status.changed":
			if e.Note != "" {
				notes[e.Step] = append(notes[e.Step], e.Status+": "+e.Note)
			}
		}
	}
	due := v.DueAt
	rec := slipRow{Agency: v.Receiver, Step: "reception", Name: "reception at the desk",
		HandedOver: v.ReceivedAt, Received: v.ReceivedAt, Due: due, Done: tv(v.ResultAt), Notes: notes[""]}
	var onTime *bool
	if set(v.OriginalDueAt) {
		late := false // an apology moved the appointment: late
		onTime = &late
		rec.Notes = append(rec.Notes, "original due "+f(*v.OriginalDueAt))
	}
	rec.Result = result(rec.Done, due, onTime, loc)
	switch {
	case rec.Result != "":
	case v.Status == "refused" || v.Status == "rejected":
		rec.Result = "refused"
	case v.Status == "withdrawn":
		rec.Result = "withdrawn"
	}
	if set(v.PausedAt) {
		rec.Notes = append(rec.Notes, "clock stopped since "+f(*v.PausedAt)+" ("+v.Status+")")
	}
	if v.Overdue && openStatus(v.Status) {
		rec.Notes = append(rec.Notes, "overdue")
	}
	rows := []slipRow{rec}
	for _, s := range v.Steps {
		r := slipRow{Agency: s.Agency, Step: s.ID, Name: s.Name, HandedOver: tv(s.AssignedAt), Received: received[s.ID],
			Due: tv(s.DueAt), Done: tv(s.CompletedAt), Notes: notes[s.ID]}
		if r.Received.IsZero() {
			r.Received = r.HandedOver
		}
		if set(s.OriginalDueAt) {
			r.Notes = append(r.Notes, "original due "+f(*s.OriginalDueAt))
		}
		switch s.Status {
		case "completed":
			r.Result = result(r.Done, r.Due, s.OnTime, loc)
		case "rejected":
			r.Result = "refused"
		case "cancelled":
			r.Result = "cancelled"
		case "pending":
			r.Notes = append(r.Notes, "not yet handed over")
		case "in_progress":
			if s.Overdue {
				r.Notes = append(r.Notes, "overdue")
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// fmtTime writes a time in the calendar's zone, to the second ("" for none).
func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.DateTime)
}

// zoneName names loc with its current UTC offset: "Asia/Ho_Chi_Minh (UTC+07:00)".
func zoneName(loc *time.Location, at time.Time) string {
	return loc.String() + " (UTC" + at.In(loc).Format("-07:00") + ")"
}

// writeSlipText prints the slip aligned.
func writeSlipText(out io.Writer, raw []byte, loc *time.Location) error {
	var buf bytes.Buffer
	if err := slipText(&buf, raw, loc); err != nil {
		return err
	}
	// Without the blanks tabwriter leaves after an empty last cell.
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \n")
		if strings.HasSuffix(l, "\n") {
			lines[i] += "\n"
		}
	}
	_, err := io.WriteString(out, strings.Join(lines, ""))
	return err
}

func slipText(w io.Writer, raw []byte, loc *time.Location) error {
	var v router.DossierView
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("the dossier view: %w", err)
	}
	rows := slip(&v, loc)
	f := func(t time.Time) string { return fmtTime(t, loc) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS-CONTROL SLIP (phiếu kiểm soát quá trình giải quyết hồ sơ)")
	fmt.Fprintf(tw, "Dossier\t%s\n", v.Code)
	if v.Applicant != nil && v.Applicant.FullName != "" && openStatus(v.Status) {
		fmt.Fprintf(tw, "Applicant\t%s\n", v.Applicant.FullName)
	}
	proc := v.Procedure
	if v.ProcedureName != "" {
		proc += "  " + v.ProcedureName
	}
	fmt.Fprintf(tw, "Procedure\t%s\n", proc)
	fmt.Fprintf(tw, "Receiver\t%s\n", v.Receiver)
	status := fmt.Sprintf("%s (portal %d)", v.Status, v.PortalStatus)
	if v.Overdue {
		status += ", overdue"
	}
	fmt.Fprintf(tw, "Status\t%s\n", status)
	fmt.Fprintf(tw, "Received\t%s\n", f(v.ReceivedAt))
	due := f(v.DueAt)
	if set(v.OriginalDueAt) {
		due += "  (originally " + f(*v.OriginalDueAt) + ")"
	}
	fmt.Fprintf(tw, "Due\t%s\n", due)
	if set(v.SupplementDueAt) {
		fmt.Fprintf(tw, "Supplement due\t%s (then the dossier is refused)\n", f(*v.SupplementDueAt))
	}
	if o := v.Obligation; o != nil {
		paid := "not paid yet, due " + o.DueDate
		if !o.PaidAt.IsZero() {
			paid = "paid " + f(o.PaidAt)
		}
		fmt.Fprintf(tw, "Financial obligation\tnotice %s, %d VND (step %s), %s\n", o.NoticeNumber, o.AmountVND, o.Step, paid)
	}
	if set(v.ResultAt) {
		fmt.Fprintf(tw, "Result ready\t%s\n", f(*v.ResultAt))
	}
	if set(v.ClosedAt) {
		fmt.Fprintf(tw, "Closed\t%s\n", f(*v.ClosedAt))
	}
	fmt.Fprintf(tw, "Times in\t%s\n", zoneName(loc, v.ReceivedAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENCY\tSTEP\tHANDED OVER\tRECEIVED\tDUE\tDONE\tRESULT\tNOTES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Agency, r.Step, f(r.HandedOver), f(r.Received), f(r.Due), f(r.Done),
			r.Result, strings.Join(r.Notes, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.Timeline) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nTimeline")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tFROM\tSTEP\tSTATUS\tTO\tNOTE")
	for _, e := range v.Timeline {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f(e.Time), e.Type, strings.TrimPrefix(e.Source, "urn:lienthong:agency:"),
			e.Step, e.Status, e.To, e.Note)
	}
	return tw.Flush()
}

// slipColumns is the CSV header of `lienthong track --csv`.
var slipColumns = []string{"code", "procedure", "agency", "step", "step_name", "handed_over", "received", "due", "done", "result", "notes"}

// writeSlipCSV exports the slip's rows as CSV: times RFC 3339 in the
// calendar's zone, to the second.
func writeSlipCSV(w io.Writer, raw []byte, loc *time.Location) error {
	var v router.DossierView
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("the dossier view: %w", err)
	}
	iso := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format(time.RFC3339)
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(slipColumns)
	for _, r := range slip(&v, loc) {
		_ = cw.Write([]string{v.Code, v.Procedure, r.Agency, r.Step, cell(r.Name), iso(r.HandedOver), iso(r.Received),
			iso(r.Due), iso(r.Done), r.Result, cell(strings.Join(r.Notes, "; "))})
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading a text cell as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
