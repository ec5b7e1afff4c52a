package router

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/problem"
)

// Handler serves the tracking API of DESIGN.md section 6:
//
//	GET /v1/dossiers/{code}   the process-control slip of one dossier
//	GET /v1/dossiers          a page of the dossiers the caller may see
//	GET /v1/stats             per procedure and agency counts
//
// The caller comes from auth.FromContext (the lead's middleware). A dossier
// the caller may not see answers 404, exactly like one that does not exist,
// so that agencies cannot probe which dossier codes exist.
func (v *View) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/dossiers/{code}", v.getDossier)
	mux.HandleFunc("GET /v1/dossiers", v.listDossiers)
	mux.HandleFunc("GET /v1/stats", v.getStats)
	return mux
}

func principal(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok || (!p.Admin && p.Agency == "") {
		problem.Send(w, http.StatusUnauthorized, problem.Unauthorized, "no authenticated caller")
		return p, false
	}
	return p, true
}

// DossierView is the body of GET /v1/dossiers/{code}.
type DossierView struct {
	Code         string     `json:"code"`
	Procedure    string     `json:"procedure"`
	Receiver     string     `json:"receiver"`
	Status       string     `json:"status"`
	PortalStatus int        `json:"portal_status"`
	Overdue      bool       `json:"overdue"`
	ReceivedAt   time.Time  `json:"received_at"`
	DueAt        time.Time  `json:"due_at"`
	ResultAt     *time.Time `json:"result_at,omitempty"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	PausedAt     *time.Time `json:"paused_at,omitempty"`
	Steps        []StepView `json:"steps"`
	Timeline     []Entry    `json:"timeline"`
}

// StepView is one row of the process-control slip: who held the dossier,
// from when to when, due when, on time or late.
type StepView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Agency      string     `json:"agency"`
	Status      string     `json:"status"`
	AssignedAt  *time.Time `json:"assigned_at"`
	DueAt       *time.Time `json:"due_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Overdue     bool       `json:"overdue"`
	OnTime      *bool      `json:"on_time,omitempty"` // completed steps only
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Describe renders a state as the tracking API shows it at now.
func Describe(st *State, now time.Time) DossierView {
	d := DossierView{
		Code: st.Code, Procedure: st.Procedure, Receiver: st.Receiver, Status: st.Status,
		PortalStatus: PortalStatus(st.Status), Overdue: st.AnyOverdueAt(now),
		ReceivedAt: st.ReceivedAt, DueAt: st.DueAt, ResultAt: tp(st.ResultAt), ClosedAt: tp(st.ClosedAt), PausedAt: tp(st.PausedAt),
		Steps: make([]StepView, len(st.Steps)), Timeline: st.Timeline,
	}
	if d.Timeline == nil {
		d.Timeline = []Entry{}
	}
	for i := range st.Steps {
		s := &st.Steps[i]
		sv := StepView{ID: s.ID, Name: s.Name, Agency: s.Agency, Status: s.Status,
			AssignedAt: tp(s.AssignedAt), DueAt: tp(s.DueAt), CompletedAt: tp(s.CompletedAt),
			Overdue: s.OverdueAt(now, st.Paused())}
		if s.Status == StepCompleted {
			on := s.OnTime
			sv.OnTime = &on
		}
		d.Steps[i] = sv
	}
	return d
}

func (v *View) getDossier(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	code := r.PathValue("code")
	st, found := v.Get(code)
	if !found || !CanSee(p, st) {
		problem.Send(w, http.StatusNotFound, problem.NotFound, "no dossier "+code)
		return
	}
	writeJSON(w, Describe(st, v.now()))
}

func (v *View) listDossiers(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := Filter{Status: q.Get("status"), Agency: q.Get("agency")}
	if f.Status != "" && PortalStatus(f.Status) == 0 {
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, "unknown status "+strconv.Quote(f.Status))
		return
	}
	if s := q.Get("overdue"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			problem.Send(w, http.StatusBadRequest, problem.BadRequest, "overdue must be true or false")
			return
		}
		f.Overdue = &b
	}
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			problem.Send(w, http.StatusBadRequest, problem.BadRequest, "limit must be 1 to 500")
			return
		}
		limit = n
	}
	items, next, err := v.List(p, f, limit, q.Get("cursor"))
	if errors.Is(err, ErrBadCursor) {
		problem.Send(w, http.StatusBadRequest, problem.BadCursor, "cursor was not made by this API")
		return
	}
	writeJSON(w, map[string]any{"items": items, "next": next})
}

func (v *View) getStats(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	writeJSON(w, map[string]any{"rows": v.Stats(p)})
}

func writeJSON(w http.ResponseWriter, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		problem.Send(w, http.StatusInternalServerError, problem.Unavailable, "encode response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}
