// Package router is lienthong's routing authority: it applies each agency
// event to its dossier's state (the route's step DAG, statuses, working-time
// deadlines, the routing rules of DESIGN.md section 4), makes the events the
// agencies must receive, and describes dossiers for the tracking view of
// DESIGN.md section 6. It runs durably over Kafka, with exactly-once effects,
// in internal/routing (the runner, and the routes built from the config).
//
// The engine (Apply, Tick) is pure: same state and event in, byte-identical
// state and events out. That is what makes replays after a crash harmless.
//
// Choices where the contract is silent:
//   - A submission reports both portal codes in turn: status.changed to
//     received (2), then to processing (4) as the root steps are assigned.
//   - Derived events are dated at the record's acceptance time (the
//     gateway's lienthong-accepted-at header), overdue events at the due
//     time they mark: never the wall clock, so replays are byte-identical.
//   - While a supplement or a payment is awaited (the clock stands still),
//     step completions and new supplement requests are refused
//     (dossier-paused); a rejection is allowed, since a supplement not made
//     in time ends in refusal, and so is an apology. Withdrawal is allowed
//     until the result is returned, a dossier filed online included.
//   - An agency's event is never forwarded back to its sender.
//   - A closed dossier's state drops the submitted data and step outputs.
//   - Tracking's "overdue" is true when the dossier or any open step is late;
//     a dossier the caller may not see answers 404, as if it did not exist.
package router

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
)

// Output is one event for one agency (Kafka topic inbox.<To>).
type Output struct {
	To    string
	Event event.Event
	// Forward marks an agency's own event relayed unchanged: the runner
	// writes the original record bytes rather than re-encoding Event.
	Forward bool
}

// Rejection says why an event was refused; Reason is the message.rejected
// reason (its URN).
type Rejection struct {
	Reason problem.Type
	Detail string
}

func (r *Rejection) Error() string { return r.Reason.URN() + ": " + r.Detail }

// Engine applies events to dossier states. It is safe for concurrent use
// (it holds only the routes).
type Engine struct {
	routes *Routes
}

// NewEngine returns an engine over the given routes.
func NewEngine(routes *Routes) *Engine { return &Engine{routes: routes} }

// Routes returns the engine's routes.
func (e *Engine) Routes() *Routes { return e.routes }

// change accumulates the effects of one event on a copy of the state.
type change struct {
	e     *Engine
	n     *State
	cause string // source/id of the causing event
	at    time.Time
	outs  []Output
}

// Apply applies ev, accepted by the bus at `at`, to st (nil: unknown
// dossier). It returns the new state (st itself when nothing changed: a
// duplicate or a rejection), the events to deliver, and the rejection when
// the event broke a routing rule. st is never modified. `at` must be stable
// across replays (the record's acceptance time), never the wall clock: it
// dates the state and the derived events.
func (e *Engine) Apply(st *State, ev event.Event, at time.Time) (*State, []Output, *Rejection) {
	at = at.UTC()
	sender, isAgency := event.AgencyOf(ev.Source)
	if st != nil && st.seen(ev.Source, ev.ID) {
		return st, nil, nil // a retry of an event already applied
	}
	refuse := func(t problem.Type, format string, args ...any) (*State, []Output, *Rejection) {
		rej := &Rejection{Reason: t, Detail: fmt.Sprintf(format, args...)}
		var outs []Output
		if isAgency {
			outs = append(outs, e.rejectedOutput(ev, sender, rej, at))
		}
		return st, outs, rej
	}
	switch {
	case !isAgency:
		return refuse(problem.ForbiddenSource, "source %q is not an agency", ev.Source)
	case event.IsRouterType(ev.Type):
		return refuse(problem.RouterOnlyType, "%s is made only by lienthong", ev.Type)
	case ev.Subject == "":
		return refuse(problem.UnknownDossier, "event has no subject (dossier code)")
	}
	if ev.Type == event.Submitted {
		return e.submit(st, ev, sender, at, refuse)
	}
	known := false
	for _, t := range event.AgencyTypes {
		known = known || t == ev.Type
	}
	switch {
	case !known:
		return refuse(problem.UnknownType, "unknown event type %q", ev.Type)
	case st == nil:
		return refuse(problem.UnknownDossier, "dossier %s was never submitted", ev.Subject)
	case Closed(st.Status):
		return refuse(problem.DossierClosed, "dossier %s is %s", st.Code, st.Status)
	}
	c := &change{e: e, n: st.Clone(), cause: ev.Source + "/" + ev.ID, at: at}
	var rej *Rejection
	switch ev.Type {
	case event.StepCompleted:
		rej = c.stepCompleted(ev, sender)
	case event.SupplementRequested:
		rej = c.supplementRequested(ev, sender)
	case event.Supplemented:
		rej = c.supplemented(ev, sender)
	case event.Rejected:
		rej = c.rejected(ev, sender)
	case event.Withdrawn:
		rej = c.withdrawn(ev, sender)
	case event.ResultReturned:
		rej = c.resultReturned(ev, sender)
	case event.Accepted:
		rej = c.accepted(ev, sender)
	case event.Refused:
		rej = c.refused(ev, sender)
	case event.PaymentConfirmed:
		rej = c.paymentConfirmed(ev, sender)
	case event.Apology:
		rej = c.apology(ev, sender)
	}
	if rej != nil {
		return refuse(rej.Reason, "%s", rej.Detail)
	}
	return c.n.tidy(), c.outs, nil
}

