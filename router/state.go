package router

import (
	"encoding/json"
	"time"
)

// Dossier statuses (DESIGN.md section 3).
const (
	StatusRegistered         = "registered" // filed online, not yet accepted at reception
	StatusRefused            = "refused"    // refused at reception
	StatusAwaitingPayment    = "awaiting_payment"
	StatusReceived           = "received"
	StatusProcessing         = "processing"
	StatusAwaitingSupplement = "awaiting_supplement"
	StatusRejected           = "rejected"
	StatusWithdrawn          = "withdrawn"
	StatusResultReady        = "result_ready"
	StatusReturned           = "returned"
)

// Step statuses.
const (
	StepPending    = "pending"
	StepInProgress = "in_progress"
	StepCompleted  = "completed"
	StepRejected   = "rejected" // its agency refused the dossier
	StepCancelled  = "cancelled"
)

// PortalStatus returns the National Public Service Portal's TrangThaiHoSo code
// of a dossier status, 0 for an unknown status.
func PortalStatus(status string) int {
	switch status {
	case StatusRegistered:
		return 1
	case StatusRefused:
		return 3
	case StatusAwaitingPayment:
		return 6
	case StatusReceived:
		return 2
	case StatusProcessing:
		return 4
	case StatusAwaitingSupplement:
		return 5
	case StatusWithdrawn:
		return 7
	case StatusRejected:
		return 8
	case StatusResultReady:
		return 9
	case StatusReturned:
		return 10
	}
	return 0
}

// Closed reports whether a dossier in this status accepts no more events.
func Closed(status string) bool {
	return status == StatusRejected || status == StatusWithdrawn || status == StatusReturned || status == StatusRefused
}

