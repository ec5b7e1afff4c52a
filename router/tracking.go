package router

import "time"

// Summary is one dossier in a list (GET /v1/dossiers).
type Summary struct {
	Code         string    `json:"code"`
	Procedure    string    `json:"procedure"`
	Receiver     string    `json:"receiver"`
	Status       string    `json:"status"`
	PortalStatus int       `json:"portal_status"`
	Overdue      bool      `json:"overdue"`
	ReceivedAt   time.Time `json:"received_at"`
	DueAt        time.Time `json:"due_at"`
	OpenSteps    []string  `json:"open_steps"`
}

// Summarize renders a state as a list row at now.
func Summarize(st *State, now time.Time) Summary {
	s := Summary{Code: st.Code, Procedure: st.Procedure, Receiver: st.Receiver, Status: st.Status,
		PortalStatus: PortalStatus(st.Status), Overdue: st.AnyOverdueAt(now), ReceivedAt: st.ReceivedAt, DueAt: st.DueAt,
		OpenSteps: []string{}}
	for _, s2 := range st.Steps {
		if s2.Status == StepInProgress {
			s.OpenSteps = append(s.OpenSteps, s2.ID)
		}
	}
	return s
}

// StatRow counts one agency's work on one procedure (GET /v1/stats). Role
// "receiver" counts dossiers received at its desk (completed = result ready
// by the dossier's due time or not); role "step" counts the steps it was
// assigned.
type StatRow struct {
	Procedure  string `json:"procedure"`
	Agency     string `json:"agency"`
	Role       string `json:"role"`
	Received   int    `json:"received"`
	Completed  int    `json:"completed"`
	OnTime     int    `json:"on_time"`
	Late       int    `json:"late"`
	OverdueNow int    `json:"overdue_now"`
}
