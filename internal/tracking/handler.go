package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// Source returns the store, or why there is none yet (it is being opened,
// or the database does not answer).
type Source func() (*store.Store, error)

// Handler serves the tracking API of DESIGN.md section 6 from the store:
//
//	GET /v1/dossiers/{code}   the process-control slip of one dossier
//	GET /v1/dossiers          a page of the dossiers the caller may see
//	GET /v1/stats             per procedure and agency counts
//	GET /v1/reports/handling  the handling report of a period (report.go)
//
// The caller comes from auth.FromContext. A dossier the caller may not see
// answers 404, exactly like one that does not exist, so that agencies cannot
// probe which codes exist.
func Handler(src Source, o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	h := &handler{src: src, now: o.Now, loc: o.Location, procName: o.ProcedureName}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/dossiers/{code}", h.getDossier)
	mux.HandleFunc("GET /v1/dossiers", h.listDossiers)
	mux.HandleFunc("GET /v1/stats", h.getStats)
	mux.HandleFunc("GET /v1/reports/handling", h.getHandlingReport)
	return mux
}

// Options tune the handler; zero values take the defaults.
type Options struct {
	Now      func() time.Time // the clock of "overdue now"; default time.Now
	Location *time.Location   // where a date parameter's midnight is; default UTC
	// ProcedureName names a procedure on the slip (the config's); nil: none.
	ProcedureName func(code string) string
}

type handler struct {
	src      Source
	now      func() time.Time
	loc      *time.Location
	procName func(string) string
}

// queryTimeout bounds one store query: a database in trouble answers 503,
// it does not hold the connection.
const queryTimeout = 10 * time.Second

// begin authenticates the caller and gets the store.
func (h *handler) begin(w http.ResponseWriter, r *http.Request) (store.Viewer, *store.Store, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok || (!p.Admin && p.Agency == "") {
		problem.Send(w, http.StatusUnauthorized, problem.Unauthorized, "no authenticated caller")
		return store.Viewer{}, nil, false
	}
	st, err := h.src()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		problem.Send(w, http.StatusServiceUnavailable, problem.Unavailable, "the tracking store is not available: "+err.Error())
		return store.Viewer{}, nil, false
	}
	return store.Viewer{Admin: p.Admin, Agency: p.Agency}, st, true
}

// storeFailed answers a failed query: 503, the reason logged by the caller
// is not shown (it may name the database).
func storeFailed(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", "5")
	msg := "the tracking store did not answer; retry later"
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "the tracking store did not answer in time; retry later"
	}
	problem.Send(w, http.StatusServiceUnavailable, problem.Unavailable, msg)
}

func (h *handler) getDossier(w http.ResponseWriter, r *http.Request) {
	viewer, st, ok := h.begin(w, r)
	if !ok {
		return
	}
	code := r.PathValue("code")
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	d, err := st.Get(ctx, code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem.Send(w, http.StatusNotFound, problem.NotFound, "no dossier "+code)
		return
	case err != nil:
		storeFailed(w, err)
		return
	}
	if !viewer.Admin && !d.OnRoute(viewer.Agency) {
		problem.Send(w, http.StatusNotFound, problem.NotFound, "no dossier "+code)
		return
	}
	view := router.Describe(d, h.now())
	// The slip shows the procedure by name and times in the calendar's zone.
	if h.procName != nil {
		view.ProcedureName = h.procName(view.Procedure)
	}
	view.TimeZone = h.loc.String()
	writeJSON(w, view)
}

// timeParam parses an RFC 3339 time, or a date (YYYY-MM-DD) meaning its
// midnight in the calendar's time zone.
func timeParam(q map[string][]string, name string, loc *time.Location) (time.Time, *problem.Details) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return t, nil
	}
	return time.Time{}, problem.New(http.StatusBadRequest, problem.BadRequest, name+" must be an RFC 3339 time (2026-03-03T08:00:00+07:00) or a date (2026-03-03)",
		problem.FieldError{Location: name, Message: "not a time"})
}

// times parses the time parameters into their fields, answering 400 for
// the first bad one (in name order, so the answer does not vary).
func (h *handler) times(w http.ResponseWriter, q map[string][]string, into map[string]*time.Time) bool {
	names := slices.Sorted(maps.Keys(into))
	for _, name := range names {
		t, d := timeParam(q, name, h.loc)
		if d != nil {
			problem.Write(w, d)
			return false
		}
		*into[name] = t
	}
	return true
}

func (h *handler) listDossiers(w http.ResponseWriter, r *http.Request) {
	viewer, st, ok := h.begin(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	sq := store.Query{Viewer: viewer, Status: q.Get("status"), Agency: q.Get("agency"), Procedure: q.Get("procedure"),
		Cursor: q.Get("cursor"), Now: h.now()}
	if sq.Status != "" && router.PortalStatus(sq.Status) == 0 {
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, "unknown status "+strconv.Quote(sq.Status))
		return
	}
	if s := q.Get("overdue"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			problem.Send(w, http.StatusBadRequest, problem.BadRequest, "overdue must be true or false")
			return
		}
		sq.Overdue = &b
	}
	sq.Limit = store.DefaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxLimit {
			problem.Send(w, http.StatusBadRequest, problem.BadRequest, "limit must be 1 to "+strconv.Itoa(store.MaxLimit))
			return
		}
		sq.Limit = n
	}
	if !h.times(w, q, map[string]*time.Time{"received_from": &sq.ReceivedFrom, "received_to": &sq.ReceivedTo,
		"due_from": &sq.DueFrom, "due_to": &sq.DueTo}) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	items, next, err := st.List(ctx, sq)
	switch {
	case errors.Is(err, problem.ErrBadCursor):
		problem.Send(w, http.StatusBadRequest, problem.BadCursor, "cursor was not made by this API")
		return
	case err != nil:
		storeFailed(w, err)
		return
	}
	if items == nil {
		items = []router.Summary{}
	}
	writeJSON(w, map[string]any{"items": items, "next": next})
}

func (h *handler) getStats(w http.ResponseWriter, r *http.Request) {
	viewer, st, ok := h.begin(w, r)
	if !ok {
		return
	}
	sq := store.StatsQuery{Viewer: viewer, Now: h.now()}
	if !h.times(w, r.URL.Query(), map[string]*time.Time{"received_from": &sq.ReceivedFrom, "received_to": &sq.ReceivedTo}) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	rows, err := st.Stats(ctx, sq)
	if err != nil {
		storeFailed(w, err)
		return
	}
	if rows == nil {
		rows = []router.StatRow{}
	}
	writeJSON(w, map[string]any{"rows": rows})
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
