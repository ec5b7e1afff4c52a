package router

import "time"

// The handling report of Circular 01/2018/TT-VPCP (GET /v1/reports/handling;
// docs/DESIGN.md section 6 states each counting rule).

// HandlingRow is one row of the handling report: one agency's handling of
// one procedure in the period. Role "receiver" counts the dossiers the
// agency received at its desk, role "step" the steps it was assigned.
// Received = ReceivedNew + CarriedOver = Done + InProgress + Refused +
// Withdrawn + Cancelled (docs/DESIGN.md section 6 states each rule).
type HandlingRow struct {
	Procedure        string `json:"procedure"`
	Agency           string `json:"agency"`
	Role             string `json:"role"`
	Received         int    `json:"received"`
	ReceivedNew      int    `json:"received_new"`
	CarriedOver      int    `json:"carried_over"`
	Done             int    `json:"done"`
	DoneEarly        int    `json:"done_early"`
	DoneOnTime       int    `json:"done_on_time"`
	DoneLate         int    `json:"done_late"`
	InProgress       int    `json:"in_progress"`
	InProgressOnTime int    `json:"in_progress_on_time"`
	InProgressLate   int    `json:"in_progress_late"`
	Supplements      int    `json:"supplements_requested"`
	Refused          int    `json:"refused"`
	Withdrawn        int    `json:"withdrawn"`
	Cancelled        int    `json:"cancelled"`
}

// HandlingReport is the answer of GET /v1/reports/handling.
type HandlingReport struct {
	From     string        `json:"from"`     // the first day, as asked
	To       string        `json:"to"`       // the last day, as asked
	Timezone string        `json:"timezone"` // the calendar's, where the days begin
	Start    time.Time     `json:"start"`    // the period's first instant
	End      time.Time     `json:"end"`      // the instant after its last day
	AsOf     time.Time     `json:"as_of"`    // when "in progress at the end" was judged
	Rows     []HandlingRow `json:"rows"`
}
