package console

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/delivery"
	"github.com/lienthong/lienthong/router"
)

// MaxPage is the largest page of dossiers the console shows (the API's own
// pages are at most 500: the console reads two).
const MaxPage = 1000

// Statuses in the order the filter offers them.
var statuses = []string{router.StatusRegistered, router.StatusReceived, router.StatusRefused, router.StatusProcessing,
	router.StatusAwaitingSupplement, router.StatusAwaitingPayment, router.StatusRejected, router.StatusWithdrawn,
	router.StatusResultReady, router.StatusReturned}

// row is one dossier of a list as the page shows it.
type row struct {
	router.Summary
	ProcName string
	Due      string
	Left     string
	Late     bool
	Agencies []string // holders of the open steps (or the receiver)
}

type listData struct {
	Rows                  []row
	Next, First           string
	Code, Status, Agency  string
	Procedure, Overdue    string
	From, To              string
	Limit                 int
	Statuses              []string
	Agencies, Procedures  []option
	Count                 int
	Elapsed               string
	OverdueOptions        []option
	FilterQuery           string
	ShowingFrom, ShowCode bool
}

type option struct{ Value, Label string }

func (c *Console) agencyOptions() []option {
	var out []option
	for _, a := range c.o.Config.Agencies {
		out = append(out, option{a.Code, a.Code + " · " + a.Name})
	}
	return out
}

func (c *Console) procedureOptions() []option {
	var out []option
	for _, p := range c.o.Config.Procedures {
		out = append(out, option{p.Code, p.Code + " · " + p.Name})
	}
	return out
}

func (c *Console) procName(code string) string {
	if p, ok := c.o.Config.Procedure(code); ok && p.Name != "" {
		return p.Name
	}
	return ""
}

func (c *Console) agencyName(code string) string {
	if a, ok := c.o.Config.Agency(code); ok {
		return a.Name
	}
	return ""
}

// fmtTime shows a time in the calendar's zone.
func (c *Console) fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.o.Config.Cal().Location()).Format("02/01/2006 15:04")
}

// left is the working time from now to due, in the page's language; late
// when due has passed.
func (c *Console) left(T func(string, ...any) string, now, due time.Time) (string, bool) {
	if due.IsZero() {
		return "", false
	}
	cal := c.o.Config.Cal()
	late := now.After(due)
	var d time.Duration
	if late {
		d = cal.WorkBetween(due, now)
	} else {
		d = cal.WorkBetween(now, due)
	}
	day := cal.DayLength()
	days := int(d / day)
	hours := int((d % day) / time.Hour)
	mins := int((d % time.Hour) / time.Minute)
	var s string
	switch {
	case days > 0:
		s = T("span.dh", days, hours)
	case hours > 0:
		s = T("span.hm", hours, mins)
	default:
		s = T("span.m", mins)
	}
	if late {
		return T("span.late", s), true
	}
	return s, false
}

func (c *Console) toRows(T func(string, ...any) string, items []router.Summary, now time.Time) []row {
	rows := make([]row, len(items))
	for i, s := range items {
		r := row{Summary: s, ProcName: c.procName(s.Procedure), Due: c.fmtTime(s.DueAt)}
		if !router.Closed(s.Status) && s.Status != router.StatusResultReady {
			r.Left, r.Late = c.left(T, now, s.DueAt)
		}
		r.Late = r.Late || s.Overdue
		r.Agencies = c.holders(s)
		rows[i] = r
	}
	return rows
}

// holders returns the agencies of a dossier's open steps, by the config's
// route; the receiver when none is open.
func (c *Console) holders(s router.Summary) []string {
	var out []string
	if p, ok := c.o.Config.Procedure(s.Procedure); ok {
		for _, id := range s.OpenSteps {
			for _, st := range p.Steps {
				if st.ID == id && !slices.Contains(out, st.Agency) {
					out = append(out, st.Agency)
				}
			}
		}
	}
	if len(out) == 0 {
		out = []string{s.Receiver}
	}
	return out
}