func (e *Engine) rejectedOutput(ev event.Event, sender string, rej *Rejection, at time.Time) Output {
	data := MessageRejectedData{RejectedID: ev.ID, RejectedType: ev.Type, Reason: rej.Reason.URN(), Detail: rej.Detail}
	out, _ := event.New(event.DeriveID(ev.Source+"/"+ev.ID, event.MessageRejected, sender), event.MessageRejected, ev.Subject, at, data)
	return Output{To: sender, Event: out}
}

func fail(t problem.Type, format string, args ...any) *Rejection {
	return &Rejection{Reason: t, Detail: fmt.Sprintf(format, args...)}
}

// submittedData holds the fields of dossier.submitted the router reads.
type submittedData struct {
	Code       string          `json:"code"`
	Procedure  string          `json:"procedure"`
	ReceivedAt time.Time       `json:"received_at"`
	FormSchema string          `json:"form_schema"`
	Form       json.RawMessage `json:"form"`
	Channel    string          `json:"channel"`
	Applicant  struct {
		FullName string `json:"full_name"`
	} `json:"applicant"`
}

func (e *Engine) submit(st *State, ev event.Event, sender string, at time.Time,
	refuse func(problem.Type, string, ...any) (*State, []Output, *Rejection)) (*State, []Output, *Rejection) {
	if st != nil {
		return refuse(problem.DossierExists, "dossier %s was already submitted", ev.Subject)
	}
	var d submittedData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return refuse(problem.InvalidData, "dossier.submitted data: %v", err)
	}
	if d.Code != ev.Subject {
		return refuse(problem.SubjectMismatch, "subject %q is not data.code %q", ev.Subject, d.Code)
	}
	proc, ok := e.routes.Procedure(d.Procedure)
	if !ok {
		return refuse(problem.UnknownProcedure, "unknown procedure %q", d.Procedure)
	}
	if !proc.ReceivableBy(sender) {
		return refuse(problem.ForbiddenProcedure, "procedure %s is not receivable by %s", proc.Code, sender)
	}
	received := d.ReceivedAt.UTC()
	if received.IsZero() {
		received = at
	}
	n := &State{
		Code:               ev.Subject,
		Procedure:          proc.Code,
		Receiver:           sender,
		ReceivedAt:         received,
		AcceptedAt:         at,
		Steps:              make([]StepState, len(proc.Steps)),
		Dossier:            ev.Data,
		Timeline:           make([]Entry, 0, 4+len(proc.Steps)),
		Channel:            d.Channel,
		ApplicantName:      d.Applicant.FullName,
		Deadline:           proc.Deadline,
		CutOff:             proc.CutOff,
		SupplementDeadline: proc.SupplementDeadline,
		Payers:             proc.PaymentConfirmers,
	}
	if len(d.Form) > 0 && string(d.Form) != "null" {
		// The gateway checked the form against this schema.
		n.FormSchema = d.FormSchema
		if n.FormSchema == "" && len(proc.FormSchemas) > 0 {
			n.FormSchema = proc.FormSchemas[len(proc.FormSchemas)-1]
		}
	}
	for i, s := range proc.Steps {
		n.Steps[i] = StepState{ID: s.ID, Name: s.Name, Agency: s.Agency, Deadline: s.Deadline, After: s.After, Status: StepPending, OutputSchema: s.OutputSchema}
	}
	c := &change{e: e, n: n, cause: ev.Source + "/" + ev.ID, at: at}
	c.record(ev, "")
	if d.Channel == ChannelOnline {
		// Filed online: the receiver decides at reception (dossier.accepted
		// or dossier.refused); the clock has not started.
		c.setStatus(StatusRegistered, "")
		return n.tidy(), c.outs, nil
	}
	n.DueAt = e.DueFrom(received, proc.Deadline, proc.CutOff)
	// Both portal codes are reported in turn (received, then processing once
	// the first steps are assigned), as the portal expects to see them.
	c.setStatus(StatusReceived, "")
	c.advance("")
	return n.tidy(), c.outs, nil
}

