package router

import "time"

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
	// The workflow (DESIGN.md section 4): how it was filed, the first due
	// time when an apology moved it, the apologies, an awaited supplement's
	// deadline, the financial obligation.
	Channel string `json:"channel,omitempty"`
	// Applicant is named while the dossier is open only (personal data).
	Applicant *ApplicantView `json:"applicant,omitempty"`
	// ProcedureName and TimeZone are the config's: the procedure's name and
	// the calendar's zone, in which the slip shows times (the tracking API
	// fills them).
	ProcedureName   string      `json:"procedure_name,omitempty"`
	TimeZone        string      `json:"time_zone,omitempty"`
	OriginalDueAt   *time.Time  `json:"original_due_at,omitempty"`
	Apologies       []Apology   `json:"apologies,omitempty"`
	SupplementDueAt *time.Time  `json:"supplement_due_at,omitempty"`
	Obligation      *Obligation `json:"obligation,omitempty"`
	Steps           []StepView  `json:"steps"`
	Timeline        []Entry     `json:"timeline"`
}

// ApplicantView names the applicant on the slip.
type ApplicantView struct {
	FullName string `json:"full_name"`
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
	// OriginalDueAt is the first due time when an apology moved it.
	OriginalDueAt *time.Time `json:"original_due_at,omitempty"`
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
		Channel: st.Channel, OriginalDueAt: tp(st.OriginalDueAt), Apologies: st.Apologies,
		SupplementDueAt: tp(st.SupplementDueAt), Obligation: st.Obligation,
	}
	if name := st.Applicant(); name != "" {
		d.Applicant = &ApplicantView{FullName: name}
	}
	if d.Timeline == nil {
		d.Timeline = []Entry{}
	}
	for i := range st.Steps {
		s := &st.Steps[i]
		sv := StepView{ID: s.ID, Name: s.Name, Agency: s.Agency, Status: s.Status,
			AssignedAt: tp(s.AssignedAt), DueAt: tp(s.DueAt), CompletedAt: tp(s.CompletedAt),
			Overdue: s.OverdueAt(now, st.Paused()), OriginalDueAt: tp(s.OriginalDueAt)}
		if s.Status == StepCompleted {
			on := s.OnTime
			sv.OnTime = &on
		}
		d.Steps[i] = sv
	}
	return d
}