// listAll reads up to limit dossiers of q through the API, 500 at a time.
func (c *Console) listAll(r *http.Request, ss *session, q url.Values, limit int) ([]router.Summary, string, error) {
	var all []router.Summary
	next := q.Get("cursor")
	for {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		n := min(limit-len(all), 500)
		q2.Set("limit", strconv.Itoa(n))
		if next != "" {
			q2.Set("cursor", next)
		} else {
			q2.Del("cursor")
		}
		var page struct {
			Items []router.Summary `json:"items"`
			Next  string           `json:"next"`
		}
		if err := c.call(r.Context(), ss, http.MethodGet, "/v1/dossiers", q2, &page); err != nil {
			return nil, "", err
		}
		all = append(all, page.Items...)
		next = page.Next
		if next == "" || len(all) >= limit {
			return all, next, nil
		}
	}
}

func (c *Console) dossiers(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	q := r.URL.Query()
	if code := strings.TrimSpace(q.Get("code")); code != "" {
		http.Redirect(w, r, "/console/dossiers/"+url.PathEscape(code), http.StatusSeeOther)
		return
	}
	p := c.newPage(w, r, ss, "dossiers")
	p.Title = p.T("nav.dossiers")
	d := &listData{Status: q.Get("status"), Agency: q.Get("agency"), Procedure: q.Get("procedure"),
		Overdue: q.Get("overdue"), From: q.Get("from"), To: q.Get("to"), Limit: 50,
		Statuses: statuses, Agencies: c.agencyOptions(), Procedures: c.procedureOptions(),
		OverdueOptions: []option{{"", p.T("any")}, {"true", p.T("yes")}, {"false", p.T("no")}}}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPage {
			c.fail(w, r, ss, http.StatusBadRequest, "err.badfilter", p.T("err.limit", MaxPage))
			return
		}
		d.Limit = n
	}
	api := url.Values{}
	for k, v := range map[string]string{"status": d.Status, "agency": d.Agency, "procedure": d.Procedure,
		"overdue": d.Overdue, "received_from": d.From, "received_to": d.To} {
		if v != "" {
			api.Set(k, v)
		}
	}
	filter := url.Values{}
	for k, v := range map[string]string{"status": d.Status, "agency": d.Agency, "procedure": d.Procedure,
		"overdue": d.Overdue, "from": d.From, "to": d.To} {
		if v != "" {
			filter.Set(k, v)
		}
	}
	if d.Limit != 50 {
		filter.Set("limit", strconv.Itoa(d.Limit))
	}
	if cur := q.Get("cursor"); cur != "" {
		api.Set("cursor", cur)
		d.First = "/console/dossiers?" + filter.Encode()
	}
	start := time.Now()
	items, next, err := c.listAll(r, ss, api, d.Limit)
	if err != nil {
		c.failAPI(w, r, ss, err)
		return
	}
	d.Rows = c.toRows(p.T, items, p.Now)
	d.Count = len(d.Rows)
	if next != "" {
		nq := url.Values{}
		for k, v := range filter {
			nq[k] = v
		}
		nq.Set("cursor", next)
		d.Next = "/console/dossiers?" + nq.Encode()
	}
	d.Elapsed = time.Since(start).Round(time.Millisecond).String()
	p.Data = d
	c.render(w, r, "dossiers", http.StatusOK, p)
}

// ---- one dossier ----

type stepRow struct {
	router.StepView
	AgencyName  string
	HandedOver  string
	Received    string
	Due         string
	Completed   string
	Result      string // early, ontime, late, ""
	Notes       []string
	State       string // pending, in_progress, completed, late, cancelled
	TimeLeft    string
	ReceivedRaw time.Time
}

type timelineRow struct {
	router.Entry
	When   string
	Agency string
}

type dossierData struct {
	D        router.DossierView
	ProcName string
	Receiver string
	Received string
	Due      string
	Left     string
	Late     bool
	Paused   string
	// The workflow's lines: the first due time an apology moved, an awaited
	// supplement's deadline, the financial obligation.
	FirstDue      string
	SupplementDue string
	Obligation    string
	Steps         []stepRow
	Timeline      []timelineRow
	DAG           dag
	Documents     []document
}

type document struct{ Name, URL string }

// beforeDueDay reports whether done falls on a calendar day before the due
// time's day, in the calendar's zone.
func beforeDueDay(done, due time.Time, loc *time.Location) bool {
	y, m, d := due.In(loc).Date()
	return done.Before(time.Date(y, m, d, 0, 0, 0, 0, loc))
}