// ChannelOnline is the channel of dossiers filed online (the portal).
const ChannelOnline = "online"

// DueFrom returns the due time of a dossier received at t: deadline of
// working time counted from t, or from the next working day when t is after
// the procedure's cut-off. The gateway's receipt and the router agree on it.
func (e *Engine) DueFrom(t time.Time, deadline Span, cutOff time.Duration) time.Time {
	clock := e.routes.Clock
	return clock.Due(clock.CountFrom(t, cutOff), deadline).UTC()
}

// record appends an applied agency event to the timeline.
func (c *change) record(ev event.Event, step string) { c.recordNote(ev, step, "") }

// recordNote records an event with the reason it gave, for the slip.
func (c *change) recordNote(ev event.Event, step, note string) {
	c.n.Timeline = append(c.n.Timeline, Entry{ID: ev.ID, Type: ev.Type, Source: ev.Source, Time: c.at, Step: step, Note: note})
}

// emit makes one router event for one agency and notes it on the timeline.
func (c *change) emit(typ, to, step, status string, at time.Time, data any, idParts ...string) {
	parts := append([]string{typ, to, step}, idParts...)
	ev, err := event.New(event.DeriveID(c.cause, parts...), typ, c.n.Code, at, data)
	if err != nil {
		panic(fmt.Sprintf("router: encode %s: %v", typ, err)) // data is built here from plain values
	}
	c.outs = append(c.outs, Output{To: to, Event: ev})
	c.n.Timeline = append(c.n.Timeline, Entry{ID: ev.ID, Type: typ, Source: event.RouterSource, Time: at.UTC(), Step: step, Status: status, To: to})
}

// forward relays the agency's event unchanged to each recipient once,
// never back to its sender.
func (c *change) forward(ev event.Event, sender string, to ...string) {
	done := map[string]bool{sender: true}
	for _, a := range to {
		if a == "" || done[a] {
			continue
		}
		done[a] = true
		c.outs = append(c.outs, Output{To: a, Event: ev, Forward: true})
	}
}

func (c *change) setStatus(status, step string) { c.setStatusWith(status, step, nil) }

// setStatusWith changes the status and tells the receiver, with what the
// new status brings (an obligation, a supplement deadline, a reason) added
// by more; also tells the agencies in to.
func (c *change) setStatusWith(status, step string, more func(*StatusChangedData), to ...string) {
	prev := c.n.Status
	c.n.Status = status
	data := StatusChangedData{Status: status, PortalStatus: PortalStatus(status), Previous: prev, PreviousPortalStatus: PortalStatus(prev), Step: step, DueAt: c.n.DueAt}
	if more != nil {
		more(&data)
	}
	c.emit(event.StatusChanged, c.n.Receiver, step, status, c.at, data, status)
	for _, a := range to {
		if a != c.n.Receiver {
			c.emit(event.StatusChanged, a, step, "", c.at, data, status)
		}
	}
}

