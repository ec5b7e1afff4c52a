package tracking

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// MaxReportDays is the longest period GET /v1/reports/handling answers
// (a leap year): one statement aggregates it within queryTimeout.
const MaxReportDays = 366

// ReportColumns are the CSV header of the handling report, in order; the
// JSON rows carry the same names.
var ReportColumns = []string{"procedure", "agency", "role", "received", "received_new", "carried_over",
	"done", "done_early", "done_on_time", "done_late", "in_progress", "in_progress_on_time", "in_progress_late",
	"supplements_requested", "refused", "withdrawn", "cancelled"}

func reportRecord(r store.ReportRow) []string {
	n := []int{r.Received, r.ReceivedNew, r.CarriedOver, r.Done, r.DoneEarly, r.DoneOnTime, r.DoneLate,
		r.InProgress, r.InProgressOnTime, r.InProgressLate, r.Supplements, r.Refused, r.Withdrawn, r.Cancelled}
	out := make([]string, 0, 3+len(n))
	out = append(out, csvSafe(r.Procedure), csvSafe(r.Agency), r.Role)
	for _, v := range n {
		out = append(out, strconv.Itoa(v))
	}
	return out
}

// csvSafe keeps a spreadsheet from reading a text cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var agencyCode = regexp.MustCompile(`^` + event.AgencyCodePattern + `$`)

// dateParam parses a required date parameter (YYYY-MM-DD): its midnight in
// loc.
func dateParam(q map[string][]string, name string, loc *time.Location) (time.Time, *problem.Details) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return time.Time{}, problem.New(http.StatusBadRequest, problem.BadRequest, name+" is required: a date (2026-03-01) in the calendar's time zone",
			problem.FieldError{Location: name, Message: "missing"})
	}
	t, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return time.Time{}, problem.New(http.StatusBadRequest, problem.BadRequest, name+" must be a date (2026-03-01), not "+strconv.Quote(v),
			problem.FieldError{Location: name, Message: "not a date"})
	}
	return t, nil
}

// wantsCSV picks the report's format: format=csv|json, else the Accept
// header (text/csv when it ranks above application/json), else JSON.
func wantsCSV(r *http.Request) (bool, *problem.Details) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, problem.New(http.StatusBadRequest, problem.BadRequest, "format must be json or csv, not "+strconv.Quote(f),
			problem.FieldError{Location: "format", Message: "unknown format"})
	}
	return acceptQ(r.Header.Values("Accept"), "text/csv") > acceptQ(r.Header.Values("Accept"), "application/json"), nil
}

// acceptQ is the quality the Accept header gives a media type: its most
// specific matching range's q (0 when none matches; 1 without a header).
func acceptQ(accept []string, mt string) float64 {
	if len(accept) == 0 {
		return 1
	}
	typ, _, _ := strings.Cut(mt, "/")
	best, spec := 0.0, -1
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			rng, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			s := -1
			switch {
			case rng == mt:
				s = 2
			case rng == typ+"/*":
				s = 1
			case rng == "*/*":
				s = 0
			}
			if s < spec || s < 0 {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
			if s > spec || q > best {
				best, spec = q, s
			}
		}
	}
	return best
}

// HandlingReport is the JSON answer of GET /v1/reports/handling.
type HandlingReport = router.HandlingReport

// getHandlingReport serves GET /v1/reports/handling?from=&to=&agency=&procedure=&format=
// (docs/DESIGN.md section 6).
func (h *handler) getHandlingReport(w http.ResponseWriter, r *http.Request) {
	viewer, st, ok := h.begin(w, r)
	if !ok {
		return
	}
	from, to, d := h.period(r.URL.Query())
	if d != nil {
		problem.Write(w, d)
		return
	}
	h.report(w, r, viewer, st, from, to)
}

// period parses from and to (inclusive dates) into [start, end).
func (h *handler) period(q map[string][]string) (time.Time, time.Time, *problem.Details) {
	from, d := dateParam(q, "from", h.loc)
	if d != nil {
		return from, from, d
	}
	to, d := dateParam(q, "to", h.loc)
	if d != nil {
		return from, to, d
	}
	end := to.AddDate(0, 0, 1)
	first, last := from.Format(time.DateOnly), to.Format(time.DateOnly)
	switch {
	case to.Before(from):
		return from, end, problem.New(http.StatusBadRequest, problem.BadRequest, "to ("+last+") is before from ("+first+")",
			problem.FieldError{Location: "to", Message: "before from"})
	case end.After(from.AddDate(0, 0, MaxReportDays)):
		return from, end, problem.New(http.StatusBadRequest, problem.BadRequest, "the period from "+first+" to "+last+" is longer than "+
			strconv.Itoa(MaxReportDays)+" days: ask for a year at most", problem.FieldError{Location: "to", Message: "period too long"})
	}
	return from, end, nil
}

func (h *handler) report(w http.ResponseWriter, r *http.Request, viewer store.Viewer, st *store.Store, from, to time.Time) {
	q := r.URL.Query()
	rq := store.ReportQuery{Viewer: viewer, Agency: q.Get("agency"), Procedure: q.Get("procedure"),
		From: from, To: to, Now: h.now(), Location: h.loc}
	if rq.Agency != "" && !agencyCode.MatchString(rq.Agency) {
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, "agency must be an agency code ("+event.AgencyCodePattern+"), not "+strconv.Quote(rq.Agency),
			problem.FieldError{Location: "agency", Message: "not an agency code"})
		return
	}
	if len(rq.Procedure) > 64 {
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, "procedure is longer than 64 characters",
			problem.FieldError{Location: "procedure", Message: "too long"})
		return
	}
	asCSV, d := wantsCSV(r)
	if d != nil {
		problem.Write(w, d)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	rows, err := st.Report(ctx, rq)
	switch {
	case errors.Is(err, store.ErrBadPeriod):
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, err.Error())
		return
	case err != nil:
		storeFailed(w, err)
		return
	}
	first, last := from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly)
	w.Header().Set("Vary", "Accept")
	if !asCSV {
		asOf := to
		if rq.Now.Before(to) {
			asOf = rq.Now
		}
		writeJSON(w, HandlingReport{From: first, To: last, Timezone: h.loc.String(), Start: from, End: to, AsOf: asOf.In(h.loc), Rows: rows})
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(ReportColumns)
	for _, row := range rows {
		_ = cw.Write(reportRecord(row))
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="handling-`+first+`-`+last+`.csv"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}