// withReason appends a reason to a note, when there is one.
func withReason(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

func stepState(s router.StepView) string {
	switch {
	case s.Status == router.StepCancelled:
		return "cancelled"
	case s.Status == router.StepRejected:
		return "rejected"
	case s.Overdue:
		return "late"
	}
	return s.Status
}

func (c *Console) dossier(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	code := r.PathValue("code")
	p := c.newPage(w, r, ss, "dossiers")
	if !validCode(code) {
		c.fail(w, r, ss, http.StatusNotFound, "err.notfound", p.T("err.badcode", code))
		return
	}
	var d router.DossierView
	if err := c.call(r.Context(), ss, http.MethodGet, "/v1/dossiers/"+url.PathEscape(code), nil, &d); err != nil {
		c.failAPI(w, r, ss, err)
		return
	}
	p.Title = p.T("dossier.title", d.Code)
	dd := &dossierData{D: d, ProcName: c.procName(d.Procedure), Receiver: c.agencyName(d.Receiver),
		Received: c.fmtTime(d.ReceivedAt), Due: c.fmtTime(d.DueAt)}
	if d.Status == router.StatusReceived || d.Status == router.StatusProcessing || d.Status == router.StatusAwaitingSupplement ||
		d.Status == router.StatusAwaitingPayment {
		dd.Left, dd.Late = c.left(p.T, p.Now, d.DueAt)
	}
	dd.Late = dd.Late || d.Overdue
	if d.PausedAt != nil {
		dd.Paused = c.fmtTime(*d.PausedAt)
	}
	if d.OriginalDueAt != nil {
		dd.FirstDue = c.fmtTime(*d.OriginalDueAt)
	}
	if d.SupplementDueAt != nil {
		dd.SupplementDue = c.fmtTime(*d.SupplementDueAt)
	}
	if o := d.Obligation; o != nil {
		paid := p.T("obligation.unpaid", o.DueDate)
		if !o.PaidAt.IsZero() {
			paid = p.T("obligation.paid", c.fmtTime(o.PaidAt))
		}
		dd.Obligation = p.T("obligation.line", o.NoticeNumber, o.AmountVND, paid)
	}
	// Notes per step from the timeline: supplement requests and answers,
	// rejections.
	notes := map[string][]string{}
	received := map[string]time.Time{}
	for _, e := range d.Timeline {
		tr := timelineRow{Entry: e, When: c.fmtTime(e.Time), Agency: strings.TrimPrefix(e.Source, "urn:lienthong:agency:")}
		dd.Timeline = append(dd.Timeline, tr)
		if e.Note != "" && e.Step != "" && e.Type != "dossier.supplement.requested" && e.Type != "dossier.rejected" {
			// The reason an event gave (an apology, a closure): the slip's notes.
			notes[e.Step] = append(notes[e.Step], e.Note)
		}
		switch e.Type {
		case "dossier.supplement.requested":
			notes[e.Step] = append(notes[e.Step], p.T("note.supplement", c.fmtTime(e.Time))+withReason(e.Note))
		case "dossier.supplemented":
			for st := range notes {
				notes[st] = append(notes[st], p.T("note.supplemented", c.fmtTime(e.Time)))
			}
		case "dossier.rejected":
			notes[e.Step] = append(notes[e.Step], p.T("note.rejected", c.fmtTime(e.Time))+withReason(e.Note))
		case "dossier.payment.confirmed":
			notes[e.Step] = append(notes[e.Step], p.T("note.paid", c.fmtTime(e.Time)))
		case "dossier.overdue":
			if e.Step != "" && !slices.Contains(notes[e.Step], p.T("note.overdue")) {
				notes[e.Step] = append(notes[e.Step], p.T("note.overdue"))
			}
		case "dossier.assigned":
			if _, ok := received[e.Step]; !ok && e.Step != "" {
				received[e.Step] = e.Time
			}
		}
	}
	for _, s := range d.Steps {
		sr := stepRow{StepView: s, AgencyName: c.agencyName(s.Agency), Notes: notes[s.ID], State: stepState(s)}
		if s.AssignedAt != nil {
			sr.HandedOver = c.fmtTime(*s.AssignedAt)
		}
		if t, ok := received[s.ID]; ok {
			sr.Received = c.fmtTime(t)
		}
		if s.DueAt != nil {
			sr.Due = c.fmtTime(*s.DueAt)
			if s.Status == router.StepInProgress && d.Status != router.StatusAwaitingSupplement && d.Status != router.StatusAwaitingPayment {
				sr.TimeLeft, _ = c.left(p.T, p.Now, *s.DueAt)
			}
		}
		if s.CompletedAt != nil {
			sr.Completed = c.fmtTime(*s.CompletedAt)
			sr.Result = "late"
			if s.OnTime != nil && *s.OnTime && s.OriginalDueAt == nil {
				sr.Result = "ontime"
				// Early: done before the due day, the rule of the handling
				// report and of `lienthong track` (DESIGN.md section 6).
				if s.DueAt != nil && beforeDueDay(*s.CompletedAt, *s.DueAt, c.o.Config.Cal().Location()) {
					sr.Result = "early"
				}
			}
		}
		if s.Status == router.StepCancelled {
			sr.Notes = append(sr.Notes, p.T("note.cancelled"))
		}
		dd.Steps = append(dd.Steps, sr)
	}
	dd.DAG = c.layout(d, p.T)
	p.Data = dd
	c.render(w, r, "dossier", http.StatusOK, p)
}

// validCode is the dossier code pattern of DESIGN.md section 1.
func validCode(s string) bool {
	i := strings.IndexByte(s, '-')
	if i < 1 || i > 32 || len(s) > 32+1+8+1+10 {
		return false
	}
	for j, ch := range s[:i] {
		if !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || j > 0 && ch == '.') {
			return false
		}
	}
	rest := s[i+1:]
	if len(rest) < 8+1+4 || rest[8] != '-' {
		return false
	}
	digits := func(x string) bool {
		for _, ch := range x {
			if ch < '0' || ch > '9' {
				return false
			}
		}
		return true
	}
	seq := rest[9:]
	return digits(rest[:8]) && digits(seq) && len(seq) >= 4 && len(seq) <= 10
}