// advance starts every pending step whose `after` steps are all completed,
// and finishes the route when every step is completed. cause is the step
// whose completion triggered it ("" at submission).
func (c *change) advance(cause string) {
	n := c.n
	done := make(map[string]bool, len(n.Steps))
	for i := range n.Steps {
		if n.Steps[i].Status == StepCompleted {
			done[n.Steps[i].ID] = true
		}
	}
	var started []int
	for i := range n.Steps {
		s := &n.Steps[i]
		if s.Status != StepPending {
			continue
		}
		ready := true
		for _, a := range s.After {
			ready = ready && done[a]
		}
		if ready {
			s.Status = StepInProgress
			s.AssignedAt = c.at
			s.DueAt = c.e.routes.Clock.Due(c.at, s.Deadline).UTC()
			started = append(started, i)
		}
	}
	if len(started) > 0 && n.Status == StatusReceived {
		c.setStatus(StatusProcessing, cause)
	}
	if len(started) > 0 {
		outputs := make(map[string]json.RawMessage, len(done))
		for i := range n.Steps {
			if n.Steps[i].Status == StepCompleted {
				outputs[n.Steps[i].ID] = rawOr(n.Steps[i].Outputs, "{}")
			}
		}
		docs := n.documents()
		form := n.currentForm()
		for _, i := range started {
			s := &n.Steps[i]
			data := AssignedData{Step: AssignedStep{ID: s.ID, Name: s.Name, DueAt: s.DueAt}, Procedure: n.Procedure, Dossier: n.Dossier,
				FormSchema: n.FormSchema, Form: form, Documents: docs, Outputs: outputs}
			c.emit(event.Assigned, s.Agency, s.ID, "", c.at, data)
		}
	}
	if len(done) == len(n.Steps) {
		n.ResultAt = c.at
		c.setStatus(StatusResultReady, cause)
		outputs := make(map[string]json.RawMessage, len(n.Steps))
		documents := make(map[string]json.RawMessage, len(n.Steps))
		for i := range n.Steps {
			outputs[n.Steps[i].ID] = rawOr(n.Steps[i].Outputs, "{}")
			documents[n.Steps[i].ID] = rawOr(n.Steps[i].Documents, "[]")
		}
		c.emit(event.Completed, n.Receiver, "", "", c.at, CompletedData{Procedure: n.Procedure, Outputs: outputs, Documents: documents})
	}
}

func rawOr(r json.RawMessage, def string) json.RawMessage {
	if len(r) == 0 || string(r) == "null" {
		return json.RawMessage(def)
	}
	return r
}

// stepData holds the fields of step events the router reads.
type stepData struct {
	Step       string          `json:"step"`
	Outputs    json.RawMessage `json:"outputs"`
	Documents  json.RawMessage `json:"documents"`
	Reason     string          `json:"reason"`
	Obligation *ObligationData `json:"obligation"`
}

// openStep checks the rules every step event shares and returns the step.
func (c *change) openStep(ev event.Event, sender string) (*StepState, stepData, *Rejection) {
	var d stepData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return nil, d, fail(problem.InvalidData, "%s data: %v", ev.Type, err)
	}
	s := c.n.Step(d.Step)
	switch {
	case s == nil:
		return nil, d, fail(problem.UnknownStep, "procedure %s has no step %q", c.n.Procedure, d.Step)
	case s.Agency != sender:
		return nil, d, fail(problem.StepNotHeld, "step %s is held by %s, not %s", s.ID, s.Agency, sender)
	case s.Status != StepInProgress:
		return nil, d, fail(problem.StepNotOpen, "step %s is %s", s.ID, s.Status)
	}
	return s, d, nil
}

func (c *change) stepCompleted(ev event.Event, sender string) *Rejection {
	s, d, rej := c.openStep(ev, sender)
	if rej != nil {
		return rej
	}
	if c.n.Paused() {
		return fail(problem.DossierPaused, "dossier %s is awaiting a supplement", c.n.Code)
	}
	if rej := c.e.checkOutputs(s, d.Outputs); rej != nil {
		return rej
	}
	s.Status = StepCompleted
	s.CompletedAt = c.at
	s.OnTime = !c.at.After(s.firstDueAt())
	s.Outputs = d.Outputs
	s.Documents = d.Documents
	c.record(ev, s.ID)
	if o := d.Obligation; o != nil {
		// The route waits for the payment, and so does the agencies' clock.
		c.n.Obligation = &Obligation{Step: s.ID, NoticeNumber: o.NoticeNumber, AmountVND: o.AmountVND, TaxKinds: o.TaxKinds, DueDate: o.DueDate, SetAt: c.at}
		c.n.PausedAt = c.at
		c.setStatusWith(StatusAwaitingPayment, s.ID, func(d *StatusChangedData) { d.Obligation = o })
		return nil
	}
	c.advance(s.ID)
	return nil
}

// firstDueAt is the step's due time before any apology moved it: a step
// finished by a moved appointment is still late.
func (st *StepState) firstDueAt() time.Time {
	if !st.OriginalDueAt.IsZero() {
		return st.OriginalDueAt
	}
	return st.DueAt
}

