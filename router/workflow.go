package router

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
)

// The workflow of the one-stop law (DESIGN.md section 4): reception of a
// dossier filed online, the financial obligation, the supplement deadline,
// the apology with a new appointment.

// reasonOf reads data.reason, for the slip's notes.
func reasonOf(ev event.Event) string {
	var d struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return d.Reason
}

// reception checks the rules dossier.accepted and dossier.refused share.
func (c *change) reception(ev event.Event, sender string) *Rejection {
	n := c.n
	switch {
	case sender != n.Receiver:
		return fail(problem.NotReceiver, "only %s, the dossier's receiver, may send %s", n.Receiver, ev.Type)
	case n.Status == StatusRegistered:
		return nil
	case n.Channel != ChannelOnline:
		return fail(problem.NotRegistered, "dossier %s was received %s, not filed online: it had no reception to decide", n.Code, n.Channel)
	}
	return fail(problem.ReceptionOver, "dossier %s is %s: reception is over", n.Code, n.Status)
}

// accepted: the receiver takes in a dossier filed online; the clock counts
// from now (or the next working day, after the cut-off) and the route starts.
func (c *change) accepted(ev event.Event, sender string) *Rejection {
	if rej := c.reception(ev, sender); rej != nil {
		return rej
	}
	n := c.n
	n.DueAt = c.e.DueFrom(c.at, n.Deadline, n.CutOff)
	c.record(ev, "")
	c.setStatus(StatusReceived, "")
	c.advance("")
	return nil
}