// ---- overdue work ----

type overdueGroup struct {
	Agency, Name string
	Rows         []row
}

type overdueData struct {
	Groups    []overdueGroup
	Count     int
	Truncated bool
}

func (c *Console) overdue(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	p := c.newPage(w, r, ss, "overdue")
	p.Title = p.T("nav.overdue")
	late, nextLate, err := c.listAll(r, ss, url.Values{"overdue": {"true"}}, MaxPage)
	if err != nil {
		c.failAPI(w, r, ss, err)
		return
	}
	cal := c.o.Config.Cal()
	soonTo := cal.Add(p.Now, cal.DayLength())
	soon, nextSoon, err := c.listAll(r, ss, url.Values{"overdue": {"false"}, "due_from": {p.Now.Format(time.RFC3339)},
		"due_to": {soonTo.Format(time.RFC3339)}}, MaxPage)
	if err != nil {
		c.failAPI(w, r, ss, err)
		return
	}
	var items []router.Summary
	for _, s := range append(late, soon...) {
		if s.Status == router.StatusReceived || s.Status == router.StatusProcessing || s.Status == router.StatusAwaitingSupplement {
			items = append(items, s)
		}
	}
	rows := c.toRows(p.T, items, p.Now)
	groups := map[string]*overdueGroup{}
	for _, rw := range rows {
		for _, a := range rw.Agencies {
			g := groups[a]
			if g == nil {
				g = &overdueGroup{Agency: a, Name: c.agencyName(a)}
				groups[a] = g
			}
			g.Rows = append(g.Rows, rw)
		}
	}
	d := &overdueData{Count: len(rows), Truncated: nextLate != "" || nextSoon != ""}
	for _, g := range groups {
		slices.SortFunc(g.Rows, func(a, b row) int {
			return cmp.Or(a.DueAt.Compare(b.DueAt), strings.Compare(a.Code, b.Code))
		})
		d.Groups = append(d.Groups, *g)
	}
	slices.SortFunc(d.Groups, func(a, b overdueGroup) int { return strings.Compare(a.Agency, b.Agency) })
	p.Data = d
	c.render(w, r, "overdue", http.StatusOK, p)
}

// ---- on-time rates ----

type statLine struct {
	Key, Name                                           string
	Received, Completed, OnTime, Late, Open, OverdueNow int
	Bar                                                 bar
}

type statsData struct {
	From, To     string
	ByAgency     []statLine
	ByProcedure  []statLine
	AgencySteps  []statLine
	HasAnyRecord bool
}