func (c *change) supplementRequested(ev event.Event, sender string) *Rejection {
	s, _, rej := c.openStep(ev, sender)
	if rej != nil {
		return rej
	}
	if c.n.Paused() {
		return fail(problem.DossierPaused, "dossier %s is already %s", c.n.Code, c.n.Status)
	}
	var d struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	n := c.n
	n.PausedAt = c.at
	n.SupplementStep = s.ID
	n.SupplementBy = sender
	if dl := n.SupplementDeadline; dl.Days > 0 || dl.Work > 0 {
		clock := c.e.routes.Clock
		n.SupplementDueAt = clock.Due(c.at, dl).UTC()
		// A reminder one working day before the deadline (none for a
		// deadline of a day or less: the request itself is the notice).
		if dl.Days > 1 {
			n.SupplementRemindAt = clock.Due(c.at, Span{Days: dl.Days - 1, Work: dl.Work}).UTC()
		}
		n.SupplementWarned = false
	}
	c.recordNote(ev, s.ID, d.Reason)
	c.forward(ev, sender, n.Receiver)
	c.setStatusWith(StatusAwaitingSupplement, s.ID, func(d *StatusChangedData) { d.SupplementDueAt = n.SupplementDueAt })
	return nil
}

func (c *change) supplemented(ev event.Event, sender string) *Rejection {
	n := c.n
	if sender != n.Receiver {
		return fail(problem.NotReceiver, "only %s, the dossier's receiver, may send %s", n.Receiver, ev.Type)
	}
	if n.Status != StatusAwaitingSupplement {
		return fail(problem.NotAwaiting, "dossier %s is %s, no supplement was requested", n.Code, n.Status)
	}
	if !n.SupplementDueAt.IsZero() && c.at.After(n.SupplementDueAt) {
		return fail(problem.SupplementLate, "the supplement was due by %s", n.SupplementDueAt.Format(time.RFC3339))
	}
	if rej := c.supply(ev); rej != nil {
		return rej
	}
	c.resume()
	step, by := n.SupplementStep, n.SupplementBy
	n.SupplementStep, n.SupplementBy = "", ""
	n.SupplementDueAt, n.SupplementRemindAt, n.SupplementWarned = time.Time{}, time.Time{}, false
	c.record(ev, step)
	c.forward(ev, sender, by)
	c.setStatus(StatusProcessing, step)
	return nil
}

// resume restarts the clock after a pause (a supplement, a payment): every
// open due time moves by the working time the pause lasted.
func (c *change) resume() {
	n := c.n
	clock := c.e.routes.Clock
	pause := clock.WorkBetween(n.PausedAt, c.at)
	if pause > 0 {
		for i := range n.Steps {
			if n.Steps[i].Status == StepInProgress {
				n.Steps[i].DueAt = clock.Add(n.Steps[i].DueAt, pause).UTC()
			}
		}
		n.DueAt = clock.Add(n.DueAt, pause).UTC()
	}
	n.PausedAt = time.Time{}
}

// cancelOpen cancels every step not completed and returns the agencies that
// held the in-progress ones, in route order.
func (c *change) cancelOpen() []string {
	var holders []string
	for i := range c.n.Steps {
		s := &c.n.Steps[i]
		switch s.Status {
		case StepInProgress:
			holders = append(holders, s.Agency)
			s.Status = StepCancelled
		case StepPending:
			s.Status = StepCancelled
		}
	}
	return holders
}

// close ends the dossier and drops what only an open dossier needs,
// personal data first.
func (c *change) close() {
	c.n.ClosedAt = c.at
	c.n.PausedAt, c.n.SupplementStep, c.n.SupplementBy = time.Time{}, "", ""
	c.n.SupplementRemindAt, c.n.SupplementWarned = time.Time{}, false
	c.n.Dossier, c.n.Form, c.n.Supplied, c.n.ApplicantName = nil, nil, nil, ""
	for i := range c.n.Steps {
		c.n.Steps[i].Outputs, c.n.Steps[i].Documents = nil, nil
	}
}

func (c *change) rejected(ev event.Event, sender string) *Rejection {
	s, d, rej := c.openStep(ev, sender)
	if rej != nil {
		return rej
	}
	// Allowed while paused: a supplement not made in time ends in refusal.
	c.recordNote(ev, s.ID, d.Reason)
	holders := c.cancelOpen()
	s.Status = StepRejected // the slip shows who refused
	s.CompletedAt = c.at
	c.forward(ev, sender, append([]string{c.n.Receiver}, holders...)...)
	c.setStatus(StatusRejected, s.ID)
	c.close()
	return nil
}