// refused: the receiver refuses a dossier filed online at reception; it is
// closed before any routing.
func (c *change) refused(ev event.Event, sender string) *Rejection {
	if rej := c.reception(ev, sender); rej != nil {
		return rej
	}
	// The note (the slip's) gives the reason and each ground under it.
	var d struct {
		Reason  string   `json:"reason"`
		Reasons []string `json:"reasons"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	reason := d.Reason
	note := strings.Join(append([]string{d.Reason}, d.Reasons...), "; ")
	c.recordNote(ev, "", note)
	for i := range c.n.Steps {
		c.n.Steps[i].Status = StepCancelled
	}
	c.setStatusWith(StatusRefused, "", func(d *StatusChangedData) { d.Reason = reason })
	c.close()
	return nil
}

// paymentData holds the fields of dossier.payment.confirmed the router reads.
type paymentData struct {
	NoticeNumber string    `json:"notice_number"`
	PaidAt       time.Time `json:"paid_at"`
	Reference    string    `json:"reference"`
}

// paymentConfirmed: the obligation is paid; the route resumes and the
// clock restarts.
func (c *change) paymentConfirmed(ev event.Event, sender string) *Rejection {
	n := c.n
	allowed := sender == n.Receiver
	for _, p := range n.Payers {
		allowed = allowed || p == sender
	}
	if !allowed {
		return fail(problem.NotPaymentAgency, "%s may not confirm payments of dossier %s (the receiver %s or the procedure's payment agencies may)", sender, n.Code, n.Receiver)
	}
	if n.Status != StatusAwaitingPayment || n.Obligation == nil {
		return fail(problem.NoObligation, "dossier %s is %s: no financial obligation is due", n.Code, n.Status)
	}
	var d paymentData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return fail(problem.InvalidData, "%s data: %v", ev.Type, err)
	}
	if d.NoticeNumber != n.Obligation.NoticeNumber {
		return fail(problem.InvalidData, "/data/notice_number: %q is not the notice due (%s)", d.NoticeNumber, n.Obligation.NoticeNumber)
	}
	n.Obligation.PaidAt, n.Obligation.Reference = d.PaidAt.UTC(), d.Reference
	c.resume()
	step := n.Obligation.Step
	c.record(ev, step)
	holder := ""
	if s := n.Step(step); s != nil {
		holder = s.Agency
	}
	c.forward(ev, sender, holder, n.Receiver)
	c.setStatus(StatusProcessing, step)
	c.advance(step)
	return nil
}

// apologyData holds the fields of dossier.apology the router reads.
type apologyData struct {
	Step      string    `json:"step"`
	Reason    string    `json:"reason"`
	NewDueAt  time.Time `json:"new_due_at"`
	LetterURL string    `json:"letter_url"`
}

// apology: the agency holding a late step, or the receiver for a late
// dossier, apologises and sets a new appointment. The due times move; the
// first ones stay (statistics count the dossier late).
func (c *change) apology(ev event.Event, sender string) *Rejection {
	n := c.n
	if n.Status == StatusRegistered {
		return fail(problem.NotLate, "dossier %s is registered, not yet received: nothing can be late", n.Code)
	}
	var d apologyData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return fail(problem.InvalidData, "%s data: %v", ev.Type, err)
	}
	newDue := d.NewDueAt.UTC()
	rec := Apology{ID: ev.ID, By: sender, Step: d.Step, Reason: d.Reason, NewDueAt: newDue, At: c.at, LetterURL: d.LetterURL}
	if d.Step != "" {
		s := n.Step(d.Step)
		switch {
		case s == nil:
			return fail(problem.UnknownStep, "procedure %s has no step %q", n.Procedure, d.Step)
		case s.Agency != sender:
			return fail(problem.StepNotHeld, "step %s is held by %s, not %s", s.ID, s.Agency, sender)
		case s.Status != StepInProgress:
			return fail(problem.NotLate, "step %s is %s: only an open step can be late", s.ID, s.Status)
		case !s.OverdueSent && !c.at.After(s.DueAt):
			return fail(problem.NotLate, "step %s is due %s: it is not late", s.ID, s.DueAt.Format(time.RFC3339))
		case !newDue.After(s.DueAt):
			return fail(problem.AppointmentEarlier, "/data/new_due_at: %s is not later than the step's due time %s", newDue.Format(time.RFC3339), s.DueAt.Format(time.RFC3339))
		}
		rec.OldDueAt = s.DueAt
		if s.OriginalDueAt.IsZero() {
			s.OriginalDueAt = s.DueAt
		}
		s.DueAt, s.OverdueSent = newDue, false
	} else {
		switch {
		case sender != n.Receiver:
			return fail(problem.NotLate, "%s holds no late step of dossier %s: an agency apologises for its own late step (data.step)", sender, n.Code)
		case !n.OverdueSent && !c.at.After(n.DueAt):
			return fail(problem.NotLate, "dossier %s is due %s: it is not late", n.Code, n.DueAt.Format(time.RFC3339))
		case !newDue.After(n.DueAt):
			return fail(problem.AppointmentEarlier, "/data/new_due_at: %s is not later than the dossier's due time %s", newDue.Format(time.RFC3339), n.DueAt.Format(time.RFC3339))
		}
		rec.OldDueAt = n.DueAt
	}
	// The citizen's appointment is the dossier's due time: it moves when the
	// new one is later.
	if newDue.After(n.DueAt) {
		if n.OriginalDueAt.IsZero() {
			n.OriginalDueAt = n.DueAt
		}
		n.DueAt, n.OverdueSent = newDue, false
	}
	n.Apologies = append(n.Apologies, rec)
	c.recordNote(ev, d.Step, d.Reason)
	c.forward(ev, sender, n.Receiver)
	return nil
}

// tickSupplement reminds the receiver of an awaited supplement's deadline
// once, and closes the dossier as rejected when the deadline passed with
// nothing supplied. Events are dated at the reminder and deadline times,
// never the wall clock, so a repeated tick yields the same bytes.
func (c *change) tickSupplement(now time.Time) {
	n := c.n
	if n.Status != StatusAwaitingSupplement || n.SupplementDueAt.IsZero() {
		return
	}
	if now.After(n.SupplementDueAt) {
		// Dated at the deadline, or at the last event applied after it (an
		// apology) so the timeline stays in order; both are in the state.
		c.at = n.SupplementDueAt
		for _, en := range n.Timeline {
			if en.Type != event.Overdue && en.Time.After(c.at) {
				c.at = en.Time
			}
		}
		step := n.SupplementStep
		reason := fmt.Sprintf("no supplement was received by its deadline %s", n.SupplementDueAt.Format(time.RFC3339))
		holders := c.cancelOpen()
		first := len(n.Timeline)
		c.setStatusWith(StatusRejected, step, func(d *StatusChangedData) { d.Reason = reason }, holders...)
		n.Timeline[first].Note = reason // the receiver's status change: the slip's note
		c.close()
		return
	}
	if !n.SupplementWarned && !n.SupplementRemindAt.IsZero() && !now.Before(n.SupplementRemindAt) {
		n.SupplementWarned = true
		// One reminder per supplement request: the deadline tells them apart.
		c.emit(event.SupplementReminder, n.Receiver, n.SupplementStep, "", n.SupplementRemindAt,
			SupplementReminderData{Step: n.SupplementStep, SupplementDueAt: n.SupplementDueAt}, n.SupplementDueAt.Format(time.RFC3339Nano))
	}
}