func (c *Console) stats(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	p := c.newPage(w, r, ss, "stats")
	p.Title = p.T("nav.stats")
	q := r.URL.Query()
	loc := c.o.Config.Cal().Location()
	now := p.Now.In(loc)
	d := &statsData{From: q.Get("from"), To: q.Get("to")}
	if d.From == "" && d.To == "" {
		d.From = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc).Format(time.DateOnly)
		d.To = now.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	for _, v := range []string{d.From, d.To} {
		if v == "" {
			continue
		}
		if _, err := time.ParseInLocation(time.DateOnly, v, loc); err != nil {
			c.fail(w, r, ss, http.StatusBadRequest, "err.badfilter", p.T("err.date", v))
			return
		}
	}
	api := url.Values{}
	if d.From != "" {
		api.Set("received_from", d.From)
	}
	if d.To != "" {
		api.Set("received_to", d.To)
	}
	var body struct {
		Rows []router.StatRow `json:"rows"`
	}
	if err := c.call(r.Context(), ss, http.MethodGet, "/v1/stats", api, &body); err != nil {
		c.failAPI(w, r, ss, err)
		return
	}
	byAgency := map[string]*statLine{}
	bySteps := map[string]*statLine{}
	byProc := map[string]*statLine{}
	add := func(m map[string]*statLine, key, name string, s router.StatRow) {
		l := m[key]
		if l == nil {
			l = &statLine{Key: key, Name: name}
			m[key] = l
		}
		l.Received += s.Received
		l.Completed += s.Completed
		l.OnTime += s.OnTime
		l.Late += s.Late
		l.OverdueNow += s.OverdueNow
	}
	for _, s := range body.Rows {
		d.HasAnyRecord = true
		if s.Role == "receiver" {
			add(byAgency, s.Agency, c.agencyName(s.Agency), s)
			add(byProc, s.Procedure, c.procName(s.Procedure), s)
		} else {
			add(bySteps, s.Agency, c.agencyName(s.Agency), s)
		}
	}
	flat := func(m map[string]*statLine) []statLine {
		out := make([]statLine, 0, len(m))
		for _, l := range m {
			l.Open = l.Received - l.Completed
			l.Bar = makeBar(l.OnTime, l.Late, l.Open)
			out = append(out, *l)
		}
		slices.SortFunc(out, func(a, b statLine) int { return strings.Compare(a.Key, b.Key) })
		return out
	}
	d.ByAgency, d.AgencySteps, d.ByProcedure = flat(byAgency), flat(bySteps), flat(byProc)
	p.Data = d
	c.render(w, r, "stats", http.StatusOK, p)
}

// bar is a stacked horizontal bar: on time, late, in progress.
type bar struct {
	W                     int
	OnTimeW, LateW, OpenW int
	LateX, OpenX          int
	Pct                   string
}

func makeBar(onTime, late, open int) bar {
	const width = 200
	b := bar{W: width}
	total := onTime + late + open
	if total == 0 {
		b.Pct = "–"
		return b
	}
	b.OnTimeW = width * onTime / total
	b.LateW = width * late / total
	b.OpenW = width - b.OnTimeW - b.LateW
	b.LateX = b.OnTimeW
	b.OpenX = b.OnTimeW + b.LateW
	if onTime+late > 0 {
		b.Pct = strconv.Itoa(100*onTime/(onTime+late)) + "%"
	} else {
		b.Pct = "–"
	}
	return b
}

// ---- dead letters ----

// dlqItem is a dead letter as the API answers it (delivery.Item), with
// what the page shows of it.
type dlqItem struct {
	delivery.Item
	Subject string `json:"-"`
	Type    string `json:"-"`
	Failed  string `json:"-"`
}

type dlqData struct {
	Agency   string
	Items    []dlqItem
	Agencies []option
	Mode     string // confirm: the items to replay; done: what was replayed
	All      bool
	Failed   string
}

func (c *Console) listDLQ(r *http.Request, ss *session, agency string) ([]dlqItem, error) {
	q := url.Values{}
	if agency != "" {
		q.Set("agency", agency)
	}
	var body struct {
		Items []dlqItem `json:"items"`
	}
	if err := c.call(r.Context(), ss, http.MethodGet, "/v1/dlq", q, &body); err != nil {
		return nil, err
	}
	c.decorate(body.Items)
	return body.Items, nil
}