func (c *change) withdrawn(ev event.Event, sender string) *Rejection {
	if sender != c.n.Receiver {
		return fail(problem.NotReceiver, "only %s, the dossier's receiver, may send %s", c.n.Receiver, ev.Type)
	}
	c.recordNote(ev, "", reasonOf(ev))
	holders := c.cancelOpen()
	c.forward(ev, sender, holders...)
	c.setStatus(StatusWithdrawn, "")
	c.close()
	return nil
}

func (c *change) resultReturned(ev event.Event, sender string) *Rejection {
	if sender != c.n.Receiver {
		return fail(problem.NotReceiver, "only %s, the dossier's receiver, may send %s", c.n.Receiver, ev.Type)
	}
	if c.n.Status != StatusResultReady {
		return fail(problem.ResultNotReady, "dossier %s is %s", c.n.Code, c.n.Status)
	}
	c.record(ev, "")
	c.setStatus(StatusReturned, "")
	c.close()
	return nil
}

// Tick raises dossier.overdue for each open step past its due time and for
// the dossier past its own, once each, never while the clock is paused. The
// events are dated at the due time and their ids derive from the dossier and
// step, so a repeated tick yields the same bytes. st is not modified; it is
// returned as is when nothing is late.
func (e *Engine) Tick(st *State, now time.Time) (*State, []Output) {
	if st == nil || !st.Open() {
		return st, nil
	}
	if st.Status == StatusAwaitingSupplement && st.supplementDueAt(now) {
		c := &change{e: e, n: st.Clone(), cause: event.RouterSource + "/" + st.Code}
		c.tickSupplement(now)
		return c.n.tidy(), c.outs
	}
	if st.Paused() || !st.lateAt(now) {
		return st, nil
	}
	c := &change{e: e, n: st.Clone(), cause: event.RouterSource + "/" + st.Code}
	n := c.n
	for i := range n.Steps {
		s := &n.Steps[i]
		if s.Status != StepInProgress || s.OverdueSent || !now.After(s.DueAt) {
			continue
		}
		s.OverdueSent = true
		data := OverdueData{Level: "step", Step: &OverdueStep{ID: s.ID, Name: s.Name, Agency: s.Agency, DueAt: s.DueAt}, DueAt: s.DueAt}
		// After an apology the step can be late again: that overdue gets its
		// own id (receivers dedupe on ids); the first keeps the old form.
		var again []string
		if !s.OriginalDueAt.IsZero() {
			again = []string{s.DueAt.UTC().Format(time.RFC3339Nano)}
		}
		c.emit(event.Overdue, s.Agency, s.ID, "", s.DueAt, data, again...)
		if n.Receiver != s.Agency {
			c.emit(event.Overdue, n.Receiver, s.ID, "", s.DueAt, data, again...)
		}
	}
	if !n.OverdueSent && now.After(n.DueAt) {
		n.OverdueSent = true
		var again []string
		if !n.OriginalDueAt.IsZero() {
			again = []string{n.DueAt.UTC().Format(time.RFC3339Nano)}
		}
		c.emit(event.Overdue, n.Receiver, "", "", n.DueAt, OverdueData{Level: "dossier", DueAt: n.DueAt}, again...)
	}
	return n.tidy(), c.outs
}

// supplementDueAt reports whether Tick has a supplement reminder or
// deadline to act on at now.
func (s *State) supplementDueAt(now time.Time) bool {
	if s.SupplementDueAt.IsZero() {
		return false
	}
	return now.After(s.SupplementDueAt) || (!s.SupplementWarned && !s.SupplementRemindAt.IsZero() && !now.Before(s.SupplementRemindAt))
}

// lateAt reports whether Tick has anything to raise at now (no allocation:
// it runs over every open dossier each tick).
func (s *State) lateAt(now time.Time) bool {
	if !s.OverdueSent && now.After(s.DueAt) {
		return true
	}
	for i := range s.Steps {
		if s.Steps[i].Status == StepInProgress && !s.Steps[i].OverdueSent && now.After(s.Steps[i].DueAt) {
			return true
		}
	}
	return false
}