// State is everything the router knows about one dossier. It is the value of
// the dossier's record on the compacted state topic, so it is self-contained:
// the route is copied in at submission, and a dossier keeps the route it was
// submitted under even if the config changes later.
type State struct {
	Code      string `json:"code"`
	Procedure string `json:"procedure"`
	Receiver  string `json:"receiver"`
	Status    string `json:"status"`
	// ReceivedAt is the desk's receipt time (data.received_at); the dossier's
	// deadline counts from it. AcceptedAt is when the bus accepted the submission.
	ReceivedAt time.Time `json:"received_at"`
	AcceptedAt time.Time `json:"accepted_at"`
	DueAt      time.Time `json:"due_at"`
	ResultAt   time.Time `json:"result_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	// PausedAt is set while a supplement is awaited: the clock is stopped.
	PausedAt       time.Time   `json:"paused_at,omitzero"`
	SupplementStep string      `json:"supplement_step,omitempty"`
	SupplementBy   string      `json:"supplement_by,omitempty"`
	OverdueSent    bool        `json:"overdue_sent,omitempty"`
	Steps          []StepState `json:"steps"`
	// The workflow (DESIGN.md section 4). Channel is the submission's; a
	// dossier filed online waits in registered for its reception. Deadline
	// and CutOff are the procedure's, copied at submission: the due time of
	// a dossier accepted later counts from its acceptance.
	Channel  string        `json:"channel,omitempty"`
	Deadline Span          `json:"deadline,omitzero"`
	CutOff   time.Duration `json:"cut_off,omitempty"`
	// SupplementDeadline is the procedure's (zero: none); SupplementDueAt
	// and SupplementRemindAt are set while a supplement is awaited under it.
	SupplementDeadline Span      `json:"supplement_deadline,omitzero"`
	SupplementDueAt    time.Time `json:"supplement_due_at,omitzero"`
	SupplementRemindAt time.Time `json:"supplement_remind_at,omitzero"`
	SupplementWarned   bool      `json:"supplement_warned,omitempty"`
	// Payers may confirm a payment besides the receiver; Obligation is the
	// financial obligation a step set (kept after payment, for the slip).
	Payers     []string    `json:"payers,omitempty"`
	Obligation *Obligation `json:"obligation,omitempty"`
	// OriginalDueAt is the dossier's first due time once an apology moved
	// it; Apologies are every apology, for the slip and the statistics.
	OriginalDueAt time.Time `json:"original_due_at,omitzero"`
	Apologies     []Apology `json:"apologies,omitempty"`
	// Dossier is the submitted data, handed to each step's agency in
	// dossier.assigned. It holds personal data, so it is dropped when the
	// dossier closes: nothing needs it any more.
	Dossier json.RawMessage `json:"dossier,omitempty"`
	// ApplicantName is the applicant's full name, read from the submission
	// once and dropped at close like Dossier: the slip shows it while the
	// dossier is open, and the tracking store keeps it that long. See
	// Applicant.
	ApplicantName string `json:"applicant_name,omitempty"`
	// FormSchema is the form schema of the dossier's form ("" when the
	// procedure has none); Form is the current form once a supplement
	// patched it (nil: the submitted one, in Dossier); Supplied are the
	// documents the supplements brought. Dropped at close, like Dossier.
	FormSchema string          `json:"form_schema,omitempty"`
	Form       json.RawMessage `json:"form,omitempty"`
	Supplied   []Supplied      `json:"supplied,omitempty"`
	Timeline   []Entry         `json:"timeline"`
	// Offset is the events-topic offset of the last record applied to this
	// dossier: the runner skips records at or below it, which makes a replay
	// after a crash or a rebalance apply nothing twice.
	Offset int64 `json:"offset"`
}

// StepState is one step of a dossier's route and its progress.
type StepState struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Agency      string          `json:"agency"`
	Deadline    Span            `json:"deadline"`
	After       []string        `json:"after,omitempty"`
	Status      string          `json:"status"`
	AssignedAt  time.Time       `json:"assigned_at,omitzero"`
	DueAt       time.Time       `json:"due_at,omitzero"`
	CompletedAt time.Time       `json:"completed_at,omitzero"`
	OnTime      bool            `json:"on_time,omitempty"`
	OverdueSent bool            `json:"overdue_sent,omitempty"`
	Outputs     json.RawMessage `json:"outputs,omitempty"`
	Documents   json.RawMessage `json:"documents,omitempty"`
	// OutputSchema is the form schema the outputs must match, copied from
	// the route at submission.
	OutputSchema string `json:"output_schema,omitempty"`
	// OriginalDueAt is the step's first due time once an apology moved it.
	OriginalDueAt time.Time `json:"original_due_at,omitzero"`
}

// Obligation is a financial obligation a step set: the notice, and its
// payment once confirmed.
type Obligation struct {
	Step         string    `json:"step"`
	NoticeNumber string    `json:"notice_number"`
	AmountVND    int64     `json:"amount_vnd"`
	TaxKinds     []string  `json:"tax_kinds"`
	DueDate      string    `json:"due_date"`
	SetAt        time.Time `json:"set_at"`
	PaidAt       time.Time `json:"paid_at,omitzero"`
	Reference    string    `json:"reference,omitempty"`
}

// Apology is one dossier.apology: who apologised for which step (none: the
// dossier), why, and the appointment it moved.
type Apology struct {
	ID        string    `json:"id"`
	By        string    `json:"by"`
	Step      string    `json:"step,omitempty"`
	Reason    string    `json:"reason"`
	OldDueAt  time.Time `json:"old_due_at"`
	NewDueAt  time.Time `json:"new_due_at"`
	At        time.Time `json:"at"`
	LetterURL string    `json:"letter_url,omitempty"`
}

// Supplied is what one dossier.supplemented brought: its event id and its
// documents (a JSON array).
type Supplied struct {
	ID        string          `json:"id"`
	Documents json.RawMessage `json:"documents"`
}

// Entry is one line of a dossier's timeline: an agency event the router
// applied, or an event the router made (To names its recipient).
type Entry struct {
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	Source string    `json:"source"`
	Time   time.Time `json:"time"`
	Step   string    `json:"step,omitempty"`
	Status string    `json:"status,omitempty"`
	To     string    `json:"to,omitempty"`
	// Note is the reason the event gave (a refusal, a supplement request,
	// an apology), for the slip.
	Note string `json:"note,omitempty"`
}

// Clone returns a copy of s that can be changed without touching s. The
// submitted data, outputs and documents are immutable and shared.
func (s *State) Clone() *State {
	n := *s
	n.Steps = append([]StepState(nil), s.Steps...)
	n.Supplied = append([]Supplied(nil), s.Supplied...)
	n.Apologies = append([]Apology(nil), s.Apologies...)
	if s.Obligation != nil {
		o := *s.Obligation
		n.Obligation = &o
	}
	n.Timeline = make([]Entry, len(s.Timeline), len(s.Timeline)+8)
	copy(n.Timeline, s.Timeline)
	return &n
}

// tidy drops the spare capacity appends left behind: a router holds
// hundreds of thousands of states, and the slack would be a third of them.
func (s *State) tidy() *State {
	if cap(s.Timeline) > len(s.Timeline) {
		s.Timeline = append([]Entry(nil), s.Timeline...)
	}
	return s
}

// Step returns the step with the given id, or nil.
func (s *State) Step(id string) *StepState {
	for i := range s.Steps {
		if s.Steps[i].ID == id {
			return &s.Steps[i]
		}
	}
	return nil
}

// Paused reports whether the dossier's clock is stopped: a supplement or a
// payment is awaited.
func (s *State) Paused() bool {
	return s.Status == StatusAwaitingSupplement || s.Status == StatusAwaitingPayment
}

// Open reports whether the dossier is still being worked on (its own
// deadline can still be missed).
func (s *State) Open() bool {
	return s.Status == StatusReceived || s.Status == StatusProcessing || s.Status == StatusAwaitingSupplement ||
		s.Status == StatusAwaitingPayment
}

// seen reports whether the agency event source+id was already applied.
func (s *State) seen(source, id string) bool {
	for i := range s.Timeline {
		if s.Timeline[i].ID == id && s.Timeline[i].Source == source {
			return true
		}
	}
	return false
}

// OnRoute reports whether agency is the receiver or holds a step of the route.
func (s *State) OnRoute(agency string) bool {
	if s.Receiver == agency {
		return true
	}
	for i := range s.Steps {
		if s.Steps[i].Agency == agency {
			return true
		}
	}
	return false
}

// OverdueAt reports whether the dossier is late at now: it was flagged, or it
// is open, not paused, and past its due time.
func (s *State) OverdueAt(now time.Time) bool {
	if s.OverdueSent {
		return true
	}
	return (s.Status == StatusReceived || s.Status == StatusProcessing) && now.After(s.DueAt)
}

// AnyOverdueAt reports whether the dossier or one of its open steps is late
// at now: what tracking shows as the dossier's "overdue" (a late step owes the
// citizen an apology letter just as a late dossier does).
func (s *State) AnyOverdueAt(now time.Time) bool {
	if s.OverdueAt(now) {
		return true
	}
	for i := range s.Steps {
		if s.Steps[i].Status == StepInProgress && s.Steps[i].OverdueAt(now, s.Paused()) {
			return true
		}
	}
	return false
}

// OverdueAt reports whether a step is late at now: flagged, open past due,
// or completed after its due time.
func (st *StepState) OverdueAt(now time.Time, paused bool) bool {
	switch st.Status {
	case StepInProgress:
		return st.OverdueSent || (!paused && now.After(st.DueAt))
	case StepCompleted:
		return !st.OnTime
	}
	return false
}

// Applicant returns the applicant's full name while the dossier is open,
// "" once it closed: the slip names the applicant only then.
func (s *State) Applicant() string {
	if Closed(s.Status) {
		return ""
	}
	if s.ApplicantName != "" || len(s.Dossier) == 0 {
		return s.ApplicantName
	}
	// A state written before ApplicantName existed: read the submission.
	var d struct {
		Applicant struct {
			FullName string `json:"full_name"`
		} `json:"applicant"`
	}
	_ = json.Unmarshal(s.Dossier, &d)
	return d.Applicant.FullName
}