func (c *Console) decorate(items []dlqItem) {
	for i := range items {
		var ev struct {
			Subject string `json:"subject"`
			Type    string `json:"type"`
		}
		_ = json.Unmarshal(items[i].Event, &ev)
		items[i].Subject, items[i].Type, items[i].Failed = ev.Subject, ev.Type, c.fmtTime(items[i].FailedAt)
	}
}

func (c *Console) dlq(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	p := c.newPage(w, r, ss, "dlq")
	p.Title = p.T("nav.dlq")
	agency := r.URL.Query().Get("agency")
	items, err := c.listDLQ(r, ss, agency)
	if err != nil {
		c.failAPI(w, r, ss, err)
		return
	}
	p.Data = &dlqData{Agency: agency, Items: items, Agencies: c.agencyOptions()}
	c.render(w, r, "dlq", http.StatusOK, p)
}

// selected returns the dead letters a form names ("AGENCY id" values).
func selected(r *http.Request) [][2]string {
	var out [][2]string
	for _, v := range r.PostForm["item"] {
		a, id, ok := strings.Cut(v, " ")
		if ok && a != "" && id != "" {
			out = append(out, [2]string{a, id})
		}
	}
	return out
}

// dlqConfirm shows what a replay would re-send, with the button that does it.
func (c *Console) dlqConfirm(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	p := c.newPage(w, r, ss, "dlq")
	p.Title = p.T("dlq.confirm")
	all := r.PostFormValue("all")
	items, err := c.listDLQ(r, ss, all)
	if err != nil {
		c.failAPI(w, r, ss, err)
		return
	}
	d := &dlqData{Mode: "confirm", Agency: all, All: all != ""}
	if !d.All {
		want := map[[2]string]bool{}
		for _, s := range selected(r) {
			want[s] = true
		}
		for _, it := range items {
			if want[[2]string{it.Agency, it.ID}] {
				d.Items = append(d.Items, it)
			}
		}
	} else {
		d.Items = items
	}
	if len(d.Items) == 0 {
		c.fail(w, r, ss, http.StatusBadRequest, "dlq.none", "")
		return
	}
	p.Data = d
	c.render(w, r, "dlq", http.StatusOK, p)
}

func (c *Console) dlqReplay(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	p := c.newPage(w, r, ss, "dlq")
	p.Title = p.T("dlq.done")
	d := &dlqData{Mode: "done"}
	if all := r.PostFormValue("all"); all != "" {
		d.All, d.Agency = true, all
		var body struct {
			Replayed []dlqItem `json:"replayed"`
		}
		if err := c.call(r.Context(), ss, http.MethodPost, "/v1/dlq/replay", url.Values{"agency": {all}}, &body); err != nil {
			c.failAPI(w, r, ss, err)
			return
		}
		d.Items = body.Replayed
	} else {
		for _, s := range selected(r) {
			var body struct {
				Replayed []dlqItem `json:"replayed"`
			}
			err := c.call(r.Context(), ss, http.MethodPost, "/v1/dlq/"+url.PathEscape(s[1])+"/replay", url.Values{"agency": {s[0]}}, &body)
			if err != nil {
				if len(d.Items) == 0 {
					c.failAPI(w, r, ss, err)
					return
				}
				d.Failed = fmt.Sprintf("%s %s: %v", s[0], s[1], err)
				break
			}
			d.Items = append(d.Items, body.Replayed...)
		}
	}
	c.decorate(d.Items)
	p.Data = d
	c.render(w, r, "dlq", http.StatusOK, p)
}

// ---- health ----

type healthData struct {
	Ready   bool
	Reason  string
	Lag     []LagRow
	LagErr  string
	Rates   []rate
	Window  string
	Sampled bool
}

func (c *Console) health(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	p := c.newPage(w, r, ss, "health")
	p.Title = p.T("nav.health")
	d := &healthData{}
	if c.o.NotReady != nil {
		d.Reason = c.o.NotReady(r.Context())
	}
	d.Ready = d.Reason == ""
	if c.o.Lag != nil && ss.p.Admin {
		lag, err := c.o.Lag(r.Context())
		if err != nil {
			d.LagErr = err.Error()
		}
		d.Lag = lag
	}
	c.rates.sample()
	d.Rates, d.Window = c.rates.rates()
	p.Data = d
	c.render(w, r, "health", http.StatusOK, p)
}
